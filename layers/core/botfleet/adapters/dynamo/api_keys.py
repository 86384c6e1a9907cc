"""Users' API keys, sealed (adapters/vault.py): `USER#<id>` / `KEY#<provider>` holds the ciphertext, the wrapped
data key, the masked key and the last test; `USER#<id>` / `KEYTEST#<minute>` counts key tests (TTL)."""

from __future__ import annotations

import contextlib
from typing import Any

from botfleet.adapters.dynamo.schema import user_pk
from botfleet.adapters.dynamo.table import ConditionFailed, Table


def _key(user_id: str, provider: str) -> tuple[str, str]:
    return user_pk(user_id), f"KEY#{provider}"


class DynamoStoredKeys:
    def __init__(self, table: Table):
        self.table = table

    def all_of(self, user_id: str) -> list[dict[str, Any]]:
        items = self.table.query_all("pk = :pk AND begins_with(sk, :prefix)",
                                     {":pk": user_pk(user_id), ":prefix": "KEY#"})
        return [item for item in items if item.get("entity") == "api_key"]

    def get(self, user_id: str, provider: str) -> dict[str, Any] | None:
        return self.table.get(*_key(user_id, provider), consistent=True)

    def put(self, record: dict[str, Any]) -> None:
        pk, sk = _key(record["user_id"], record["provider"])
        self.table.put({"pk": pk, "sk": sk, "entity": "api_key", **record})

    def delete(self, user_id: str, provider: str) -> None:
        self.table.delete(*_key(user_id, provider))

    def remember_test(self, user_id: str, provider: str, wrapped_key: str, last_test: dict[str, Any]) -> bool:
        with contextlib.suppress(ConditionFailed):
            self.table.update(*_key(user_id, provider), "SET last_test = :result", condition="wrapped_key = :wrapped",
                              values={":result": last_test, ":wrapped": wrapped_key})
            return True
        return False

    def count_test(self, user_id: str, minute: int, expires_at: int) -> int:
        return self.table.increment(user_pk(user_id), f"KEYTEST#{minute}", "tests", "key_test_counter", expires_at)
