"""What every fake shares: copies in and out (a table round trip), and cursor paging."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from botfleet.errors import BadRequest


def copied(value):
    return copy.deepcopy(value)


def paged(items: Sequence[Any], limit: int | None, cursor: str | None, partition: str) -> tuple[list[Any], str | None]:
    """One page of an already ordered listing (Table.query: no limit means everything)."""
    start = 0
    if cursor:
        where, _, offset = cursor.rpartition("@")
        if where != f"fake:{partition}" or not offset.isdigit():
            raise BadRequest("cursor is not valid for this listing", code="invalid_cursor")
        start = int(offset)
    page = list(items[start:start + limit] if limit else items[start:])
    end = start + len(page)
    return [copied(item) for item in page], (f"fake:{partition}@{end}" if limit and end < len(items) else None)
