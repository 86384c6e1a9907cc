"""Circuit breakers: per-bot risk limits checked every tick. A trip is a *risk pause*."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from botfleet.domain.ledger import Ledger
from botfleet.domain.money import PERCENT, parse_amount
from botfleet.errors import Unprocessable


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Defaults: a 20 % drawdown from the bot's peak, a 10 % loss within one UTC day, or 5 losing round
    trips in a row pause the bot. Returns are time-weighted, so deposits and withdrawals never trip them."""

    max_drawdown_pct: Decimal = Decimal(20)
    daily_loss_pct: Decimal = Decimal(10)
    max_consecutive_losses: int = 5

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> RiskLimits:
        raw = dict(raw or {})
        unknown = sorted(set(raw) - {"max_drawdown_pct", "daily_loss_pct", "max_consecutive_losses"})
        if unknown:
            raise Unprocessable(f"risk.{unknown[0]}", "unknown risk limit")
        values: dict[str, Any] = {}
        for name in ("max_drawdown_pct", "daily_loss_pct"):
            if name in raw:
                values[name] = parse_amount(raw[name], f"risk.{name}", PERCENT)
        if "max_consecutive_losses" in raw:
            value = raw["max_consecutive_losses"]
            if isinstance(value, Decimal) and value == value.to_integral_value():  # as stored in DynamoDB
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
                raise Unprocessable("risk.max_consecutive_losses", "must be a whole number from 1 to 1000")
            values["max_consecutive_losses"] = value
        return cls(**values)

    def updated(self, raw: dict[str, Any]) -> RiskLimits:
        """These limits with the ones named in `raw` changed (validated as `parse` does); the rest stay."""
        return RiskLimits.parse({**self.to_item(), **raw})

    def to_item(self) -> dict[str, Any]:
        return asdict(self)

    def breach(self, ledger: Ledger, mark: Decimal) -> str | None:
        """The name of the first limit the bot is beyond, or None."""
        if ledger.drawdown_pct(mark) >= self.max_drawdown_pct:
            return "max_drawdown"
        if ledger.daily_loss_pct(mark) >= self.daily_loss_pct:
            return "daily_loss"
        if ledger.consecutive_losses >= self.max_consecutive_losses:
            return "consecutive_losses"
        return None
