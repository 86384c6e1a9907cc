"""Fixtures for the infra tier: the Botfleet stack synthesized once, in LIGHT mode, offline."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

# Before aws_cdk is imported (it starts the jsii Node process): silence Node 20's end-of-life banner.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# The tests must not pick up a context meant for some other synth.
os.environ.pop("CDK_CONTEXT_JSON", None)

REPO_ROOT = Path(__file__).resolve().parents[2]
# botfleet_infra imports even when the repo is not pip-installed (editable) yet.
sys.path.insert(0, str(REPO_ROOT / "infra"))

from aws_cdk import App, Stack  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from botfleet_infra.app import create_app  # noqa: E402

FUNCTION_NAMES = ("auth", "bots", "ops", "ws", "broadcaster", "tick", "engine", "provision", "admin", "keys",
                  "training", "trainer", "quarantine", "quarantiner", "assistant")


@dataclass
class Synthesized:
    app: App
    stack: Stack
    template: Template
    outdir: Path

    @cached_property
    def resources(self) -> dict[str, Any]:
        # Read once: every to_json() is a round trip through jsii that serializes the whole template (~50 ms),
        # and the helpers below read it many times a test. The synthesized template never changes.
        return self.template.to_json()["Resources"]

    def resources_of_type(self, resource_type: str) -> dict[str, Any]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def function_logical_ids(self) -> dict[str, str]:
        """Function name (functions/<name>) -> logical id, found by POWERTOOLS_SERVICE_NAME=botfleet-<name>.

        Only botfleet's own functions: CDK's (the dashboard's BucketDeployment handler) have no service name."""
        found = {}
        for logical_id, resource in self.resources_of_type("AWS::Lambda::Function").items():
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            service = variables.get("POWERTOOLS_SERVICE_NAME", "")
            if service.startswith("botfleet-"):
                found[service.removeprefix("botfleet-")] = logical_id
        return found

    def function(self, name: str) -> dict[str, Any]:
        return self.resources[self.function_logical_ids()[name]]

    def jwt_secret_id(self) -> str:
        """The JWT signing key's logical id (the stack's other secret is the dashboard's origin proof)."""
        (secret_id,) = [lid for lid in self.resources_of_type("AWS::SecretsManager::Secret")
                        if lid.startswith("DataJwtSecret")]
        return secret_id

    def role_logical_id(self, name: str) -> str:
        return self.function(name)["Properties"]["Role"]["Fn::GetAtt"][0]

    def role_statements(self, name: str) -> list[dict[str, Any]]:
        """Every policy statement attached to function `name`'s role (inline policies of any policy)."""
        role_id = self.role_logical_id(name)
        statements = []
        for policy in self.resources_of_type("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"]["Roles"]:
                statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
        role = self.resources[role_id]["Properties"]
        for inline in role.get("Policies", []):
            statements.extend(inline["PolicyDocument"]["Statement"])
        return statements

    def role_actions(self, name: str) -> set[str]:
        actions: set[str] = set()
        for statement in self.role_statements(name):
            value = statement["Action"]
            actions.update([value] if isinstance(value, str) else value)
        return actions


@pytest.fixture(scope="session")
def light(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The LIGHT stack, synthesized once for the whole tier (synth takes a few seconds)."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = create_app(context={"botfleet:light": True}, outdir=str(outdir))
    template = Template.from_stack(stack)
    app.synth()
    return Synthesized(app=app, stack=stack, template=template, outdir=outdir)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking `function_name` runs once per function of the contract."""
    if "function_name" in metafunc.fixturenames:
        metafunc.parametrize("function_name", FUNCTION_NAMES)
