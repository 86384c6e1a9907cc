"""The WebSocket API and the `@connections` endpoint its functions post to.

The API comes from the template's `AWS::ApiGatewayV2` Api/Route/Integration/Stage/RouteResponse
resources: `$connect` (a non-2xx reply refuses the handshake with that status), routing by the
`RouteSelectionExpression` else `$default`, `$disconnect` invoked asynchronously after the close, and a
route's return value sent back only when the route has a RouteResponse. Only the first WebSocket API
is served.

`@connections` is what boto3's apigatewaymanagementapi sends when its endpoint_url is the functions'
WS_CALLBACK_URL, rewritten (by cloud.py) to CONNECTIONS_ENDPOINT on this port.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from .apigateway import STAGE, LambdaIntegration, request_headers, request_time, single_and_multi
from .deploy import Deployment, referenced_ids

log = logging.getLogger("botfleet_local.gateway.websocket")

# Where the management API is served; boto3 appends /@connections/{id}.
CONNECTIONS_ENDPOINT = "/_aws/ws"
# API Gateway's WebSocket message payload quota (128 KB): a larger post is refused with 413, never cut short.
MAX_PAYLOAD_BYTES = 128 * 1024


class _DenialLogFilter(logging.Filter):
    """uvicorn 0.54's websockets-sansio protocol sends a WebSocket denial response correctly but then
    logs "ASGI callable returned without completing handshake" (it never marks the handshake done
    on that path). A refused $connect is normal here, so drop that one message."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing handshake" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_DenialLogFilter())


@dataclass
class WsApi:
    api_id: str
    stage: str
    selection: str
    routes: dict[str, str]  # route key -> function name
    route_responses: set[str]


def ws_apis(dep: Deployment) -> list[WsApi]:
    res = dep.template.get("Resources", {})
    apis: dict[str, WsApi] = {}
    for lid, r in dep.resources("AWS::ApiGatewayV2::Api"):
        if r["Properties"].get("ProtocolType") != "WEBSOCKET":
            continue
        apis[lid] = WsApi(api_id=dep.local_values[lid]["Ref"], stage=STAGE,
                          selection=r["Properties"].get("RouteSelectionExpression", "$request.body.action"),
                          routes={}, route_responses=set())
    route_keys: dict[str, tuple[str, str]] = {}
    for lid, r in dep.resources("AWS::ApiGatewayV2::Route"):
        props = r["Properties"]
        api = next((a for a in referenced_ids(props.get("ApiId")) if a in apis), None)
        if api is None:
            continue
        route_keys[lid] = (api, props["RouteKey"])
        for integ_lid in referenced_ids(props.get("Target")):
            integ = res.get(integ_lid, {}).get("Properties", {})
            fn = dep.function_name_for(integ.get("IntegrationUri"))
            if fn and integ.get("IntegrationType", "AWS_PROXY") in ("AWS_PROXY", "AWS"):
                apis[api].routes[props["RouteKey"]] = fn
            else:
                log.warning("websocket route %s: integration not emulated", props["RouteKey"])
        if props.get("AuthorizationType", "NONE") != "NONE":
            log.warning("websocket route %s: authorizer not emulated", props["RouteKey"])
    for lid, r in dep.resources("AWS::ApiGatewayV2::Stage"):
        api = next((a for a in referenced_ids(r["Properties"].get("ApiId")) if a in apis), None)
        if api:
            apis[api].stage = dep.local_values[lid]["Ref"]
    for _lid, r in dep.resources("AWS::ApiGatewayV2::RouteResponse"):
        for route in referenced_ids(r["Properties"].get("RouteId")):
            if route in route_keys:
                api, key = route_keys[route]
                apis[api].route_responses.add(key)
    if len(apis) > 1:
        log.warning("%d WebSocket APIs; only the first is served", len(apis))
    return list(apis.values())


@dataclass
class Connection:
    id: str
    ws: WebSocket
    source_ip: str
    user_agent: str
    connected_at: float
    last_active: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    open: bool = True


def select_route(api: WsApi, body: str) -> str:
    expr = api.selection
    if expr.startswith("$request.body."):
        try:
            value: Any = json.loads(body)
            for key in expr[len("$request.body."):].split("."):
                value = value.get(key) if isinstance(value, dict) else None
        except (ValueError, TypeError, RecursionError):  # RecursionError: JSON nested thousands deep
            value = None
        # $connect and $disconnect are lifecycle routes API Gateway invokes itself: a message naming one goes
        # to $default like any other unknown action, never to the route.
        if isinstance(value, str) and value in api.routes and value not in ("$connect", "$disconnect"):
            return value
    return "$default"


def _gone() -> Response:
    # 410 with this error type is what makes boto3 raise GoneException, as it does against AWS.
    return JSONResponse({"message": None}, status_code=410, headers={"x-amzn-ErrorType": "GoneException"})


def _too_large(size: int) -> Response:
    return JSONResponse({"message": f"Message too long: {size} bytes, at most {MAX_PAYLOAD_BYTES}"},
                        status_code=413, headers={"x-amzn-ErrorType": "PayloadTooLargeException"})


class WebSocketApi:
    def __init__(self, dep: Deployment, integration: LambdaIntegration,
                 invoke_async: Callable[[str, bytes], None]):
        apis = ws_apis(dep)
        self.api = apis[0] if apis else None
        self.integration = integration
        self.invoke_async = invoke_async
        self.connections: dict[str, Connection] = {}

    def _context(self, conn_id: str, route: str, event_type: str, host: str, connected_at: float,
                 source_ip: str, user_agent: str) -> dict:
        now = time.time()
        assert self.api is not None
        return {
            "routeKey": route,
            "eventType": event_type,
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": request_time(now),
            "messageDirection": "IN",
            "stage": self.api.stage,
            "connectedAt": int(connected_at * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": user_agent},
            "requestId": uuid.uuid4().hex[:16],
            "domainName": host,
            "connectionId": conn_id,
            "apiId": self.api.api_id,
        }

    async def serve(self, ws: WebSocket) -> None:
        """One connection, from $connect to $disconnect."""
        api = self.api
        if api is None:
            await ws.close(code=1008)
            return
        conn_id = base64.b64encode(uuid.uuid4().bytes[:12]).decode().replace("/", "_").replace("+", "-")
        now = time.time()
        host = ws.headers.get("host", "127.0.0.1")
        source_ip = ws.client.host if ws.client else "127.0.0.1"
        ua = ws.headers.get("user-agent", "")
        headers, multi_headers = single_and_multi(request_headers(ws.scope))
        query, multi_query = single_and_multi(parse_qsl(ws.url.query, keep_blank_values=True))
        subprotocol = None
        if "$connect" in api.routes:
            event = {"headers": headers, "multiValueHeaders": multi_headers,
                     "queryStringParameters": query, "multiValueQueryStringParameters": multi_query,
                     "requestContext": self._context(conn_id, "$connect", "CONNECT", host, now, source_ip, ua),
                     "isBase64Encoded": False}
            result = await self.integration(api.routes["$connect"], event)
            status, reply = 500, {}
            if not result.error:
                try:
                    reply = json.loads(result.payload or b"null") or {}
                    status = int(reply.get("statusCode", 200)) if isinstance(reply, dict) else 200
                except (ValueError, TypeError):
                    status = 200
            if not 200 <= status < 300:
                body = reply.get("body") if isinstance(reply, dict) else None
                await ws.send_denial_response(Response(body or "", status_code=status))
                return
            if isinstance(reply, dict):
                subprotocol = (reply.get("headers") or {}).get("Sec-WebSocket-Protocol")
        await ws.accept(subprotocol=subprotocol)
        conn = Connection(conn_id, ws, source_ip, ua, now, now)
        self.connections[conn_id] = conn
        close_code, reason = 1005, ""
        try:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    close_code, reason = msg.get("code", 1005), msg.get("reason") or ""
                    break
                text = msg.get("text")
                if text is None:
                    text = (msg.get("bytes") or b"").decode("utf-8", "replace")
                conn.last_active = time.time()
                # One message at a time per connection: replies keep the order messages came in. A message
                # that breaks the emulator is logged and answered as API Gateway would, never closes the socket.
                try:
                    await self._message(conn, text, host)
                except (WebSocketDisconnect, RuntimeError):
                    raise
                except Exception:
                    log.exception("websocket message failed")
                    await self._send(conn, json.dumps({"message": "Internal server error",
                                                       "connectionId": conn.id}))
        except WebSocketDisconnect as e:
            close_code = e.code
        finally:
            conn.open = False
            self.connections.pop(conn_id, None)
            if "$disconnect" in api.routes:
                ctx = self._context(conn_id, "$disconnect", "DISCONNECT", host, now, source_ip, ua)
                ctx.update({"disconnectStatusCode": close_code, "disconnectReason": reason})
                event = {"headers": headers, "multiValueHeaders": multi_headers, "requestContext": ctx,
                         "isBase64Encoded": False}
                self.invoke_async(api.routes["$disconnect"], json.dumps(event).encode())

    async def _message(self, conn: Connection, text: str, host: str) -> None:
        api = self.api
        assert api is not None
        route = select_route(api, text)
        fn = api.routes.get(route)
        ctx = self._context(conn.id, route, "MESSAGE", host, conn.connected_at, conn.source_ip, conn.user_agent)
        if fn is None:
            await self._send(conn, json.dumps({"message": "Forbidden", "connectionId": conn.id,
                                               "requestId": ctx["requestId"]}))
            return
        ctx["messageId"] = uuid.uuid4().hex[:16]
        result = await self.integration(fn, {"requestContext": ctx, "body": text, "isBase64Encoded": False})
        if result.error:
            await self._send(conn, json.dumps({"message": "Internal server error", "connectionId": conn.id,
                                               "requestId": ctx["requestId"]}))
        elif route in api.route_responses:
            try:
                reply = json.loads(result.payload or b"null")
            except ValueError:
                reply = None
            body = reply.get("body") if isinstance(reply, dict) else reply
            if body is not None:
                await self._send(conn, body if isinstance(body, str) else json.dumps(body))

    async def _send(self, conn: Connection, data: str | bytes) -> None:
        # The lock keeps frames whole and in order when a reply and @connections posts race.
        async with conn.lock:
            if isinstance(data, bytes):
                try:
                    await conn.ws.send_text(data.decode("utf-8"))
                except UnicodeDecodeError:
                    await conn.ws.send_bytes(data)
            else:
                await conn.ws.send_text(data)

    async def connections_api(self, request: Request) -> Response:
        """`@connections/{id}`: POST sends a frame, GET describes the connection, DELETE closes it."""
        conn = self.connections.get(request.path_params["connection_id"])
        if conn is None or not conn.open:
            return _gone()
        if request.method == "POST":
            data = await request.body()
            if len(data) > MAX_PAYLOAD_BYTES:
                return _too_large(len(data))
            try:
                await self._send(conn, data)
            except Exception:  # the socket closed under us
                return _gone()
            return Response(b"", status_code=200)
        if request.method == "DELETE":
            conn.open = False
            async with conn.lock:
                await conn.ws.close(code=1000)
            return Response(b"", status_code=204)
        iso = lambda t: datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")  # noqa: E731
        # The wire names (lowerCamel) that botocore maps to ConnectedAt / Identity / LastActiveAt.
        return JSONResponse({"connectedAt": iso(conn.connected_at), "lastActiveAt": iso(conn.last_active),
                             "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent}})
