"""The quarantine ladder (pure): risk pause number n of a bot waits durations[n-1], is retrained and, if the
retrained model validates out of sample, redeployed; pause number `max_pauses` regenerates the bot instead."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from botfleet.errors import Unprocessable

DEFAULT_DURATIONS = (3600, 10800, 86400)  # 1 h, 3 h, 24 h
DEFAULT_MAX_PAUSES = 4
STAGES = ("waiting", "retraining", "validating", "redeploying", "regenerating")
MAX_WAIT_SECONDS = 30 * 86400  # the longest rung an admin may configure
# Retrained models that fail validation in one quarantine before it gives up and leaves the bot paused for a person
# (each failure climbs a rung): without a bound, a bot that never validates waits forever, past its execution's
# timeout, which no Catch sees (the bot would stay "quarantined" with nothing behind it).
MAX_EXTENSIONS = 5
# Every wait of one quarantine at its longest: the state machine's timeout is set above it (infra/quarantine.py).
LONGEST_QUARANTINE_SECONDS = MAX_WAIT_SECONDS * (1 + MAX_EXTENSIONS)


@dataclass(frozen=True, slots=True)
class QuarantineState:
    """Where a bot's quarantine stands, kept on the bot while it lasts. Each step of the state machine sets only
    what it knows, so every field may be missing (None) and is then neither stored nor shown."""

    stage: str | None = None  # one of STAGES, or "failed" when the quarantine could not finish
    pause_number: int | None = None  # which risk pause this quarantine is for (its execution's name)
    wait_seconds: int | None = None  # the current wait, in ladder seconds
    since: str | None = None  # ISO time the current wait began
    reason: str | None = None  # the pause reason that started it
    extension: int | None = None  # how many rungs further up the ladder failed validations have pushed it
    tick: str | None = None  # the tick whose pause started it: with pause_number, its execution's name

    def at_stage(self, stage: str, now_iso: str, **changes: Any) -> QuarantineState:
        """The quarantine moved on to `stage`; a (new) wait starts its countdown now."""
        moved = replace(self, stage=stage, **changes)
        return replace(moved, since=now_iso) if stage == "waiting" else moved

    @property
    def is_counting_down(self) -> bool:
        return self.stage == "waiting" and bool(self.since)

    def to_item(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def from_item(cls, item: dict[str, Any] | None) -> QuarantineState | None:
        """From the stored map (numbers come back from DynamoDB as Decimals); an empty one means none."""
        if not item:
            return None
        values = {f.name: item.get(f.name) for f in fields(cls)}
        for name in ("pause_number", "wait_seconds", "extension"):
            if values[name] is not None:
                values[name] = int(values[name])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class QuarantineConfig:
    durations_seconds: tuple[int, ...] = DEFAULT_DURATIONS
    max_pauses: int = DEFAULT_MAX_PAUSES

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> QuarantineConfig:
        """Ascending positive durations (whole seconds, at most 30 days each), max_pauses ≥ 1."""
        durations = raw.get("durations_seconds")
        if not isinstance(durations, list) or not durations or len(durations) > 20:
            raise Unprocessable("durations_seconds", "must be a list of 1 to 20 durations in seconds")
        for index, value in enumerate(durations):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_WAIT_SECONDS:
                raise Unprocessable(f"durations_seconds.{index}",
                                    f"must be a whole number of seconds from 1 to {MAX_WAIT_SECONDS}")
        if any(later <= earlier for earlier, later in itertools.pairwise(durations)):
            raise Unprocessable("durations_seconds", "must be strictly ascending (each wait longer than the last)")
        max_pauses = raw.get("max_pauses")
        if isinstance(max_pauses, bool) or not isinstance(max_pauses, int) or not 1 <= max_pauses <= 100:
            raise Unprocessable("max_pauses", "must be a whole number from 1 to 100")
        return cls(tuple(durations), max_pauses)

    def to_json(self) -> dict[str, Any]:
        return {"durations_seconds": list(self.durations_seconds), "max_pauses": self.max_pauses}

    def regenerates(self, pause_number: int) -> bool:
        return pause_number >= self.max_pauses

    def wait_seconds(self, pause_number: int, extension: int = 0) -> int:
        """The wait for pause `pause_number` (1-based), `extension` steps further up the ladder when its
        retrained model failed validation; beyond the ladder, the longest duration again."""
        step = min(pause_number - 1 + extension, len(self.durations_seconds) - 1)
        return self.durations_seconds[max(step, 0)]


def countdown(quarantined_at: datetime, wait_seconds: int, time_scale: float, now: datetime) -> dict[str, Any]:
    """Where a waiting quarantine stands. Time runs `time_scale` times faster on an emulator (its Step Functions
    waits are scaled): `release_at` is when it really ends, `seconds_remaining` counts in ladder seconds."""
    real_total = wait_seconds / time_scale
    release_at = quarantined_at + timedelta(seconds=real_total)
    remaining_real = max((release_at - now).total_seconds(), 0.0)
    return {
        "release_at": release_at,
        "seconds_remaining": round(remaining_real * time_scale, 1),
        "progress": round(1 - remaining_real / real_total, 4) if real_total else 1.0,
    }
