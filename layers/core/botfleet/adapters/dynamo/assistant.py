"""The assistant's state in the table, all in the caller's own partition (`USER#<id>`), so no key of one user
can reach another's: the conversation (`AICHAT#<ts>#<id>`), the memory (`AIMEMORY`) and the proposed actions
(`AIACTION#<id>`) with their hashed confirmation tokens. Items expire through the table's TTL (`expires_at`)."""

from __future__ import annotations

from typing import Any

from botfleet.adapters.dynamo.schema import user_pk
from botfleet.adapters.dynamo.table import ConditionFailed, Table

# A conversation is kept 90 days; a proposal a day past its expiry (long enough to tell "expired" from "unknown").
MESSAGE_TTL_SECONDS = 90 * 86400
PROPOSAL_TTL_SECONDS = 86400


class DynamoAssistantStore:
    def __init__(self, table: Table):
        self.table = table

    # -- the conversation --------------------------------------------------------------------------------------
    def append_message(self, user_id: str, message: dict[str, Any], now_epoch: int) -> None:
        self.table.put({"pk": user_pk(user_id), "sk": f"AICHAT#{message['ts']}#{message['id']}",
                        "entity": "ai_message", "owner_id": user_id, **message,
                        "expires_at": now_epoch + MESSAGE_TTL_SECONDS})

    def messages(self, user_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the conversation, newest first (the caller turns it around); the cursor goes further back."""
        items, next_cursor = self.table.query(
            "pk = :pk AND begins_with(sk, :chat)", {":pk": user_pk(user_id), ":chat": "AICHAT#"},
            limit=limit, cursor=cursor, partition=("pk", user_pk(user_id)), newest_first=True)
        return [_message(item) for item in items], next_cursor

    # -- memory ------------------------------------------------------------------------------------------------
    def memory(self, user_id: str) -> dict[str, Any]:
        item = self.table.get(user_pk(user_id), "AIMEMORY", consistent=True) or {}
        return {"facts": list(item.get("facts") or []), "admin_unlocked_until": item.get("admin_unlocked_until")}

    def save_memory(self, user_id: str, memory: dict[str, Any]) -> None:
        self.table.put({"pk": user_pk(user_id), "sk": "AIMEMORY", "entity": "ai_memory", "owner_id": user_id,
                        "facts": memory["facts"], "admin_unlocked_until": memory.get("admin_unlocked_until")})

    def forget(self, user_id: str) -> int:
        """Erase the conversation and the memory; pending proposals are cancelled by the service, not erased
        (the audit trail refers to them). Returns how many items went."""
        items = self.table.query_all("pk = :pk AND begins_with(sk, :chat)",
                                     {":pk": user_pk(user_id), ":chat": "AICHAT#"})
        keys = [(item["pk"], item["sk"]) for item in items] + [(user_pk(user_id), "AIMEMORY")]
        self.table.delete_many(keys)
        return len(items)

    def count_chat(self, user_id: str, window_start: int, expires_at: int) -> int:
        return self.table.increment(user_pk(user_id), f"AICHATCOUNT#{window_start}", "messages", "ai_chat_counter",
                                    expires_at)

    # -- proposals ---------------------------------------------------------------------------------------------
    def add_proposal(self, user_id: str, proposal: dict[str, Any], valid_until_epoch: int) -> None:
        self.table.put({"pk": user_pk(user_id), "sk": f"AIACTION#{proposal['id']}", "entity": "ai_action",
                        "owner_id": user_id, **proposal, "expires_at": valid_until_epoch + PROPOSAL_TTL_SECONDS},
                       condition="attribute_not_exists(pk)")

    def proposal(self, user_id: str, action_id: str) -> dict[str, Any] | None:
        return self.table.get(user_pk(user_id), f"AIACTION#{action_id}", consistent=True)

    def pending_proposals(self, user_id: str) -> list[dict[str, Any]]:
        items = self.table.query_all("pk = :pk AND begins_with(sk, :act)",
                                     {":pk": user_pk(user_id), ":act": "AIACTION#"})
        return [item for item in items if item.get("status") == "pending"]

    def transition(self, user_id: str, action_id: str, *, to: str, expect: str = "pending",
                   token_hash: str | None = None, valid_after_epoch: int | None = None,
                   result: dict[str, Any] | None = None) -> bool:
        """Move a proposal from `expect` to `to` in one conditional write; with `token_hash` and
        `valid_after_epoch` the write also requires the token and an unexpired proposal. Two concurrent
        confirmations: exactly one write succeeds. False when the condition did not hold."""
        condition = "#status = :expect"
        values: dict[str, Any] = {":expect": expect, ":to": to}
        if token_hash is not None:
            condition += " AND token_hash = :hash"
            values[":hash"] = token_hash
        if valid_after_epoch is not None:
            condition += " AND valid_until > :now"
            values[":now"] = valid_after_epoch
        expression = "SET #status = :to"
        if result is not None:
            expression += ", #result = :result"
            values[":result"] = result
        try:
            self.table.update(user_pk(user_id), f"AIACTION#{action_id}", expression, condition=condition,
                              names={"#status": "status", **({"#result": "result"} if result is not None else {})},
                              values=values)
        except ConditionFailed:
            return False
        return True


def _message(item: dict[str, Any]) -> dict[str, Any]:
    return {key: item.get(key) for key in ("id", "role", "text", "actions", "ts", "source") if key in item}
