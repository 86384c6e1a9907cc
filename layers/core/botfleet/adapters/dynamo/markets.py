"""Simulated market state, one item per (exchange, symbol), advanced at most once per tick."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from botfleet.adapters.dynamo.table import ConditionFailed, Table
from botfleet.domain import market as sim
from botfleet.domain.exchanges import get_exchange


def _key(exchange: str, symbol: str) -> tuple[str, str]:
    return f"MARKET#{exchange}#{symbol}", "STATE"


def _to_state(item: dict) -> sim.MarketState:
    return sim.MarketState(price=item["price"], seq=int(item["seq"]), closes=[Decimal(c) for c in item["closes"]])


class DynamoMarketRepository:
    def __init__(self, table: Table, seed: str):
        self.table = table
        self.seed = seed

    def current(self, exchange: str, symbol: str) -> sim.MarketState:
        item = self.table.get(*_key(exchange, symbol), consistent=True)
        if item:
            return _to_state(item)
        ex = get_exchange(exchange)
        state = sim.initial_state(f"{self.seed}:{exchange}:{symbol}", ex.simulation(symbol), ex.rules(symbol))
        try:
            self._write(exchange, symbol, state, tick_id="", condition="attribute_not_exists(pk)")
        except ConditionFailed:
            return _to_state(self.table.get(*_key(exchange, symbol), consistent=True))
        return state

    def for_tick(self, exchange: str, symbol: str, tick_id: str) -> sim.MarketState:
        """The market as of `tick_id`: the first caller in a tick advances it, everyone else reads it.
        Optimistic concurrency on `seq` keeps concurrent shards from advancing it twice."""
        for _ in range(5):
            item = self.table.get(*_key(exchange, symbol), consistent=True)
            if item is None:
                self.current(exchange, symbol)
                continue
            if item.get("tick_id", "") >= tick_id:
                return _to_state(item)
            state = _to_state(item)
            ex = get_exchange(exchange)
            advanced = sim.advance(state, f"{self.seed}:{exchange}:{symbol}", ex.simulation(symbol),
                                   ex.rules(symbol))
            try:
                self._write(exchange, symbol, advanced, tick_id=tick_id, condition="seq = :seq",
                            values={":seq": state.seq})
                return advanced
            except ConditionFailed:
                continue
        return _to_state(self.table.get(*_key(exchange, symbol), consistent=True))

    def move(self, exchange: str, symbol: str, move_pct: Decimal) -> sim.MarketState:
        rules = get_exchange(exchange).rules(symbol)
        while True:
            self.current(exchange, symbol)  # creates the market on first use
            item = self.table.get(*_key(exchange, symbol), consistent=True)
            state = _to_state(item)
            moved = sim.move(state, move_pct, rules)
            try:
                self._write(exchange, symbol, moved, tick_id=item.get("tick_id", ""), condition="seq = :seq",
                            values={":seq": state.seq})
                return moved
            except ConditionFailed:
                continue  # a tick advanced it meanwhile: apply the shock on top of that

    def _write(self, exchange, symbol, state, *, tick_id, condition=None, values=None):
        pk, sk = _key(exchange, symbol)
        self.table.put(
            {"pk": pk, "sk": sk, "entity": "market", "exchange": exchange, "symbol": symbol,
             "price": state.price, "seq": state.seq, "closes": [str(c) for c in state.closes],
             "tick_id": tick_id},
            condition=condition, values=values,
        )


@dataclass(frozen=True, slots=True)
class SimulatedView:
    closes: list[Decimal]
    book: sim.OrderBook
    mark: Decimal


class SimulatedMarketData:
    """The MarketData port on the built-in simulator: one shared price path per (exchange, symbol), advanced
    once per tick, with an order book around it."""

    def __init__(self, markets: DynamoMarketRepository):
        self.markets = markets

    def view(self, exchange: str, symbol: str, tick_id: str) -> SimulatedView:
        ex = get_exchange(exchange)
        state = self.markets.for_tick(exchange, symbol, tick_id)
        seed = f"{self.markets.seed}:{exchange}:{symbol}"
        book = sim.order_book(state, seed, ex.simulation(symbol), ex.rules(symbol))
        return SimulatedView(state.closes, book, book.mid)

    def mark(self, exchange: str, symbol: str) -> Decimal:
        return self.markets.current(exchange, symbol).price
