"""Simulated market state, one item per (exchange, symbol), advanced at most once per tick, and the market's
one-minute candles beside it (one item per tick, expiring after a week: the charts' storage stays bounded).

The state item carries the candle in progress (`candle_open`, `candle_high`, `candle_low`): a market move
between two ticks (the local cloud's control plane) shows in the next candle's high or low."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from botfleet.adapters.dynamo.table import ConditionFailed, Table
from botfleet.clock import parse_iso
from botfleet.domain import market as sim
from botfleet.domain.charts import CANDLE_RETENTION_SECONDS, Candle
from botfleet.domain.exchanges import get_exchange


def _key(exchange: str, symbol: str) -> tuple[str, str]:
    return f"MARKET#{exchange}#{symbol}", "STATE"


def _candle_sk(tick_id: str) -> str:
    return f"CANDLE#{tick_id}"


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
            candle = _closing_candle(item, state, advanced.price, tick_id)
            try:
                self._write(exchange, symbol, advanced, tick_id=tick_id, condition="seq = :seq",
                            values={":seq": state.seq})
            except ConditionFailed:
                continue
            self._write_candle(exchange, symbol, candle)
            return advanced
        return _to_state(self.table.get(*_key(exchange, symbol), consistent=True))

    def move(self, exchange: str, symbol: str, move_pct: Decimal) -> sim.MarketState:
        rules = get_exchange(exchange).rules(symbol)
        while True:
            self.current(exchange, symbol)  # creates the market on first use
            item = self.table.get(*_key(exchange, symbol), consistent=True)
            state = _to_state(item)
            moved = sim.move(state, move_pct, rules)
            open_price, high, low = _candle_so_far(item, state)
            try:
                self._write(exchange, symbol, moved, tick_id=item.get("tick_id", ""), condition="seq = :seq",
                            values={":seq": state.seq},
                            candle=(open_price, max(high, moved.price), min(low, moved.price)))
                return moved
            except ConditionFailed:
                continue  # a tick advanced it meanwhile: apply the shock on top of that

    def candles(self, exchange: str, symbol: str, limit: int) -> list[Candle]:
        """The newest `limit` candles, oldest first."""
        pk, _ = _key(exchange, symbol)
        items, _ = self.table.query("pk = :pk AND begins_with(sk, :candle)", {":pk": pk, ":candle": "CANDLE#"},
                                    limit=limit, newest_first=True)
        return [Candle(item["ts"], item["open"], item["high"], item["low"], item["close"], item["volume"])
                for item in reversed(items)]

    def _write(self, exchange, symbol, state, *, tick_id, condition=None, values=None, candle=None):
        """`candle`: (open, high, low) of the candle in progress; a new one opens at the state's price."""
        pk, sk = _key(exchange, symbol)
        open_price, high, low = candle or (state.price, state.price, state.price)
        self.table.put(
            {"pk": pk, "sk": sk, "entity": "market", "exchange": exchange, "symbol": symbol,
             "price": state.price, "seq": state.seq, "closes": [str(c) for c in state.closes],
             "tick_id": tick_id, "candle_open": open_price, "candle_high": high, "candle_low": low},
            condition=condition, values=values,
        )

    def _write_candle(self, exchange: str, symbol: str, candle: Candle) -> None:
        # A plain put keyed by the tick: a replayed tick writes the same item again. Written after the state, so
        # a crash between the two leaves a gap in the chart, never a candle of a tick that did not happen.
        pk, _ = _key(exchange, symbol)
        expires_at = int(parse_iso(candle.ts).timestamp()) + CANDLE_RETENTION_SECONDS
        self.table.put({"pk": pk, "sk": _candle_sk(candle.ts), "entity": "candle", "ts": candle.ts,
                        "open": candle.open, "high": candle.high, "low": candle.low, "close": candle.close,
                        "volume": candle.volume, "expires_at": expires_at})


def _candle_so_far(item: dict, state: sim.MarketState) -> tuple[Decimal, Decimal, Decimal]:
    """(open, high, low) of the candle in progress; items written before candles existed open at the price."""
    price = state.price
    return (Decimal(item.get("candle_open", price)), Decimal(item.get("candle_high", price)),
            Decimal(item.get("candle_low", price)))


def _closing_candle(item: dict, state: sim.MarketState, close: Decimal, tick_id: str) -> Candle:
    open_price, high, low = _candle_so_far(item, state)
    return Candle(tick_id, open_price, max(high, close), min(low, close), close)


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
