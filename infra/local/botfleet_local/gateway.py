"""The one HTTP port: REST API, WebSocket API, @connections, dashboard and the control plane.

Everything is built from the synthesized template (via `Deployment`), never from product
knowledge:

* REST: the `AWS::ApiGateway::Resource` tree and `AWS::ApiGateway::Method`s, with API Gateway's
  matching rules (an exact path part beats `{param}`, which beats `{proxy+}`) and its Lambda
  proxy (payload format 1.0) event and response mapping. Local paths carry no stage prefix.
* WebSocket at /api/ws: the `AWS::ApiGatewayV2` Api/Route/Integration/RouteResponse resources.
* `@connections` at /_aws/ws/@connections/{id}: what boto3's apigatewaymanagementapi sends when
  its endpoint_url is the (rewritten) WS_CALLBACK_URL.
* `/`: static files from <repo>/web.
* `/_local/...`: the emulator's control plane (never part of the product API).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from .deploy import Deployment, referenced_ids
from .workers import InvokeResult

log = logging.getLogger("botfleet_local.gateway")


class _DenialLogFilter(logging.Filter):
    """uvicorn 0.54's websockets-sansio protocol sends a WebSocket denial response correctly but then
    logs "ASGI callable returned without completing handshake" (it never marks the handshake done
    on that path). A refused $connect is normal here, so drop that one message."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing handshake" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_DenialLogFilter())

Invoke = Callable[[str, bytes], InvokeResult]
STAGE = "prod"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _canonical(name: str) -> str:
    """ASGI lower-cases header names; API Gateway passes them as the client sent them, which for
    ordinary clients is the canonical Title-Case form."""
    return "-".join(p[:1].upper() + p[1:] for p in name.split("-"))


def _request_time(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _multi(pairs: list[tuple[str, str]]) -> tuple[dict | None, dict | None]:
    """API Gateway's single-value (last wins) and multi-value maps; None when empty."""
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for k, v in pairs:
        single[k] = v
        multi.setdefault(k, []).append(v)
    return single, multi


# --- REST ----------------------------------------------------------------------------------------

@dataclass
class RestMethod:
    http_method: str
    integration_type: str
    function: str | None
    integration: dict
    authorization: str


@dataclass
class RestNode:
    part: str
    resource_id: str
    api_id: str
    path: str
    children: list[RestNode] = field(default_factory=list)
    methods: dict[str, RestMethod] = field(default_factory=dict)


@dataclass
class GatewayResponse:
    status: int | None
    headers: dict[str, str]
    template: str | None


class RestRouter:
    def __init__(self, dep: Deployment):
        self.roots: list[RestNode] = []
        self.gateway_responses: dict[str, GatewayResponse] = {}
        nodes: dict[str, RestNode] = {}
        res = dep.template.get("Resources", {})
        for lid, _ in dep.resources("AWS::ApiGateway::RestApi"):
            api_id = dep.physical.get(lid, lid)
            nodes[lid] = RestNode("", dep.physical.get(lid, lid)[:6] + "root", api_id, "/")
            self.roots.append(nodes[lid])

        def node_for(lid: str) -> RestNode | None:
            if lid in nodes:
                return nodes[lid]
            r = res.get(lid)
            if not r or r.get("Type") != "AWS::ApiGateway::Resource":
                return None
            props = r["Properties"]
            parent = next((node_for(p) for p in referenced_ids(props.get("ParentId"))), None)
            if parent is None:
                return None
            part = props["PathPart"]
            path = parent.path.rstrip("/") + "/" + part
            nodes[lid] = RestNode(part, dep.physical.get(lid, lid), parent.api_id, path)
            parent.children.append(nodes[lid])
            return nodes[lid]

        for lid, _ in dep.resources("AWS::ApiGateway::Resource"):
            node_for(lid)
        for _lid, r in dep.resources("AWS::ApiGateway::Method"):
            props = r["Properties"]
            node = next((node_for(p) for p in referenced_ids(props.get("ResourceId"))), None)
            if node is None:  # a method on the root: ResourceId is GetAtt RestApi.RootResourceId
                node = next((nodes[p] for p in referenced_ids(props.get("RestApiId")) if p in nodes), None)
            if node is None:
                continue
            integ = props.get("Integration", {})
            node.methods[props["HttpMethod"].upper()] = RestMethod(
                http_method=props["HttpMethod"].upper(), integration_type=integ.get("Type", "MOCK"),
                function=dep.function_name_for(integ.get("Uri")), integration=integ,
                authorization=props.get("AuthorizationType", "NONE"))
            if props.get("AuthorizationType", "NONE") not in ("NONE", None):
                log.warning("%s %s: authorizer %s is not emulated (requests pass through)",
                            props["HttpMethod"], node.path, props["AuthorizationType"])
        for _lid, r in dep.resources("AWS::ApiGateway::GatewayResponse"):
            props = r["Properties"]
            tpl = props.get("ResponseTemplates") or {}
            self.gateway_responses[props["ResponseType"]] = GatewayResponse(
                status=int(props["StatusCode"]) if props.get("StatusCode") else None,
                headers={k.rsplit(".", 1)[-1]: str(v).strip("'")
                         for k, v in (props.get("ResponseParameters") or {}).items()},
                template=tpl.get("application/json") or next(iter(tpl.values()), None))

    def _candidates(self, node: RestNode, segs: list[str], i: int, params: dict) -> Iterator[tuple]:
        if i == len(segs):
            yield node, params
            return
        seg = segs[i]
        kids = node.children
        for c in kids:
            if c.part == seg:
                yield from self._candidates(c, segs, i + 1, params)
        for c in kids:
            if c.part.startswith("{") and not c.part.endswith("+}"):
                yield from self._candidates(c, segs, i + 1, {**params, c.part[1:-1]: seg})
        for c in kids:
            if c.part.endswith("+}"):
                yield c, {**params, c.part[1:-2]: "/".join(segs[i:])}

    def match(self, method: str, path: str) -> tuple[RestNode, RestMethod, dict] | None:
        segs = [s for s in path.split("/") if s]
        for root in self.roots:
            for node, params in self._candidates(root, segs, 0, {}):
                m = node.methods.get(method) or node.methods.get("ANY")
                if m is not None:
                    return node, m, params
        return None


# --- WebSocket -----------------------------------------------------------------------------------

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
        log.warning("%d WebSocket APIs; only the first is served at /api/ws", len(apis))
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


def _select_route(api: WsApi, body: str) -> str:
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


# --- the app -------------------------------------------------------------------------------------

class Gateway:
    def __init__(self, dep: Deployment, invoke: Invoke, invoke_async: Callable[[str, bytes], None], *,
                 web_dir: Path | None, control: Any):
        self.dep = dep
        self.invoke_sync = invoke
        self.invoke_async = invoke_async
        self.rest = RestRouter(dep)
        apis = ws_apis(dep)
        self.ws_api = apis[0] if apis else None
        self.connections: dict[str, Connection] = {}
        self.control = control
        self.limiter = anyio.CapacityLimiter(256)
        self.static = StaticFiles(directory=str(web_dir), html=True) if web_dir and web_dir.is_dir() else None
        self.app = Starlette(routes=[
            WebSocketRoute("/api/ws", self.websocket),
            Route("/_aws/ws/@connections/{connection_id}", self.connections_api,
                  methods=["GET", "POST", "DELETE"]),
            Route("/_local/schedules/{name}/fire", self.fire_schedule, methods=["POST"]),
            Route("/_local/market/{exchange}/{symbol}", self.market_move, methods=["POST"]),
            Route("/_local/info", self.info, methods=["GET"]),
            Route("/{path:path}", self.http, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
        ])

    async def invoke(self, function: str, event: Any) -> InvokeResult:
        payload = json.dumps(event).encode()
        return await anyio.to_thread.run_sync(self.invoke_sync, function, payload, limiter=self.limiter)

    # REST ------------------------------------------------------------------------------------
    async def http(self, request: Request) -> Response:
        path = request.url.path
        if path.startswith("/_local/") or path == "/_local":
            return _error(404, "not_found", f"no control-plane route {request.method} {path}")
        matched = self.rest.match(request.method, path)
        if matched is None:
            # Not an API route: the dashboard's files (in AWS, CloudFront in front of S3 and the API).
            if self.static is not None and request.method in ("GET", "HEAD"):
                response = await self._static(request)
                if response is not None:
                    return response
            return self._gateway_error("MISSING_AUTHENTICATION_TOKEN", 404, "Missing Authentication Token",
                                       f"no route for {request.method} {path}")
        node, method, params = matched
        body = await request.body()
        if method.integration_type == "MOCK":
            return self._mock(method)
        if method.integration_type not in ("AWS_PROXY",) or not method.function:
            return JSONResponse({"message": "Internal server error"}, status_code=500)
        event = self._rest_event(request, node, params, body)
        result = await self.invoke(method.function, event)
        return self._proxy_response(result, event["requestContext"]["requestId"])

    async def _static(self, request: Request) -> Response | None:
        try:
            return await self.static.get_response(self.static.get_path(request.scope), request.scope)
        except Exception:  # starlette raises HTTPException(404) for a missing file
            return None

    def _gateway_error(self, response_type: str, status: int, message: str, detail: str = "") -> Response:
        """An error API Gateway itself produces, shaped by the template's GatewayResponses if any.

        Without a matching GatewayResponse: an unknown route is the JSON 404 of the API contract,
        a 5xx is API Gateway's own `{"message": ...}`."""
        fallback = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
        gr = self.rest.gateway_responses.get(response_type) or self.rest.gateway_responses.get(fallback)
        request_id = str(uuid.uuid4())
        if gr is None:
            if status >= 500:
                return JSONResponse({"message": message}, status_code=status,
                                    headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": response_type})
            return _error(status, "not_found", detail or message)
        text = gr.template or json.dumps({"message": message})
        subst = {"$context.error.messageString": json.dumps(message),
                 "$context.error.message": message,
                 "$context.error.responseType": response_type,
                 "$context.requestId": request_id}
        for k, v in subst.items():
            text = text.replace(k, v)
        return Response(text, status_code=gr.status or status, media_type="application/json",
                        headers={**gr.headers, "x-amzn-RequestId": request_id})

    def _mock(self, method: RestMethod) -> Response:
        # CORS preflight methods are MOCK integrations: answer with the first integration response.
        responses = method.integration.get("IntegrationResponses") or [{"StatusCode": "200"}]
        first = responses[0]
        headers = {k.rsplit(".", 1)[-1]: str(v).strip("'")
                   for k, v in (first.get("ResponseParameters") or {}).items() if isinstance(v, str)}
        return Response(b"", status_code=int(first.get("StatusCode", 200)), headers=headers)

    def _rest_event(self, request: Request, node: RestNode, params: dict, body: bytes) -> dict:
        now = time.time()
        client_ip = request.client.host if request.client else "127.0.0.1"
        raw = [(_canonical(k.decode("latin-1")), v.decode("latin-1")) for k, v in request.scope["headers"]]
        raw += [("X-Forwarded-For", client_ip), ("X-Forwarded-Proto", request.url.scheme),
                ("X-Forwarded-Port", str(request.url.port or 80))]
        headers, multi_headers = _multi(raw)
        query, multi_query = _multi(parse_qsl(request.url.query, keep_blank_values=True))
        host = request.headers.get("host", "127.0.0.1")
        request_id = str(uuid.uuid4())
        try:
            text: str | None = body.decode("utf-8") if body else None
            b64 = False
        except UnicodeDecodeError:
            text, b64 = base64.b64encode(body).decode(), True
        return {
            "resource": node.path,
            "path": request.url.path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": node.resource_id,
                "resourcePath": node.path,
                "httpMethod": request.method,
                "extendedRequestId": request_id[:16],
                "requestTime": _request_time(now),
                "path": f"/{STAGE}{request.url.path}",
                "accountId": self.dep.account_id,
                "protocol": f"HTTP/{request.scope.get('http_version', '1.1')}",
                "stage": STAGE,
                "domainPrefix": host.split(".")[0],
                "requestTimeEpoch": int(now * 1000),
                "requestId": request_id,
                "identity": {"cognitoIdentityPoolId": None, "accountId": None, "cognitoIdentityId": None,
                             "caller": None, "sourceIp": client_ip, "principalOrgId": None,
                             "accessKey": None, "cognitoAuthenticationType": None,
                             "cognitoAuthenticationProvider": None, "userArn": None,
                             "userAgent": request.headers.get("user-agent"), "user": None},
                "domainName": host,
                "apiId": node.api_id,
            },
            "body": text,
            "isBase64Encoded": b64,
        }

    def _proxy_response(self, result: InvokeResult, request_id: str) -> Response:
        # A failed invocation or a malformed proxy response: 502 "Internal server error" (shaped by a
        # DEFAULT_5XX GatewayResponse when the template has one, as in API Gateway).
        bad = self._gateway_error("DEFAULT_5XX", 502, "Internal server error")
        if result.error:
            log.warning("function error: %s", result.payload[:500])
            return bad
        try:
            out = json.loads(result.payload)
            status = int(out["statusCode"])
        except (ValueError, TypeError, KeyError):
            log.warning("malformed Lambda proxy response: %s", result.payload[:500])
            return bad
        body = out.get("body")
        if body is None:
            content = b""
        elif out.get("isBase64Encoded"):
            content = base64.b64decode(body)
        else:
            content = (body if isinstance(body, str) else json.dumps(body)).encode()
        if status in (204, 304) or status < 200:
            content = b""  # HTTP forbids a body on these (API Gateway drops it too)
        resp = Response(content, status_code=status)
        pairs: list[tuple[str, str]] = []
        for k, v in (out.get("headers") or {}).items():
            pairs.append((k, str(v)))
        for k, vs in (out.get("multiValueHeaders") or {}).items():
            pairs += [(k, str(v)) for v in vs if (k, str(v)) not in pairs]
        if not any(k.lower() == "content-type" for k, _ in pairs):
            pairs.append(("Content-Type", "application/json"))
        pairs.append(("x-amzn-RequestId", request_id))
        resp.raw_headers = [(b"content-length", str(len(content)).encode())] + [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs if k.lower() != "content-length"]
        return resp

    # WebSocket -------------------------------------------------------------------------------
    def _ws_context(self, conn_id: str, route: str, event_type: str, host: str, connected_at: float,
                    source_ip: str, user_agent: str) -> dict:
        now = time.time()
        assert self.ws_api is not None
        return {
            "routeKey": route,
            "eventType": event_type,
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": _request_time(now),
            "messageDirection": "IN",
            "stage": self.ws_api.stage,
            "connectedAt": int(connected_at * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": user_agent},
            "requestId": uuid.uuid4().hex[:16],
            "domainName": host,
            "connectionId": conn_id,
            "apiId": self.ws_api.api_id,
        }

    async def websocket(self, ws: WebSocket) -> None:
        api = self.ws_api
        if api is None:
            await ws.close(code=1008)
            return
        conn_id = base64.b64encode(uuid.uuid4().bytes[:12]).decode().replace("/", "_").replace("+", "-")
        now = time.time()
        host = ws.headers.get("host", "127.0.0.1")
        source_ip = ws.client.host if ws.client else "127.0.0.1"
        ua = ws.headers.get("user-agent", "")
        raw = [(_canonical(k.decode("latin-1")), v.decode("latin-1")) for k, v in ws.scope["headers"]]
        headers, multi_headers = _multi(raw)
        query, multi_query = _multi(parse_qsl(ws.url.query, keep_blank_values=True))
        subprotocol = None
        if "$connect" in api.routes:
            event = {"headers": headers, "multiValueHeaders": multi_headers,
                     "queryStringParameters": query, "multiValueQueryStringParameters": multi_query,
                     "requestContext": self._ws_context(conn_id, "$connect", "CONNECT", host, now, source_ip, ua),
                     "isBase64Encoded": False}
            result = await self.invoke(api.routes["$connect"], event)
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
                    await self._ws_message(conn, text, host)
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
                ctx = self._ws_context(conn_id, "$disconnect", "DISCONNECT", host, now, source_ip, ua)
                ctx.update({"disconnectStatusCode": close_code, "disconnectReason": reason})
                event = {"headers": headers, "multiValueHeaders": multi_headers, "requestContext": ctx,
                         "isBase64Encoded": False}
                self.invoke_async(api.routes["$disconnect"], json.dumps(event).encode())

    async def _ws_message(self, conn: Connection, text: str, host: str) -> None:
        api = self.ws_api
        assert api is not None
        route = _select_route(api, text)
        fn = api.routes.get(route)
        ctx = self._ws_context(conn.id, route, "MESSAGE", host, conn.connected_at, conn.source_ip, conn.user_agent)
        if fn is None:
            await self._send(conn, json.dumps({"message": "Forbidden", "connectionId": conn.id,
                                               "requestId": ctx["requestId"]}))
            return
        ctx["messageId"] = uuid.uuid4().hex[:16]
        result = await self.invoke(fn, {"requestContext": ctx, "body": text, "isBase64Encoded": False})
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
        async with conn.lock:
            if isinstance(data, bytes):
                try:
                    await conn.ws.send_text(data.decode("utf-8"))
                except UnicodeDecodeError:
                    await conn.ws.send_bytes(data)
            else:
                await conn.ws.send_text(data)

    async def connections_api(self, request: Request) -> Response:
        conn = self.connections.get(request.path_params["connection_id"])
        if conn is None or not conn.open:
            return JSONResponse({"message": None}, status_code=410,
                                headers={"x-amzn-ErrorType": "GoneException"})
        if request.method == "POST":
            data = await request.body()
            try:
                await self._send(conn, data)
            except Exception:  # the socket closed under us
                return JSONResponse({"message": None}, status_code=410,
                                    headers={"x-amzn-ErrorType": "GoneException"})
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

    # control plane ---------------------------------------------------------------------------
    async def fire_schedule(self, request: Request) -> Response:
        name = request.path_params["name"]
        schedule = self.control.schedules.find(name)
        if schedule is None:
            return _error(404, "not_found", f"no schedule {name!r}; known: {self.control.schedules.names()}")
        results = await anyio.to_thread.run_sync(self.control.schedules.fire, schedule, limiter=self.limiter)
        reply: dict[str, Any] = {"schedule": schedule.name, "rule": schedule.rule_name, "results": results}
        if request.query_params.get("wait", "").lower() in ("1", "true", "yes"):
            # The targets ran synchronously; wait also for what they set off (the tick's engine shards, the
            # stream deliveries of their writes, the broadcasts), so a client reads the fills right after.
            reply["idle"] = await anyio.to_thread.run_sync(self.control.wait_idle, 60.0)
        return JSONResponse(reply)

    async def market_move(self, request: Request) -> Response:
        fn = self.dep.outputs.get("ProvisionFunctionName")
        if not fn or fn not in self.dep.functions:
            return _error(404, "not_found", "the stack has no ProvisionFunctionName output")
        try:
            body = json.loads(await request.body() or b"{}")
            move = body["move_pct"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "bad_request", 'expected {"move_pct": <number>}')
        event = {"action": "market_move", "exchange": request.path_params["exchange"],
                 "symbol": request.path_params["symbol"].replace("-", "/"), "move_pct": move}
        result = await self.invoke(fn, event)
        try:
            payload = json.loads(result.payload or b"null")
        except ValueError:
            payload = {"raw": result.payload.decode("utf-8", "replace")}
        if result.error:
            return JSONResponse({"error": {"code": "function_error", "message": "provision failed",
                                           "detail": payload}}, status_code=502)
        return JSONResponse(payload)

    async def info(self, request: Request) -> Response:
        return JSONResponse(self.control.info())
