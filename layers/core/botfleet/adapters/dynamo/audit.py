"""The audit trail: append-only. There is no update or delete here, and every put refuses to overwrite."""

from __future__ import annotations

from typing import Any

from botfleet.adapters.dynamo.table import Table

PARTITION = "AUDIT"


class DynamoAuditLog:
    def __init__(self, table: Table):
        self.table = table

    def append(self, entry: dict[str, Any]) -> None:
        self.table.put({"pk": PARTITION, "sk": f"{entry['ts']}#{entry['id']}", "entity": "audit", **entry},
                       condition="attribute_not_exists(pk)")

    def list(self, limit: int, cursor: str | None, *, actor: str | None = None, action: str | None = None,
             since: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        key_condition, values = "pk = :pk", {":pk": PARTITION}
        if since:
            key_condition += " AND sk >= :since"
            values[":since"] = since
        filters, names = [], {}
        for attribute, value in (("actor", actor), ("action", action)):
            if value:
                filters.append(f"#{attribute} = :{attribute}")
                names[f"#{attribute}"] = attribute
                values[f":{attribute}"] = value
        return self.table.query(key_condition, values, names=names or None,
                                filter_expression=" AND ".join(filters) or None, limit=limit, cursor=cursor,
                                partition=("pk", PARTITION), newest_first=True)
