"""The WebSocket API and the stream-driven broadcaster."""

from aws_cdk.assertions import Match


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
        },
    )
