"""Binance (spot), traded through ccxt."""

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
        "binance", "Binance", D("0.001"), D("0.001"),
        "ccxt binance describe() fees.trading (spot, no BNB discount): commission in the received asset",
        fee_currency_rule="received", markets=dict([
            # symbol, price tick, amount step, min amount, min notional | simulator: price, volatility, spread, depth
            market("BTC/USDT", "0.01", "0.00001", "0.00001", "5", "92000", BTC_VOLATILITY, "1", "4"),
            market("ETH/USDT", "0.01", "0.0001", "0.0001", "5", "3300", ETH_VOLATILITY, "1.5", "60"),
            market("SOL/USDT", "0.01", "0.001", "0.001", "5", "180", ALT_VOLATILITY, "2", "900"),
        ]),
    ),
    rules_source="ccxt binance describe() and Binance's public market endpoint (tick size, step size, min qty, "
                 "min notional); checked 2026-11",
    credential_fields=("api_key", "api_secret"),
    client=ccxt_client("BinanceClient"),
    demo=DemoBot("Binance BTC trend", "BTC/USDT", {"fast": 3, "slow": 8}, "2500"),
    market_ids=MarketIds(separator=""),
    listing_order=2,
)
