"""e2e tier: the whole stack on the local cloud, started once per session; tests speak HTTP and WebSocket
to it exactly as a client of the deployed stack would."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import httpx
import pytest

from botfleet_local.cloud import LocalCloud

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL, ADMIN_PASSWORD = "root@botfleet.test", "e2e admin passphrase 7"
_emails = itertools.count()
E2E_CONTEXT = {"botfleet:registrations_per_address_per_hour": 10000}


# Module scope: LocalCloud runs moto in-process, and two clouds alive at once in one process would share
# moto's global backends. pytest runs modules one after another, so each module gets a cloud to itself.
@pytest.fixture(scope="module")
def cloud(request):
    # A module may set TIME_SCALE to run its Step Functions waits faster (the quarantine ladder).
    scale = getattr(request.module, "TIME_SCALE", 1)
    # Every client here is 127.0.0.1 and a module registers dozens of users: lift the per-address registration
    # limit, unless the module asks for its own CDK context (test_auth_throttle keeps the default).
    context = getattr(request.module, "CDK_CONTEXT", E2E_CONTEXT)
    with LocalCloud(str(ROOT), port=0, tick_seconds=0, time_scale=scale, admin_email=ADMIN_EMAIL,
                    admin_password=ADMIN_PASSWORD, quiet=True, context=context) as running:
        yield running


@pytest.fixture(scope="module")
def http(cloud):
    with httpx.Client(base_url=cloud.url, timeout=30) as client:
        yield client


class User:
    def __init__(self, http: httpx.Client, email: str, password: str, token: str, user: dict):
        self.http, self.email, self.password, self.token, self.user = http, email, password, token, user

    @property
    def headers(self):
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path, **kwargs):
        return self.http.get(path, headers=self.headers, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.http.post(path, headers=self.headers, json=body, **kwargs)

    def patch(self, path, body=None):
        return self.http.patch(path, headers=self.headers, json=body)

    def delete(self, path):
        return self.http.delete(path, headers=self.headers)


@pytest.fixture
def new_user(http):
    def make(name="Trader"):
        email = f"user{next(_emails)}@e2e.test"
        password = "e2e password 42"
        reply = http.post("/api/auth/register", json={"email": email, "password": password, "name": name})
        assert reply.status_code == 201, reply.text
        body = reply.json()
        return User(http, email, password, body["access_token"], body["user"])

    return make


def fire(http, schedule="tick", wait=True):
    """Fire a schedule through the control plane; with wait, answer only once everything it set off (the engine
    shards, stream deliveries, broadcasts) has finished, so the fills can be read right after."""
    reply = http.post(f"/_local/schedules/{schedule}/fire", params={"wait": "true"} if wait else None)
    assert reply.status_code == 200, reply.text
    assert not wait or reply.json()["idle"], reply.text
    return reply.json()


def move_market(http, exchange, symbol, pct):
    reply = http.post(f"/_local/market/{exchange}/{symbol.replace('/', '-')}", json={"move_pct": pct})
    assert reply.status_code == 200, reply.text
    return reply.json()


def ws_url(http, token):
    config = http.get("/api/config").json()
    return f"{config['ws_url']}?token={token}"


def tick_function(cloud) -> str:
    """The deployed name of the tick function, as an operator finds it with the Lambda API."""
    import boto3

    functions = boto3.client("lambda", endpoint_url=cloud.moto.url, region_name=cloud.region).list_functions()
    (name,) = [f["FunctionName"] for f in functions["Functions"] if "Tick" in f["FunctionName"]]
    return name


def wait_for(probe, timeout=10.0, interval=0.05):
    """Poll `probe` until it returns something truthy (the engine runs asynchronously after the tick)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def read_secret(cloud, name_fragment: str) -> str:
    """What an operator with AWS credentials can do: read a stack secret (here from the emulated account)."""
    import boto3

    secrets = boto3.client("secretsmanager", endpoint_url=cloud.moto.url, region_name=cloud.region)
    for secret in secrets.list_secrets()["SecretList"]:
        if name_fragment in secret["Name"]:
            return secrets.get_secret_value(SecretId=secret["ARN"])["SecretString"]
    raise LookupError(name_fragment)


def decode(message: str | bytes) -> dict:
    return json.loads(message)
