"""EventBridge schedule rules: fired by a local timer (moto stores rules but never fires them).

A rule's local name is its CDK construct id (from the `aws:cdk:path` metadata, else the logical
id without CDK's 8-hex hash suffix), lower-cased, with a trailing "schedule" or "rule" removed:
construct `TickSchedule` is `tick`. The physical rule name is accepted as well.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger("botfleet_local.schedules")

_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


@dataclass
class Schedule:
    name: str
    rule_name: str
    rule_arn: str
    expression: str
    targets: list[dict] = field(default_factory=list)

    def event(self, account: str, region: str) -> dict:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": account,
            "time": _fire_time(),
            "region": region,
            "resources": [self.rule_arn],
            "detail": {},
        }


_last_fire = datetime.min.replace(tzinfo=UTC)
_fire_lock = threading.Lock()


def _fire_time() -> str:
    """The event's scheduled time. EventBridge fires a rule at most once a minute, so its whole-second `time`
    names one occurrence; locally a schedule (or the control plane) may fire several times a second, and each
    firing is a distinct occurrence: millisecond precision, strictly increasing, so no two look alike."""
    global _last_fire
    with _fire_lock:
        now = max(datetime.now(UTC), _last_fire + timedelta(milliseconds=1))
        _last_fire = now
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def local_name(logical_id: str, resource: dict) -> str:
    path = (resource.get("Metadata") or {}).get("aws:cdk:path", "")
    parts = path.split("/")
    if len(parts) >= 2:
        construct = parts[-2] if parts[-1] == "Resource" else parts[-1]
    else:
        construct = re.sub(r"[0-9A-F]{8}$", "", logical_id)
    name = construct.lower()
    for suffix in ("schedule", "rule"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return name


def rate_seconds(expression: str) -> float | None:
    m = re.fullmatch(r"\s*rate\(\s*(\d+)\s+(\w+)\s*\)\s*", expression)
    if m and m.group(2).lower() in _RATE_UNITS:
        return int(m.group(1)) * _RATE_UNITS[m.group(2).lower()]
    return None


def _cron_field(spec: str, lo: int, hi: int) -> set[int] | None:
    """Values of one cron field; None means any (`*` or `?`). L, W and # are treated as any."""
    if spec in ("*", "?") or any(c in spec for c in "LW#"):
        return None
    names = {"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9,
             "OCT": 10, "NOV": 11, "DEC": 12, "SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6,
             "SAT": 7}
    out: set[int] = set()
    for part in spec.upper().split(","):
        for k, v in names.items():
            part = part.replace(k, str(v))
        step = 1
        if "/" in part:
            part, s = part.split("/")
            step = int(s)
        if part in ("*", ""):
            a, b = lo, hi
        elif "-" in part:
            a, b = (int(x) for x in part.split("-"))
        else:
            a = int(part)
            b = hi if step > 1 else a
        out.update(range(a, b + 1, step))
    return out


def next_cron(expression: str, after: datetime) -> datetime | None:
    """Next fire time (UTC) of an EventBridge cron(min hour dom month dow year), approximately."""
    m = re.fullmatch(r"\s*cron\((.*)\)\s*", expression)
    if not m:
        return None
    fields = m.group(1).split()
    if len(fields) < 5:
        return None
    minute, hour, dom, month = (_cron_field(f, lo, hi) for f, lo, hi in
                                zip(fields[:4], (0, 0, 1, 1), (59, 23, 31, 12), strict=True))
    dow = _cron_field(fields[4], 1, 7)  # EventBridge: 1 = Sunday
    t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(60 * 24 * 366):
        if ((month is None or t.month in month) and (dom is None or t.day in dom)
                and (dow is None or (t.isoweekday() % 7) + 1 in dow)
                and (hour is None or t.hour in hour) and (minute is None or t.minute in minute)):
            return t
        t += timedelta(minutes=1)
    return None


class Scheduler:
    def __init__(self, schedules: list[Schedule], deliver: Callable[[Schedule, dict, dict, bool], dict],
                 *, account: str, region: str, tick_seconds: float | None):
        self.schedules = schedules
        self._deliver = deliver
        self._account = account
        self._region = region
        self._tick = tick_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def names(self) -> list[str]:
        return [s.name for s in self.schedules]

    def find(self, name: str) -> Schedule | None:
        low = name.lower()
        return next((s for s in self.schedules if s.name == low or s.rule_name == name
                     or s.rule_name.lower() == low), None)

    def fire(self, schedule: Schedule, wait: bool = True) -> list[dict]:
        """Deliver one scheduled event to every target; with wait, after the targets finished."""
        event = schedule.event(self._account, self._region)
        return [self._deliver(schedule, target, event, wait) for target in schedule.targets]

    def _interval(self, s: Schedule) -> float | None:
        if self._tick is not None:
            return self._tick if self._tick > 0 else None
        return rate_seconds(s.expression)

    def _loop(self, s: Schedule) -> None:
        while not self._stop.is_set():
            interval = self._interval(s)
            if interval is None:  # cron: sleep until the next matching minute
                nxt = next_cron(s.expression, datetime.now(UTC))
                if nxt is None:
                    log.warning("schedule %s: cannot evaluate %s; never fired", s.name, s.expression)
                    return
                interval = (nxt - datetime.now(UTC)).total_seconds()
            if self._stop.wait(max(interval, 0.01)):
                return
            try:
                self.fire(s, wait=False)
            except Exception:
                log.exception("schedule %s failed", s.name)

    def start(self) -> None:
        if self._tick == 0:
            return  # only when fired through the control plane
        for s in self.schedules:
            t = threading.Thread(target=self._loop, args=(s,), daemon=True, name=f"schedule-{s.name}")
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)


def target_input(target: dict, event: dict) -> Any:
    """What an EventBridge target receives: Input, InputPath, InputTransformer, or the event."""
    if target.get("Input") is not None:
        return json.loads(target["Input"])
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse

        found = [m.value for m in parse(target["InputPath"]).find(event)]
        return found[0] if found else None
    if target.get("InputTransformer"):
        from moto.events.utils import EventTemplateParser

        tr = target["InputTransformer"]
        return EventTemplateParser.parse(input_template=tr.get("InputTemplate"),
                                         input_paths_map=tr.get("InputPathsMap", {}), event=event)
    return event
