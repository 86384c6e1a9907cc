"""Exchange descriptors: every list of exchanges is derived from them, in one order, and a sixth exchange is
one new module (checked on a copy of the package with one added, in a fresh interpreter)."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import pkgutil
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import botfleet
import botfleet.domain.exchange_descriptors as descriptors_package
from botfleet.adapters import providers as adapter_providers
from botfleet.adapters.exchanges import CCXT_EXCHANGES, OWN_CLIENT_EXCHANGES, SUPPORTED_EXCHANGES
from botfleet.domain.exchange_descriptors import DESCRIPTORS
from botfleet.domain.exchanges import EXCHANGE_DESCRIPTORS, EXCHANGES, get_descriptor
from botfleet.domain.providers import CREDENTIAL_FIELDS, EXCHANGE_PROVIDERS, LLM_PROVIDERS, PROVIDERS

# The order is part of the API (/api/config, the keys providers list): pinned, not just self-consistent.
LISTING = ["luno", "binance", "kucoin", "valr", "ovex"]


def test_every_module_of_the_package_is_one_exchange_named_after_it():
    modules = {info.name for info in pkgutil.iter_modules(descriptors_package.__path__)
               if not info.name.startswith("_")}
    assert {descriptor.id for descriptor in DESCRIPTORS} == modules
    assert len(DESCRIPTORS) == len(modules)


def test_every_exchange_list_is_the_descriptors_in_listing_order():
    ids = [descriptor.id for descriptor in DESCRIPTORS]
    assert ids == LISTING
    assert list(EXCHANGE_DESCRIPTORS) == list(EXCHANGES) == list(EXCHANGE_PROVIDERS) == list(SUPPORTED_EXCHANGES)
    assert list(adapter_providers.EXCHANGE_PROVIDERS) == ids
    assert [d.listing_order for d in DESCRIPTORS] == sorted(d.listing_order for d in DESCRIPTORS)
    assert all(EXCHANGES[d.id] is d.exchange and get_descriptor(d.id) is d for d in DESCRIPTORS)


def test_the_providers_are_openai_then_the_exchanges_with_their_credential_fields():
    assert LLM_PROVIDERS == adapter_providers.LLM_PROVIDERS == ("openai",)
    assert list(PROVIDERS) == ["openai", *LISTING]
    assert PROVIDERS == {"openai": ("api_key",), "luno": ("api_key", "api_secret"),
                         "binance": ("api_key", "api_secret"), "kucoin": ("api_key", "api_secret", "passphrase"),
                         "valr": ("api_key", "api_secret"), "ovex": ("api_key",)}
    assert all(set(fields) <= set(CREDENTIAL_FIELDS) for fields in PROVIDERS.values())


def test_ccxt_serves_binance_kucoin_and_luno_and_own_clients_the_rest():
    assert set(CCXT_EXCHANGES) == {"binance", "kucoin", "luno"}
    assert set(OWN_CLIENT_EXCHANGES) == {"valr", "ovex"}


def test_every_client_path_names_a_class_of_an_adapter_module_without_importing_it():
    for descriptor in DESCRIPTORS:
        factory = descriptor.client
        assert factory.module.startswith("botfleet.adapters.exchanges."), descriptor.id
        spec = importlib.util.find_spec(factory.module)
        assert spec is not None and spec.origin, f"{descriptor.id}: no module {factory.module}"
        tree = ast.parse(Path(spec.origin).read_text())
        classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
        assert factory.class_name in classes, f"{descriptor.id}: {factory.path} is not a class"


def test_every_descriptor_states_its_sources_and_a_demo_bot_on_a_listed_market():
    for descriptor in DESCRIPTORS:
        assert descriptor.rules_source.strip() and descriptor.exchange.fee_source.strip(), descriptor.id
        assert descriptor.demo.symbol in descriptor.exchange.markets, descriptor.id
        assert set(descriptor.demo.params) == {"fast", "slow"}, descriptor.id


def test_the_domain_descriptors_import_no_adapter_and_nothing_heavy():
    probe = ("import sys, botfleet.domain.exchanges, botfleet.domain.providers\n"
             "print(sorted(m for m in sys.modules if m.startswith(('botfleet.adapters', 'ccxt', 'httpx', 'boto'))))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- a sixth exchange ----------------------------------------------------------------------------------------------

SIXTH_EXCHANGE = '''
"""Bitstamp, through ccxt (an example exchange that only this test adds)."""

from decimal import Decimal as D

from botfleet.domain.exchange_model import BTC_VOLATILITY, CCXT_CLIENT, DemoBot, Exchange, ExchangeDescriptor, market

DESCRIPTOR = ExchangeDescriptor(
    exchange=Exchange("bitstamp", "Bitstamp", D("0.003"), D("0.004"), "example fee source",
                      fee_currency_rule="quote", markets=dict([
                          market("BTC/USD", "1", "0.00000001", "0.0001", "10", "92000", BTC_VOLATILITY, "3", "2"),
                      ])),
    rules_source="example rules source",
    credential_fields=("api_key", "api_secret"),
    client=CCXT_CLIENT,
    demo=DemoBot("Bitstamp BTC trend", "BTC/USD", {"fast": 2, "slow": 5}, "2000"),
    listing_order=6,
)
'''

SIXTH_EXCHANGE_PROBE = textwrap.dedent('''
    import json
    from botfleet.adapters import providers as adapter_providers
    from botfleet.adapters.exchanges import CCXT_EXCHANGES, SUPPORTED_EXCHANGES, make_client
    from botfleet.domain.exchanges import EXCHANGES, get_rules
    from botfleet.domain.providers import PROVIDERS
    print(json.dumps({
        "exchanges": list(EXCHANGES), "providers": {k: list(v) for k, v in PROVIDERS.items()},
        "supported": list(SUPPORTED_EXCHANGES), "ccxt": list(CCXT_EXCHANGES),
        "key_test": list(adapter_providers.EXCHANGE_PROVIDERS),
        "min_notional": str(get_rules("bitstamp", "BTC/USD").min_notional),
        # The live client is built from the descriptor alone: ccxt's class, our markets, its market ids.
        "client": type(client := make_client("bitstamp", {}, base_url="http://127.0.0.1:9")).__name__,
        "market_id": client.exchange.market("BTC/USD")["id"],
    }))
''')


def test_a_sixth_exchange_is_one_new_descriptor_module(tmp_path):
    """Copy the package, add one module, and every derived list has the new exchange, last."""
    package = Path(botfleet.__file__).parent
    copy = tmp_path / "botfleet"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "domain" / "exchange_descriptors" / "bitstamp.py").write_text(SIXTH_EXCHANGE)

    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-c", SIXTH_EXCHANGE_PROBE], capture_output=True, text=True,
                            timeout=60, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    derived = json.loads(result.stdout)
    assert derived["exchanges"] == derived["supported"] == derived["key_test"] == [*LISTING, "bitstamp"]
    assert derived["providers"]["bitstamp"] == ["api_key", "api_secret"]
    assert list(derived["providers"]) == ["openai", *LISTING, "bitstamp"]
    assert "bitstamp" in derived["ccxt"]
    assert derived["min_notional"] == "10"
    assert derived["client"] == "CcxtExchangeClient" and derived["market_id"] == "BTCUSD"
