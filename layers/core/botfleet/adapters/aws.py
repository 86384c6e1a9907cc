"""boto3 clients, created lazily and once per cold start (module state survives warm invocations)."""

from __future__ import annotations

import functools
import logging
import os
import threading

from botocore.config import Config

# Lambda-sized timeouts: a hung dependency should fail a request, not eat the function's time limit.
_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})


# A Session is not thread-safe (its clients are): clients are made one at a time.
_SESSION_LOCK = threading.Lock()

# botocore logs every request's parameters and every response body at DEBUG: KMS's plaintext data keys (which open
# the sealed API keys in the table) and Secrets Manager's values (the token signing key) among them.
_SECRET_FIELDS = ("Plaintext", "SecretString", "SecretBinary")
_BODY_LOGGERS = ("botocore.parsers", "botocore.endpoint")


class _NoSecretDumps(logging.Filter):
    """Drops the DEBUG records that carry a secret field, whatever level logging is set to."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG or not any(field in record.getMessage() for field in _SECRET_FIELDS)


def silence_secret_dumps() -> None:
    """Idempotent; done with the Session, before any client exists."""
    for name in _BODY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, _NoSecretDumps) for existing in logger.filters):
            logger.addFilter(_NoSecretDumps())


@functools.cache
def session():
    """One boto3 Session per process for every client: its loader keeps the parsed service models and endpoint
    data, which a fresh Session per client would read and parse again from JSON (tens of ms a client: on a cold
    start, and on every test that resets the clients)."""
    import boto3

    silence_secret_dumps()
    return boto3.session.Session()


@functools.cache
def client(service: str, endpoint_url: str | None = None):
    """The process's client for `service` with the Lambda-sized timeouts and retries."""
    return client_with(service, endpoint_url, _CONFIG)


def client_with(service: str, endpoint_url: str | None, config: Config):
    """A new client of the shared Session with its own configuration (not cached: the caller keeps it)."""
    with _SESSION_LOCK:
        return session().client(service, region_name=os.environ.get("AWS_REGION", "us-east-1"),
                                endpoint_url=endpoint_url, config=config)
