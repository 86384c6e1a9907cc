"""Every function of docs/internals.md exists with the contract's runtime, handler, layers and env vars."""

import pytest
from aws_cdk.assertions import Match, Template

from botfleet_infra.app import create_app
from tests.infra.conftest import FUNCTION_NAMES

COMMON_ENV = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}

#: docs/internals.md, "Environment variables".
CONTRACT_ENV = {
    # ORIGIN_PROOF_SECRET_ARN: where per-address limits apply, in a stack with the dashboard's distribution (web.py).
    "auth": {"TABLE_NAME", "JWT_SECRET_ARN", "WS_CALLBACK_URL", "REGISTRATIONS_PER_ADDRESS_PER_HOUR",
             "ORIGIN_PROOF_SECRET_ARN"},
    "bots": {"TABLE_NAME", "JWT_SECRET_ARN", "TICK_SHARDS", "KEYS_KMS_KEY_ID", "QUARANTINE_STATE_MACHINE_ARN"},
    "ops": {"TABLE_NAME", "JWT_SECRET_ARN", "WS_URL"},
    "ws": {"TABLE_NAME", "JWT_SECRET_ARN", "WS_CALLBACK_URL"},
    "broadcaster": {"TABLE_NAME", "WS_CALLBACK_URL", "WS_POSTS_PER_SECOND"},
    "tick": {"TABLE_NAME", "ENGINE_FUNCTION_NAME", "TICK_SHARDS"},
    "engine": {"TABLE_NAME", "TICK_SHARDS", "KEYS_KMS_KEY_ID", "QUARANTINE_STATE_MACHINE_ARN"},
    "provision": {"TABLE_NAME", "JWT_SECRET_ARN", "TICK_SHARDS"},
    "admin": {"TABLE_NAME", "JWT_SECRET_ARN", "WS_CALLBACK_URL", "TICK_SHARDS", "KEYS_KMS_KEY_ID",
              "QUARANTINE_STATE_MACHINE_ARN"},
    "keys": {"TABLE_NAME", "JWT_SECRET_ARN", "KEYS_KMS_KEY_ID"},
    "training": {"TABLE_NAME", "JWT_SECRET_ARN", "TRAINING_STATE_MACHINE_ARN", "TICK_SHARDS"},
    "trainer": {"TABLE_NAME"},
    "quarantine": {"TABLE_NAME", "JWT_SECRET_ARN"},
    "quarantiner": {"TABLE_NAME", "TICK_SHARDS"},
    "assistant": {"TABLE_NAME", "JWT_SECRET_ARN", "TICK_SHARDS", "KEYS_KMS_KEY_ID", "QUARANTINE_STATE_MACHINE_ARN",
                  "ASSISTANT_CONFIRMATION_SECONDS", "ORIGIN_PROOF_SECRET_ARN"},
}


def test_exactly_the_contract_functions(light):
    assert set(light.function_logical_ids()) == set(FUNCTION_NAMES)


def test_function_runtime_handler_layers_tracing(light, function_name):
    props = light.function(function_name)["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Handler"] == "handler.handler"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Architectures"] == ["x86_64"]
    layer_ids = {layer["Ref"] for layer in props["Layers"]}
    # The stack's own layers (CDK's AWS CLI layer for the dashboard's BucketDeployment is not one of them).
    layers = {lid for lid in light.resources_of_type("AWS::Lambda::LayerVersion") if lid.startswith("SharedLayers")}
    assert len(layers) == 2
    assert layer_ids == layers, "every function carries exactly the core and deps layers"


def test_function_env_vars_match_contract(light, function_name):
    env = light.function(function_name)["Properties"]["Environment"]["Variables"]
    assert set(env) == COMMON_ENV | CONTRACT_ENV[function_name]
    assert env["POWERTOOLS_SERVICE_NAME"] == f"botfleet-{function_name}"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "botfleet"
    assert env["LOG_LEVEL"] == "INFO"
    if "TICK_SHARDS" in env:
        assert env["TICK_SHARDS"] == "64"


def test_env_var_values_point_at_the_right_resources(light):
    table_id = next(iter(light.resources_of_type("AWS::DynamoDB::Table")))
    secret_id = light.jwt_secret_id()
    ws_api_id = next(iter(light.resources_of_type("AWS::ApiGatewayV2::Api")))
    ids = light.function_logical_ids()
    for name in FUNCTION_NAMES:
        env = light.function(name)["Properties"]["Environment"]["Variables"]
        if "TABLE_NAME" in env:
            assert env["TABLE_NAME"] == {"Ref": table_id}
        if "JWT_SECRET_ARN" in env:
            assert env["JWT_SECRET_ARN"] == {"Ref": secret_id}
    assert light.function("tick")["Properties"]["Environment"]["Variables"]["ENGINE_FUNCTION_NAME"] == {
        "Ref": ids["engine"]
    }

    def url(scheme):
        return {
            "Fn::Join": [
                "",
                [f"{scheme}://", {"Ref": ws_api_id}, ".execute-api.", {"Ref": "AWS::Region"}, ".",
                 {"Ref": "AWS::URLSuffix"}, "/prod"],
            ]
        }  # fmt: skip

    assert light.function("ops")["Properties"]["Environment"]["Variables"]["WS_URL"] == url("wss")
    for name in ("ws", "broadcaster", "admin", "auth"):
        assert light.function(name)["Properties"]["Environment"]["Variables"]["WS_CALLBACK_URL"] == url("https")


def test_the_registration_limit_comes_from_context_with_a_default(light, tmp_path):
    env = light.function("auth")["Properties"]["Environment"]["Variables"]
    assert env["REGISTRATIONS_PER_ADDRESS_PER_HOUR"] == "20"
    _, stack = create_app(context={"botfleet:light": True, "botfleet:registrations_per_address_per_hour": 10000},
                          outdir=str(tmp_path))
    (auth,) = [r for r in Template.from_stack(stack).to_json()["Resources"].values()
               if r["Type"] == "AWS::Lambda::Function"
               and r["Properties"].get("Environment", {}).get("Variables", {}).get("POWERTOOLS_SERVICE_NAME")
               == "botfleet-auth"]
    assert auth["Properties"]["Environment"]["Variables"]["REGISTRATIONS_PER_ADDRESS_PER_HOUR"] == "10000"


@pytest.mark.parametrize("key, bad", [
    *(("botfleet:registrations_per_address_per_hour", bad) for bad in (0, -3, "many", True)),
    # the broadcasters' share of API Gateway's throttle: at most the largest regions' 10,000 a second
    *(("botfleet:broadcast_posts_per_second", bad) for bad in (0, 20_000, "fast")),
])
def test_a_bad_context_value_fails_the_synth(key, bad):
    from botfleet_infra.settings import BuildSettings

    class Node:
        def try_get_context(self, asked):
            return bad if asked == key else None

    with pytest.raises(ValueError, match=key):
        BuildSettings.from_context(Node())


def test_each_function_has_its_own_role_and_log_group(light, function_name):
    roles = {light.role_logical_id(n) for n in FUNCTION_NAMES}
    assert len(roles) == len(FUNCTION_NAMES)
    props = light.function(function_name)["Properties"]
    log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert light.resources[log_group_id]["Properties"]["RetentionInDays"] == 30
    # JSON: the core's stdlib log lines keep their fields (the bot id) and the request id (Text drops them)
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    role = light.resources[light.role_logical_id(function_name)]["Properties"]
    assert "ManagedPolicyArns" not in role, "no AWSLambdaBasicExecutionRole: logs go to the own group only"
    log_statements = [s for s in light.role_statements(function_name) if "logs:PutLogEvents" in s["Action"]]
    assert log_statements == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
        }
    ]


def test_engine_sizing(light):
    props = light.function("engine")["Properties"]
    assert props["Timeout"] == 50
    assert "ReservedConcurrentExecutions" not in props


def test_no_node_custom_resources(light):
    """log_retention= and friends deploy Node.js custom resources that emulators never complete. The one custom
    resource is the dashboard's BucketDeployment (a Python handler), which exists only with a built web/dist and
    which the emulators leave out with the whole web construct (botfleet:web=false, test_infra_web.py)."""
    custom = {t for t in (r["Type"] for r in light.resources.values()) if t.startswith("Custom::")}
    assert custom <= {"Custom::CDKBucketDeployment"}
    light.template.resource_count_is("AWS::CloudFormation::CustomResource", 0)
    light.template.resource_properties_count_is(
        "AWS::Lambda::Function", {"Runtime": Match.string_like_regexp("nodejs")}, 0
    )


def test_assistant_confirmations_last_two_minutes_unless_context_shortens_them(light):
    env = light.function("assistant")["Properties"]["Environment"]["Variables"]
    assert env["ASSISTANT_CONFIRMATION_SECONDS"] == "120"


@pytest.mark.parametrize("bad", [0, 121, 3600, "soon", True])
def test_a_confirmation_window_outside_1_to_120_seconds_fails_the_synth(bad):
    from botfleet_infra.settings import CONFIRMATION_CONTEXT_KEY, BuildSettings

    class Node:
        def try_get_context(self, key):
            return bad if key == CONFIRMATION_CONTEXT_KEY else None

    with pytest.raises(ValueError, match="assistant_confirmation_seconds"):
        BuildSettings.from_context(Node())


def test_every_function_starts_with_the_template_environment_and_bot_writers_share_one_shard_count(light):
    """Each function's own settings model (botfleet.settings) accepts the environment the template gives it, so
    none fails its cold start; and every function that writes bots gets the same TICK_SHARDS as the tick."""
    from botfleet.settings import REQUIRED, settings_for, settings_model

    assert set(REQUIRED) == set(FUNCTION_NAMES)
    shard_counts = {}
    for name in FUNCTION_NAMES:
        env = light.function(name)["Properties"]["Environment"]["Variables"]
        stand_in = {key: value if isinstance(value, str) else f"<{key} from CloudFormation>"
                    for key, value in env.items()}
        settings = settings_for(name, stand_in)
        if settings_model(name).model_fields["tick_shards"].is_required():
            shard_counts[name] = settings.tick_shards
    assert set(shard_counts) == {"bots", "admin", "assistant", "engine", "provision", "quarantiner", "training",
                                 "tick"}
    assert len(set(shard_counts.values())) == 1, shard_counts


@pytest.mark.parametrize("missing", ["TICK_SHARDS", "TABLE_NAME"])
def test_a_function_missing_a_required_setting_fails_its_cold_start_naming_it(missing):
    """The Lambda init: importing the handler (runtime.configure) with the variable unset."""
    import os
    import subprocess
    import sys

    from tests.infra.conftest import REPO_ROOT

    env = {"PATH": os.environ.get("PATH", ""), "TABLE_NAME": "t", "JWT_SECRET_ARN": "arn", "TICK_SHARDS": "4"}
    del env[missing]
    env["PYTHONPATH"] = str(REPO_ROOT / "layers" / "core")
    started = subprocess.run([sys.executable, "-c", "import handler"], cwd=REPO_ROOT / "functions" / "bots", env=env,
                             capture_output=True, text=True)
    assert started.returncode != 0
    assert "ConfigurationError" in started.stderr and missing in started.stderr
