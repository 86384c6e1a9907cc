"""The value types an exchange is described with: its markets' trading rules, the simulator's parameters for
each market, its fees (`Exchange`), and the descriptor that adds what the rest of the platform needs to know
about it: where the rules come from, which credentials a key has, which client trades on it, and its demo bot.

Pure data and arithmetic. The descriptors themselves are in `botfleet.domain.exchange_descriptors` (one module
per exchange); `botfleet.domain.exchanges` is the catalogue the rest of the code reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal as D

from botfleet.errors import Unprocessable

FEE_QUANTUM = D("0.00000001")


@dataclass(frozen=True, slots=True)
class SymbolRules:
    """What the exchange accepts for one market; paper rejects exactly what the exchange would."""

    symbol: str
    price_tick: D
    amount_step: D
    min_amount: D
    min_notional: D

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("/")[1]


@dataclass(frozen=True, slots=True)
class SimulatedMarketSpec:
    """Parameters of the built-in simulator for one symbol: price level, per-minute volatility,
    quoted spread and order-book depth (base amount at the top level)."""

    start_price: D
    volatility_per_step: float  # standard deviation of one tick's log return
    spread_bps: D
    top_depth: D


@dataclass(frozen=True, slots=True)
class Exchange:
    id: str
    name: str
    maker_fee: D
    taker_fee: D
    fee_source: str
    markets: dict[str, tuple[SymbolRules, SimulatedMarketSpec]]
    # Which currency the fee is taken in: "received" (the asset you get: base on a buy, quote on a sell) or
    # "quote" (always the quote currency).
    fee_currency_rule: str = "quote"

    def fee(self, side: str, amount: D, price: D, rules: SymbolRules, *, maker: bool) -> tuple[D, str]:
        """The fee of one execution and its currency, as this exchange charges it."""
        rate = self.maker_fee if maker else self.taker_fee
        if self.fee_currency_rule == "received" and side == "buy":
            return (amount * rate).quantize(FEE_QUANTUM), rules.base
        return (amount * price * rate).quantize(FEE_QUANTUM), rules.quote

    def rules(self, symbol: str) -> SymbolRules:
        return self._market(symbol)[0]

    def simulation(self, symbol: str) -> SimulatedMarketSpec:
        return self._market(symbol)[1]

    def _market(self, symbol: str) -> tuple[SymbolRules, SimulatedMarketSpec]:
        try:
            return self.markets[symbol]
        except KeyError:
            listed = ", ".join(sorted(self.markets))
            raise Unprocessable(
                "symbol", f"{symbol} is not listed on {self.name} (listed: {listed})", code="unknown_symbol"
            ) from None


# Simulator volatility per one-minute step: ~60 %/yr for BTC, ~75 % for ETH, ~90 % for SOL/XRP, ~8 % for USDT/ZAR.
BTC_VOLATILITY, ETH_VOLATILITY, ALT_VOLATILITY, FX_VOLATILITY = 0.0009, 0.0011, 0.0013, 0.00012


MarketRow = tuple[str, tuple[SymbolRules, SimulatedMarketSpec]]


def market(symbol: str, tick: str, step: str, min_amount: str, min_notional: str,
           price: str, volatility: float, spread_bps: str, top_depth: str) -> MarketRow:
    """One row of an exchange's market table: its trading rules, then the simulator's parameters. Numbers are
    strings so they reach Decimal exactly as written."""
    return symbol, (
        SymbolRules(symbol, D(tick), D(step), D(min_amount), D(min_notional)),
        SimulatedMarketSpec(D(price), volatility, D(spread_bps), D(top_depth)),
    )


@dataclass(frozen=True, slots=True)
class ClientFactory:
    """Which class trades live on an exchange, named by import path (`package.module:Class`) rather than
    imported: the domain stays free of adapters, and reading the catalogue never loads ccxt or httpx.
    `botfleet.adapters.exchanges.make_client` resolves it on first use and calls
    `Class(exchange_id, credentials, ...)` for a ccxt-backed class (one class can serve several exchanges),
    `Class(credentials, ...)` for our own clients."""

    path: str
    via_ccxt: bool = False

    @property
    def module(self) -> str:
        return self.path.partition(":")[0]

    @property
    def class_name(self) -> str:
        return self.path.partition(":")[2]


#: Any exchange ccxt serves whose unified API carries our client order id (`clientOrderId`): nothing to write.
CCXT_CLIENT = ClientFactory("botfleet.adapters.exchanges.ccxt_client:CcxtExchangeClient", via_ccxt=True)


def ccxt_client(class_name: str) -> ClientFactory:
    """A ccxt exchange with quirks of its own (how the client order id travels, how an order is found again by
    it): its subclass of the ccxt client in `botfleet.adapters.exchanges.ccxt_venues`."""
    return ClientFactory(f"botfleet.adapters.exchanges.ccxt_venues:{class_name}", via_ccxt=True)


def own_client(path: str) -> ClientFactory:
    """An exchange ccxt doesn't serve (well enough): our own client class, `package.module:Class`."""
    return ClientFactory(path)


@dataclass(frozen=True, slots=True)
class MarketIds:
    """How an exchange's API spells a market and its currencies: BTC/USDT is BTCUSDT on Binance and BTC-USDT on
    KuCoin; Luno calls bitcoin XBT, so BTC/ZAR is XBTZAR."""

    separator: str = ""
    currency_ids: Mapping[str, str] = field(default_factory=dict)

    def currency(self, code: str) -> str:
        return self.currency_ids.get(code, code)

    def market(self, symbol: str) -> str:
        base, quote = symbol.split("/")
        return self.currency(base) + self.separator + self.currency(quote)


@dataclass(frozen=True, slots=True)
class DemoBot:
    """The paper bot the demo account gets on this exchange (an `sma_cross` strategy)."""

    name: str
    symbol: str
    params: Mapping[str, int]
    capital: str


@dataclass(frozen=True, slots=True)
class ExchangeDescriptor:
    """Everything botfleet knows about one exchange, defined once. The exchange list, the key providers and
    their fields, the live client, the engine's KMS condition, /api/config and the demo are all derived from
    the descriptors, so an exchange is either fully supported or absent."""

    exchange: Exchange  # id, name, fees and fee source, markets (rules + simulator parameters)
    rules_source: str  # where the trading rules in `exchange.markets` come from, and when they were checked
    credential_fields: tuple[str, ...]  # what a stored API key for this exchange consists of
    client: ClientFactory
    demo: DemoBot
    # Position in every exchange list (/api/config, the providers list, the KMS condition): lists are part of
    # the API, so their order is stated, not left to file names.
    listing_order: int
    market_ids: MarketIds = MarketIds()

    def __post_init__(self) -> None:
        if self.demo.symbol not in self.exchange.markets:
            raise ValueError(f"{self.id}: demo symbol {self.demo.symbol} is not one of its markets")
        if not self.credential_fields:
            raise ValueError(f"{self.id}: an API key needs at least one credential field")

    @property
    def id(self) -> str:
        return self.exchange.id

    @property
    def name(self) -> str:
        return self.exchange.name
