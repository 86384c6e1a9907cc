"""Capital injections: `USER#<owner>` / `INJECTION#<id>` (gsi1 `BOT#<bot>#INJECTIONS` for a bot's list). An
injection is written in one transaction with its bot (DynamoBotRepository.save_with_injection)."""

from __future__ import annotations

from typing import Any

from botfleet.adapters.dynamo.schema import bot_injections_pk, user_pk
from botfleet.adapters.dynamo.table import Table


def injection_item(owner_id: str, injection: dict[str, Any]) -> dict[str, Any]:
    return {"pk": user_pk(owner_id), "sk": f"INJECTION#{injection['id']}", "entity": "injection",
            "gsi1pk": bot_injections_pk(injection["bot_id"]), "gsi1sk": f"{injection['ts']}#{injection['id']}",
            **injection}


class DynamoInjections:
    def __init__(self, table: Table):
        self.table = table

    def get(self, owner_id: str, injection_id: str) -> dict[str, Any] | None:
        return self.table.get(user_pk(owner_id), f"INJECTION#{injection_id}")

    def for_bot(self, bot_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        partition = bot_injections_pk(bot_id)
        return self.table.query("gsi1pk = :pk", {":pk": partition}, index="gsi1", limit=limit, cursor=cursor,
                                partition=("gsi1pk", partition), newest_first=True)

    def for_owner(self, owner_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return self.table.query("pk = :pk AND begins_with(sk, :inj)", {":pk": user_pk(owner_id), ":inj": "INJECTION#"},
                                limit=limit, cursor=cursor, partition=("pk", user_pk(owner_id)))
