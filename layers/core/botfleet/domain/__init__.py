"""The pure domain: no boto3, no ccxt, no clock calls, no I/O."""
