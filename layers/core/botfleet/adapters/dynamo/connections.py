"""Open WebSocket connections, found by owner for broadcasting."""

from __future__ import annotations

from typing import Any

from botfleet.adapters.dynamo.schema import user_connections_pk
from botfleet.adapters.dynamo.table import Table


class DynamoConnectionRepository:
    def __init__(self, table: Table):
        self.table = table

    def add(self, connection_id: str, user_id: str, role: str, connected_at: str, expires_at: int,
            token_version: int) -> None:
        self.table.put({
            "pk": f"CONN#{connection_id}", "sk": "CONN", "entity": "connection",
            "gsi1pk": user_connections_pk(user_id), "gsi1sk": connection_id, "connection_id": connection_id,
            "user_id": user_id, "role": role, "topics": [], "connected_at": connected_at,
            "expires_at": expires_at, "token_version": token_version,
        })

    def get(self, connection_id: str) -> dict[str, Any] | None:
        return self.table.get(f"CONN#{connection_id}", "CONN")

    def set_topics(self, connection_id: str, topics: list[str], *, fleet: bool = False, batch: bool = False) -> None:
        """The topics a connection wants and whether it takes batch messages (stored as `batches`); `fleet` (admins
        only, checked by the caller) puts it in the sparse gsi2 partition FLEETCONNS, which the broadcaster reads once
        per batch to copy every user's events."""
        if fleet:
            expression, values = "SET topics = :t, batches = :b, gsi2pk = :fleet, gsi2sk = :id", {
                ":t": topics, ":b": batch, ":fleet": "FLEETCONNS", ":id": connection_id}
        else:
            expression, values = "SET topics = :t, batches = :b REMOVE gsi2pk, gsi2sk", {":t": topics, ":b": batch}
        self.table.update(f"CONN#{connection_id}", "CONN", expression, values=values,
                          condition="attribute_exists(pk)")

    def fleet_watchers(self) -> list[dict[str, Any]]:
        return self.table.query_all("gsi2pk = :fleet", {":fleet": "FLEETCONNS"}, index="gsi2")

    def remove(self, connection_id: str) -> None:
        self.table.delete(f"CONN#{connection_id}", "CONN")

    def for_user(self, user_id: str) -> list[dict[str, Any]]:
        return self.table.query_all("gsi1pk = :pk", {":pk": user_connections_pk(user_id)}, index="gsi1")
