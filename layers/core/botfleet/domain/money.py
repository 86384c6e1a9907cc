"""Money is Decimal: parsing, quantizing to an exchange's step, and the JSON string form."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation

ZERO = Decimal(0)


def to_decimal(value: object, field: str = "amount") -> Decimal:
    """Parse a user-supplied amount; floats are refused upstream by the API models (strings only)."""
    from botfleet.errors import Unprocessable

    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise Unprocessable(field, "must be a decimal number as a string") from exc
    if not result.is_finite():
        raise Unprocessable(field, "must be a finite decimal number")
    return result


def quantize_down(value: Decimal, step: Decimal) -> Decimal:
    """Round down to a multiple of step (amounts: never spend more than we have)."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def quantize_price(value: Decimal, tick: Decimal) -> Decimal:
    """Round to the nearest price tick (banker's rounding keeps the simulator unbiased)."""
    return (value / tick).to_integral_value(rounding=ROUND_HALF_EVEN) * tick


def money_str(value: Decimal) -> str:
    """The JSON form: a plain decimal string, never exponent notation ('1E+3' -> '1000')."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
