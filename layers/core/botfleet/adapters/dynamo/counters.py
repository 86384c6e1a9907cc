"""What the tick counts as it goes (written in its transactions, adapters/dynamo/bots.py), read for metrics:
`FLEET` / `COUNTERS` (ticks, errors), `USER#<id>` / `COUNTERS` (a user's errors), and every user's retired trade
totals (what deleted bots traded; the running ones' are in their books) through gsi2 `RETIRED_TOTALS`. Also the
fleet's bot-derived metrics as last read (`METRICS` / `FLEET`), kept so a scrape does not read every bot: a
partition of its own, the only one the ops function may write (infra/botfleet_infra/data.py)."""

from __future__ import annotations

from typing import Any

from botfleet.adapters.dynamo.schema import user_pk
from botfleet.adapters.dynamo.table import ConditionFailed, Table

METRICS_PARTITION = "METRICS"


class DynamoCounters:
    def __init__(self, table: Table):
        self.table = table

    def fleet(self) -> dict[str, Any]:
        return self.table.get("FLEET", "COUNTERS") or {}

    def of_user(self, user_id: str) -> dict[str, Any]:
        return self.table.get(user_pk(user_id), "COUNTERS") or {}

    def fleet_snapshot(self) -> dict[str, Any] | None:
        item = self.table.get(METRICS_PARTITION, "FLEET")
        if item is None:
            return None
        # DynamoDB numbers come back as Decimal: counts are ints again, money stays Decimal.
        return {
            "bots_by_status": {status: int(count) for status, count in item["bots_by_status"].items()},
            "paused_by_reason": {reason: int(count) for reason, count in item["paused_by_reason"].items()},
            "trades": [{**row, "trades": int(row["trades"])} for row in item["trades"]],
            "bots_as_of": item["bots_as_of"],
        }

    def keep_fleet_snapshot(self, snapshot: dict[str, Any]) -> bool:
        # ISO-8601 UTC with a Z (clock.iso) orders as text: an older read never replaces a newer one.
        try:
            self.table.put({"pk": METRICS_PARTITION, "sk": "FLEET", "entity": "fleet_metrics", **snapshot},
                           condition="attribute_not_exists(pk) OR bots_as_of < :as_of",
                           values={":as_of": snapshot["bots_as_of"]})
        except ConditionFailed:
            return False
        return True

    def all_retired_totals(self) -> list[dict[str, Any]]:
        from botfleet.adapters.dynamo.bots import RETIRED_TOTALS

        return self.table.query_all("gsi2pk = :s", {":s": RETIRED_TOTALS}, index="gsi2")
