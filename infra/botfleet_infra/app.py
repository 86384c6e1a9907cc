"""Builds the CDK app: one `Botfleet` stack, checked by cdk-nag's AwsSolutions pack at synth."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, DefaultStackSynthesizer, Validations, cx_api
from cdk_nag import AwsSolutionsChecks

from botfleet_infra.settings import REPO_ROOT, BuildSettings
from botfleet_infra.stack import STACK_NAME, BotfleetStack

CDK_JSON = REPO_ROOT / "cdk.json"


#: What the CDK CLI switches on by default, so a direct run matches `cdk synth`: `aws:cdk:path` metadata on
#: every resource (the local cloud finds e.g. `.../TickSchedule/Resource` by it) and `aws:asset:*` metadata
#: naming each asset's directory in the cloud assembly.
CLI_DEFAULT_CONTEXT: dict[str, Any] = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
}


def _cdk_json_context() -> dict[str, Any]:
    """cdk.json's context (feature flags, defaults), which the CDK CLI passes to the app.

    Loaded here too so that running `python infra/app.py` or the tests without the CLI synthesizes the
    same template as `cdk synth`; CDK_CONTEXT_JSON / `-c` values still override it.
    """
    if not CDK_JSON.exists():
        return {}
    return dict(json.loads(CDK_JSON.read_text()).get("context", {}))


def create_app(*, context: Mapping[str, Any] | None = None, outdir: str | None = None) -> tuple[App, BotfleetStack]:
    """The app and its one stack, not yet synthesized (tests use this directly).

    `context` is extra context on top of cdk.json's (CDK_CONTEXT_JSON still wins); `outdir` defaults to
    CDK_OUTDIR as usual.
    """
    app = App(context={**CLI_DEFAULT_CONTEXT, **_cdk_json_context(), **(context or {})}, outdir=outdir)
    settings = BuildSettings.from_context(app.node)

    synthesizer = (
        # No BootstrapVersion rule in LIGHT: emulators have no bootstrap stack to read it from.
        DefaultStackSynthesizer(generate_bootstrap_version_rule=False) if settings.light else DefaultStackSynthesizer()
    )
    stack = BotfleetStack(
        app,
        STACK_NAME,
        stack_name=STACK_NAME,
        description="botfleet: multi-tenant crypto trading-bot platform (serverless)",
        settings=settings,
        synthesizer=synthesizer,
        # The AWS::CDK::Metadata resource only means something to AWS; emulators would warn about it.
        analytics_reporting=not settings.light,
    )

    # cdk-nag 3 is a CDK policy-validation plugin: any unacknowledged finding (error or warning) fails synth.
    # Acknowledgments (with their reasons) stay in the code (botfleet_infra.nag callers), not copied onto
    # every resource of the template.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def build_app() -> cx_api.CloudAssembly:
    """Entry point of infra/app.py: create and synthesize."""
    app, _ = create_app()
    return app.synth()
