"""Money is Decimal: parsing, quantizing to an exchange's step, and the JSON string form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class AmountBounds:
    """What one amount field accepts: a plain decimal string (ASCII digits, one optional point, no sign, no
    exponent, no `_`), at most `places` decimal places, above `minimum` (or at it, when `minimum_inclusive`) and
    at most `maximum`. Every bound is far inside what DynamoDB stores exactly (38 significant digits), so an
    accepted amount is always one the table can read back."""

    maximum: Decimal
    places: int
    minimum: Decimal = ZERO
    minimum_inclusive: bool = False

    @property
    def integer_digits(self) -> int:
        return len(str(int(self.maximum)))

    @property
    def pattern(self) -> str:
        fraction = rf"(\.[0-9]{{1,{self.places}}})?" if self.places else ""
        sign = "-?" if self.minimum < 0 else ""
        return rf"^{sign}[0-9]{{1,{self.integer_digits}}}{fraction}$"

    @property
    def max_length(self) -> int:
        return (self.minimum < 0) + self.integer_digits + (1 + self.places if self.places else 0)

    def describe(self) -> str:
        low = "at least" if self.minimum_inclusive else "greater than"
        places = f"at most {self.places} decimal places" if self.places else "a whole number"
        return f"a decimal string, {low} {money_str(self.minimum)} and at most {money_str(self.maximum)}, {places}"


# The bounds of every amount a client can send (one definition; the API schema and the services share them).
# Capital and injections: up to a trillion units of the quote currency (ZAR, USDT, ...) to the satoshi.
CAPITAL = AmountBounds(maximum=Decimal("1000000000000"), places=8)
INJECTION = CAPITAL
PERCENT = AmountBounds(maximum=Decimal(100), places=4)  # risk limits: (0, 100] %
BASIS_POINTS = AmountBounds(maximum=Decimal(1000), places=2, minimum_inclusive=True)  # limit offsets: [0, 1000]
# The emulator's market moves (control plane only): a crash of at most 99 %, a spike of at most 10x.
MOVE_PCT = AmountBounds(maximum=Decimal(1000), places=4, minimum=Decimal(-99), minimum_inclusive=True)

_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _plain_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) < 10**40
    return isinstance(value, str) and len(value) <= 64 and _PLAIN.fullmatch(value) is not None


def parse_amount(value: object, field: str, bounds: AmountBounds) -> Decimal:
    """A user-supplied amount within `bounds`, or Unprocessable naming the field. Strings are checked as text
    before Decimal sees them: Decimal() itself accepts '1_000', non-ASCII digits, 'NaN' and '1e999999999'.
    Whole numbers (JSON ints) are accepted as they are; floats never (they have already lost the cents)."""
    from botfleet.errors import Unprocessable

    if isinstance(value, Decimal):  # read back from storage or computed: only the range and places apply
        number = value
    elif _plain_number(value):
        number = Decimal(value)
    else:
        raise Unprocessable(field, f"must be {bounds.describe()}, e.g. \"1000.50\"")
    if not number.is_finite():
        raise Unprocessable(field, f"must be {bounds.describe()}")
    low_ok = number >= bounds.minimum if bounds.minimum_inclusive else number > bounds.minimum
    if not (low_ok and number <= bounds.maximum):
        raise Unprocessable(field, f"must be {bounds.describe()}")
    if _decimal_places(number) > bounds.places:
        raise Unprocessable(field, f"must have at most {bounds.places} decimal places")
    if isinstance(value, str) and re.fullmatch(bounds.pattern, value) is None:
        # In range, but written as the API schema's pattern does not allow: more digits than the bounds have,
        # zeros though they are ("0001", "1.100000000"). One rule for a client whichever path reads the amount.
        if "." in value and len(value.split(".", 1)[1]) > bounds.places:
            raise Unprocessable(field, f"must have at most {bounds.places} decimal places")
        raise Unprocessable(field, f"must be {bounds.describe()}, with no leading zeros beyond its digits")
    return number


def _decimal_places(number: Decimal) -> int:
    """Places after the point, trailing zeros aside ('1.50' has 1); normalize() would round to 28 digits."""
    _, digits, exponent = number.as_tuple()
    text = "".join(map(str, digits))
    if exponent >= 0 or not text.strip("0"):
        return 0
    return max(0, -exponent - (len(text) - len(text.rstrip("0"))))


def to_decimal(value: object, field: str = "amount") -> Decimal:
    """Parse an amount with no field-specific bounds beyond what storage can hold (operators' tools)."""
    return parse_amount(value, field, AmountBounds(maximum=Decimal(10**18), places=18, minimum=Decimal(-(10**18)),
                                                   minimum_inclusive=True))


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
