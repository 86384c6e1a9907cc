"""Users, the audit log, the assistant's store and its model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botfleet.domain.assistant import ModelError, ModelTurn, ToolCall
from botfleet.errors import AdminGone, Conflict, WriteConflict
from tests.support.fakes._common import copied, paged


class FakeUsers:
    """Mirrors adapters/dynamo/users.py (DynamoUserRepository): an email belongs to one account (Conflict
    email_taken), updates need the user to exist (WriteConflict, as the adapter's condition), `list_all` is newest
    first by `created_at#id`, `another_admin` finds an unblocked admin other than the one asking, and
    `update_fields(..., while_admin=...)` writes only while that one is still an unblocked admin (AdminGone)."""

    def __init__(self):
        self.users: dict[str, dict[str, Any]] = {}
        self.emails: dict[str, str] = {}

    def create(self, user: dict[str, Any]) -> None:
        if user["email"] in self.emails or user["id"] in self.users:
            raise Conflict("an account with this email already exists", code="email_taken")
        self.users[user["id"]] = copied(user)
        self.emails[user["email"]] = user["id"]

    def get(self, user_id: str) -> dict[str, Any] | None:
        return copied(self.users.get(user_id))

    def get_by_email(self, email: str) -> dict[str, Any] | None:
        return self.get(self.emails[email]) if email in self.emails else None

    def bump_token_version(self, user_id: str) -> int:
        return int(self.update_fields(user_id, {}, revoke_tokens=True)["token_version"])

    def list_all(self, limit: int, cursor: str | None):
        users = sorted(self.users.values(), key=lambda u: f"{u['created_at']}#{u['id']}", reverse=True)
        return paged(users, limit, cursor, "users")

    def update_fields(self, user_id: str, fields: dict[str, Any], *, revoke_tokens: bool,
                      while_admin: str | None = None) -> dict[str, Any]:
        user = self.users.get(user_id)
        if user is None:
            raise WriteConflict(f"user {user_id} is not there")
        if while_admin is not None and not self._active_admin(self.users.get(while_admin)):
            raise AdminGone(f"user {while_admin} can no longer act as an admin")
        user.update(copied(fields))
        if revoke_tokens:
            user["token_version"] = int(user.get("token_version", 0)) + 1
        return copied(user)

    def another_admin(self, user_id: str) -> str | None:
        return next((u["id"] for u in self.users.values() if u["id"] != user_id and self._active_admin(u)), None)

    @staticmethod
    def _active_admin(user: dict[str, Any] | None) -> bool:
        return user is not None and user["role"] == "admin" and not user.get("blocked")

    def delete_account(self, user: dict[str, Any]) -> int:
        removed = self.users.pop(user["id"], None) is not None
        self.emails.pop(user["email"], None)
        return int(removed) + 1


class FakeAuditLog:
    """Mirrors adapters/dynamo/audit.py (DynamoAuditLog), the log under services.admin.AuditTrail: append-only
    (an entry with the same `ts#id` is refused: WriteConflict), listed newest first with optional filters."""

    def __init__(self):
        self.entries: list[dict[str, Any]] = []  # in the order appended

    def append(self, entry: dict[str, Any]) -> None:
        if any(f"{e['ts']}#{e['id']}" == f"{entry['ts']}#{entry['id']}" for e in self.entries):
            raise WriteConflict(f"audit entry {entry['id']} exists already")
        self.entries.append(copied(entry))

    def list(self, limit: int, cursor: str | None, *, actor: str | None = None, action: str | None = None,
             since: str | None = None):
        found = [e for e in sorted(self.entries, key=lambda e: f"{e['ts']}#{e['id']}", reverse=True)
                 if (not since or f"{e['ts']}#{e['id']}" >= since) and (not actor or e["actor"] == actor)
                 and (not action or e["action"] == action)]
        return paged(found, limit, cursor, "audit")

    def actions(self) -> list[str]:
        return [entry["action"] for entry in self.entries]


class FakeAssistantStore:
    """Mirrors adapters/dynamo/assistant.py (DynamoAssistantStore): messages under `<ts>#<id>` listed newest
    first (and read back with the adapter's fields only: no `note`); memory `{facts, admin_unlocked_until}`;
    `forget` erases messages and memory, not proposals; a proposal id is written once (WriteConflict) and
    `transition` is the one conditional write: from `expect`, with the token hash and unexpired when asked,
    False when the condition fails (or there is no such proposal)."""

    MESSAGE_FIELDS = ("id", "role", "text", "actions", "ts", "source")

    def __init__(self):
        self.messages_of: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self.memories: dict[str, dict[str, Any]] = {}
        self.proposals: dict[str, dict[str, dict[str, Any]]] = {}
        self.chat_counts: dict[tuple[str, int], int] = {}

    def append_message(self, user_id: str, message: dict[str, Any], now_epoch: int) -> None:
        self.messages_of.setdefault(user_id, {})[(message["ts"], message["id"])] = copied(message)

    def messages(self, user_id: str, limit: int, cursor: str | None):
        mine = self.messages_of.get(user_id, {})
        items = [{k: mine[key][k] for k in self.MESSAGE_FIELDS if k in mine[key]} for key in sorted(mine, reverse=True)]
        return paged(items, limit, cursor, f"chat-of:{user_id}")

    def memory(self, user_id: str) -> dict[str, Any]:
        item = self.memories.get(user_id, {})
        return {"facts": list(item.get("facts") or []), "admin_unlocked_until": item.get("admin_unlocked_until")}

    def save_memory(self, user_id: str, memory: dict[str, Any]) -> None:
        self.memories[user_id] = {"facts": list(memory["facts"]),
                                  "admin_unlocked_until": memory.get("admin_unlocked_until")}

    def forget(self, user_id: str) -> int:
        erased = len(self.messages_of.pop(user_id, {}))
        self.memories.pop(user_id, None)
        return erased

    def count_chat(self, user_id: str, window_start: int, expires_at: int) -> int:
        self.chat_counts[(user_id, window_start)] = self.chat_counts.get((user_id, window_start), 0) + 1
        return self.chat_counts[(user_id, window_start)]

    def add_proposal(self, user_id: str, proposal: dict[str, Any], valid_until_epoch: int) -> None:
        mine = self.proposals.setdefault(user_id, {})
        if proposal["id"] in mine:
            raise WriteConflict(f"proposal {proposal['id']} exists already")
        mine[proposal["id"]] = {**copied(proposal), "owner_id": user_id, "expires_at": valid_until_epoch + 86400}

    def proposal(self, user_id: str, action_id: str) -> dict[str, Any] | None:
        return copied(self.proposals.get(user_id, {}).get(action_id))

    def pending_proposals(self, user_id: str) -> list[dict[str, Any]]:
        mine = self.proposals.get(user_id, {})
        return [copied(mine[key]) for key in sorted(mine) if mine[key].get("status") == "pending"]

    def transition(self, user_id: str, action_id: str, *, to: str, expect: str = "pending",
                   token_hash: str | None = None, valid_after_epoch: int | None = None,
                   result: dict[str, Any] | None = None) -> bool:
        item = self.proposals.get(user_id, {}).get(action_id)
        if (item is None or item.get("status") != expect
                or (token_hash is not None and item.get("token_hash") != token_hash)
                or (valid_after_epoch is not None and not item["valid_until"] > valid_after_epoch)):
            return False
        item["status"] = to
        if result is not None:
            item["result"] = copied(result)
        return True


@dataclass
class FakeAssistantModel:
    """Stands in for adapters/llm.py (OpenAIAssistantModel): plays a script instead of asking OpenAI. Each
    `(tool name, arguments)` in `calls` goes to the service's `call_tool`, like the adapter does for an offered
    tool (an unoffered one is answered `unknown tool` without reaching it); then it answers `text`. With `error`
    it raises that ModelError instead. Records what it was given."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    text: str = "Done looking."
    error: ModelError | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)

    def run(self, api_key: str, instructions: str, conversation: list[dict[str, str]], tools: Sequence[Any],
            call_tool: Callable[[ToolCall], Any]) -> ModelTurn:
        offered = {tool.name for tool in tools}
        self.runs.append({"api_key": api_key, "conversation": copied(conversation), "tools": sorted(offered)})
        if self.error is not None:
            raise self.error
        made = []
        for number, (name, arguments) in enumerate(self.calls):
            if name not in offered:
                self.results.append({"error": "unknown tool"})
                continue
            call = ToolCall(f"call_{number}", name, dict(arguments))
            made.append(call)
            self.results.append(call_tool(call))
        return ModelTurn(self.text, made)
