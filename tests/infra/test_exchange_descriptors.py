"""The synthesized template agrees with the exchange descriptors: the trading engine may open exactly the
exchanges' keys, the assistant exactly the model provider's, and together they cover every provider a user can
store a key for (a provider left out would be a key the engine cannot open at runtime)."""

from __future__ import annotations

from botfleet.domain.exchange_descriptors import DESCRIPTORS
from botfleet.domain.providers import LLM_PROVIDERS, PROVIDERS

PROVIDER_CONDITION = "kms:EncryptionContext:provider"


def _kms_statement(light, function_name: str) -> dict:
    (statement,) = [s for s in light.role_statements(function_name)
                    if any(str(action).startswith("kms:") for action in _as_list(s["Action"]))]
    return statement


def _providers_opened_by(light, function_name: str) -> list[str] | None:
    """The providers named in the function's KMS condition; None when it is not limited to some providers."""
    return _kms_statement(light, function_name)["Condition"].get("StringEquals", {}).get(PROVIDER_CONDITION)


def test_the_engine_opens_exactly_the_described_exchanges_keys_in_listing_order(light):
    assert _providers_opened_by(light, "engine") == [descriptor.id for descriptor in DESCRIPTORS]


def test_the_assistant_opens_only_the_model_providers_key(light):
    assert _providers_opened_by(light, "assistant") == ["openai"] == list(LLM_PROVIDERS)


def test_every_storable_provider_is_opened_by_the_engine_or_the_assistant_and_sealed_by_keys(light):
    engine, assistant = _providers_opened_by(light, "engine"), _providers_opened_by(light, "assistant")
    assert list(PROVIDERS) == assistant + engine  # the keys API lists openai, then the exchanges
    assert not set(engine) & set(assistant)
    assert _providers_opened_by(light, "keys") is None  # keys seals any provider's key (per user and provider)


def _as_list(value):
    return value if isinstance(value, list) else [value]
