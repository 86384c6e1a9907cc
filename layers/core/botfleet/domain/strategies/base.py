"""What every strategy family declares: a name, a parameter space, and a target position."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from botfleet.errors import Unprocessable


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    kind: str  # "int" | "decimal"
    low: Decimal
    high: Decimal
    step: Decimal
    default: Decimal
    description: str

    def to_json(self) -> dict[str, Any]:
        as_text = str if self.kind == "decimal" else int
        return {
            "name": self.name,
            "type": self.kind,
            "min": as_text(self.low),
            "max": as_text(self.high),
            "step": as_text(self.step),
            "default": as_text(self.default),
            "description": self.description,
        }


class Strategy(Protocol):
    name: str
    description: str
    params: tuple[ParamSpec, ...]

    def check(self, params: Mapping[str, Any]) -> None:
        """Cross-parameter constraints (e.g. fast < slow); raise Unprocessable naming the field."""

    def warmup(self, params: Mapping[str, Any]) -> int:
        """How many closes the strategy needs before it can decide."""

    def target_position(self, closes: Sequence[float], params: Mapping[str, Any]) -> int:
        """1 to be long, 0 to be flat, given the closes up to and including now."""


def validate_params(strategy: Strategy, raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """Fill defaults, reject unknown names, check types, ranges and steps; errors name `params.<name>`."""
    raw = dict(raw or {})
    known = {spec.name: spec for spec in strategy.params}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise Unprocessable(f"params.{unknown[0]}", f"unknown parameter for {strategy.name}")
    clean: dict[str, Any] = {}
    for spec in strategy.params:
        value = raw.get(spec.name, spec.default)
        field = f"params.{spec.name}"
        if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
            raise Unprocessable(field, f"must be {'an integer' if spec.kind == 'int' else 'a decimal string'}")
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            raise Unprocessable(field, "must be a number") from None
        if not number.is_finite():
            raise Unprocessable(field, "must be finite")
        if spec.kind == "int" and number != number.to_integral_value():
            raise Unprocessable(field, "must be an integer")
        if not spec.low <= number <= spec.high:
            raise Unprocessable(field, f"must be between {spec.low} and {spec.high}")
        clean[spec.name] = int(number) if spec.kind == "int" else str(number)
    strategy.check(clean)
    return clean
