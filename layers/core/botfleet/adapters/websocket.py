"""Posting to WebSocket connections through API Gateway's @connections management API."""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from botfleet.adapters import aws
from botfleet.ports import PostRefusedForNow

# What @connections answers when the account's request rate is over its quota (429; the name differs by path).
_THROTTLED = {"LimitExceededException", "TooManyRequestsException", "ThrottlingException", "Throttling"}
_GONE = {"GoneException", "ForbiddenException"}
DISCONNECT_ATTEMPTS = 3
DEFAULT_POOL = 32  # the broadcaster's pool (services/realtime.py POST_CONCURRENCY): one HTTP connection per thread


class ApiGatewayPublisher:
    """Thread-safe (a boto3 client is): the broadcaster posts from a pool of `pool_size` threads, and the client
    keeps as many HTTP connections, so no thread waits for a connection or opens one to throw away.

    botocore's own retries are off: a throttled or briefly failing post raises PostRefusedForNow at once and the
    caller's limiter and backoff decide when to try again (botocore's standard mode would sleep up to seconds
    inside the pool, blind to the rate the other threads keep)."""

    def __init__(self, callback_url: str, pool_size: int = DEFAULT_POOL):
        config = Config(connect_timeout=2, read_timeout=5, max_pool_connections=pool_size,
                        retries={"total_max_attempts": 1, "mode": "standard"})
        self._client = aws.client_with("apigatewaymanagementapi", callback_url, config)

    def send(self, connection_id: str, message: dict[str, Any]) -> bool:
        try:
            # Compact JSON, non-ASCII escaped: the bytes the broadcaster's budget measured (realtime.encoded_size).
            self._client.post_to_connection(
                ConnectionId=connection_id, Data=json.dumps(message, separators=(",", ":")).encode()
            )
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in _GONE:
                return False
            if code in _THROTTLED or status == 429:
                raise PostRefusedForNow(f"@connections throttled ({code})", throttled=True) from exc
            if status >= 500:
                raise PostRefusedForNow(f"@connections answered {status} ({code})", throttled=False) from exc
            raise
        except (EndpointConnectionError, ConnectTimeoutError) as exc:
            # Nothing was sent (no connection): safe to try again. A read timeout is not: the post may have
            # reached the client, and sending it twice would show a fill twice.
            raise PostRefusedForNow(f"@connections unreachable ({type(exc).__name__})", throttled=False) from exc
        return True

    def disconnect(self, connection_id: str) -> None:
        """Close a client's socket (block, force logout); an already-gone connection is fine."""
        for attempt in range(DISCONNECT_ATTEMPTS):
            try:
                self._client.delete_connection(ConnectionId=connection_id)
                return
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                if code in _GONE:
                    return
                if code not in _THROTTLED or attempt + 1 == DISCONNECT_ATTEMPTS:
                    raise
                # Logout and blocking close sockets rarely, but share the throttle with the broadcaster.
                time.sleep(0.05 * 2 ** attempt)
