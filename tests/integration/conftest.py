"""Integration tier: the real adapters and handlers against moto's DynamoDB/Secrets Manager, in-process."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from botfleet import runtime
from botfleet.adapters.dynamo.schema import create_table_kwargs
from tests.support.events import LambdaContext, rest_event

ROOT = Path(__file__).resolve().parents[2]
TABLE = "botfleet-test"


def load_handler(name: str):
    """Import functions/<name>/handler.py as Lambda would (each function is its own top-level module)."""
    module_name = f"fn_{name}_handler"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "handler.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:  # a failed cold start leaves nothing half-imported behind for the next test
        del sys.modules[module_name]
        raise
    return module


class FakePublisher:
    """Collects what would be posted to @connections (`sent`) and the sockets closed (`closed`); `gone` ids behave
    like closed sockets."""

    def __init__(self):
        self.sent: list[tuple[str, dict]] = []
        self.gone: set[str] = set()
        self.closed: list[str] = []

    def disconnect(self, connection_id):
        self.closed.append(connection_id)

    def send(self, connection_id, message):
        if connection_id in self.gone:
            return False
        self.sent.append((connection_id, message))
        return True


@pytest.fixture
def aws(monkeypatch):
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(**create_table_kwargs(TABLE))
        secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="jwt", SecretString="x" * 48
        )
        monkeypatch.setenv("TABLE_NAME", TABLE)
        monkeypatch.setenv("JWT_SECRET_ARN", secret["ARN"])
        monkeypatch.setenv("WS_URL", "wss://example.execute-api.us-east-1.amazonaws.com/prod")
        monkeypatch.setenv("WS_CALLBACK_URL", "https://example.execute-api.us-east-1.amazonaws.com/prod")
        monkeypatch.setenv("TICK_SHARDS", "2")
        # Every handler validates its own settings at import (botfleet.settings): stand-ins for what a test that
        # needs the real thing (the keys tests' KMS key, the training tests' executions) replaces.
        monkeypatch.setenv("ENGINE_FUNCTION_NAME", "engine")
        monkeypatch.setenv("TRAINING_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:training")
        # Every test registers its users from the same fake address; the limit itself is tested in test_auth_api.
        monkeypatch.setenv("REGISTRATIONS_PER_ADDRESS_PER_HOUR", "10000")
        runtime.reset()
        yield dynamodb
        runtime.reset()


class Api:
    """Calls a REST function's handler with API Gateway proxy events; replies decoded."""

    def __init__(self):
        self.context = LambdaContext()

    def call(self, function: str, method: str, url: str, body=None, token=None, **kwargs):
        reply = load_handler(function).handler(rest_event(method, url, body, token, **kwargs), self.context)
        payload = json.loads(reply["body"]) if reply.get("body") else None
        return reply["statusCode"], payload

    def register(self, email="ann@example.com", password="correct horse 1", name="Ann"):
        status, body = self.call("auth", "POST", "/api/auth/register",
                                 {"email": email, "password": password, "name": name})
        assert status == 201, body
        return body["access_token"], body["user"]


@pytest.fixture
def api(aws):
    return Api()


def run_engine(bot_id: str, tick_id: str) -> dict:
    """One tick of the engine for the shard `bot_id` lives in, as the tick function would start it."""
    from botfleet.adapters.dynamo.bots import shard_of

    shard = shard_of(bot_id, runtime.settings().tick_shards)
    return load_handler("engine").handler({"tick_id": tick_id, "shard": shard}, LambdaContext())


def move_market(pct, exchange: str = "luno", symbol: str = "BTC/ZAR") -> dict:
    """Shock the simulated market by `pct` percent through the provision function (the control plane's path)."""
    reply = load_handler("provision").handler(
        {"action": "market_move", "exchange": exchange, "symbol": symbol, "move_pct": pct}, LambdaContext())
    assert reply["ok"], reply
    return reply
