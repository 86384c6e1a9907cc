from botfleet.adapters.dynamo.table import Table

__all__ = ["Table"]
