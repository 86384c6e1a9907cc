"""The exchanges botfleet trades on, as data: listed symbols, their trading rules, fees, and the
simulator's market parameters for each symbol.

Sources (checked 2026-11): trading rules and fees for Binance, KuCoin and Luno follow ccxt's
`describe()` data and the exchanges' public market endpoints (tick size, step size, min qty,
min notional); VALR from its published fee schedule and `/v1/public/pairs`; OVEX from its
published OTC schedule (OVEX quotes are request-for-quote; its fee is modelled as a taker fee).
Simulator prices are realistic levels, not live quotes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal as D

from botfleet.errors import NotFound, Unprocessable


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


FEE_QUANTUM = D("0.00000001")


def _m(symbol, tick, step, min_amount, min_notional, price, vol, spread, depth):
    return symbol, (
        SymbolRules(symbol, D(tick), D(step), D(min_amount), D(min_notional)),
        SimulatedMarketSpec(D(price), vol, D(spread), D(depth)),
    )


# Per-minute volatility: ~60 %/yr for BTC, ~75 % for ETH, ~90 % for SOL/XRP, ~8 % for USDT/ZAR.
_BTC, _ETH, _ALT, _FX = 0.0009, 0.0011, 0.0013, 0.00012

EXCHANGES: dict[str, Exchange] = {
    exchange.id: exchange
    for exchange in (
        Exchange(
            "luno", "Luno", D("0.004"), D("0.006"),
            "ccxt luno describe() fees.trading (base tier of its tiered schedule): fee in the received asset",
            fee_currency_rule="received", markets=dict([
                _m("BTC/ZAR", "1", "0.0001", "0.0005", "10", "1650000", _BTC, "8", "0.8"),
                _m("ETH/ZAR", "1", "0.001", "0.005", "10", "58000", _ETH, "10", "8"),
                _m("XRP/ZAR", "0.01", "1", "1", "10", "41", _ALT, "14", "20000"),
            ]),
        ),
        Exchange(
            "binance", "Binance", D("0.001"), D("0.001"),
            "ccxt binance describe() fees.trading (spot, no BNB discount): commission in the received asset",
            fee_currency_rule="received", markets=dict([
                _m("BTC/USDT", "0.01", "0.00001", "0.00001", "5", "92000", _BTC, "1", "4"),
                _m("ETH/USDT", "0.01", "0.0001", "0.0001", "5", "3300", _ETH, "1.5", "60"),
                _m("SOL/USDT", "0.01", "0.001", "0.001", "5", "180", _ALT, "2", "900"),
            ]),
        ),
        Exchange(
            "kucoin", "KuCoin", D("0.001"), D("0.001"),
            "ccxt kucoin describe() fees.trading (level 0): fee in the quote currency",
            fee_currency_rule="quote", markets=dict([
                _m("BTC/USDT", "0.1", "0.00000001", "0.00001", "0.1", "92000", _BTC, "2", "2"),
                _m("ETH/USDT", "0.01", "0.0000001", "0.0001", "0.1", "3300", _ETH, "2.5", "30"),
            ]),
        ),
        Exchange(
            "valr", "VALR", D("0"), D("0.001"), "valr.com fee schedule (spot, base tier): fee in the received asset",
            fee_currency_rule="received", markets=dict([
                _m("BTC/ZAR", "1", "0.00000001", "0.0001", "10", "1650000", _BTC, "6", "0.6"),
                _m("ETH/ZAR", "1", "0.000001", "0.001", "10", "58000", _ETH, "9", "6"),
            ]),
        ),
        Exchange(
            "ovex", "OVEX", D("0"), D("0.002"),
            "ovex.io OTC schedule (RFQ; spread modelled as a quote-currency taker fee)",
            fee_currency_rule="quote", markets=dict([
                _m("BTC/ZAR", "1", "0.000001", "0.0001", "50", "1650000", _BTC, "12", "1.5"),
                _m("USDT/ZAR", "0.001", "0.01", "10", "50", "18.1", _FX, "10", "200000"),
            ]),
        ),
    )
}


def get_exchange(exchange_id: str) -> Exchange:
    try:
        return EXCHANGES[exchange_id]
    except KeyError:
        raise Unprocessable(
            "exchange", f"unknown exchange {exchange_id!r} (one of: {', '.join(EXCHANGES)})",
            code="unknown_exchange",
        ) from None


def get_rules(exchange_id: str, symbol: str) -> SymbolRules:
    return get_exchange(exchange_id).rules(symbol)


def require_market(exchange_id: str, symbol: str) -> None:
    """Raise NotFound-style errors the control plane can report for an unknown market."""
    try:
        get_rules(exchange_id, symbol)
    except Unprocessable as exc:
        raise NotFound(exc.message) from None
