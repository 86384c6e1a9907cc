"""Replay: historical one-minute candles from CSV files, one per (exchange, symbol), for backtests and demos that
must be repeatable and offline.

Files are given as `sources={(exchange, symbol): path}` or found in a directory (`csv_dir`) by name:
`<exchange>_<BASE>-<QUOTE>.csv`, e.g. `valr_BTC-ZAR.csv`.
CSV columns `ts,open,high,low,close,volume` (a header row is optional); `ts` is ISO-8601 or epoch milliseconds.
The tick's time picks the latest candle at or before it; the closes are the history up to that candle and the
book is the simulator's book shape (botfleet.domain.market.order_book) around that close, so fills still walk
depth with the catalogue's spread and sizes. The book's noise is seeded by the candle, so a replay is repeatable.
"""

from __future__ import annotations

import bisect
import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from botfleet.adapters.market_data.base import MarketView
from botfleet.domain import market as sim
from botfleet.domain.exchanges import get_exchange


class NoCandle(LookupError):
    """The replay has no candle at or before the requested tick."""


def parse_time_ms(text: str) -> int:
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def load_candles(source: str | Path | io.TextIOBase) -> tuple[list[int], list[Decimal]]:
    """(times in ms, closes), sorted by time. `source` is a path or an open text stream."""
    if isinstance(source, str | Path):
        with open(source, newline="") as handle:
            return load_candles(handle)
    rows = []
    for row in csv.reader(source):
        if not row or row[0].strip().lower() in ("ts", "time", "timestamp") or row[0].startswith("#"):
            continue
        rows.append((parse_time_ms(row[0]), Decimal(row[4].strip())))
    rows.sort()
    return [ts for ts, _ in rows], [close for _, close in rows]


def discover(csv_dir: str | Path) -> dict[tuple[str, str], Path]:
    """{(exchange, symbol): path} for every `<exchange>_<BASE>-<QUOTE>.csv` in csv_dir."""
    found = {}
    for path in sorted(Path(csv_dir).glob("*_*-*.csv")):
        exchange, _, pair = path.stem.partition("_")
        found[(exchange, pair.replace("-", "/").upper())] = path
    return found


class ReplayMarketData:
    def __init__(self, sources: dict[tuple[str, str], str | Path] | None = None, *, csv_dir: str | Path | None = None,
                 seed: str = "replay"):
        self._sources = {**(discover(csv_dir) if csv_dir else {}), **(sources or {})}
        self._seed = seed
        self._loaded: dict[tuple[str, str], tuple[list[int], list[Decimal]]] = {}
        self._last_tick: dict[tuple[str, str], str] = {}

    def view(self, exchange: str, symbol: str, tick_id: str) -> MarketView:
        times, closes = self._candles(exchange, symbol)
        self._last_tick[(exchange, symbol)] = tick_id
        index = bisect.bisect_right(times, parse_time_ms(tick_id)) - 1
        if index < 0:
            raise NoCandle(f"no {exchange} {symbol} candle at or before {tick_id}")
        history = closes[max(0, index + 1 - sim.HISTORY_LENGTH): index + 1]
        venue = get_exchange(exchange)
        state = sim.MarketState(price=closes[index], seq=index, closes=history)
        book = sim.order_book(state, f"{self._seed}:{exchange}:{symbol}", venue.simulation(symbol),
                              venue.rules(symbol))
        return MarketView.of(history, book)

    def mark(self, exchange: str, symbol: str) -> Decimal:
        """The mark as of the last tick viewed for this market (the end of the file before any)."""
        tick_id = self._last_tick.get((exchange, symbol))
        if tick_id is None:
            times, _ = self._candles(exchange, symbol)
            tick_id = str(times[-1])
        return self.view(exchange, symbol, tick_id).mark

    def _candles(self, exchange: str, symbol: str) -> tuple[list[int], list[Decimal]]:
        key = (exchange, symbol)
        if key not in self._loaded:
            if key not in self._sources:
                raise NoCandle(f"no replay file for {exchange} {symbol}")
            self._loaded[key] = load_candles(self._sources[key])
        return self._loaded[key]
