"""What every strategy family declares: a name, a parameter space with its cross-parameter rules, and ONE
vectorized definition of its target position that drives both the live tick and the backtest.

`positions(closes, params)` is the definition: given every close and a batch of parameter sets (each parameter
an array, one entry per set), it returns the target position (1 long, 0 flat) at every candle for every set.

The live tick needs only the last candle, for every bot of one market and family at once:
`target_positions(closes, params_list)`. A family may compute it without the whole (sets x candles) matrix
(`_latest`: an indicator once per distinct period, the family's own enter/exit rules evaluated only where the
last candle depends on them), but from the same indicator arithmetic and the same rules, so it equals
`positions(...)[:, -1]` bit for bit; a property test holds the two together. One bot's `target_position` is
`target_positions` for one set: there is no scalar copy of any strategy's logic that could drift.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import numpy as np

from botfleet.domain.money import AmountBounds, parse_amount
from botfleet.errors import Unprocessable

#: How any strategy parameter is written: a plain number with at most 8 decimal places (a Bollinger width of
#: 2.25); each parameter's range is checked after.
PARAM_FORMAT = AmountBounds(maximum=Decimal(10**9), minimum=Decimal(-(10**9)), minimum_inclusive=True, places=8)

ParamArrays = Mapping[str, np.ndarray]  # one array per parameter name, one entry per parameter set


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

    @property
    def dtype(self) -> type:
        return np.int64 if self.kind == "int" else np.float64


@dataclass(frozen=True, slots=True)
class LessThan:
    """A cross-parameter rule `smaller < larger`, checked the same way for one bot and for a whole grid."""

    smaller: str
    larger: str

    def holds(self, params: Mapping[str, Any]) -> Any:
        """True where the rule holds: a bool for one parameter set, a bool array for a grid."""
        return params[self.smaller] < params[self.larger]

    @property
    def field(self) -> str:
        return f"params.{self.smaller}"

    @property
    def message(self) -> str:
        return f"must be smaller than params.{self.larger}"


class Strategy(Protocol):
    name: str
    description: str
    params: tuple[ParamSpec, ...]
    rules: tuple[LessThan, ...]

    def check(self, params: Mapping[str, Any]) -> None:
        """Cross-parameter constraints (e.g. fast < slow); raise Unprocessable naming the field."""

    def warmup(self, params: Mapping[str, Any]) -> int:
        """How many closes the strategy needs before it can decide."""

    def positions(self, closes: np.ndarray, params: ParamArrays) -> np.ndarray:
        """Target positions, int8 (n_params, n_closes): 1 long / 0 flat after each close, for every set."""

    def target_position(self, closes: Sequence[float], params: Mapping[str, Any]) -> int:
        """1 to be long, 0 to be flat, given the closes up to and including now."""

    def target_positions(self, closes: Sequence[float], params_list: Sequence[Mapping[str, Any]]) -> list[int]:
        """`target_position` for each parameter set, all on the same closes (one market), in one evaluation."""


class VectorizedStrategy:
    """The shared machinery; a family subclasses it and writes `_positions` (and `_warmups`) once."""

    name: str
    description: str
    params: tuple[ParamSpec, ...]
    rules: tuple[LessThan, ...] = ()

    # --- the one definition (subclasses) -----------------------------------------------------------
    def _positions(self, closes: np.ndarray, params: ParamArrays) -> np.ndarray:
        raise NotImplementedError

    def _warmups(self, params: ParamArrays) -> np.ndarray:
        raise NotImplementedError

    def _latest(self, closes: np.ndarray, params: ParamArrays) -> np.ndarray:
        """The position after the last close for every set (`positions(...)[:, -1]`), bool or int8; `closes` is
        never empty. A family overrides this to skip the candles its last decision does not depend on."""
        return self._positions(closes, params)[:, -1]

    # --- batch (backtest) --------------------------------------------------------------------------
    def positions(self, closes: np.ndarray, params: ParamArrays) -> np.ndarray:
        closes = np.ascontiguousarray(closes, dtype=np.float64)
        if closes.ndim != 1:
            raise ValueError("closes must be one-dimensional")
        return self._positions(closes, self.as_arrays(params))

    def warmups(self, params: ParamArrays) -> np.ndarray:
        """Closes needed before each parameter set can decide (its earlier positions are flat)."""
        return np.asarray(self._warmups(self.as_arrays(params)), dtype=np.int64)

    def as_arrays(self, params: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Every declared parameter as a 1-d array of its kind (ints stay ints: they are window lengths)."""
        arrays = {spec.name: np.atleast_1d(np.asarray(params[spec.name], dtype=spec.dtype)) for spec in self.params}
        sizes = {len(array) for array in arrays.values()}
        if len(sizes) != 1:
            raise ValueError(f"parameter arrays differ in length: {sorted(sizes)}")
        return arrays

    def valid(self, params: ParamArrays) -> np.ndarray:
        """Which parameter sets of a grid satisfy every cross-parameter rule."""
        arrays = self.as_arrays(params)
        ok = np.ones(len(next(iter(arrays.values()))), dtype=bool)
        for rule in self.rules:
            ok &= rule.holds(arrays)
        return ok

    # --- one bot (live tick) -----------------------------------------------------------------------
    def check(self, params: Mapping[str, Any]) -> None:
        numbers = {spec.name: float(params[spec.name]) for spec in self.params}  # decimals arrive as strings
        for rule in self.rules:
            if not rule.holds(numbers):
                raise Unprocessable(rule.field, rule.message)

    def warmup(self, params: Mapping[str, Any]) -> int:
        return int(self._warmups(self._one_set(params))[0])

    def target_position(self, closes: Sequence[float], params: Mapping[str, Any]) -> int:
        # The fleet's path for a fleet of one. It sees every close it is given (the live tick keeps 240), so it
        # equals `positions(closes, ...)[0, -1]` bit for bit, including for families with memory (EMA, Wilder's
        # RSI, hysteresis) whose value depends on the whole history.
        return self.target_positions(closes, (params,))[0]

    def target_positions(self, closes: Sequence[float], params_list: Sequence[Mapping[str, Any]]) -> list[int]:
        if not params_list:
            return []
        if len(closes) == 0:
            return [0] * len(params_list)
        array = np.fromiter(closes, dtype=np.float64, count=len(closes))
        return self._latest(array, self._sets(params_list)).astype(np.int8).tolist()

    def _one_set(self, params: Mapping[str, Any]) -> dict[str, np.ndarray]:
        return self._sets((params,))

    def _sets(self, params_list: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        # Validated params hold ints and decimal strings; float() reads both (and Decimals), then an int parameter
        # is cast to int64 as `as_arrays` would. Cheaper than as_arrays on the live path, which runs every tick.
        return {spec.name: np.array([float(params[spec.name]) for params in params_list], dtype=spec.dtype)
                for spec in self.params}


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
        # The same strict reading as every amount (plain ASCII decimals), then the parameter's own range.
        number = parse_amount(value, field, PARAM_FORMAT)
        if spec.kind == "int" and number != number.to_integral_value():
            raise Unprocessable(field, "must be an integer")
        if not spec.low <= number <= spec.high:
            raise Unprocessable(field, f"must be between {spec.low} and {spec.high}")
        clean[spec.name] = int(number) if spec.kind == "int" else str(number)
    strategy.check(clean)
    return clean


def param_grid(strategy: VectorizedStrategy, **axes: Iterable[Any]) -> dict[str, np.ndarray]:
    """The cartesian product of the given values per parameter (defaults for the rest), keeping only the sets
    that satisfy the strategy's cross-parameter rules. Values outside a parameter's range are an error that
    names `params.<name>`, as for one bot."""
    specs = {spec.name: spec for spec in strategy.params}
    unknown = sorted(set(axes) - set(specs))
    if unknown:
        raise Unprocessable(f"params.{unknown[0]}", f"unknown parameter for {strategy.name}")
    values = {name: [Decimal(str(v)) for v in axes.get(name, [spec.default])] for name, spec in specs.items()}
    for name, spec in specs.items():
        outside = [v for v in values[name] if not spec.low <= v <= spec.high]
        if outside:
            raise Unprocessable(f"params.{name}", f"must be between {spec.low} and {spec.high} (got {outside[0]})")
    combos = list(itertools.product(*values.values()))
    grid = {name: np.array([float(c[i]) for c in combos], dtype=specs[name].dtype) for i, name in enumerate(values)}
    keep = strategy.valid(grid)
    return {name: column[keep] for name, column in grid.items()}
