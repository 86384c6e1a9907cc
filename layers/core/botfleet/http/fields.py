"""Bounded request fields, shared by every handler's models: what a client may send is decided here and shows
in the OpenAPI schema (pattern, length, bounds), so the schema and the server never disagree."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
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


# An opaque id (bot ids, run ids, user ids): ASCII, short. Unknown ids are a 404 later, not a 5xx; an id no route could
# ever have stored (a 2,000-character one is past DynamoDB's 1 KB sort key) is a 422 here, before any read.
ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
ID_MAX = 64
Identifier = Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]
IdInPath = Annotated[str, Path(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]
IdInQuery = Annotated[str | None, Query(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]
# A listing's page: its size (the contract's ≤ 200), and its cursor as the API hands it out (base64 of a key; the
# server checks it points into the caller's partition).
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=1024)]
