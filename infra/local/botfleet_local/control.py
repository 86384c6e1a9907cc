"""The emulator's control plane under /_local/: never part of the product API.

Its own routes fire a schedule now (`?wait=true`: and wait until everything the firing set off is done)
and describe the running cloud. The profile adds its actions (`ControlAction`): each a POST that
invokes one of the stack's functions with an event built from the request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .apigateway import LambdaIntegration
from .deploy import Deployment

PREFIX = "/_local"
# How long `?wait=true` waits for the cloud to go idle before it answers `"idle": false`.
WAIT_IDLE_SECONDS = 60.0


@dataclass(frozen=True)
class ControlAction:
    """POST /_local{path}: invoke the function a stack output names with `event(path_params, body)`.

    `event` raises ValueError, KeyError or TypeError for a body it cannot use; the request is then
    answered 400 with `usage`. A function error is a 502 whose message is `failure`."""

    path: str
    function_output: str
    event: Callable[[dict[str, str], Any], dict]
    usage: str
    failure: str


class ControlPlane:
    """`cloud` is the running LocalCloud: its schedules, `wait_idle` and `info`."""

    def __init__(self, dep: Deployment, cloud: Any, integration: LambdaIntegration,
                 error_body: Callable[..., dict], actions: tuple[ControlAction, ...] = ()):
        self.dep = dep
        self.cloud = cloud
        self.integration = integration
        self.error_body = error_body
        self.actions = actions

    def routes(self) -> list[Route]:
        return [
            Route(PREFIX + "/schedules/{name}/fire", self.fire_schedule, methods=["POST"]),
            *(Route(PREFIX + action.path, self._endpoint(action), methods=["POST"]) for action in self.actions),
            Route(PREFIX + "/info", self.info, methods=["GET"]),
        ]

    def owns(self, path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    def no_route(self, request: Request) -> Response:
        # The control plane is never part of the product API: its paths never fall through to the API or the
        # dashboard, whatever the template routes.
        return self._error(404, "not_found", f"no control-plane route {request.method} {request.url.path}")

    def _error(self, status: int, code: str, message: str) -> Response:
        return JSONResponse(self.error_body(code, message), status_code=status)

    async def fire_schedule(self, request: Request) -> Response:
        schedules = self.cloud.schedules
        name = request.path_params["name"]
        schedule = schedules.find(name)
        if schedule is None:
            return self._error(404, "not_found", f"no schedule {name!r}; known: {schedules.names()}")
        results = await self.integration.in_thread(schedules.fire, schedule)
        reply: dict[str, Any] = {"schedule": schedule.name, "rule": schedule.rule_name, "results": results}
        if request.query_params.get("wait", "").lower() in ("1", "true", "yes"):
            # The targets ran synchronously; wait also for what they set off (asynchronous invocations, the
            # stream deliveries of their writes, and what those invoke in turn), so that a client reads the
            # results right after.
            reply["idle"] = await anyio.to_thread.run_sync(self.cloud.wait_idle, WAIT_IDLE_SECONDS)
        return JSONResponse(reply)

    async def info(self, request: Request) -> Response:
        return JSONResponse(self.cloud.info())

    def _endpoint(self, action: ControlAction) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await self._run(action, request)

        return endpoint

    async def _run(self, action: ControlAction, request: Request) -> Response:
        fn = self.dep.outputs.get(action.function_output)
        if not fn or fn not in self.dep.functions:
            return self._error(404, "not_found", f"the stack has no {action.function_output} output")
        try:
            event = action.event(request.path_params, json.loads(await request.body() or b"{}"))
        except (ValueError, KeyError, TypeError):
            return self._error(400, "bad_request", action.usage)
        result = await self.integration(fn, event)
        try:
            payload = json.loads(result.payload or b"null")
        except ValueError:
            payload = {"raw": result.payload.decode("utf-8", "replace")}
        if result.error:
            return JSONResponse(self.error_body("function_error", action.failure, detail=payload), status_code=502)
        return JSONResponse(payload)
