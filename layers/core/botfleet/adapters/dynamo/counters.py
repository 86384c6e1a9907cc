"""What the tick counts as it goes (written in its transactions, adapters/dynamo/bots.py), read for metrics:
`FLEET` / `COUNTERS` (ticks, errors), `USER#<id>` / `COUNTERS` (a user's errors), and every user's per-exchange
trade summaries through gsi2 `SUMMARIES` (one Query for the admins' fleet view)."""

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

    def all_trade_summaries(self) -> list[dict[str, Any]]:
        return self.table.query_all("gsi2pk = :s", {":s": "SUMMARIES"}, index="gsi2")
