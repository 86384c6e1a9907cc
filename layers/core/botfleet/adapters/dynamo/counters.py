"""What the tick counts as it goes (written in its transactions, adapters/dynamo/bots.py), read for metrics:
`FLEET` / `COUNTERS` (ticks, errors), `USER#<id>` / `COUNTERS` (a user's errors), and every user's retired trade
totals (what deleted bots traded; the running ones' are in their books) through gsi2 `RETIRED_TOTALS`."""

from __future__ import annotations

from typing import Any

from botfleet.adapters.dynamo.schema import user_pk
from botfleet.adapters.dynamo.table import Table


class DynamoCounters:
    def __init__(self, table: Table):
        self.table = table

    def fleet(self) -> dict[str, Any]:
        return self.table.get("FLEET", "COUNTERS") or {}

    def of_user(self, user_id: str) -> dict[str, Any]:
        return self.table.get(user_pk(user_id), "COUNTERS") or {}

    def all_retired_totals(self) -> list[dict[str, Any]]:
        from botfleet.adapters.dynamo.bots import RETIRED_TOTALS

        return self.table.query_all("gsi2pk = :s", {":s": RETIRED_TOTALS}, index="gsi2")
