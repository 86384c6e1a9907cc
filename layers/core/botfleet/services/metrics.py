"""Metrics for GET /api/metrics: the caller's own series for users, fleet-wide for admins.

Built per request in a fresh prometheus-client registry (Lambda has no long-lived scrape target), from
items the platform already keeps: bots (by status), per-exchange trade summaries, bot events.

The fleet's bot-derived figures (bots by status, pauses by reason, trade totals) need every bot read: ~0.5 read
units a bot (BatchGetItem rounds each item up to 4 KB), which at 10,000 bots is ~5,000 units and seconds of a
Lambda's time per request. Prometheus scrapes every 15-60 s, perhaps from two replicas, and the dashboard's
metrics page reads every 10 s per admin: so the fleet read is kept in one item and done again only when the kept
one is older than FLEET_SNAPSHOT_MAX_AGE (the figures come from bots that move once a tick, a minute). The
counters (ticks, errors, risk pauses) are one item and always read fresh. A user's own figures are read each
time (their bots only)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

from botfleet.clock import Clock, iso, parse_iso
from botfleet.domain.bots import bot_figures, merge_trade_totals
from botfleet.ports import Counters
from botfleet.services.auth import Principal

#: How old the kept fleet read may be before a request reads the fleet again (see the module's docstring).
FLEET_SNAPSHOT_MAX_AGE = timedelta(seconds=60)
STATUSES = ("running", "paused", "quarantined", "stopped")


class MetricsService:
    def __init__(self, bots: Any, counters: Counters, clock: Clock,
                 fleet_max_age: timedelta = FLEET_SNAPSHOT_MAX_AGE):
        self.bots = bots
        self.counters = counters
        self.clock = clock
        self.fleet_max_age = fleet_max_age

    def snapshot(self, caller: Principal) -> dict[str, Any]:
        fleet = caller.is_admin
        books = self._fleet_books() if fleet else _books_of(
            [bot_figures(bot) for bot in self.bots.all_of_owner(caller.user_id)],
            self.bots.retired_totals(caller.user_id), self.clock.now())
        counters = self.counters.fleet() if fleet else self.counters.of_user(caller.user_id)
        return {
            "scope": "fleet" if fleet else "user",
            **books,
            # Counted with each trip (adapters/dynamo/bots.py record_tick): never down when a bot goes.
            "risk_pauses_total": int(counters.get("risk_pauses", 0)),
            "ticks_total": int(counters.get("ticks", 0)) if fleet else None,
            "errors_total": int(counters.get("errors", 0)),
        }

    def _fleet_books(self) -> dict[str, Any]:
        """The fleet's bot-derived figures: the kept ones while young enough, else read now and kept."""
        now = self.clock.now()
        kept = self.counters.fleet_snapshot()
        if kept is not None:
            age = now - parse_iso(kept["bots_as_of"])
            if timedelta(0) <= age <= self.fleet_max_age:
                return kept
        books = _books_of(self.bots.fleet_figures(), self.counters.all_retired_totals(), now)
        # False when another request kept a later read meanwhile: this one is still a correct answer.
        self.counters.keep_fleet_snapshot(books)
        return books


def _books_of(figures: list[dict[str, Any]], retired: list[dict[str, Any]], now) -> dict[str, Any]:
    """Bots by status, paused bots by reason, trade totals per exchange and quote (the bots' books plus what their
    deleted bots traded), as read at `now`, from each bot's domain.bots.bot_figures."""
    totals = merge_trade_totals([*figures, *retired])
    statuses = Counter(bot["status"] for bot in figures)
    risk_pauses = Counter(bot["pause_reason"] for bot in figures if bot["status"] == "paused" and bot["pause_reason"])
    return {
        "bots_by_status": {status: statuses.get(status, 0) for status in STATUSES},
        "paused_by_reason": dict(risk_pauses),
        "trades": [{"exchange": row["exchange"], "currency": row["quote_currency"], "trades": int(row["trades"]),
                    "volume": row["volume"], "fees": row["fees"], "realized_pnl": row["realized_pnl"]}
                   for row in totals],
        "bots_as_of": iso(now),
    }


def prometheus_text(snapshot: dict[str, Any]) -> bytes:
    """The snapshot in Prometheus' text exposition: what only grows (fills, volume, fees, ticks, errors, trips) as
    counters, so rate() and increase() read them right (a drop, e.g. a user deleted with their bots' totals, is a
    counter reset to Prometheus); what moves both ways as gauges."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snapshot))
    return generate_latest(registry)


class _SnapshotCollector:
    """A prometheus-client collector over one snapshot (built per request: Lambda keeps no scrape target)."""

    def __init__(self, snapshot: dict[str, Any]):
        self.snapshot = snapshot

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        snap = self.snapshot
        bots = GaugeMetricFamily("botfleet_bots", "Bots by status", labels=["status"])
        for status, count in snap["bots_by_status"].items():
            bots.add_metric([status], count)
        paused = GaugeMetricFamily("botfleet_paused_bots", "Paused bots by pause reason", labels=["reason"])
        for reason, count in snap["paused_by_reason"].items():
            paused.add_metric([reason], count)
        read_at = GaugeMetricFamily("botfleet_bots_read_timestamp_seconds",
                                    "When the bot-derived series were read (the fleet's are kept up to a minute)",
                                    value=parse_iso(snap["bots_as_of"]).timestamp())
        yield from (bots, paused, read_at)
        yield CounterMetricFamily("botfleet_risk_pauses", "Risk pauses (circuit-breaker trips) so far",
                                  value=snap["risk_pauses_total"])
        labels = ["exchange", "currency"]
        counters = {name: CounterMetricFamily(f"botfleet_{name}", help_text, labels=labels) for name, help_text in (
            ("trades", "Fills"), ("volume", "Traded volume in quote currency"),
            ("fees", "Fees paid, valued in quote currency"))}
        pnl = GaugeMetricFamily("botfleet_realized_pnl", "Realized P&L in quote currency", labels=labels)
        # The name it had first, kept for existing dashboards: a gauge despite its suffix (P&L goes down too).
        pnl_legacy = GaugeMetricFamily("botfleet_realized_pnl_total", "Realized P&L in quote currency (deprecated "
                                       "name: use botfleet_realized_pnl)", labels=labels)
        for row in snap["trades"]:
            key = [row["exchange"], row["currency"]]
            counters["trades"].add_metric(key, row["trades"])
            counters["volume"].add_metric(key, float(row["volume"]))
            counters["fees"].add_metric(key, float(row["fees"]))
            pnl.add_metric(key, float(row["realized_pnl"]))
            pnl_legacy.add_metric(key, float(row["realized_pnl"]))
        yield from (*counters.values(), pnl, pnl_legacy)
        if snap["ticks_total"] is not None:
            yield CounterMetricFamily("botfleet_ticks", "Trading ticks run", value=snap["ticks_total"])
        yield CounterMetricFamily("botfleet_errors", "Rejected orders and sanity pauses", value=snap["errors_total"])


def json_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    from botfleet.domain.money import money_str

    return {**snapshot, "trades": [{k: money_str(v) if isinstance(v, Decimal) else v for k, v in row.items()}
                                   for row in snapshot["trades"]]}
