"""What the running functions derive from the exchange descriptors: GET /api/config, the keys API's providers,
the live client per exchange, and the demo account's bots."""

from __future__ import annotations

import boto3

from botfleet import runtime
from botfleet.adapters.exchanges import make_client
from botfleet.domain.exchange_descriptors import DESCRIPTORS
from botfleet.domain.providers import PROVIDERS
from tests.integration.conftest import load_handler
from tests.support.events import LambdaContext

EXCHANGE_IDS = [descriptor.id for descriptor in DESCRIPTORS]


def test_the_config_endpoint_lists_the_described_exchanges_and_providers(api):
    status, config = api.call("ops", "GET", "/api/config")
    assert status == 200, config
    assert config["exchanges"] == EXCHANGE_IDS
    assert config["providers"] == ["openai", *EXCHANGE_IDS] == list(PROVIDERS)
    assert list(config["markets"]) == EXCHANGE_IDS
    for descriptor in DESCRIPTORS:
        market = config["markets"][descriptor.id]
        assert market["name"] == descriptor.name
        assert market["maker_fee"] == str(descriptor.exchange.maker_fee)
        assert market["taker_fee"] == str(descriptor.exchange.taker_fee)
        assert market["symbols"] == sorted(descriptor.exchange.markets)


def test_the_keys_api_lists_every_provider_with_its_descriptors_credential_fields(api, monkeypatch):
    key_arn = boto3.client("kms", region_name="us-east-1").create_key(Description="botfleet api keys (test)")
    monkeypatch.setenv("KEYS_KMS_KEY_ID", key_arn["KeyMetadata"]["Arn"])
    runtime.reset()
    token, _ = api.register()
    status, body = api.call("keys", "GET", "/api/keys", token=token)
    assert status == 200, body
    required = {item["provider"]: item["required_fields"] for item in body["items"]}
    assert list(required) == ["openai", *EXCHANGE_IDS]
    assert required == {"openai": ["api_key"],
                        **{descriptor.id: list(descriptor.credential_fields) for descriptor in DESCRIPTORS}}


def test_every_described_client_builds_for_public_endpoints():
    for descriptor in DESCRIPTORS:
        client = make_client(descriptor.id, {}, base_url="http://127.0.0.1:9", timeout_s=1)
        assert type(client).__name__ == descriptor.client.class_name, descriptor.id


def test_the_demo_account_gets_one_paper_bot_per_exchange_on_its_demo_market(aws):
    reply = load_handler("provision").handler(
        {"action": "seed_demo", "email": "demo@example.com", "password": "correct horse 1"}, LambdaContext())
    assert reply["ok"], reply
    assert len(reply["bots"]) == len(DESCRIPTORS)
    demo_bots = load_handler("provision").DEMO_BOTS
    assert [(bot["exchange"], bot["symbol"]) for bot in demo_bots] == [
        (descriptor.id, descriptor.demo.symbol) for descriptor in DESCRIPTORS]
