"""API: the REST API under /api and the three functions behind it (auth, bots, ops)."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_logs as logs
from constructs import Construct

from botfleet_infra import nag
from botfleet_infra.data import DataConstruct, TableAccess
from botfleet_infra.functions import ONE_VCPU_MB, BotfleetFunction, FunctionFactory, FunctionSpec
from botfleet_infra.settings import API_STAGE_NAME, BuildSettings

#: The dashboard is a static site on another origin (CloudFront in AWS, the local cloud locally) and API
#: clients send a bearer token, not cookies, so any origin may call the API: allowing all origins exposes
#: nothing a token-less caller could not already reach. Pin this to the dashboard's domain once it has one.
CORS_ALLOW_ORIGIN = "*"
CORS_ALLOW_HEADERS = ["Content-Type", "Authorization", "Idempotency-Key", "X-Amz-Date", "X-Amz-Security-Token"]

#: Errors API Gateway answers itself (before any function runs), in the contract's error shape
#: `{"error": {"code": "<snake_case>", "message": "..."}}`: (construct id, type, status or None, code).
_GATEWAY_ERRORS: list[tuple[str, apigateway.ResponseType, str | None, str]] = [
    ("Default4xx", apigateway.ResponseType.DEFAULT_4_XX, None, "bad_request"),
    ("Default5xx", apigateway.ResponseType.DEFAULT_5_XX, None, "internal_error"),
    # API Gateway answers 403 "Missing Authentication Token" for a path it has no resource for, which only
    # happens outside /api (everything under /api reaches ops' JSON 404): make it the 404 it really is.
    ("MissingRoute", apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404", "not_found"),
    ("Throttled", apigateway.ResponseType.THROTTLED, None, "rate_limited"),
    ("IntegrationTimeout", apigateway.ResponseType.INTEGRATION_TIMEOUT, None, "upstream_timeout"),
]


def _gateway_error_template(code: str) -> str:
    # $context.error.messageString is already a quoted JSON string.
    return '{"error":{"code":"%s","message":$context.error.messageString}}' % code  # noqa: UP031


class ApiConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: BuildSettings,
        functions: FunctionFactory,
        data: DataConstruct,
        websocket_url: str,
    ) -> None:
        super().__init__(scope, construct_id)

        self.auth = functions.create(
            self,
            "Auth",
            FunctionSpec(
                name="auth",
                description="REST /api/auth: register, login, logout, me, delete own account",
                # Password hashing (argon2id) is CPU- and memory-bound; Lambda CPU scales with memory.
                memory_mb=512,
                timeout=Duration.seconds(15),
                environment={
                    "REGISTRATIONS_PER_ADDRESS_PER_HOUR": str(settings.registrations_per_address_per_hour),
                },
            ),
        )
        self.bots = functions.create(
            self,
            "Bots",
            FunctionSpec(
                name="bots",
                description="REST /api/bots, /api/trades, /api/capital, /api/portfolio, /api/strategies, /api/markets",
                memory_mb=512,
                timeout=Duration.seconds(15),
            ),
        )
        self.ops = functions.create(
            self,
            "Ops",
            FunctionSpec(
                name="ops",
                description="REST /api/health, /api/config, /api/metrics and the JSON 404 for unknown /api routes",
                # An admin's metrics read the fleet's figures once a minute (`make bench-metrics`): ~0.11 ms of CPU a
                # bot, so ~11 s of a full vCPU at 100,000 bots; at 256 MB (a seventh of one) 10,000 bots took 23 s.
                # One vCPU, and up to API Gateway's 29 s, so the read that refreshes the kept figures finishes.
                memory_mb=ONE_VCPU_MB,
                timeout=Duration.seconds(28),
                environment={"WS_URL": websocket_url},
            ),
        )

        # auth: users, credentials, token versions (logout bumps them), throttle counters: read/write.
        data.connect_table(self.auth, TableAccess.READ_WRITE)
        # bots: bots, trades, capital: read/write.
        data.connect_bot_writer(self.bots)
        # ops: the health self-test and the metrics read; the one item it writes is the kept fleet metrics.
        data.connect_table(self.ops, TableAccess.READ_AND_KEEP_METRICS)
        # All three verify bearer tokens themselves (see the APIG4 acknowledgment below); auth also signs them.
        for verifier in (self.auth, self.bots, self.ops):
            data.connect_jwt_secret(verifier)

        self.rest_api = self._rest_api(settings)
        self._routes()
        self._gateway_responses()

        # Built from the literal stage name instead of the Stage's Ref so the URL also resolves in
        # emulators that do not model Stage resources; in AWS it is the same value as `rest_api.url`.
        stack = Stack.of(self)
        #: {id}.execute-api.{region}.{urlSuffix}: the API's host (the dashboard's CloudFront origin for /api/*).
        self.domain_name = f"{self.rest_api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}"
        self.url = f"https://{self.domain_name}/{API_STAGE_NAME}/"

    def _rest_api(self, settings: BuildSettings) -> apigateway.RestApi:
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=settings.stateful_removal_policy,
        )
        rest_api = apigateway.RestApi(
            self,
            "RestApi",
            description="botfleet REST API",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # Stage access logs need the account-level API Gateway CloudWatch role; create it with the API.
            # It is account-wide, so FULL keeps it when the stack goes (other APIs may rely on it).
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=settings.stateful_removal_policy,
            deploy_options=apigateway.StageOptions(
                stage_name=API_STAGE_NAME,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                tracing_enabled=True,
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                # Never log request/response bodies: they carry passwords, tokens and exchange keys.
                data_trace_enabled=False,
                metrics_enabled=True,
                throttling_rate_limit=200,
                throttling_burst_limit=400,
            ),
            default_cors_preflight_options=apigateway.CorsOptions(
                allow_origins=[CORS_ALLOW_ORIGIN],
                allow_methods=apigateway.Cors.ALL_METHODS,
                allow_headers=CORS_ALLOW_HEADERS,
                max_age=Duration.hours(1),
            ),
        )

        nag.acknowledge(
            rest_api,
            "APIG4",
            "No API Gateway authorizer by design: every function verifies the bearer JWT itself, including the "
            "token-version revocation check, which needs a table read anyway; an authorizer's result cache "
            "would delay revocation (logout, blocked accounts). register/login/health/config are public.",
        )
        nag.acknowledge(
            rest_api,
            "COG4",
            "Users are botfleet's own accounts (argon2id passwords, JWT with revocable token versions, see "
            "APIG4), not a Cognito user pool.",
        )
        nag.acknowledge(
            rest_api,
            "APIG2",
            "Requests are validated in the functions by pydantic models (Powertools enable_validation) that "
            "also produce the contract's 422 error shape; API Gateway models would duplicate that schema.",
        )
        nag.acknowledge(
            rest_api,
            "APIG3",
            "No WAF web ACL in the base stack (it costs per ACL and rule, and emulators do not model it): "
            "abuse is bounded by stage throttling and, in auth, login throttling per source address, per "
            "(address, account) and per account, and a per-address registration limit. Attach a WAF "
            "web ACL to the prod stage when a deployment needs one (infra/README.md).",
        )
        nag.acknowledge(
            rest_api,
            "IAM4",
            "The account-level API Gateway CloudWatch role uses the AWS-managed push-to-logs policy, which is "
            "exactly the permission set API Gateway documents for it.",
            "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
        )
        # RestApi adds its own `Endpoint` output; RestApiUrl (the contract's name) replaces it, and unlike it
        # does not Ref the Stage resource (see self.url).
        rest_api.node.try_remove_child("Endpoint")
        return rest_api

    @property
    def cloud_watch_account(self) -> Construct:
        """The account-level API Gateway settings (CloudWatch role) created with the REST API."""
        return self.rest_api.node.find_child("Account")

    @staticmethod
    def _integration(target: BotfleetFunction) -> apigateway.LambdaIntegration:
        # No console test-invoke permission: one fewer principal allowed to call the function.
        return apigateway.LambdaIntegration(target.function, proxy=True, allow_test_invoke=False)

    def route(self, resource: apigateway.IResource, target: BotfleetFunction) -> None:
        """ANY + Lambda proxy on exactly this path."""
        resource.add_method("ANY", self._integration(target))

    def route_tree(self, resource: apigateway.IResource, target: BotfleetFunction) -> None:
        """ANY + Lambda proxy on every path below this one ({proxy+})."""
        resource.add_proxy(default_integration=self._integration(target), any_method=True)

    def _routes(self) -> None:
        """Every route is ANY + Lambda proxy: the functions do their own routing (Powertools resolver)."""
        route, route_tree = self.route, self.route_tree
        api = self.rest_api.root.add_resource("api")

        route_tree(api.add_resource("auth"), self.auth)

        for collection in ("bots", "trades", "capital"):
            resource = api.add_resource(collection)
            route(resource, self.bots)
            route_tree(resource, self.bots)
        route(api.add_resource("strategies"), self.bots)
        route_tree(api.add_resource("markets"), self.bots)  # /api/markets/{exchange}/{symbol}/candles
        route(api.add_resource("portfolio"), self.bots)

        route(api.add_resource("health"), self.ops)
        route(api.add_resource("config"), self.ops)
        route(api.add_resource("metrics"), self.ops)
        self.api_resource = api  # other domains' constructs add their routes under /api
        # Catch-all: any other /api path reaches ops, which answers the contract's JSON 404.
        route_tree(api, self.ops)

    def _gateway_responses(self) -> None:
        cors_headers = {
            "Access-Control-Allow-Origin": f"'{CORS_ALLOW_ORIGIN}'",
            "Access-Control-Allow-Headers": "'" + ",".join(CORS_ALLOW_HEADERS) + "'",
            "Access-Control-Allow-Methods": "'" + ",".join(apigateway.Cors.ALL_METHODS) + "'",
        }
        for construct_id, response_type, status_code, code in _GATEWAY_ERRORS:
            self.rest_api.add_gateway_response(
                construct_id,
                type=response_type,
                status_code=status_code,
                response_headers=cors_headers,
                templates={"application/json": _gateway_error_template(code)},
            )
