"""One resolver factory for every REST function, so error shapes, auth and RBAC live in one place.

Errors follow the contract: `{"error": {"code", "message"}}`; 400 malformed, 401, 403, 404, 409, 413 too
large, 415 not JSON, 422 naming the field, 429. The bytes of a request are judged here, once, before any
route sees them (size, media type, encoding, JSON syntax and depth), so no handler can meet a body it cannot
parse. Anything unexpected is logged and answered with a 500 without details.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.request import Request

from botfleet import runtime
from botfleet.errors import BadRequest, BotfleetError, Forbidden, PayloadTooLarge, UnsupportedMediaType
from botfleet.http.rbac import allowed_before_password_change, required_role
from botfleet.origin import ORIGIN_PROOF_HEADER, VIEWER_ADDRESS_HEADER
from botfleet.services.auth import Principal

logger = Logger()


def json_response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Response:
    if body is None:  # e.g. 204: no body at all (powertools would serialize None as "null")
        return Response(status_code=status, body="", headers=headers or {})
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":")),
        headers=headers or {},
    )


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, {"error": {"code": code, "message": message}}, headers)


def page_view(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


def _field_of(error: dict[str, Any]) -> str:
    """'body.params.fast' → 'params.fast'; 'query.limit' → 'limit'."""
    location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
    return ".".join(location) or "body"


# The largest request body any route takes (a bot with params and risk limits is ~1 KB; keys ~4 KB).
MAX_BODY_BYTES = 64 * 1024
# The deepest JSON any route takes: our bodies nest three levels; 1,000 levels is an attack on the parser.
MAX_JSON_DEPTH = 16
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _json_depth(value: Any) -> int:
    """Nesting depth without recursion (the value came from a parser that already bounded the bytes)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def check_body(event: dict[str, Any]) -> None:
    """Refuse a body no route could use, in the contract's terms; on success the event carries the body as
    UTF-8 text. 413 beyond MAX_BODY_BYTES, 415 when the declared media type is not JSON, 400 when the bytes
    are not UTF-8, not JSON, or nested deeper than MAX_JSON_DEPTH."""
    body = event.get("body")
    if not body or event.get("httpMethod") not in _BODY_METHODS:
        return
    if event.get("isBase64Encoded"):
        if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
            raise PayloadTooLarge(f"the request body is larger than {MAX_BODY_BYTES} bytes")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("the request body is not valid base64", code="malformed_body") from None
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    media_type = (headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"send JSON (Content-Type: application/json), not {media_type[:60]!r}")
    try:
        text = raw.decode("utf-8")
        value = json.loads(text)
    except UnicodeDecodeError:
        raise BadRequest("the request body is not UTF-8", code="malformed_body") from None
    except (ValueError, RecursionError):  # ValueError: also a 5,000-digit number (Python's int limit)
        raise BadRequest("the request body is not valid JSON", code="malformed_json") from None
    if _json_depth(value) > MAX_JSON_DEPTH:
        raise BadRequest(f"the request body nests deeper than {MAX_JSON_DEPTH} levels", code="too_deep")
    event["body"], event["isBase64Encoded"] = text, False


def _error_reply(exc: BotfleetError) -> dict[str, Any]:
    """A refusal decided before powertools routes the request, in the same shape as every other error."""
    return {
        "statusCode": exc.status,
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*", **exc.headers},
        "body": json.dumps({"error": {"code": exc.code, "message": exc.message}}),
        "isBase64Encoded": False,
    }


class BotfleetResolver(APIGatewayRestResolver):
    """Powertools' resolver with the RBAC policy (botfleet.http.rbac) enforced before anything else: before
    routing and before request validation, so an anonymous caller learns nothing but 401 and a user
    nothing but 403 from an admin route, whatever the body. The one place roles are checked, and the one
    place request bytes are judged (check_body)."""

    def resolve(self, event, context):
        headers = event.get("headers") or {}
        role = required_role(event.get("httpMethod", ""), event.get("path", ""))
        try:
            if role is not None:
                principal = runtime.auth().authenticate(_bearer_token(headers))
                if role == "admin" and not principal.is_admin:
                    raise Forbidden("this needs the admin role", code="admin_required")
                if principal.must_change_password and not allowed_before_password_change(
                        event.get("httpMethod", ""), event.get("path", "")):
                    raise Forbidden("choose a password of your own first (POST /api/auth/password): this one was a "
                                    "temporary password from an admin's reset", code="password_change_required")
            check_body(event)
        except BotfleetError as exc:
            return _error_reply(exc)
        if role is not None:
            self.append_context(principal=principal)  # cleared by resolve() when the request is done
            logger.append_keys(user_id=principal.user_id)
        return super().resolve(event, context)


def make_resolver() -> APIGatewayRestResolver:
    app = BotfleetResolver(enable_validation=True, cors=CORSConfig(allow_origin="*", max_age=600))

    @app.exception_handler(BotfleetError)
    def on_domain_error(exc: BotfleetError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    def on_validation_error(exc: RequestValidationError) -> Response:
        errors = exc.errors()
        first = errors[0] if errors else {}
        if first.get("type") == "json_invalid":
            return error_response(400, "malformed_json", "the request body is not valid JSON")
        if first.get("type") == "model_attributes_type" or (_field_of(first) == "body" and first.get(
            "type", ""
        ).endswith("_type")):
            return error_response(400, "bad_request", "the request body must be a JSON object")
        field = _field_of(first)
        message = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
        return error_response(422, "validation_error", f"{field}: {message}")

    @app.not_found
    def on_not_found(exc: Exception) -> Response:
        path = app.current_event.path
        return error_response(404, "not_found", f"no route for {app.current_event.http_method} {path}")

    @app.exception_handler(Exception)
    def on_unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "something went wrong on our side; it has been logged")

    return app


def source_ip(event: Any, origin_proof: Callable[[], str] = runtime.origin_proof) -> str:
    """The caller's address, which the per-address throttles key on: the TCP peer API Gateway saw
    (`requestContext.identity.sourceIp`), except for a request that proves it came through our CloudFront
    distribution, whose peer is an edge server shared by everyone near it: then the viewer's address CloudFront
    saw. Never X-Forwarded-For, nor the viewer header without the proof: any client can write those. An event
    without a peer is throttled as "unknown"."""
    identity = (event.raw_event.get("requestContext") or {}).get("identity") or {}
    peer = str(identity.get("sourceIp") or "")
    headers = {str(name).lower(): value for name, value in (event.raw_event.get("headers") or {}).items()}
    viewer, proof = headers.get(VIEWER_ADDRESS_HEADER), headers.get(ORIGIN_PROOF_HEADER)
    if not (isinstance(viewer, str) and isinstance(proof, str)):
        return peer
    expected = origin_proof()
    if not expected or not hmac.compare_digest(proof.encode(), expected.encode()):
        logger.warning("a viewer address without a valid origin proof: the peer's address is used")
        return peer
    try:
        return str(ipaddress.ip_address(viewer.strip()))
    except ValueError:
        logger.warning("the distribution's viewer address is not an address: the peer's address is used")
        return peer


def request_id(event: Any) -> str | None:
    """API Gateway's id of this request, which the audit log records."""
    return (event.raw_event.get("requestContext") or {}).get("requestId")


def _bearer_token(headers: dict[str, str]) -> str | None:
    header = headers.get("authorization") or headers.get("Authorization") or ""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticated(request: Request) -> Principal:
    principal = request.context.get("principal")
    if principal is None:  # a route the policy made public asked for a caller: that's a policy bug
        raise Forbidden("this route needs a signed-in caller", code="not_authenticated")
    return principal


def admin_only(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
    # The middleware already enforces the policy; this guards a route that is admin-only by its handler.
    if not principal.is_admin:
        raise Forbidden("this needs the admin role", code="admin_required")
    return principal


# Route parameters: `caller: Caller` for any signed-in user, `admin: Admin` for admins only.
Caller = Annotated[Principal, Depends(authenticated)]
Admin = Annotated[Principal, Depends(admin_only)]
