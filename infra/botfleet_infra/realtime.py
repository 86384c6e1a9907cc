"""Realtime: the dashboard's WebSocket API (ws function) and the stream-driven broadcaster."""

from __future__ import annotations

import jsii
from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from constructs import Construct

from botfleet_infra import nag
from botfleet_infra.data import DataConstruct, TableAccess
from botfleet_infra.functions import ONE_VCPU_MB, FunctionFactory, FunctionSpec
from botfleet_infra.settings import API_STAGE_NAME, BROADCAST_PARALLELIZATION, BuildSettings

ROUTE_SELECTION_EXPRESSION = "$request.body.action"

#: One JSON line per WebSocket event: connection lifecycle and route, never message bodies.
_ACCESS_LOG_FORMAT = apigateway.AccessLogFormat.custom(
    '{"requestId":"$context.requestId","connectionId":"$context.connectionId",'
    '"eventType":"$context.eventType","routeKey":"$context.routeKey","status":"$context.status",'
    '"requestTime":"$context.requestTime","sourceIp":"$context.identity.sourceIp",'
    '"integrationError":"$context.integrationErrorMessage"}'
)


@jsii.implements(apigwv2.IAccessLogSettings)
class _WebSocketAccessLogs:
    """`IAccessLogSettings` has no concrete class in aws-cdk-lib, so implement the two properties."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return _ACCESS_LOG_FORMAT


class RealtimeConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: BuildSettings,
        functions: FunctionFactory,
        data: DataConstruct,
    ) -> None:
        super().__init__(scope, construct_id)

        self.ws = functions.create(
            self,
            "Ws",
            FunctionSpec(
                name="ws",
                description="WebSocket $connect/$disconnect/$default: JWT at connect, ping, subscribe",
                memory_mb=256,
                timeout=Duration.seconds(10),
            ),
        )
        self.broadcaster = functions.create(
            self,
            "Broadcaster",
            FunctionSpec(
                name="broadcaster",
                description="Turns table stream records into dashboard events on the owners' connections",
                # One vCPU: a @connections post costs ~0.75 ms of CPU in boto3 (make bench-ws), and Lambda's CPU
                # share is memory / 1,769 MB, so at 256 MB a thousand posts took 5 s however many threads sent
                # them; at 1,769 MB, 0.75 s for the same GB-seconds (docs/scaling.md, "WebSocket fan-out").
                memory_mb=ONE_VCPU_MB,
                timeout=Duration.seconds(30),
            ),
        )
        # Its share of the account's @connections throttle; BROADCAST_PARALLELIZATION instances run at once.
        self.broadcaster.add_environment("WS_POSTS_PER_SECOND", f"{settings.posts_per_second_per_broadcaster:g}")

        # ws stores/removes connections and subscriptions: read/write.
        data.connect_table(self.ws, TableAccess.READ_WRITE)
        # The JWT arrives as ?token= on $connect and is verified here (no API Gateway authorizer).
        data.connect_jwt_secret(self.ws)
        # broadcaster looks up the owner's connections and deletes the ones @connections reports gone;
        # it never creates or changes an item.
        data.connect_table(self.broadcaster, TableAccess.READ_AND_DELETE)

        integration = integrations.WebSocketLambdaIntegration("WsIntegration", self.ws.function)
        self.api = apigwv2.WebSocketApi(
            self,
            "WebSocketApi",
            description="botfleet live dashboard events",
            route_selection_expression=ROUTE_SELECTION_EXPRESSION,
            connect_route_options=apigwv2.WebSocketRouteOptions(integration=integration),
            disconnect_route_options=apigwv2.WebSocketRouteOptions(integration=integration),
            default_route_options=apigwv2.WebSocketRouteOptions(integration=integration),
        )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=settings.stateful_removal_policy,
        )
        self.stage = apigwv2.WebSocketStage(
            self,
            "WebSocketStage",
            web_socket_api=self.api,
            stage_name=API_STAGE_NAME,
            auto_deploy=True,
            access_log_settings=_WebSocketAccessLogs(self.access_logs),
            throttle=apigwv2.ThrottleSettings(rate_limit=500, burst_limit=1000),
        )
        nag.acknowledge(
            self.api,
            "APIG4",
            "The WebSocket client passes its JWT as ?token= on $connect (browsers cannot set headers on a "
            "WebSocket) and the ws function verifies it, including the token-version revocation check that "
            "needs a table read; later messages ride on that authenticated connection.",
        )

        # wss://{apiId}.execute-api.{region}.{urlSuffix}/prod: what clients connect to.
        self.url = self.stage.url
        # https://.../prod: the @connections management endpoint the functions post to.
        self.callback_url = self.stage.callback_url

        for sender in (self.ws, self.broadcaster):
            self.grant_connections(sender)

        self.broadcaster.function.add_event_source(
            event_sources.DynamoEventSource(
                data.table,
                starting_position=lambda_.StartingPosition.LATEST,
                batch_size=100,
                max_batching_window=Duration.seconds(0),
                # A tick's records spread over up to ten concurrent batches (by partition key), so its posts are
                # sent by up to ten instances; a bot's or a user's records stay in order (docs/scaling.md).
                parallelization_factor=BROADCAST_PARALLELIZATION,
                bisect_batch_on_error=True,
                retry_attempts=3,
                report_batch_item_failures=True,
                # No on-failure destination: these are live notifications of state that is already in the
                # table, and the dashboard reloads that state on reconnect, so a dropped event is not lost data.
            )
        )
        nag.acknowledge(
            self.broadcaster.role,
            "IAM5",
            "Consuming a DynamoDB stream needs dynamodb:ListStreams, which supports no resource-level "
            "permissions; X-Ray tracing needs the same wildcard. All other stream actions name this stream.",
            "Resource::*",
        )

    def grant_connections(self, sender) -> None:
        """Let `sender` post to and close this API's connections (WS_CALLBACK_URL + ManageConnections)."""
        sender.add_environment("WS_CALLBACK_URL", self.callback_url)
        # execute-api:ManageConnections on {apiId}/prod/*/@connections/*: POST (send), GET (inspect)
        # and DELETE (close) on this stage's connections only.
        self.stage.grant_management_api_access(sender.function)
        nag.acknowledge(
            sender.role,
            "IAM5",
            "ManageConnections is scoped to this API's prod stage; the wildcards stand for the HTTP verb "
            "(POST/GET/DELETE) and the connection id, which only exists at runtime.",
            self._manage_connections_finding(),
        )

    def _manage_connections_finding(self) -> str:
        return nag.ref_finding(
            self.api,
            prefix="arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:",
            suffix=f"/{API_STAGE_NAME}/*/@connections/*",
        )
