"""OVEX (South Africa): request-for-quote OTC trading through our own httpx client (adapters/exchanges/ovex.py).
OVEX quotes are all-inclusive; its spread is modelled as a quote-currency taker fee."""

from decimal import Decimal as D

from botfleet.domain.exchange_model import (
    BTC_VOLATILITY,
    FX_VOLATILITY,
    DemoBot,
    Exchange,
    ExchangeDescriptor,
    market,
    own_client,
)

DESCRIPTOR = ExchangeDescriptor(
    exchange=Exchange(
        "ovex", "OVEX", D("0"), D("0.002"),
        "ovex.io OTC schedule (RFQ; spread modelled as a quote-currency taker fee)",
        fee_currency_rule="quote", markets=dict([
            # symbol, price tick, amount step, min amount, min notional | simulator: price, volatility, spread, depth
            market("BTC/ZAR", "1", "0.000001", "0.0001", "50", "1650000", BTC_VOLATILITY, "12", "1.5"),
            market("USDT/ZAR", "0.001", "0.01", "10", "50", "18.1", FX_VOLATILITY, "10", "200000"),
        ]),
    ),
    rules_source="OVEX's published OTC schedule; checked 2026-11",
    credential_fields=("api_key",),  # OVEX authenticates with a bearer token only
    client=own_client("botfleet.adapters.exchanges.ovex:OvexClient"),
    demo=DemoBot("OVEX USDT/ZAR", "USDT/ZAR", {"fast": 2, "slow": 5}, "20000"),
    listing_order=5,
)
