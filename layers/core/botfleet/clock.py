"""Time is injected: domain and services take a Clock, never call the system clock themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock for tests: stands still until advanced."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


def iso(ts: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, as the API contract shows timestamps."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """An ISO-8601 timestamp as UTC; ValueError for anything else, including a valid one that UTC cannot hold
    (9999-12-31T23:59:59-01:00 is in year 10000: an OverflowError from astimezone)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is outside the years UTC timestamps can hold") from None
