"""The quarantine's history and configuration.

Items: the config `CONFIG` / `QUARANTINE`; history events `USER#<owner>` / `QUARANTINE#<ts>#<bot>#<id>` (entity
`quarantine_event`, streamed to the dashboard), in the owner's partition so a regenerated bot's history stays.
"""

from __future__ import annotations

from typing import Any

from botfleet.adapters.dynamo.schema import user_pk
from botfleet.adapters.dynamo.table import Table, storable
from botfleet.ids import new_id


class DynamoQuarantineLog:
    def __init__(self, table: Table):
        self.table = table

    def append(self, event: dict[str, Any]) -> None:
        sk = f"QUARANTINE#{event['ts']}#{event['bot_id']}#{new_id('q')}"
        self.table.put({"pk": user_pk(event["owner_id"]), "sk": sk, "entity": "quarantine_event", **storable(event)})

    def history(self, owner_id: str, bot_id: str | None, limit: int,
                cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        values = {":pk": user_pk(owner_id), ":q": "QUARANTINE#"}
        if bot_id:
            values[":bot"] = bot_id
        return self.table.query("pk = :pk AND begins_with(sk, :q)", values,
                                filter_expression="bot_id = :bot" if bot_id else None, limit=limit, cursor=cursor,
                                partition=("pk", user_pk(owner_id)), newest_first=True)

    def config(self) -> dict[str, Any] | None:
        return self.table.get("CONFIG", "QUARANTINE")

    def save_config(self, config: dict[str, Any]) -> None:
        self.table.put({"pk": "CONFIG", "sk": "QUARANTINE", "entity": "config", **config})
