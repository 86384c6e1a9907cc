"""One bot's decision on one tick: ask its strategy for a target position, then trade toward it."""

from __future__ import annotations

from dataclasses import dataclass

from botfleet.domain.bots import Bot
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.market import OrderBook
from botfleet.domain.paper import Fill, OrderRejected, market_buy_with_quote, market_sell
from botfleet.domain.strategies import get_strategy


@dataclass(frozen=True, slots=True)
class Decision:
    fill: Fill | None
    rejected: OrderRejected | None = None


def decide(bot: Bot, closes: list[float], book: OrderBook) -> Decision:
    strategy = get_strategy(bot.strategy)
    exchange = get_exchange(bot.exchange)
    rules = exchange.rules(bot.symbol)
    target = strategy.target_position(closes, bot.params)
    try:
        if target == 1 and bot.position < rules.min_amount:
            return Decision(market_buy_with_quote(bot.cash, book, exchange, rules))
        if target == 0 and bot.position >= rules.min_amount:
            return Decision(market_sell(bot.position, book, exchange, rules))
    except OrderRejected as rejected:
        return Decision(None, rejected)
    return Decision(None)


def apply_fill(bot: Bot, fill: Fill) -> Bot:
    """The bot's balances after the fill (fees in quote). Pure: returns the new balances on a copy."""
    from dataclasses import replace

    if fill.side == "buy":
        return replace(bot, cash=bot.cash - fill.cost - fill.fee, position=bot.position + fill.amount)
    return replace(bot, cash=bot.cash + fill.cost - fill.fee, position=bot.position - fill.amount)
