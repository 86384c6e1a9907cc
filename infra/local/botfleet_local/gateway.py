"""The one HTTP port: which part answers which request.

* the WebSocket API at the profile's path, and `@connections` at /_aws/ws/@connections/{id}
  (websocket.py);
* `/_local/...`: the emulator's control plane (control.py), never part of the product API;
* any other path: the REST API (rest.py); a GET or HEAD that no API method matches may be a dashboard
  file (static.py), else it is the API's miss.

Every part is built from the synthesized template (via `Deployment`); what the template cannot say
comes from the profile, through cloud.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from .apigateway import Invoke, LambdaIntegration
from .control import ControlAction, ControlPlane
from .deploy import Deployment
from .rest import RestApi
from .static import StaticSite
from .websocket import CONNECTIONS_ENDPOINT, WebSocketApi

HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class Gateway:
    """`invoke` calls a function synchronously, `invoke_async` queues a call (for `$disconnect`); `cloud`
    is what the control plane drives. `websocket_path`, `error_body` (the API's error shape) and
    `control_actions` are the profile's."""

    def __init__(self, dep: Deployment, invoke: Invoke, invoke_async: Callable[[str, bytes], None], *,
                 cloud: Any, web_dir: Path | None, websocket_path: str, error_body: Callable[..., dict],
                 control_actions: tuple[ControlAction, ...] = ()):
        integration = LambdaIntegration(invoke)
        self.rest = RestApi(dep, integration, error_body)
        self.websocket = WebSocketApi(dep, integration, invoke_async)
        self.control = ControlPlane(dep, cloud, integration, error_body, control_actions)
        self.static = StaticSite(web_dir)
        self.app = Starlette(routes=[
            WebSocketRoute(websocket_path, self.websocket.serve),
            Route(CONNECTIONS_ENDPOINT + "/@connections/{connection_id}", self.websocket.connections_api,
                  methods=["GET", "POST", "DELETE"]),
            *self.control.routes(),
            Route("/{path:path}", self.http, methods=HTTP_METHODS),
        ])

    async def http(self, request: Request) -> Response:
        """Every HTTP request no earlier route took."""
        if self.control.owns(request.url.path):
            return self.control.no_route(request)
        matched = self.rest.match(request.method, request.url.path)
        if matched is not None:
            return await self.rest.serve(request, matched)
        # Not an API route: maybe one of the dashboard's files (in AWS, CloudFront in front of S3 and the API).
        response = await self.static.response(request)
        return response if response is not None else self.rest.missing_route(request)
