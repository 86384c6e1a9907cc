"""boto3 clients, created lazily and once per cold start (module state survives warm invocations)."""

from __future__ import annotations

import functools
import os

from botocore.config import Config

# Lambda-sized timeouts: a hung dependency should fail a request, not eat the function's time limit.
_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})


@functools.cache
def client(service: str, endpoint_url: str | None = None):
    import boto3

    return boto3.session.Session().client(
        service, region_name=os.environ.get("AWS_REGION", "us-east-1"), endpoint_url=endpoint_url, config=_CONFIG
    )
