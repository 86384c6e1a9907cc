"""The WebSocket API and the stream-driven broadcaster."""

import pytest
from aws_cdk.assertions import Match, Template

from botfleet_infra.app import create_app
from tests.infra.conftest import Synthesized


def test_websocket_api_routes_all_go_to_ws(light):
    light.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"},
    )
    routes = light.resources_of_type("AWS::ApiGatewayV2::Route")
    assert {r["Properties"]["RouteKey"] for r in routes.values()} == {"$connect", "$disconnect", "$default"}
    integrations = light.resources_of_type("AWS::ApiGatewayV2::Integration")
    ws_id = light.function_logical_ids()["ws"]
    for route in routes.values():
        target = route["Properties"]["Target"]["Fn::Join"][1]
        integration = integrations[target[1]["Ref"]]["Properties"]
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert ws_id in str(integration["IntegrationUri"])


def test_websocket_stage_prod_auto_deploy_with_access_logs(light):
    light.template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {"StageName": "prod", "AutoDeploy": True, "AccessLogSettings": Match.object_like({})},
    )


def test_api_gateway_may_invoke_ws_for_each_route(light):
    ws_id = light.function_logical_ids()["ws"]
    permissions = [
        p["Properties"]
        for p in light.resources_of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [ws_id, "Arn"]}
    ]
    assert len(permissions) == 3
    assert {p["Principal"] for p in permissions} == {"apigateway.amazonaws.com"}


def test_broadcaster_consumes_the_table_stream(light):
    (table_id,) = light.resources_of_type("AWS::DynamoDB::Table")
    light.template.resource_count_is("AWS::Lambda::EventSourceMapping", 1)
    light.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [table_id, "StreamArn"]},
            "FunctionName": {"Ref": light.function_logical_ids()["broadcaster"]},
            "StartingPosition": "LATEST",
            "BatchSize": 100,
            "MaximumBatchingWindowInSeconds": 0,
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": 3,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ParallelizationFactor": 10,
        },
    )


def test_each_broadcaster_instance_posts_at_its_share_of_the_throttle(light):
    # Ten instances at once (the parallelization factor), 5,000 posts a second between them by default: half the
    # account's API Gateway throttle, the rest left to the REST API and the ws function's replies.
    env = light.function("broadcaster")["Properties"]["Environment"]["Variables"]
    assert env["WS_POSTS_PER_SECOND"] == "500"



# -- botfleet:websocket=false (LocalStack community has no API Gateway v2) ----------------------------------------

@pytest.fixture(scope="module")
def without_websocket(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("cdk.out-no-ws")
    app, stack = create_app(context={"botfleet:light": True, "botfleet:websocket": "false"}, outdir=str(outdir))
    template = Template.from_stack(stack)
    app.synth()
    return Synthesized(app=app, stack=stack, template=template, outdir=outdir)


def test_without_websocket_the_stack_has_no_api_gateway_v2_nor_its_functions(without_websocket, light):
    types = {resource["Type"] for resource in without_websocket.resources.values()}
    assert not {t for t in types if t.startswith("AWS::ApiGatewayV2::")}
    assert {"ws", "broadcaster"} & set(without_websocket.function_logical_ids()) == set()
    assert set(light.function_logical_ids()) - set(without_websocket.function_logical_ids()) == {"ws", "broadcaster"}
    assert "WebSocketUrl" not in without_websocket.template.to_json().get("Outputs", {})
    assert "WebSocketUrl" in light.template.to_json()["Outputs"]


def test_without_websocket_no_function_is_told_a_callback_and_config_says_there_is_none(without_websocket):
    """Every remaining function still starts (its settings model accepts the template's environment): senders
    such as auth and admin simply have nothing to close; /api/config hands out an empty ws_url."""
    from botfleet.settings import settings_for

    for name in without_websocket.function_logical_ids():
        env = without_websocket.function(name)["Properties"]["Environment"]["Variables"]
        assert "WS_CALLBACK_URL" not in env, name
        settings_for(name, {key: value if isinstance(value, str) else f"<{key}>" for key, value in env.items()})
    assert without_websocket.function("ops")["Properties"]["Environment"]["Variables"]["WS_URL"] == ""
    actions = without_websocket.role_actions("admin") | without_websocket.role_actions("auth")
    assert "execute-api:ManageConnections" not in actions
