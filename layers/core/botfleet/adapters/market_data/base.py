"""The market-data port: what a strategy and the fill model see of one market at one tick."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from botfleet.domain.market import OrderBook


@dataclass(frozen=True, slots=True)
class MarketView:
    closes: list[Decimal]  # one-minute closes, oldest -> newest; the last 240 when the source has them
    book: OrderBook  # best levels first, so a fill can walk depth
    mark: Decimal  # mid of the book

    @classmethod
    def of(cls, closes: list[Decimal], book: OrderBook) -> MarketView:
        return cls(closes=list(closes), book=book, mark=book.mid)


@runtime_checkable
class MarketData(Protocol):
    def view(self, exchange: str, symbol: str, tick_id: str) -> MarketView:
        """The market as of `tick_id` (an ISO-8601 UTC time, the tick's canonical id)."""

    def mark(self, exchange: str, symbol: str) -> Decimal:
        """The current mid, for valuing holdings outside a tick."""
