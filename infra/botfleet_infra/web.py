"""Web: the dashboard (web/dist) in a private S3 bucket behind CloudFront, which also routes /api/* to the REST API.

One origin serves both, as the dashboard expects (docs/dashboard.md): it calls the REST API on its own origin
(`/api/...`) and finds the WebSocket through `GET /api/config` (`ws_url`, the WebSocket API's own wss:// URL), which it
connects to directly: hence that origin in the Content-Security-Policy.

- Site bucket: private (all public access blocked, readable only by this distribution through Origin Access Control),
  TLS-only, S3-managed encryption, versioned (old versions expire), server access logs to the logs bucket.
- Logs bucket: the site bucket's server access logs (`s3/`) and CloudFront's standard logs (`cloudfront/`), kept
  30 days like every log group of the stack. ACLs stay enabled (BUCKET_OWNER_PREFERRED): CloudFront's standard
  logging writes with an ACL grant to its log-delivery account.
- Distribution: HTTPS only (HTTP redirects), `index.html` as the root object, one response headers policy with the
  security headers (HSTS, nosniff, DENY framing, no referrer, a Content-Security-Policy whose connect-src is this
  origin plus the WebSocket API's wss:// origin) on every response, and `/api/*` to the REST API's `prod` stage with
  caching off and every viewer header but Host forwarded (the Authorization header included: with caching disabled
  the AllViewerExceptHostHeader policy may forward it).
- Deployment: web/dist copied into the bucket at deploy time (BucketDeployment), then the distribution invalidated.
  Its handler (CDK's, Python + the AWS CLI layer) gets an own role that may write only to its own log group, read
  only this build's asset object and write only the site bucket, instead of CDK's default grants (s3:GetObject*,
  s3:List*, ..., AWSLambdaBasicExecutionRole).

web/dist is built by `make web` and is not in git, so a fresh clone has none: without it a LIGHT synth (tests) leaves
the deployment out with a warning, and a FULL synth that bundles assets (`cdk deploy`, `cdk synth`) fails with
"run make web first"; `cdk ls` / `cdk destroy` (no bundling) only warn. The emulators leave this construct out
altogether (`botfleet:web=false`, settings.py).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from botfleet_infra import nag
from botfleet_infra.api import ApiConstruct
from botfleet_infra.catalogue import ORIGIN_PROOF_ENV, ORIGIN_PROOF_HEADER, VIEWER_ADDRESS_HEADER
from botfleet_infra.functions import LOG_RETENTION, BotfleetFunction
from botfleet_infra.settings import API_STAGE_NAME, WEB_CONTEXT_KEY, BuildSettings

#: The file a build must have; an empty or half-written web/dist is no build either.
INDEX = "index.html"
#: The warning a synth without web/dist leaves on this construct (LIGHT, or FULL without bundling).
MISSING_BUILD_WARNING_ID = "botfleet:web-dist-missing"
ACCESS_LOG_DAYS = 30  # as LOG_RETENTION (ONE_MONTH) for the log groups
OLD_VERSIONS_DAYS = 30
#: CloudFront Functions (JavaScript runtime 2.0) on every /api/* viewer request: the viewer's address, as CloudFront
#: saw it, in a header the API reads (replacing any value the viewer sent under that name).
VIEWER_ADDRESS_FUNCTION = f"""function handler(event) {{
  var request = event.request;
  request.headers['{VIEWER_ADDRESS_HEADER}'] = {{ value: event.viewer.ip }};
  return request;
}}
"""


class DashboardBuildMissing(RuntimeError):
    """A FULL synth that would deploy the dashboard found no build of it."""


def content_security_policy(websocket_origin: str | None) -> str:
    """The dashboard's CSP: everything from this origin only (scripts, styles, the API), inline data: images (the
    favicon), the WebSocket API's origin (a token when the stack has one: CloudFormation joins it), nothing else —
    no plugins, no framing, no foreign form targets or base URLs."""
    connect = "'self'" + (f" {websocket_origin}" if websocket_origin else "")
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        f"connect-src {connect}",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


class WebConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: BuildSettings,
        api: ApiConstruct,
        websocket_origin: str | None,
        dist: Path | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        dist = settings.web_dist if dist is None else dist

        self.logs_bucket = s3.Bucket(
            self,
            "LogsBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,  # log delivery (S3 and CloudFront) cannot use SSE-KMS
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,  # CloudFront standard logs need ACLs
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(ACCESS_LOG_DAYS))],
            removal_policy=settings.stateful_removal_policy,
        )
        self.bucket = s3.Bucket(
            self,
            "SiteBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            # Every deployment replaces the build (old hashed assets are deleted): keep their versions a while
            # for a rollback by hand, not forever.
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(OLD_VERSIONS_DAYS))],
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="s3/",
            removal_policy=settings.stateful_removal_policy,
        )

        self.headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="botfleet dashboard and API: security headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(websocket_origin), override=True),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(730), include_subdomains=True, override=True),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True),
            ),
            # Browsers revalidate (cheap: ETag) rather than guess a freshness: a heuristically cached index.html
            # would name assets the next deployment deleted. Only where the origin set no Cache-Control itself.
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(custom_headers=[
                cloudfront.ResponseCustomHeader(header="Cache-Control", value="no-cache", override=False),
            ]),
        )

        # Behind CloudFront the REST API's peer is an edge server, shared by everyone near it: the per-address limits
        # (registrations, failed logins) would give them all one budget. So the distribution hands the API the
        # viewer's address (a viewer-request function) and a secret origin header that proves the request came
        # through it; the API believes the address only with the proof (http.app.source_ip, docs/security.md).
        self.origin_proof = secretsmanager.Secret(
            self,
            "OriginProof",
            description="Proof that a request to the botfleet REST API came through its CloudFront distribution",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=48, exclude_punctuation=True),
            removal_policy=RemovalPolicy.DESTROY,  # nothing depends on its value outliving the stack
        )
        nag.acknowledge(
            self.origin_proof,
            "SMG4",
            "The origin proof is CloudFront's origin custom header, resolved when the stack deploys: rotating it is "
            "changing the secret and deploying again (docs/security.md), which an automatic rotation could not do.",
        )
        viewer_address = cloudfront.Function(
            self,
            "ViewerAddress",
            code=cloudfront.FunctionCode.from_inline(VIEWER_ADDRESS_FUNCTION),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="botfleet: the viewer's address, for the API's per-address limits",
        )
        api_origin = origins.HttpOrigin(
            api.domain_name,
            origin_path=f"/{API_STAGE_NAME}",  # /api/bots -> {stage}/api/bots
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            # A dynamic reference, resolved by CloudFormation: the value is in no template or asset.
            custom_headers={ORIGIN_PROOF_HEADER: self.origin_proof.secret_value.unsafe_unwrap()},
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="botfleet dashboard (S3) and its API (/api/*)",
            default_root_object=INDEX,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers,
                compress=True,
            ),
            additional_behaviors={
                "/api/*": cloudfront.BehaviorOptions(
                    origin=api_origin,
                    # Not a redirect: a redirected POST would arrive as a GET. Browsers only come here over HTTPS.
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    # Host stays the API's own (API Gateway routes on it); Authorization, query strings, cookies go.
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy=self.headers,
                    compress=True,
                    function_associations=[cloudfront.FunctionAssociation(
                        function=viewer_address, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST)],
                ),
            },
            # No error_responses: they apply to every behaviour and would turn the API's JSON 403/404 into the
            # index page. The dashboard's routes are hash routes (#/bots/...), so it never needs a rewrite.
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            # All edge locations (the default): users of Luno, VALR and OVEX are in Africa, which PriceClass_100
            # and _200 leave out.
            price_class=cloudfront.PriceClass.PRICE_CLASS_ALL,
            enable_logging=True,
            log_bucket=self.logs_bucket,
            log_file_prefix="cloudfront/",
        )
        self.url = f"https://{self.distribution.distribution_domain_name}"

        nag.acknowledge(
            self.distribution,
            "CFR1",
            "No geo restriction: botfleet's users trade on exchanges in several countries (Luno, VALR, OVEX, Binance, "
            "KuCoin) and the dashboard is useless without an account; access is controlled by sign-in, not location.",
        )
        nag.acknowledge(
            self.distribution,
            "CFR2",
            "No WAF web ACL in the base stack, as for the REST API (APIG3): it costs per ACL and rule, and /api/* is "
            "bounded by stage throttling and the login/registration limits. Associate one (scope CLOUDFRONT, "
            "us-east-1) when a deployment needs it (infra/README.md).",
        )
        nag.acknowledge(
            self.distribution,
            "CFR4",
            "The distribution uses its *.cloudfront.net name and CloudFront's default certificate, with which "
            "CloudFront does not let a distribution raise the viewer TLS minimum. A custom domain with an ACM "
            "certificate (and minimum TLSv1.2_2021) is the fix, and needs a domain the base stack does not have.",
        )

        self.deployment = self._deploy(settings, dist)

    def trust_viewer_address(self, target: BotfleetFunction) -> None:
        """Let `target`'s per-address limits see the viewers behind the distribution: the origin proof's ARN
        (ORIGIN_PROOF_SECRET_ARN) and read access to it, nothing more."""
        target.add_environment(ORIGIN_PROOF_ENV, self.origin_proof.secret_arn)
        self.origin_proof.grant_read(target.function)

    def _deploy(self, settings: BuildSettings, dist: Path) -> s3deploy.BucketDeployment | None:
        """Copy the build into the bucket at deploy time, or say why not (see the module docstring)."""
        if not (dist / INDEX).is_file():
            message = (f"{dist}/{INDEX} is missing: run `make web` first (it builds the dashboard into {dist}); "
                       f"or synthesize without the dashboard: -c {WEB_CONTEXT_KEY}=false")
            if not settings.light and Stack.of(self).bundling_required:
                raise DashboardBuildMissing(message)
            Annotations.of(self).add_warning_v2(
                MISSING_BUILD_WARNING_ID, f"{message}. The site bucket stays empty: the dashboard is not deployed.")
            return None

        asset = s3_assets.Asset(self, "Build", path=str(dist))
        log_group = logs.LogGroup(self, "DeployLogGroup", retention=LOG_RETENTION,
                                  removal_policy=settings.stateful_removal_policy)
        role = iam.Role(self, "DeployRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                        description="Execution role of the botfleet dashboard deployment (BucketDeployment)")
        log_group.grant_write(role)
        # What the handler does (aws-s3-deployment's bucket-deployment-handler): `aws s3 cp` of the build's zip,
        # `aws s3 sync --delete` into the bucket, then CreateInvalidation and waiting on GetInvalidation. Nothing
        # on delete: the bucket keeps its files (retain_on_delete, the default).
        role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"],
                                               resources=[asset.bucket.arn_for_objects(asset.s3_object_key)]))
        role.add_to_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn]))
        role.add_to_policy(iam.PolicyStatement(actions=["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                                               resources=[self.bucket.arn_for_objects("*")]))
        self.distribution.grant(role, "cloudfront:CreateInvalidation", "cloudfront:GetInvalidation")
        nag.acknowledge(
            role,
            "IAM5",
            "The deployment syncs the whole build into the site bucket and prunes what the new build no longer has: "
            "the object names (Vite's content-hashed assets) change with every build.",
            nag.getatt_arn_finding(self.bucket, "/*"),
        )

        deployment = s3deploy.BucketDeployment(
            self,
            "Deployment",
            sources=[s3deploy.Source.bucket(asset.bucket, asset.s3_object_key)],  # = Source.asset(dist), see role
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
            # CDK's grants (to the role it would otherwise create) go nowhere: `role` above has exactly what the
            # handler needs.
            role=role.without_policy_updates(),
            log_group=log_group,
        )
        deployment.node.add_dependency(role)  # the custom resource runs once the role's policy exists
        # The handler is a stack-level singleton (one per memory size), outside this construct's subtree.
        for child in Stack.of(self).node.children:
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                nag.acknowledge(
                    child,
                    "L1",
                    "aws-s3-deployment's own handler: CDK pins its runtime (python3.13, which shares python3.14's "
                    "deprecation date).",
                )
        return deployment
