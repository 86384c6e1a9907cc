"""Fixtures for the local cloud's own tests: a LocalCloud running the small fixture CDK app.

The fixture app (tests/fixtures/local_cloud/app.py) mirrors the product's shapes, so these
tests do not depend on the product stack. Its synth is cached under .local/test-local-cloud/.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURE_APP = "tests/fixtures/local_cloud/app.py"
WORK_DIR = REPO / ".local" / "test-local-cloud"

try:  # the dev venv installs the repo editable; fall back to the source tree
    import botfleet_local  # noqa: F401
except ImportError:
    sys.path.insert(0, str(REPO / "infra" / "local"))


def cloud_kwargs(**overrides):
    kw = dict(repo_root=REPO, port=0, tick_seconds=0, time_scale=60, quiet=True,
              app_command=[sys.executable, FIXTURE_APP], watched=("tests/fixtures/local_cloud",),
              work_dir=WORK_DIR, admin_email="admin@fixture.local", admin_password="pw-fixture")
    kw.update(overrides)
    return kw


@pytest.fixture(scope="module")
def cloud():
    from botfleet_local.cloud import LocalCloud

    with LocalCloud(**cloud_kwargs()) as c:
        yield c


@pytest.fixture(scope="module")
def aws(cloud):
    """boto3 clients against the cloud's moto (to check side effects, not to drive the tests)."""
    import boto3

    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    return lambda service: session.client(service, endpoint_url=cloud.moto.url)


@pytest.fixture(scope="module")
def table(cloud, aws):
    import boto3

    return boto3.resource("dynamodb", endpoint_url=cloud.moto.url, region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x").Table(
        cloud.deployment.outputs["TableName"])
