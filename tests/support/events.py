"""Canonical Lambda events, shaped as API Gateway and DynamoDB Streams send them."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit


class LambdaContext:
    function_name = "test-function"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def rest_event(method: str, url: str, body: Any = None, token: str | None = None,
               headers: dict[str, str] | None = None, raw_body: str | None = None,
               source_ip: str = "127.0.0.1") -> dict[str, Any]:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) or None
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    return {
        "resource": "/api/{proxy+}",
        "path": parts.path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {key: [value] for key, value in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": {"proxy": parts.path.removeprefix("/api/")},
        "stageVariables": None,
        "requestContext": {"requestId": str(uuid.uuid4()), "stage": "prod", "path": f"/prod{parts.path}",
                           "httpMethod": method, "identity": {"sourceIp": source_ip},
                           "resourcePath": "/api/{proxy+}"},
        "body": raw_body if raw_body is not None else (None if body is None else json.dumps(body)),
        "isBase64Encoded": False,
    }


def ws_event(route: str, connection_id: str, *, token: str | None = None, body: str | None = None) -> dict:
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    return {
        "requestContext": {"routeKey": route, "eventType": event_type, "connectionId": connection_id,
                           "stage": "prod", "domainName": "localhost"},
        "queryStringParameters": {"token": token} if token else None,
        "body": body,
    }
