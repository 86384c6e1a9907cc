"""Metrics for GET /api/metrics: the caller's own series for users, fleet-wide for admins.

Built per request in a fresh prometheus-client registry (Lambda has no long-lived scrape target), from
items the platform already keeps: bots (by status), per-exchange trade summaries, bot events."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from botfleet.domain.bots import merge_trade_totals, trade_totals
from botfleet.ports import Counters
from botfleet.services.auth import Principal


class MetricsService:
    def __init__(self, bots: Any, counters: Counters):
        self.bots = bots
        self.counters = counters

    def snapshot(self, caller: Principal) -> dict[str, Any]:
        fleet = caller.is_admin
        bots = self.bots.whole_fleet() if fleet else self.bots.all_of_owner(caller.user_id)
        retired = self.counters.all_retired_totals() if fleet else self.bots.retired_totals(caller.user_id)
        totals = merge_trade_totals([*trade_totals(bots), *retired])
        counters = self.counters.fleet() if fleet else self.counters.of_user(caller.user_id)
        statuses = Counter(bot.status for bot in bots)
        risk_pauses = Counter(bot.pause_reason for bot in bots if bot.status == "paused" and bot.pause_reason)
        trades = [{"exchange": row["exchange"], "currency": row["quote_currency"], "trades": row["trades"],
                   "volume": row["volume"], "fees": row["fees"], "realized_pnl": row["realized_pnl"]}
                  for row in totals]
        return {
            "scope": "fleet" if fleet else "user",
            "bots_by_status": {status: statuses.get(status, 0) for status in ("running", "paused", "quarantined",
                                                                               "stopped")},
            "paused_by_reason": dict(risk_pauses),
            # Counted with each trip (adapters/dynamo/bots.py record_tick): never down when a bot goes.
            "risk_pauses_total": int(counters.get("risk_pauses", 0)),
            "trades": trades,
            "ticks_total": int(counters.get("ticks", 0)) if fleet else None,
            "errors_total": int(counters.get("errors", 0)),
        }


def prometheus_text(snapshot: dict[str, Any]) -> bytes:
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry()
    bots = Gauge("botfleet_bots", "Bots by status", ["status"], registry=registry)
    for status, count in snapshot["bots_by_status"].items():
        bots.labels(status).set(count)
    paused = Gauge("botfleet_paused_bots", "Paused bots by pause reason", ["reason"], registry=registry)
    for reason, count in snapshot["paused_by_reason"].items():
        paused.labels(reason).set(count)
    Gauge("botfleet_risk_pauses_total", "Risk pauses (circuit-breaker trips) so far", registry=registry).set(
        snapshot["risk_pauses_total"])
    labels = ["exchange", "currency"]
    series = {name: Gauge(f"botfleet_{name}", help_text, labels, registry=registry) for name, help_text in (
        ("trades_total", "Fills"), ("volume_total", "Traded volume in quote currency"),
        ("fees_total", "Fees paid, valued in quote currency"), ("realized_pnl_total", "Realized P&L in quote"))}
    for row in snapshot["trades"]:
        series["trades_total"].labels(row["exchange"], row["currency"]).set(row["trades"])
        series["volume_total"].labels(row["exchange"], row["currency"]).set(float(row["volume"]))
        series["fees_total"].labels(row["exchange"], row["currency"]).set(float(row["fees"]))
        series["realized_pnl_total"].labels(row["exchange"], row["currency"]).set(float(row["realized_pnl"]))
    if snapshot["ticks_total"] is not None:
        Gauge("botfleet_ticks_total", "Trading ticks run", registry=registry).set(snapshot["ticks_total"])
    Gauge("botfleet_errors_total", "Rejected orders and sanity pauses", registry=registry).set(snapshot["errors_total"])
    return generate_latest(registry)


def json_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    from botfleet.domain.money import money_str

    return {**snapshot, "trades": [{k: money_str(v) if isinstance(v, Decimal) else v for k, v in row.items()}
                                   for row in snapshot["trades"]]}
