"""The REST API: every contract path under /api, ANY + Lambda proxy to the right function, error shapes."""

import json

import pytest
from aws_cdk.assertions import Match

#: path -> function (docs/internals.md, "Functions").
ROUTES = {
    "/api/auth/{proxy+}": "auth",
    "/api/bots": "bots",
    "/api/bots/{proxy+}": "bots",
    "/api/trades": "bots",
    "/api/trades/{proxy+}": "bots",
    "/api/strategies": "bots",
    "/api/capital": "bots",
    "/api/capital/{proxy+}": "bots",
    "/api/portfolio": "bots",
    "/api/markets/{proxy+}": "bots",
    "/api/metrics": "ops",
    "/api/admin/{proxy+}": "admin",
    "/api/keys": "keys",
    "/api/keys/{proxy+}": "keys",
    "/api/training/{proxy+}": "training",
    "/api/quarantine/{proxy+}": "quarantine",
    "/api/ai/{proxy+}": "assistant",
    "/api/health": "ops",
    "/api/config": "ops",
    "/api/{proxy+}": "ops",
}


def _resource_paths(light) -> dict[str, str]:
    """logical id of each AWS::ApiGateway::Resource (and of the root) -> full path."""
    (rest_api_id,) = light.resources_of_type("AWS::ApiGateway::RestApi")
    resources = light.resources_of_type("AWS::ApiGateway::Resource")
    root = {"Fn::GetAtt": [rest_api_id, "RootResourceId"]}

    def path_of(logical_id: str) -> str:
        props = resources[logical_id]["Properties"]
        parent = props["ParentId"]
        prefix = "" if parent == root else path_of(parent["Ref"])
        return f"{prefix}/{props['PathPart']}"

    return {logical_id: path_of(logical_id) for logical_id in resources}


def _methods_by_path(light) -> dict[tuple[str, str], dict]:
    paths = _resource_paths(light)
    methods = {}
    for method in light.resources_of_type("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        resource = props["ResourceId"]
        path = paths[resource["Ref"]] if "Ref" in resource else "/"
        methods[(path, props["HttpMethod"])] = props
    return methods


@pytest.fixture(scope="module")
def methods(light):
    return _methods_by_path(light)


@pytest.mark.parametrize(("path", "target"), sorted(ROUTES.items()))
def test_route_is_any_with_lambda_proxy_to_its_function(light, methods, path, target):
    props = methods[(path, "ANY")]
    integration = props["Integration"]
    assert integration["Type"] == "AWS_PROXY"
    assert integration["IntegrationHttpMethod"] == "POST"
    uri = json.dumps(integration["Uri"])
    assert light.function_logical_ids()[target] in uri
    assert props["AuthorizationType"] == "NONE", "JWTs are verified in the functions"


def test_no_other_routes(methods):
    assert {path for path, verb in methods if verb != "OPTIONS"} == set(ROUTES)


def test_cors_preflight_everywhere(methods):
    routed = {path for path, verb in methods if verb == "ANY"}
    assert routed <= {path for path, verb in methods if verb == "OPTIONS"}


def test_stage_prod_with_access_logs_tracing_throttling(light):
    light.template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "prod",
            "TracingEnabled": True,
            "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.any_value()},
        },
    )
    (stage,) = light.resources_of_type("AWS::ApiGateway::Stage").values()
    (settings,) = stage["Properties"]["MethodSettings"]
    assert settings["DataTraceEnabled"] is False, "bodies carry passwords and keys"
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
    light.template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"EndpointConfiguration": {"Types": ["REGIONAL"]}}
    )


@pytest.mark.parametrize("response_type", ["DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN", "THROTTLED"])
def test_gateway_responses_use_the_contract_error_shape(light, response_type):
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in light.resources_of_type("AWS::ApiGateway::GatewayResponse").values()
    }
    props = responses[response_type]
    template = props["ResponseTemplates"]["application/json"]
    # Render the one variable API Gateway substitutes to check the result is the contract's JSON shape.
    body = json.loads(template.replace("$context.error.messageString", '"Some message"'))
    assert set(body) == {"error"}
    assert body["error"]["message"] == "Some message"
    assert body["error"]["code"].islower() and " " not in body["error"]["code"]
    assert props["ResponseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"
    if response_type == "MISSING_AUTHENTICATION_TOKEN":
        assert props["StatusCode"] == "404"
        assert body["error"]["code"] == "not_found"
