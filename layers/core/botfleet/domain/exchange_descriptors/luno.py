"""Luno: South Africa's largest retail exchange (ZAR markets), traded through ccxt."""

from decimal import Decimal as D

from botfleet.domain.exchange_model import (
    ALT_VOLATILITY,
    BTC_VOLATILITY,
    ETH_VOLATILITY,
    DemoBot,
    Exchange,
    ExchangeDescriptor,
    MarketIds,
    ccxt_client,
    market,
)

DESCRIPTOR = ExchangeDescriptor(
    exchange=Exchange(
        "luno", "Luno", D("0.004"), D("0.006"),
        "ccxt luno describe() fees.trading (base tier of its tiered schedule): fee in the received asset",
        fee_currency_rule="received", markets=dict([
            # symbol, price tick, amount step, min amount, min notional | simulator: price, volatility, spread, depth
            market("BTC/ZAR", "1", "0.0001", "0.0005", "10", "1650000", BTC_VOLATILITY, "8", "0.8"),
            market("ETH/ZAR", "1", "0.001", "0.005", "10", "58000", ETH_VOLATILITY, "10", "8"),
            market("XRP/ZAR", "0.01", "1", "1", "10", "41", ALT_VOLATILITY, "14", "20000"),
        ]),
    ),
    rules_source="ccxt luno describe() and Luno's public market endpoint (tick size, step size, min qty, "
                 "min notional); checked 2026-11",
    credential_fields=("api_key", "api_secret"),
    client=ccxt_client("LunoClient"),
    demo=DemoBot("Luno BTC trend", "BTC/ZAR", {"fast": 2, "slow": 5}, "50000"),
    market_ids=MarketIds(separator="", currency_ids={"BTC": "XBT"}),
    listing_order=1,
)
