"""A bot's books: spot balances (free and reserved), cost basis, realized P&L, capital flows, and the
time-weighted return that circuit breakers and reports read. Pure and Decimal throughout.

Two independent records are kept, so the books can be reconciled like double-entry accounting:
- the balances themselves (what the bot holds), changed by fills, fees, reservations and flows;
- a trial balance of totals (contributed, bought, sold, fees per currency), only ever added to.
`violations()` checks one against the other, plus no-negative-balance and P&L identities.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
ONE = Decimal(1)
TOLERANCE = Decimal("0.00000001")  # rounding slack of proportional cost-basis allocation
# A new drawdown peak is worth a write of the bot only once it has risen this much (relative) above the stored one:
# a bot holding through a rally would otherwise be written on every tick that sets a new high. The stored peak is
# then never more than 0.1 % below the true one, so a drawdown breaker trips at most ~0.1 percentage point late.
PEAK_RESOLUTION = Decimal("0.001")
# The losing streak knows an order again by 12 hex digits of a hash of its client order id: enough to tell one bot's
# orders apart, in 12 bytes of the bot's item rather than a paper id's ~50.
ORDER_MARK_DIGITS = 12


@dataclass(frozen=True, slots=True)
class Ledger:
    base: str
    quote: str
    quote_free: Decimal
    quote_reserved: Decimal = ZERO
    base_free: Decimal = ZERO
    base_reserved: Decimal = ZERO
    cost_basis: Decimal = ZERO  # quote paid (fees included) for the base currently held
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO  # valued in quote at each fill's price
    consecutive_losses: int = 0  # sell orders in a row that realized a loss (not fills: see `fill`)
    # The last losing sell order counted (a hash of its client order id; "" after a gain): its further fills
    # (a resting order filling over ticks, a live order matched in parts) are the same loss, not new ones.
    loss_order: str = ""
    fills: int = 0  # executions booked: with the trial balance below, the bot's trade totals (domain.bots)
    # the trial balance: totals only ever added to
    contributed: Decimal = ZERO  # allocated capital: initial + deposits - withdrawals
    bought_quote: Decimal = ZERO
    sold_quote: Decimal = ZERO
    bought_base: Decimal = ZERO
    sold_base: Decimal = ZERO
    fee_quote_total: Decimal = ZERO  # fees charged in quote currency
    fee_base_total: Decimal = ZERO  # fees charged in base currency
    # time-weighted return: growth = twr_index * equity / twr_base, flows don't move it
    twr_index: Decimal = ONE
    twr_base: Decimal = ONE
    peak_growth: Decimal = ONE
    day: str = ""
    day_start_growth: Decimal = ONE
    # The breakers start afresh at the next mark (a new, resumed or redeployed bot); see `rebased`.
    rebase_pending: bool = True

    # --- reading ---------------------------------------------------------------------------------
    @property
    def quote_total(self) -> Decimal:
        return self.quote_free + self.quote_reserved

    @property
    def base_total(self) -> Decimal:
        return self.base_free + self.base_reserved

    def equity(self, mark: Decimal) -> Decimal:
        return self.quote_total + self.base_total * mark

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        return self.base_total * mark - self.cost_basis

    def growth(self, mark: Decimal) -> Decimal:
        """Cumulative growth factor since the bot started, excluding deposits and withdrawals."""
        if self.twr_base <= 0:
            return self.twr_index
        return self.twr_index * self.equity(mark) / self.twr_base

    def drawdown_pct(self, mark: Decimal) -> Decimal:
        return (ONE - self.growth(mark) / self.peak_growth) * 100 if self.peak_growth > 0 else ZERO

    def daily_loss_pct(self, mark: Decimal) -> Decimal:
        return (ONE - self.growth(mark) / self.day_start_growth) * 100 if self.day_start_growth > 0 else ZERO

    # --- capital flows ---------------------------------------------------------------------------
    def flow(self, amount: Decimal, mark: Decimal) -> Ledger:
        """A deposit (+) or withdrawal (-) of quote. Chains the time-weighted return at the flow, so the
        flow itself is neither profit nor loss."""
        if amount < 0 and -amount > self.quote_free:
            raise ValueError(f"cannot withdraw {-amount} {self.quote}: only {self.quote_free} is free")
        growth = self.growth(mark)
        equity_after = self.equity(mark) + amount
        # Emptied by a withdrawal, the bot has no equity to measure growth on: the growth so far stands (a zero
        # base says so, see growth()) until money comes back, instead of reading as a 100 % loss that trips the
        # drawdown breaker and, chained into the index, zeroes every later return.
        return replace(
            self, quote_free=self.quote_free + amount, contributed=self.contributed + amount,
            twr_index=growth, twr_base=equity_after if equity_after > 0 else ZERO,
        )

    # --- reservations (open orders) --------------------------------------------------------------
    def reserve(self, currency: str, amount: Decimal) -> Ledger:
        if currency == self.quote:
            if amount > self.quote_free:
                raise ValueError(f"insufficient {self.quote}: {self.quote_free} free, {amount} needed")
            return replace(self, quote_free=self.quote_free - amount, quote_reserved=self.quote_reserved + amount)
        if amount > self.base_free:
            raise ValueError(f"insufficient {self.base}: {self.base_free} free, {amount} needed")
        return replace(self, base_free=self.base_free - amount, base_reserved=self.base_reserved + amount)

    def release(self, currency: str, amount: Decimal) -> Ledger:
        if currency == self.quote:
            amount = min(amount, self.quote_reserved)
            return replace(self, quote_free=self.quote_free + amount, quote_reserved=self.quote_reserved - amount)
        amount = min(amount, self.base_reserved)
        return replace(self, base_free=self.base_free + amount, base_reserved=self.base_reserved - amount)

    # --- fills -----------------------------------------------------------------------------------
    def fill(self, side: str, amount: Decimal, cost: Decimal, fee: Decimal, fee_currency: str,
             *, reserved: bool = False, order_id: str = "") -> tuple[Ledger, Decimal]:
        """Apply one execution of `amount` base for `cost` quote (before fees). `reserved` takes the paid side
        from the order's reservation instead of free balance; `order_id` is the order it belongs to ("": an order
        of its own). Returns the new ledger and the realized P&L of this fill (zero for buys)."""
        fee_in_quote = fee if fee_currency == self.quote else fee * cost / amount
        ledger = self
        if side == "buy":
            paid = cost + (fee if fee_currency == self.quote else ZERO)
            received = amount - (fee if fee_currency == self.base else ZERO)
            ledger = ledger._debit_quote(paid, reserved)
            # The basis is the quote actually paid: a fee taken in base is already "paid" by receiving less.
            ledger = replace(
                ledger, base_free=ledger.base_free + received, cost_basis=ledger.cost_basis + paid,
                bought_quote=ledger.bought_quote + cost, bought_base=ledger.bought_base + amount,
            )
            realized = ZERO
        else:
            given = amount + (fee if fee_currency == self.base else ZERO)
            received = cost - (fee if fee_currency == self.quote else ZERO)
            held = ledger.base_total
            basis_sold = ledger.cost_basis * given / held if held > 0 else ZERO
            realized = received - basis_sold
            ledger = ledger._debit_base(given, reserved)
            losses, loss_order = ledger._losing_streak(realized, order_id)
            ledger = replace(
                ledger, quote_free=ledger.quote_free + received, cost_basis=ledger.cost_basis - basis_sold,
                realized_pnl=ledger.realized_pnl + realized, consecutive_losses=losses, loss_order=loss_order,
                sold_quote=ledger.sold_quote + cost, sold_base=ledger.sold_base + amount,
            )
        ledger = replace(
            ledger, fees_paid=ledger.fees_paid + fee_in_quote, fills=ledger.fills + 1,
            fee_quote_total=ledger.fee_quote_total + (fee if fee_currency == self.quote else ZERO),
            fee_base_total=ledger.fee_base_total + (fee if fee_currency == self.base else ZERO),
        )
        if ledger.base_total == 0:
            ledger = replace(ledger, cost_basis=ZERO)  # no position, no basis: no rounding residue
        return ledger, realized

    def _losing_streak(self, realized: Decimal, order_id: str) -> tuple[int, str]:
        """The streak after a sell fill. The breaker counts losing sell orders: a second part of an order already
        counted is not another loss (a resting sell filling in three ticks would count three), and a profitable
        part of it does not end the streak its loss started."""
        mark = hashlib.sha256(order_id.encode()).hexdigest()[:ORDER_MARK_DIGITS] if order_id else ""
        if mark and mark == self.loss_order:
            return self.consecutive_losses, self.loss_order
        if realized < 0:
            return self.consecutive_losses + 1, mark
        return 0, ""

    def _debit_quote(self, amount: Decimal, reserved: bool) -> Ledger:
        if reserved:
            from_reserved = min(amount, self.quote_reserved)
            return replace(self, quote_reserved=self.quote_reserved - from_reserved,
                           quote_free=self.quote_free - (amount - from_reserved))
        return replace(self, quote_free=self.quote_free - amount)

    def _debit_base(self, amount: Decimal, reserved: bool) -> Ledger:
        if reserved:
            from_reserved = min(amount, self.base_reserved)
            return replace(self, base_reserved=self.base_reserved - from_reserved,
                           base_free=self.base_free - (amount - from_reserved))
        return replace(self, base_free=self.base_free - amount)

    # --- marking to market -------------------------------------------------------------------------
    def day_rolled(self, mark: Decimal, day: str) -> Ledger:
        """On a new UTC day, today's loss starts from this mark: done before the breakers look, so the first tick
        of a day does not measure yesterday's loss against yesterday's start and trip the daily-loss breaker."""
        return self if day == self.day else replace(self, day=day, day_start_growth=self.growth(mark))

    def marked(self, mark: Decimal, day: str) -> Ledger:
        """Record the tick's mark: new peaks and a new day's starting point (UTC date string)."""
        growth = self.growth(mark)
        day_start = self.day_start_growth if day == self.day else growth
        return replace(self, peak_growth=max(self.peak_growth, growth), day=day, day_start_growth=day_start)

    def rebase_at_next_mark(self) -> Ledger:
        """A bot put back in the market (a resume after a risk pause, a redeploy): the breakers start afresh
        from the first mark it sees again, not from the mark it last saw before the pause, however long ago."""
        return replace(self, rebase_pending=True, consecutive_losses=0)

    def rebased(self, mark: Decimal) -> Ledger:
        """Start the breakers afresh from here (a bot put back in the market after a risk pause): today's
        loss, the drawdown peak and the losing streak count from now, or the next tick would trip again."""
        growth = self.growth(mark)
        return replace(self, peak_growth=growth, day_start_growth=growth, consecutive_losses=0,
                       rebase_pending=False)

    def worth_writing(self, stored: Ledger) -> bool:
        """Whether these books differ from the `stored` ones by more than a drawdown peak that rose less than
        PEAK_RESOLUTION: a tick in which a bot only watched the market writes nothing (docs/scaling.md)."""
        if self == stored:
            return False
        if replace(self, peak_growth=stored.peak_growth) != stored:
            return True  # balances, the trial balance, the day, the losing streak or the rebase changed
        return self.peak_growth > stored.peak_growth * (ONE + PEAK_RESOLUTION)

    # --- reconciliation ------------------------------------------------------------------------------
    def violations(self, mark: Decimal) -> list[str]:
        """Every way the books disagree with themselves; empty when they reconcile."""
        problems = []
        for name in ("quote_free", "quote_reserved", "base_free", "base_reserved"):
            if getattr(self, name) < 0:
                problems.append(f"{name} is negative ({getattr(self, name)})")
        expected_quote = self.contributed - self.bought_quote + self.sold_quote - self.fee_quote_total
        if abs(expected_quote - self.quote_total) > TOLERANCE:
            problems.append(f"quote {self.quote_total} != trial balance {expected_quote}")
        expected_base = self.bought_base - self.sold_base - self.fee_base_total
        if abs(expected_base - self.base_total) > TOLERANCE:
            problems.append(f"base {self.base_total} != trial balance {expected_base}")
        pnl = self.equity(mark) - self.contributed
        explained = self.realized_pnl + self.unrealized_pnl(mark)
        if abs(pnl - explained) > TOLERANCE * max(ONE, abs(self.contributed)):
            problems.append(f"P&L {pnl} != realized + unrealized {explained}")
        return problems

    # --- persistence ---------------------------------------------------------------------------------
    def to_item(self) -> dict[str, Any]:
        item = asdict(self)
        if not item["loss_order"]:
            del item["loss_order"]  # most books: no losing streak to remember, and no bytes in a ~900-byte item
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Ledger:
        values = dict(item)
        values["consecutive_losses"] = int(values.get("consecutive_losses", 0))
        values["fills"] = int(values.get("fills", 0))
        # Books stored before `rebase_pending` kept the last mark instead, zero meaning "rebase at the next one".
        last_mark = values.pop("last_mark", None)
        if "rebase_pending" not in values:
            values["rebase_pending"] = not last_mark
        values["rebase_pending"] = bool(values["rebase_pending"])
        return cls(**values)

    @classmethod
    def open(cls, base: str, quote: str, capital: Decimal) -> Ledger:
        return cls(base=base, quote=quote, quote_free=capital, contributed=capital, twr_base=capital)
