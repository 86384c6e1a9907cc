"""What the dashboard's charts show (pure): a market's one-minute candles, and a bot's equity curve.

The equity curve is not stored. It is derived on read from what is stored anyway: the bot's books now, its
trades and capital injections, and the market's candles. Walking back from the books as they are, undoing each
fill and injection in turn, gives the bot's cash and position at the end of every candle; equity is then cash
plus position at that candle's close. So a quiet bot costs no write per tick for its chart, and the curve always
agrees with the books (the first point of a bot's life is its initial capital, which a test checks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

#: Candles a chart may ask for at once (the API's `limit` bound).
MAX_CANDLES = 1000
#: How long a market's candles are kept: a week of one-minute candles per market (10,080 items) at most.
CANDLE_RETENTION_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Candle:
    """One tick's candle of the simulated market. `ts` is the tick (ISO, the minute); `volume` is 0 on the
    simulator, which prices a market without trading volume of its own."""

    ts: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class EquityPoint:
    ts: str
    equity: Decimal
    cash: Decimal  # quote currency, free and reserved
    position: Decimal  # base currency, free and reserved
    mark: Decimal  # the candle's close


def equity_curve(cash_now: Decimal, position_now: Decimal, quote: str, base: str, *, since: str,
                 trades: Iterable[Mapping[str, Any]], injections: Iterable[Mapping[str, Any]],
                 candles: Iterable[Candle]) -> list[EquityPoint]:
    """The bot's equity at the end of each candle from `since` on, oldest first.

    `trades` (with `tick_id`, `side`, `amount`, `cost`, `fee`, `fee_currency`) and `injections` (with `ts`,
    `kind`, `amount`) must include every one recorded after the oldest candle given, in any order. A trade is in
    the candle of its tick; an injection is in the first candle whose tick is at or after it (the tick that ran
    after it saw the money). Timestamps are the API's ISO strings, which compare as times.
    """
    # (when, kind, d_cash, d_position): what each movement did to the books, to be undone newest first.
    movements: list[tuple[str, int, Decimal, Decimal]] = []
    for trade in trades:
        amount, cost, fee = Decimal(trade["amount"]), Decimal(trade["cost"]), Decimal(trade["fee"])
        fee_in_quote = fee if trade["fee_currency"] == quote else Decimal(0)
        fee_in_base = fee if trade["fee_currency"] == base else Decimal(0)
        if trade["side"] == "buy":
            movements.append((trade["tick_id"], 0, -(cost + fee_in_quote), amount - fee_in_base))
        else:
            movements.append((trade["tick_id"], 0, cost - fee_in_quote, -(amount + fee_in_base)))
    for injection in injections:
        signed = Decimal(injection["amount"]) * (1 if injection["kind"] == "deposit" else -1)
        movements.append((injection["ts"], 1, signed, Decimal(0)))
    movements.sort(reverse=True)

    points: list[EquityPoint] = []
    cash, position = cash_now, position_now
    pending = iter(movements)
    movement = next(pending, None)
    for candle in sorted(candles, key=lambda c: c.ts, reverse=True):
        # Undo everything that happened after this candle closed: a later tick's trades, later injections.
        while movement is not None and movement[0] > candle.ts:
            cash, position = cash - movement[2], position - movement[3]
            movement = next(pending, None)
        if candle.ts < since:
            break
        points.append(EquityPoint(candle.ts, cash + position * candle.close, cash, position, candle.close))
    points.reverse()
    return points
