"""The REST API, built from the template's `AWS::ApiGateway::*` resources and served as API Gateway would.

Routing follows the `AWS::ApiGateway::Resource` tree and its `AWS::ApiGateway::Method`s with API
Gateway's matching rules (an exact path part beats `{param}`, which beats `{proxy+}`, with
backtracking; `ANY`). A Lambda proxy method gets the payload format 1.0 event and its response is
mapped back; a MOCK method (CORS preflight) answers its first integration response; errors API Gateway
itself produces follow the template's `AWS::ApiGateway::GatewayResponse`s. Local paths carry no stage
prefix.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .apigateway import STAGE, LambdaIntegration, request_headers, request_time, single_and_multi
from .deploy import Deployment, referenced_ids
from .workers import InvokeResult

log = logging.getLogger("botfleet_local.gateway.rest")

ErrorBody = Callable[..., dict]


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
    """The resource trees of the template's REST APIs, and its GatewayResponses by type."""

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


class RestApi:
    """Answers the requests the router matches, and the misses API Gateway itself would answer.

    `error_body(code, message)` is the API's own error shape: a miss is answered with it when the
    template defines no GatewayResponse for it."""

    def __init__(self, dep: Deployment, integration: LambdaIntegration, error_body: ErrorBody):
        self.dep = dep
        self.router = RestRouter(dep)
        self.integration = integration
        self.error_body = error_body

    def match(self, method: str, path: str) -> tuple[RestNode, RestMethod, dict] | None:
        return self.router.match(method, path)

    async def serve(self, request: Request, matched: tuple[RestNode, RestMethod, dict]) -> Response:
        node, method, params = matched
        body = await request.body()
        if method.integration_type == "MOCK":
            return self._mock(method)
        if method.integration_type not in ("AWS_PROXY",) or not method.function:
            return JSONResponse({"message": "Internal server error"}, status_code=500)
        event = self._event(request, node, params, body)
        result = await self.integration(method.function, event)
        return self._proxy_response(result, event["requestContext"]["requestId"])

    def missing_route(self, request: Request) -> Response:
        return self._gateway_error("MISSING_AUTHENTICATION_TOKEN", 404, "Missing Authentication Token",
                                   f"no route for {request.method} {request.url.path}")

    def _gateway_error(self, response_type: str, status: int, message: str, detail: str = "") -> Response:
        """An error API Gateway itself produces, shaped by the template's GatewayResponses if any.

        Without a matching GatewayResponse: an unknown route is the API's own JSON 404 (`error_body`),
        a 5xx is API Gateway's own `{"message": ...}`."""
        fallback = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
        responses = self.router.gateway_responses
        gr = responses.get(response_type) or responses.get(fallback)
        request_id = str(uuid.uuid4())
        if gr is None:
            if status >= 500:
                return JSONResponse({"message": message}, status_code=status,
                                    headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": response_type})
            return JSONResponse(self.error_body("not_found", detail or message), status_code=status)
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

    def _event(self, request: Request, node: RestNode, params: dict, body: bytes) -> dict:
        """The Lambda proxy integration's event (payload format 1.0)."""
        now = time.time()
        client_ip = request.client.host if request.client else "127.0.0.1"
        raw = request_headers(request.scope)
        raw += [("X-Forwarded-For", client_ip), ("X-Forwarded-Proto", request.url.scheme),
                ("X-Forwarded-Port", str(request.url.port or 80))]
        headers, multi_headers = single_and_multi(raw)
        query, multi_query = single_and_multi(parse_qsl(request.url.query, keep_blank_values=True))
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
                "requestTime": request_time(now),
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
        # Raw headers, so that a function's repeated headers (Set-Cookie) and their order reach the client.
        resp.raw_headers = [(b"content-length", str(len(content)).encode())] + [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs if k.lower() != "content-length"]
        return resp
