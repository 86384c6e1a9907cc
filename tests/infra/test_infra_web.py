"""The dashboard's hosting (web.py): private S3 behind CloudFront with OAC, security headers, /api/* to the REST API,
the BucketDeployment of web/dist, and what a synth does without a build (web/dist is not in git)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks

from botfleet_infra.app import create_app
from botfleet_infra.catalogue import ORIGIN_PROOF_ENV, ORIGIN_PROOF_HEADER, VIEWER_ADDRESS_HEADER
from botfleet_infra.settings import BuildSettings
from botfleet_infra.web import MISSING_BUILD_WARNING_ID, VIEWER_ADDRESS_FUNCTION, DashboardBuildMissing, WebConstruct
from tests.infra.conftest import REPO_ROOT, Synthesized

# CloudFront's managed policies (their ids are fixed by AWS).
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def _one(synth: Synthesized, resource_type: str) -> tuple[str, dict]:
    (item,) = synth.resources_of_type(resource_type).items()
    return item


def _bucket_ids(synth: Synthesized) -> tuple[str, str]:
    """(site bucket, logs bucket) logical ids."""
    buckets = synth.resources_of_type("AWS::S3::Bucket")
    (site,) = [lid for lid, b in buckets.items() if "LoggingConfiguration" in b["Properties"]]
    (logs,) = set(buckets) - {site}
    return site, logs


def _bucket_policy(synth: Synthesized, bucket_id: str) -> list[dict]:
    (policy,) = [p for p in synth.resources_of_type("AWS::S3::BucketPolicy").values()
                 if p["Properties"]["Bucket"] == {"Ref": bucket_id}]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _distribution(synth: Synthesized) -> dict:
    return _one(synth, "AWS::CloudFront::Distribution")[1]["Properties"]["DistributionConfig"]


def _csp(synth: Synthesized) -> object:
    policy = _one(synth, "AWS::CloudFront::ResponseHeadersPolicy")[1]["Properties"]["ResponseHeadersPolicyConfig"]
    return policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]


def _directives(csp: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in csp.split(";"))}


# -- the bucket -----------------------------------------------------------------------------------------------------

def test_site_bucket_is_private_encrypted_versioned_tls_only_and_logged(light):
    site, logs = _bucket_ids(light)
    props = light.resources[site]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                       "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"] == {"DestinationBucketName": {"Ref": logs}, "LogFilePrefix": "s3/"}
    assert "WebsiteConfiguration" not in props
    for bucket in (site, logs):
        (deny,) = [s for s in _bucket_policy(light, bucket) if s["Effect"] == "Deny"]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and deny["Action"] == "s3:*"


def test_only_this_distribution_reads_the_site_bucket_through_origin_access_control(light):
    site, _ = _bucket_ids(light)
    distribution_id, _ = _one(light, "AWS::CloudFront::Distribution")
    (allow,) = [s for s in _bucket_policy(light, site) if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert {"Ref": distribution_id} in allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Join"][1]
    # No origin access identity, no public statement anywhere.
    light.template.resource_count_is("AWS::CloudFront::CloudFrontOriginAccessIdentity", 0)
    for policy in light.resources_of_type("AWS::S3::BucketPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Deny" or "*" not in json.dumps(statement["Principal"])
    (s3_origin,) = [o for o in _distribution(light)["Origins"] if "S3OriginConfig" in o]
    assert s3_origin["DomainName"] == {"Fn::GetAtt": [site, "RegionalDomainName"]}
    oac_id, oac = _one(light, "AWS::CloudFront::OriginAccessControl")
    assert s3_origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert s3_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert oac["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"


def test_logs_bucket_takes_cloudfront_standard_logs_for_a_month(light):
    _, logs = _bucket_ids(light)
    props = light.resources[logs]["Properties"]
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}  # log ACLs
    assert props["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"}
    assert props["LifecycleConfiguration"] == {"Rules": [{"ExpirationInDays": 30, "Status": "Enabled"}]}
    assert _distribution(light)["Logging"] == {"Bucket": {"Fn::GetAtt": [logs, "RegionalDomainName"]},
                                               "Prefix": "cloudfront/"}


# -- the distribution -----------------------------------------------------------------------------------------------

def test_distribution_is_https_only_with_index_html_and_the_headers_policy_everywhere(light):
    config = _distribution(light)
    headers_id, _ = _one(light, "AWS::CloudFront::ResponseHeadersPolicy")
    assert config["DefaultRootObject"] == "index.html"
    default = config["DefaultCacheBehavior"]
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["AllowedMethods"] == ["GET", "HEAD"]
    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    behaviours = [default, *config["CacheBehaviors"]]
    assert all(b["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only") for b in behaviours)
    assert all(b["ResponseHeadersPolicyId"] == {"Ref": headers_id} for b in behaviours)
    # Error responses would apply to /api/* too (an API 404 turned into the index page).
    assert "CustomErrorResponses" not in config


def test_security_headers(light):
    _, policy = _one(light, "AWS::CloudFront::ResponseHeadersPolicy")
    config = policy["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"] == {"AccessControlMaxAgeSec": 63072000, "IncludeSubdomains": True,
                                                   "Override": True}
    assert security["ContentTypeOptions"] == {"Override": True}
    assert security["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert security["ReferrerPolicy"] == {"ReferrerPolicy": "no-referrer", "Override": True}
    assert security["ContentSecurityPolicy"]["Override"] is True
    assert config["CustomHeadersConfig"]["Items"] == [{"Header": "Cache-Control", "Value": "no-cache",
                                                       "Override": False}]


def test_csp_allows_this_origin_and_the_websocket_api_only(light):
    joined = _csp(light)["ContentSecurityPolicy"]["Fn::Join"]
    (ws_api_id, _), = light.resources_of_type("AWS::ApiGatewayV2::Api").items()
    before, endpoint, after = joined[1]
    assert joined[0] == "" and endpoint == {"Fn::GetAtt": [ws_api_id, "ApiEndpoint"]}  # wss://{id}.execute-api...
    directives = _directives(before + "wss://ws.example" + after)
    assert directives["connect-src"] == ["'self'", "wss://ws.example"]
    assert directives["default-src"] == directives["script-src"] == directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]  # the favicon is a data: URL
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]
    assert not [v for values in directives.values() for v in values if "unsafe" in v or v == "*"]


def test_api_paths_go_to_the_rest_api_prod_stage_uncached_with_all_viewer_headers_but_host(light):
    config = _distribution(light)
    (api,) = config["CacheBehaviors"]
    assert api["PathPattern"] == "/api/*"
    assert api["ViewerProtocolPolicy"] == "https-only"  # a redirected POST would turn into a GET
    assert set(api["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    assert api["CachePolicyId"] == CACHING_DISABLED
    assert api["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    (origin,) = [o for o in config["Origins"] if o["Id"] == api["TargetOriginId"]]
    (rest_api_id,) = light.resources_of_type("AWS::ApiGateway::RestApi")
    assert origin["DomainName"] == {"Fn::Join": ["", [{"Ref": rest_api_id}, ".execute-api.", {"Ref": "AWS::Region"},
                                                      ".", {"Ref": "AWS::URLSuffix"}]]}
    assert origin["OriginPath"] == "/prod"
    assert origin["CustomOriginConfig"] == {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]}


def _origin_proof_id(synth: Synthesized) -> str:
    (secret_id,) = [lid for lid, secret in synth.resources_of_type("AWS::SecretsManager::Secret").items()
                    if "CloudFront" in secret["Properties"].get("Description", "")]
    return secret_id


def test_api_requests_carry_the_viewers_address_and_a_proof_of_the_route(light):
    """Behind CloudFront the API's peer is an edge server: the per-address limits need the viewer's address, and a
    proof, which a direct caller cannot forge, that CloudFront set it (http.app.source_ip)."""
    config = _distribution(light)
    (api,) = config["CacheBehaviors"]
    function_id, function = _one(light, "AWS::CloudFront::Function")
    assert api["FunctionAssociations"] == [{"EventType": "viewer-request",
                                            "FunctionARN": {"Fn::GetAtt": [function_id, "FunctionARN"]}}]
    assert "FunctionAssociations" not in config["DefaultCacheBehavior"]  # the site's files need no address
    assert function["Properties"]["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert function["Properties"]["FunctionCode"] == VIEWER_ADDRESS_FUNCTION
    assert function["Properties"]["AutoPublish"] is True
    (origin,) = [o for o in config["Origins"] if o["Id"] == api["TargetOriginId"]]
    # The proof's value is a dynamic reference CloudFormation resolves: it is in no template, asset or log.
    assert origin["OriginCustomHeaders"] == [{"HeaderName": ORIGIN_PROOF_HEADER, "HeaderValue": {"Fn::Join": [
        "", ["{{resolve:secretsmanager:", {"Ref": _origin_proof_id(light)}, ":SecretString:::}}"]]}}]


def test_only_the_functions_with_per_address_limits_may_read_the_proof(light):
    proof = {"Ref": _origin_proof_id(light)}
    given = {name for name in light.function_logical_ids()
             if light.function(name)["Properties"]["Environment"]["Variables"].get(ORIGIN_PROOF_ENV) == proof}
    assert given == {"auth", "assistant"}

    def grants(name: str) -> list[dict]:  # CDK merges statements with the same actions (the JWT key's read)
        return [statement for statement in light.role_statements(name)
                if proof in (statement["Resource"] if isinstance(statement["Resource"], list)
                             else [statement["Resource"]])]

    readers = {name for name in light.function_logical_ids() if grants(name)}
    assert readers == {"auth", "assistant"}
    for name in readers:
        (grant,) = grants(name)
        assert set(grant["Action"]) == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs the CDK; absent, the synth tier cannot run")
def test_the_viewer_request_function_replaces_any_address_the_viewer_sent():
    """The function's own code, run by node on an event shaped as CloudFront Functions hand it over."""
    event = {"viewer": {"ip": "198.51.100.7"}, "request": {"method": "POST", "uri": "/api/auth/login", "headers": {
        VIEWER_ADDRESS_HEADER: {"value": "10.0.0.1"}, "authorization": {"value": "Bearer t"}}}}
    script = f"{VIEWER_ADDRESS_FUNCTION}\nprocess.stdout.write(JSON.stringify(handler({json.dumps(event)})));"
    request = json.loads(subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout)
    assert request["headers"] == {VIEWER_ADDRESS_HEADER: {"value": "198.51.100.7"},
                                  "authorization": {"value": "Bearer t"}}
    assert request["uri"] == "/api/auth/login"


def test_dashboard_url_output(light):
    distribution_id, _ = _one(light, "AWS::CloudFront::Distribution")
    assert light.template.to_json()["Outputs"]["DashboardUrl"]["Value"] == {
        "Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}]]}


# -- with a build: the BucketDeployment ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Synthesized:
    """The LIGHT stack deploying a (tiny) build, whatever web/dist holds right now; without the WebSocket API."""
    dist = tmp_path_factory.mktemp("dist")
    (dist / "index.html").write_text("<!doctype html><title>botfleet</title>")
    (dist / "assets").mkdir()
    (dist / "assets" / "index-abc123.js").write_text("console.log('botfleet')")
    outdir = tmp_path_factory.mktemp("cdk.out-web")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BuildSettings, "web_dist", property(lambda _: dist))
        app, stack = create_app(context={"botfleet:light": True, "botfleet:websocket": False}, outdir=str(outdir))
        template = Template.from_stack(stack)
    app.synth()  # cdk-nag runs here: an unacknowledged finding fails it
    return Synthesized(app=app, stack=stack, template=template, outdir=outdir)


def test_the_build_is_deployed_into_the_site_bucket_and_the_cache_invalidated(built):
    site, _ = _bucket_ids(built)
    distribution_id, _ = _one(built, "AWS::CloudFront::Distribution")
    _, deployment = _one(built, "Custom::CDKBucketDeployment")
    props = deployment["Properties"]
    assert props["DestinationBucketName"] == {"Ref": site}
    assert props["DistributionId"] == {"Ref": distribution_id} and props["DistributionPaths"] == ["/*"]
    assert props["Prune"] is True and "RetainOnDelete" not in props  # retained: the handler deletes nothing
    (key,) = props["SourceObjectKeys"]
    asset = built.outdir / json.loads((built.outdir / "Botfleet.assets.json").read_text())["files"][
        key.removesuffix(".zip")]["source"]["path"]
    assert sorted(p.relative_to(asset).as_posix() for p in asset.rglob("*") if p.is_file()) == [
        "assets/index-abc123.js", "index.html"]


def test_the_deployment_handler_has_its_own_least_privilege_role(built):
    (handler,) = [f for lid, f in built.resources_of_type("AWS::Lambda::Function").items()
                  if lid.startswith("CustomCDKBucketDeployment")]
    role_id = handler["Properties"]["Role"]["Fn::GetAtt"][0]
    role = built.resources[role_id]["Properties"]
    assert "ManagedPolicyArns" not in role, "no AWSLambdaBasicExecutionRole"
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]
    log_group_id = handler["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    (policy,) = [p for p in built.resources_of_type("AWS::IAM::Policy").values()
                 if p["Properties"]["Roles"] == [{"Ref": role_id}]]
    site, _ = _bucket_ids(built)
    distribution_id, _ = _one(built, "AWS::CloudFront::Distribution")
    (key,) = _one(built, "Custom::CDKBucketDeployment")[1]["Properties"]["SourceObjectKeys"]
    statements = {json.dumps(s["Action"]): s["Resource"] for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert set(statements) == {
        '["logs:CreateLogStream", "logs:PutLogEvents"]',
        '"s3:GetObject"',
        '"s3:ListBucket"',
        '["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"]',
        '["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"]',
    }
    assert statements['["logs:CreateLogStream", "logs:PutLogEvents"]'] == {"Fn::GetAtt": [log_group_id, "Arn"]}
    # Exactly this build's object in the assets bucket, exactly this bucket and distribution.
    source = statements['"s3:GetObject"']["Fn::Join"][1]
    assert source[-1] == f"/{key}" and "cdk-hnb659fds-assets-" in json.dumps(source)
    assert statements['"s3:ListBucket"'] == {"Fn::GetAtt": [site, "Arn"]}
    assert statements['["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"]'] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [site, "Arn"]}, "/*"]]}
    invalidation = statements['["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"]']
    assert {"Ref": distribution_id} in invalidation["Fn::Join"][1]
    # The custom resource (and so the handler's first run) waits for that policy.
    assert policy in [built.resources[d] for d in _one(built, "Custom::CDKBucketDeployment")[1]["DependsOn"]]


def test_a_stack_that_deploys_the_dashboard_is_nag_clean(built):
    report = AwsSolutionsChecks().validate_scope(built.app)
    assert [f"{v.rule_name}: {[r.construct_path for r in v.violating_resources]}" for v in report.violations] == []


def test_without_a_websocket_api_the_csp_connects_to_this_origin_only(built):
    csp = _csp(built)["ContentSecurityPolicy"]
    assert isinstance(csp, str)
    assert _directives(csp)["connect-src"] == ["'self'"]


# -- without a build (a fresh clone before `make web`) -------------------------------------------------------------

def _web_alone(tmp_path: Path, *, light: bool, bundling: bool = True) -> tuple[Stack, WebConstruct]:
    """Just the web construct (no functions, no layers to bundle), pointed at a web/dist that does not exist."""
    context = {} if bundling else {"aws:cdk:bundling-stacks": []}
    stack = Stack(App(context=context, outdir=str(tmp_path / "cdk.out")), "WebAlone")
    web = WebConstruct(stack, "Web", settings=BuildSettings(light=light),
                       api=SimpleNamespace(domain_name="abc123.execute-api.us-east-1.amazonaws.com"),
                       websocket_origin=None, dist=tmp_path / "web" / "dist")
    return stack, web


def test_light_without_a_build_hosts_an_empty_site_and_warns(tmp_path):
    stack, web = _web_alone(tmp_path, light=True)
    assert web.deployment is None
    warnings = Annotations.from_stack(stack).find_warning("/WebAlone/Web", Match.string_like_regexp("run `make web`"))
    assert len(warnings) == 1 and MISSING_BUILD_WARNING_ID in json.dumps(warnings[0].entry.data)
    template = Template.from_stack(stack).to_json()["Resources"]
    assert {r["Type"] for r in template.values()} >= {"AWS::S3::Bucket", "AWS::CloudFront::Distribution"}
    assert not [r for r in template.values() if r["Type"].startswith("Custom::")]


def test_full_without_a_build_fails_the_synth_saying_run_make_web(tmp_path):
    with pytest.raises(DashboardBuildMissing, match=r"index\.html is missing: run `make web` first"):
        _web_alone(tmp_path, light=False)


def test_full_without_bundling_only_warns(tmp_path):
    """`cdk ls` / `cdk destroy` synthesize without bundling: tearing a stack down must not need a build."""
    stack, web = _web_alone(tmp_path, light=False, bundling=False)
    assert web.deployment is None
    assert Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("make web"))


# -- the emulators: no CloudFront there --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def without_web(tmp_path_factory) -> Synthesized:
    """The synth LocalStack deploys (infra/localstack/run.py's context)."""
    spec = importlib.util.spec_from_file_location("localstack_run_for_infra", REPO_ROOT / "infra/localstack/run.py")
    run = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # its dataclasses look themselves up
    spec.loader.exec_module(run)
    outdir = tmp_path_factory.mktemp("cdk.out-no-web")
    app, stack = create_app(context=run.SYNTH_CONTEXT, outdir=str(outdir))
    template = Template.from_stack(stack)
    app.synth()
    return Synthesized(app=app, stack=stack, template=template, outdir=outdir)


def test_the_emulators_synthesize_without_the_web_construct(without_web):
    from botfleet_local import profile  # the local cloud's synth context

    assert profile.SYNTH_CONTEXT["botfleet:web"] is False
    types = {r["Type"] for r in without_web.resources.values()}
    assert not {t for t in types if t.startswith(("AWS::CloudFront::", "AWS::S3::", "Custom::"))}
    assert "DashboardUrl" not in without_web.template.to_json()["Outputs"]
    # Every function is one of botfleet's own (no BucketDeployment handler).
    assert len(without_web.resources_of_type("AWS::Lambda::Function")) == len(without_web.function_logical_ids())
