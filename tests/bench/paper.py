"""Paper trading benchmarks (`make bench`): pure compute, one core.

- bot decisions per second: the whole per-bot tick (`domain.trading.step`: resting orders, strategy, marking,
  reconciliation, breakers) for a fleet on the simulator's markets, most ticks deciding to hold;
- paper fills per second: market orders walking a 12-level simulated book, with fees and the ledger update.
The goal from the issue is printed beside ours: ≥ 20,000 decisions per second per core.
"""

from __future__ import annotations

import time

from botfleet.domain import market as sim
from botfleet.domain.bots import Bot
from botfleet.domain.exchanges import EXCHANGES
from botfleet.domain.ledger import Ledger
from botfleet.domain.paper import market_order
from botfleet.domain.trading import step

GOAL_DECISIONS = 20_000


def _markets(states=None):
    """Each market's view (closes, book); with `states`, advance every market one tick first."""
    views, advanced = [], {}
    for exchange in EXCHANGES.values():
        for symbol in exchange.markets:
            rules, spec = exchange.rules(symbol), exchange.simulation(symbol)
            seed = f"bench:{exchange.id}:{symbol}"  # as in production: every market its own path
            state = sim.initial_state(seed, spec, rules) if states is None else sim.advance(
                states[(exchange.id, symbol)], seed, spec, rules)
            advanced[(exchange.id, symbol)] = state
            book = sim.order_book(state, seed, spec, rules)
            views.append((exchange, symbol, rules, [float(c) for c in state.closes], book))
    _markets.states = advanced
    return views


def _fleet(views, size):
    bots = []
    for i in range(size):
        exchange, symbol, rules, _, _ = views[i % len(views)]
        capital = rules.min_notional * 200
        bots.append(Bot(id=f"bot_{i}", owner_id="u", name="b", exchange=exchange.id, symbol=symbol,
                        strategy="sma_cross", params={"fast": 5 + i % 10, "slow": 20 + i % 40}, mode="paper",
                        capital=capital, ledger=Ledger.open(rules.base, rules.quote, capital), created_at="t",
                        updated_at="t", initial_capital=capital))
    return bots


def decisions_per_second(size=2000, rounds=20) -> tuple[float, int]:
    views = _markets()
    bots = _fleet(views, size)
    fills, elapsed, decisions = 0, 0.0, 0
    for minute in range(rounds):
        views = _markets(_markets.states)  # the market moves between ticks (not timed: once per market)
        by_market = {(v[0].id, v[1]): v for v in views}
        started = time.perf_counter()
        tick = f"2026-11-24T10:{minute:02d}:00.000Z"
        for index, bot in enumerate(bots):
            _, _, _, closes, book = by_market[(bot.exchange, bot.symbol)]
            result = step(bot, closes, book, book.mid, tick)
            bots[index] = result.bot
            fills += len(result.executions)
            decisions += 1
        elapsed += time.perf_counter() - started
    return decisions / elapsed, fills


def fills_per_second(count=20_000) -> float:
    views = _markets()
    started = time.perf_counter()
    done = 0
    while done < count:
        for exchange, _, rules, _, book in views:
            amount = max(rules.min_amount, (rules.min_notional * 3 / book.mid // rules.amount_step) * rules.amount_step)
            fill = market_order("buy", amount, book, exchange, rules)
            ledger = Ledger.open(rules.base, rules.quote, fill.cost * 2)
            ledger.fill(fill.side, fill.amount, fill.cost, fill.fee, fill.fee_currency)
            done += 1
    return done / (time.perf_counter() - started)


def main() -> None:
    rate, fills = decisions_per_second()
    print(f"== tick engine (pure compute, one core): {rate:,.0f} bot decisions/s "
          f"({fills} fills among them); goal ≥ {GOAL_DECISIONS:,}/s")
    print(f"== paper fills (walk the book + fee + ledger): {fills_per_second():,.0f} fills/s")


if __name__ == "__main__":
    main()
