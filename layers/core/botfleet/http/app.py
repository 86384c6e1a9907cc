"""One resolver factory for every REST function, so error shapes, auth and RBAC live in one place.

Errors follow the contract: `{"error": {"code", "message"}}`; 400 malformed, 401, 403, 404, 409,
422 naming the field, 429. Anything unexpected is logged and answered with a 500 without details.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.request import Request

from botfleet import runtime
from botfleet.errors import BotfleetError, Forbidden
from botfleet.http.rbac import required_role
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


class BotfleetResolver(APIGatewayRestResolver):
    """Powertools' resolver with the RBAC policy (botfleet.http.rbac) enforced before anything else: before
    routing and before request validation, so an anonymous caller learns nothing but 401 and a user
    nothing but 403 from an admin route, whatever the body. The one place roles are checked."""

    def resolve(self, event, context):
        headers = event.get("headers") or {}
        role = required_role(event.get("httpMethod", ""), event.get("path", ""))
        if role is not None:
            try:
                principal = runtime.auth().authenticate(_bearer_token(headers))
                if role == "admin" and not principal.is_admin:
                    raise Forbidden("this needs the admin role", code="admin_required")
            except BotfleetError as exc:
                return {
                    "statusCode": exc.status,
                    "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*",
                                **exc.headers},
                    "body": json.dumps({"error": {"code": exc.code, "message": exc.message}}),
                    "isBase64Encoded": False,
                }
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
        message = first.get("msg", "is invalid")
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
