"""The stack as a whole: contract outputs, cdk-nag clean, cfn-lint clean, LIGHT vs FULL."""

import json

import pytest
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks

from botfleet_infra.app import create_app

CONTRACT_OUTPUTS = {"RestApiUrl", "WebSocketUrl", "DashboardUrl", "TableName", "ProvisionFunctionName",
                    "TickFunctionName"}

#: cfn-lint rules ignored, each with its reason.
CFN_LINT_IGNORED = {
    # CDK's Function always adds DependsOn on its role next to the GetAtt: redundant, harmless.
    "W3005",
}


def test_stack_name(light):
    assert light.stack.stack_name == "Botfleet"
    assert light.stack.node.id == "Botfleet"
    assert (light.outdir / "Botfleet.template.json").is_file()


def test_contract_outputs(light):
    outputs = light.template.to_json()["Outputs"]
    assert set(outputs) == CONTRACT_OUTPUTS
    (table_id,) = light.resources_of_type("AWS::DynamoDB::Table")
    assert outputs["TableName"]["Value"] == {"Ref": table_id}
    assert outputs["ProvisionFunctionName"]["Value"] == {"Ref": light.function_logical_ids()["provision"]}
    assert outputs["TickFunctionName"]["Value"] == {"Ref": light.function_logical_ids()["tick"]}
    rest_url = json.dumps(outputs["RestApiUrl"]["Value"])
    assert rest_url.startswith('{"Fn::Join": ["", ["https://"') and rest_url.endswith('"/prod/"]]}')
    # Built from the literal stage name: no Ref to a Stage, which emulators may not model.
    (stage_id,) = light.resources_of_type("AWS::ApiGateway::Stage")
    assert stage_id not in rest_url
    assert json.dumps(outputs["WebSocketUrl"]["Value"]).startswith('{"Fn::Join": ["", ["wss://"')


def test_light_mode_has_no_bootstrap_version_rule(light):
    template = light.template.to_json()
    assert "BootstrapVersion" not in template.get("Parameters", {})
    assert "CheckBootstrapVersion" not in template.get("Rules", {})


def test_cdk_nag_reports_nothing_unacknowledged(light):
    # cdk-nag 3 is a policy-validation plugin (synth would already have failed); run it again explicitly
    # to see the report.
    report = AwsSolutionsChecks().validate_scope(light.app)
    violations = [f"{v.rule_name}: {[r.construct_path for r in v.violating_resources]}" for v in report.violations]
    assert violations == []
    assert report.success


def test_no_error_or_warning_annotations(light):
    annotations = Annotations.from_stack(light.stack)
    assert annotations.find_error("*", Match.any_value()) == []
    assert annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*")) == []


def test_nag_would_catch_a_violation(tmp_path):
    """Guard against a silently disabled check: an unacknowledged finding must be reported."""
    from aws_cdk import aws_iam as iam

    app, stack = create_app(context={"botfleet:light": True}, outdir=str(tmp_path))
    iam.Role(stack, "Careless", assumed_by=iam.AccountRootPrincipal()).add_to_policy(
        iam.PolicyStatement(actions=["dynamodb:*"], resources=["*"])
    )
    report = AwsSolutionsChecks().validate_scope(app)
    assert not report.success
    assert any(v.rule_name.startswith("AwsSolutions-IAM5") for v in report.violations)


def test_cfn_lint_finds_no_errors(light):
    from cfnlint.api import lint

    template_text = (light.outdir / "Botfleet.template.json").read_text()
    matches = [m for m in lint(template_text, regions=["us-east-1"]) if m.rule.id not in CFN_LINT_IGNORED]
    assert [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches] == []


@pytest.fixture(scope="module")
def full_template(tmp_path_factory):
    """FULL mode without running its bundlers (that needs the network): CDK skips bundling for stacks not
    listed in `aws:cdk:bundling-stacks`, which is how `cdk ls` and `cdk destroy` synthesize too."""
    from aws_cdk.assertions import Template

    outdir = tmp_path_factory.mktemp("cdk.out.full")
    _, stack = create_app(context={"aws:cdk:bundling-stacks": []}, outdir=str(outdir))
    return Template.from_stack(stack).to_json()


def test_full_mode_keeps_data_and_checks_bootstrap(full_template):
    resources = full_template["Resources"]
    (table,) = [r for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    (jwt_secret,) = [r for lid, r in resources.items() if lid.startswith("DataJwtSecret")]
    assert jwt_secret["DeletionPolicy"] == "Retain"  # a new key would sign every user out
    assert "BootstrapVersion" in full_template["Parameters"]
    assert set(full_template["Outputs"]) == CONTRACT_OUTPUTS
