"""botfleet core: the pure trading domain, the application services and the adapters to AWS.

Shipped as the shared Lambda layer; every function imports it.
"""

__version__ = "0.1.0"
