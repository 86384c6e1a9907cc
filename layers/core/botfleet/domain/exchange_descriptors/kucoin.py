"""KuCoin (classic spot account), traded through ccxt. Its API keys carry a passphrase."""

from decimal import Decimal as D

from botfleet.domain.exchange_model import (
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
        "kucoin", "KuCoin", D("0.001"), D("0.001"),
        "ccxt kucoin describe() fees.trading (level 0): fee in the quote currency",
        fee_currency_rule="quote", markets=dict([
            # symbol, price tick, amount step, min amount, min notional | simulator: price, volatility, spread, depth
            market("BTC/USDT", "0.1", "0.00000001", "0.00001", "0.1", "92000", BTC_VOLATILITY, "2", "2"),
            market("ETH/USDT", "0.01", "0.0000001", "0.0001", "0.1", "3300", ETH_VOLATILITY, "2.5", "30"),
        ]),
    ),
    rules_source="ccxt kucoin describe() and KuCoin's public market endpoint (tick size, step size, min qty, "
                 "min notional); checked 2026-11",
    credential_fields=("api_key", "api_secret", "passphrase"),
    client=ccxt_client("KuCoinClient"),
    demo=DemoBot("KuCoin ETH trend", "ETH/USDT", {"fast": 2, "slow": 6}, "2000"),
    market_ids=MarketIds(separator="-"),
    listing_order=3,
)
