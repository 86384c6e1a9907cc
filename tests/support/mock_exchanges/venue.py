"""The state every mock exchange shares: balances, orders keyed by client order id, a deterministic order book
per symbol (the simulator's book around its warm-up price) and one-minute candles.

Market orders fill at once by walking the book; limit orders rest (reserving funds) until cancelled. The
exchange-specific servers only translate requests and replies; the accounting is here, once.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

from botfleet.domain import market as sim
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.money import quantize_down

SEED = "mock-exchange"


class Rejected(Exception):
    """A venue-level refusal; `code` is one of: insufficient, duplicate, min_amount, min_notional, not_found,
    not_open, liquidity. Each server renders it in its exchange's own error format."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(message or code)
        self.code = code
        self.message = message or code


@dataclass
class Fill:
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_currency: str
    trade_id: int
    maker: bool = False


@dataclass
class Order:
    id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    amount: Decimal
    price: Decimal | None
    created_ms: int
    status: str = "open"  # open | closed | canceled | rejected
    fills: list[Fill] = field(default_factory=list)
    quote_amount: Decimal | None = None
    reason: str = ""
    reference: str = ""  # OVEX: the client reference on an RFQ trade

    @property
    def filled(self) -> Decimal:
        return sum((fill.amount for fill in self.fills), Decimal(0))

    @property
    def cost(self) -> Decimal:
        return sum((fill.amount * fill.price for fill in self.fills), Decimal(0))

    @property
    def fee(self) -> Decimal:
        return sum((fill.fee for fill in self.fills), Decimal(0))

    @property
    def fee_currency(self) -> str:
        return self.fills[0].fee_currency if self.fills else ""

    @property
    def average(self) -> Decimal | None:
        return self.cost / self.filled if self.filled else None

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("/")[1]


class Venue:
    def __init__(self, exchange_id: str, balances: dict[str, str], *, fee_in: str = "received"):
        """`fee_in`: "received" charges the taker fee in what the trade brings in (Binance, Luno, VALR);
        "quote" always in the quote currency (KuCoin)."""
        self.exchange = get_exchange(exchange_id)
        self.exchange_id = exchange_id
        self.fee_in = fee_in
        self.lock = threading.RLock()
        self.balances: dict[str, list[Decimal]] = {code: [Decimal(v), Decimal(0)] for code, v in balances.items()}
        self.orders: dict[str, Order] = {}  # by client order id
        self.by_id: dict[str, Order] = {}
        self._ids = itertools.count(100001)
        self._trade_ids = itertools.count(5001)
        self._states = {}

    # -- market ---------------------------------------------------------------------------------------------

    def state(self, symbol: str) -> sim.MarketState:
        if symbol not in self._states:
            self._states[symbol] = sim.initial_state(f"{SEED}:{self.exchange_id}:{symbol}",
                                                     self.exchange.simulation(symbol), self.exchange.rules(symbol))
        return self._states[symbol]

    def book(self, symbol: str) -> sim.OrderBook:
        return sim.order_book(self.state(symbol), f"{SEED}:{self.exchange_id}:{symbol}",
                              self.exchange.simulation(symbol), self.exchange.rules(symbol))

    def candles(self, symbol: str) -> list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]]:
        """(open time ms, open, high, low, close, volume), oldest first, the last one the current minute."""
        closes = self.state(symbol).closes
        minute = int(time.time()) // 60 * 60_000
        rows, previous = [], closes[0]
        for i, close in enumerate(closes):
            ts = minute - (len(closes) - 1 - i) * 60_000
            rows.append((ts, previous, max(previous, close), min(previous, close), close, Decimal("1.5")))
            previous = close
        return rows

    # -- balances -------------------------------------------------------------------------------------------

    def free(self, code: str) -> Decimal:
        return self.balances.setdefault(code, [Decimal(0), Decimal(0)])[0]

    def _move(self, code: str, free: Decimal = Decimal(0), used: Decimal = Decimal(0)) -> None:
        account = self.balances.setdefault(code, [Decimal(0), Decimal(0)])
        account[0] += free
        account[1] += used

    # -- orders ---------------------------------------------------------------------------------------------

    def next_id(self) -> str:
        return str(next(self._ids))

    def _new_order(self, client_order_id: str, symbol: str, side: str, type_: str, amount: Decimal,
                   price: Decimal | None, order_id: str | None = None) -> Order:
        if client_order_id in self.orders:
            raise Rejected("duplicate", f"duplicate client order id {client_order_id}")
        rules = self.exchange.rules(symbol)
        if amount and amount < rules.min_amount:
            raise Rejected("min_amount", f"amount {amount} below the minimum {rules.min_amount}")
        return Order(order_id or self.next_id(), client_order_id, symbol, side, type_, amount, price,
                     int(time.time() * 1000))

    def _record(self, order: Order) -> Order:
        self.orders[order.client_order_id] = order
        self.by_id[order.id] = order
        return order

    def market(self, client_order_id: str, symbol: str, side: str, *, amount: Decimal | None = None,
               quote_amount: Decimal | None = None, order_id: str | None = None, record_failure: bool = False
               ) -> Order:
        """Fill at once against the book. `record_failure` keeps a refused order as status "rejected" (VALR
        refuses asynchronously: the order exists, failed) instead of raising."""
        with self.lock:
            order = self._new_order(client_order_id, symbol, side, "market", amount or Decimal(0), None, order_id)
            order.quote_amount = quote_amount
            try:
                self._execute(order, amount, quote_amount)
            except Rejected as exc:
                if not record_failure:
                    raise
                order.status, order.reason = "rejected", exc.message
            return self._record(order)

    def _execute(self, order: Order, amount: Decimal | None, quote_amount: Decimal | None) -> None:
        rules = self.exchange.rules(order.symbol)
        book = self.book(order.symbol)
        levels = book.asks if order.side == "buy" else book.bids
        takes: list[tuple[Decimal, Decimal]] = []
        remaining_base, remaining_quote = amount, quote_amount
        for level in levels:
            if remaining_quote is not None:
                take = min(level.amount, quantize_down(remaining_quote / level.price, rules.amount_step))
                remaining_quote -= take * level.price
            else:
                take = min(level.amount, remaining_base)
                remaining_base -= take
            if take > 0:
                takes.append((level.price, take))
            if (remaining_base is not None and remaining_base <= 0) or (
                    remaining_quote is not None and remaining_quote < level.price * rules.amount_step):
                break
        if remaining_base is not None and remaining_base > 0:
            raise Rejected("liquidity", "not enough liquidity")
        base_total = sum((take for _, take in takes), Decimal(0))
        cost = sum((price * take for price, take in takes), Decimal(0))
        if cost < rules.min_notional:
            raise Rejected("min_notional", f"order value {cost} below the minimum {rules.min_notional}")
        self._settle(order, takes, base_total, cost, maker=False)
        order.amount = order.amount or base_total
        order.status = "closed"

    def _settle(self, order: Order, takes: list[tuple[Decimal, Decimal]], base_total: Decimal, cost: Decimal,
                *, maker: bool, reserved: bool = False) -> None:
        fee_rate = self.exchange.maker_fee if maker else self.exchange.taker_fee
        fee_in_quote = self.fee_in == "quote" or order.side == "sell"
        fee_total = (cost if fee_in_quote else base_total) * fee_rate
        needed_code = order.quote if order.side == "buy" else order.base
        needed = (cost + (fee_total if fee_in_quote else 0)) if order.side == "buy" else base_total
        if not reserved and self.free(needed_code) < needed:
            raise Rejected("insufficient", f"insufficient {needed_code} balance: need {needed}")
        fee_currency = order.quote if fee_in_quote else order.base
        for price, take in takes:
            share = (price * take if fee_in_quote else take) * fee_rate
            order.fills.append(Fill(price, take, share, fee_currency, next(self._trade_ids), maker))
        if order.side == "buy":
            spend = cost + (fee_total if fee_in_quote else 0)
            self._move(order.quote, **{"used" if reserved else "free": -spend})
            self._move(order.base, free=base_total - (0 if fee_in_quote else fee_total))
        else:
            self._move(order.base, **{"used" if reserved else "free": -base_total})
            self._move(order.quote, free=cost - fee_total)

    def limit(self, client_order_id: str, symbol: str, side: str, amount: Decimal, price: Decimal,
              order_id: str | None = None, record_failure: bool = False) -> Order:
        """Rests on the book (never crosses in these mocks), with its funds reserved."""
        with self.lock:
            order = self._new_order(client_order_id, symbol, side, "limit", amount, price, order_id)
            code, needed = (order.quote, amount * price) if side == "buy" else (order.base, amount)
            if amount * price < self.exchange.rules(symbol).min_notional:
                raise Rejected("min_notional", "order value below the minimum")
            if self.free(code) < needed:
                if not record_failure:
                    raise Rejected("insufficient", f"insufficient {code} balance: need {needed}")
                order.status, order.reason = "rejected", "Insufficient Balance"
                return self._record(order)
            self._move(code, free=-needed, used=needed)
            return self._record(order)

    def fill_limit(self, order: Order) -> None:
        """Test helper: the market comes to a resting order and fills it (as maker)."""
        with self.lock:
            self._settle(order, [(order.price, order.amount)], order.amount, order.amount * order.price,
                         maker=True, reserved=True)
            order.status = "closed"

    def cancel(self, order: Order) -> Order:
        with self.lock:
            if order.status != "open":
                raise Rejected("not_open", f"order {order.client_order_id} is {order.status}")
            left = order.amount - order.filled
            code, amount = (order.quote, left * order.price) if order.side == "buy" else (order.base, left)
            self._move(code, free=amount, used=-amount)
            order.status = "canceled"
            return order

    def transfer(self, reference: str, symbol: str, side: str, base_amount: Decimal, quote_amount: Decimal) -> Order:
        """An RFQ settlement (OVEX): exactly the quoted amounts change hands, no book walk, no separate fee."""
        with self.lock:
            if any(o.reference == reference for o in self.orders.values()) and reference:
                raise Rejected("duplicate", f"duplicate reference {reference}")
            order = Order(self.next_id(), reference or f"rfq-{self.next_id()}", symbol, side, "market", base_amount,
                          None, int(time.time() * 1000), quote_amount=quote_amount, reference=reference)
            code, needed = (order.quote, quote_amount) if side == "buy" else (order.base, base_amount)
            if self.free(code) < needed:
                raise Rejected("insufficient", f"insufficient {code} balance")
            if side == "buy":
                self._move(order.quote, free=-quote_amount)
                self._move(order.base, free=base_amount)
            else:
                self._move(order.base, free=-base_amount)
                self._move(order.quote, free=quote_amount)
            order.fills.append(Fill(quote_amount / base_amount, base_amount, Decimal(0), order.quote,
                                    next(self._trade_ids)))
            order.status = "closed"
            return self._record(order)

    def find(self, client_order_id: str | None = None, order_id: str | None = None) -> Order:
        order = self.orders.get(client_order_id) if client_order_id else self.by_id.get(str(order_id))
        if order is None:
            raise Rejected("not_found", "order not found")
        return order
