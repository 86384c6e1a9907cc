"""Bounded request fields, shared by every handler's models: what a client may send is decided here and shows
in the OpenAPI schema (pattern, length, bounds), so the schema and the server never disagree."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictInt, WithJsonSchema

from botfleet.domain.money import AmountBounds, parse_amount
from botfleet.domain.text import has_invisible
from botfleet.errors import Unprocessable


def amount(bounds: AmountBounds, example: str = "1000.50") -> Any:
    """A decimal amount as a JSON string within `bounds` (JSON whole numbers are accepted too)."""

    def check(value: Any) -> str:
        try:
            return str(parse_amount(value, "value", bounds))
        except Unprocessable as exc:  # pydantic prefixes the field's location: "capital: Value error, must be …"
            raise ValueError(exc.message.removeprefix("value: ")) from None

    return Annotated[str, BeforeValidator(check), WithJsonSchema({
        "type": "string", "pattern": bounds.pattern, "maxLength": bounds.max_length,
        "description": bounds.describe(), "examples": [example],
    })]


def _visible(value: Any) -> Any:
    if isinstance(value, str) and has_invisible(value):
        raise ValueError("must not contain control or invisible characters")
    return value


def text(max_length: int, min_length: int = 1) -> Any:
    """A short human text (a name): bounded, no control or invisible characters."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length, pattern=r"^[^\x00-\x1f\x7f]*$"),
                     BeforeValidator(_visible)]


def whole(minimum: int, maximum: int) -> Any:
    """A JSON whole number within [minimum, maximum] (never a bool or a float)."""
    return Annotated[StrictInt, Field(ge=minimum, le=maximum)]


# An opaque id in a body or query (bot ids, run ids): ASCII, short. Unknown ids are a 404 later, not a 5xx.
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
