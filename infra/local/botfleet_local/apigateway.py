"""What the REST and WebSocket halves of the local API Gateway share.

API Gateway's way of writing headers, times and repeated values into an event, and the one way the
gateway calls a function from the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import anyio

from .workers import InvokeResult

# The stage name events carry. Local paths have no stage prefix (the REST API is served at /), but the
# functions see the stage a deployed request would name.
STAGE = "prod"

Invoke = Callable[[str, bytes], InvokeResult]


def canonical_header(name: str) -> str:
    """ASGI lower-cases header names; API Gateway passes them as the client sent them, which for
    ordinary clients is the canonical Title-Case form."""
    return "-".join(p[:1].upper() + p[1:] for p in name.split("-"))


def request_headers(scope: dict) -> list[tuple[str, str]]:
    """The request's headers as API Gateway hands them to a function: canonical names, in order."""
    return [(canonical_header(k.decode("latin-1")), v.decode("latin-1")) for k, v in scope["headers"]]


def request_time(now: float) -> str:
    """`requestContext.requestTime`: CLF format, UTC."""
    return datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def single_and_multi(pairs: list[tuple[str, str]]) -> tuple[dict | None, dict | None]:
    """API Gateway's single-value (last wins) and multi-value maps; None when empty."""
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for k, v in pairs:
        single[k] = v
        multi.setdefault(k, []).append(v)
    return single, multi


class LambdaIntegration:
    """Calls a function for the gateway. A pool's invoke blocks until the worker answers, so it runs in a
    thread; the limit is well above anyio's default of 40 threads because every request in flight holds
    one for as long as its function runs."""

    def __init__(self, invoke: Invoke):
        self._invoke = invoke
        self.limiter = anyio.CapacityLimiter(256)

    async def __call__(self, function: str, event: Any) -> InvokeResult:
        payload = json.dumps(event).encode()
        return await self.in_thread(self._invoke, function, payload)

    async def in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Any other blocking call the gateway makes on a request's behalf, under the same limit."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)
