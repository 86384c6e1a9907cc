"""VALR (South Africa, ZAR markets): our own httpx client (adapters/exchanges/valr.py); ccxt has no VALR."""

from decimal import Decimal as D

from botfleet.domain.exchange_model import (
    BTC_VOLATILITY,
    ETH_VOLATILITY,
    DemoBot,
    Exchange,
    ExchangeDescriptor,
    market,
    own_client,
)

DESCRIPTOR = ExchangeDescriptor(
    exchange=Exchange(
        "valr", "VALR", D("0"), D("0.001"), "valr.com fee schedule (spot, base tier): fee in the received asset",
        fee_currency_rule="received", markets=dict([
            # symbol, price tick, amount step, min amount, min notional | simulator: price, volatility, spread, depth
            market("BTC/ZAR", "1", "0.00000001", "0.0001", "10", "1650000", BTC_VOLATILITY, "6", "0.6"),
            market("ETH/ZAR", "1", "0.000001", "0.001", "10", "58000", ETH_VOLATILITY, "9", "6"),
        ]),
    ),
    rules_source="VALR's public /v1/public/pairs; checked 2026-11",
    credential_fields=("api_key", "api_secret"),
    client=own_client("botfleet.adapters.exchanges.valr:ValrClient"),
    demo=DemoBot("VALR BTC swing", "BTC/ZAR", {"fast": 3, "slow": 10}, "40000"),
    listing_order=4,
)
