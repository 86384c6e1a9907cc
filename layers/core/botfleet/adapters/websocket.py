"""Posting to WebSocket connections through API Gateway's @connections management API."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError


class ApiGatewayPublisher:
    def __init__(self, callback_url: str):
        from botfleet.adapters.aws import client

        self._client = client("apigatewaymanagementapi", endpoint_url=callback_url)

    def send(self, connection_id: str, message: dict[str, Any]) -> bool:
        try:
            self._client.post_to_connection(
                ConnectionId=connection_id, Data=json.dumps(message, separators=(",", ":")).encode()
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("GoneException", "ForbiddenException"):
                return False
            raise
        return True

    def disconnect(self, connection_id: str) -> None:
        """Close a client's socket (block, force logout); an already-gone connection is fine."""
        try:
            self._client.delete_connection(ConnectionId=connection_id)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("GoneException", "ForbiddenException"):
                raise
