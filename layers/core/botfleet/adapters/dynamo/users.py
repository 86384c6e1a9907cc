"""Users and email claims in the state table (login throttling: adapters/dynamo/throttle.py)."""

from __future__ import annotations

from typing import Any

from botfleet.adapters.dynamo.schema import user_pk
from botfleet.adapters.dynamo.table import ConditionFailed, Table
from botfleet.errors import AdminGone, Conflict


def user_key(user_id: str) -> tuple[str, str]:
    return user_pk(user_id), "PROFILE"


class DynamoUserRepository:
    def __init__(self, table: Table):
        self.table = table

    def create(self, user: dict[str, Any]) -> None:
        pk, sk = user_key(user["id"])
        item = {"pk": pk, "sk": sk, "entity": "user", "gsi1pk": "USERS",
                "gsi1sk": f"{user['created_at']}#{user['id']}", **user}
        claim = {"pk": f"EMAIL#{user['email']}", "sk": "EMAIL", "entity": "email", "user_id": user["id"]}
        try:
            self.table.transact([
                {"Put": {"Item": claim, "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
            ])
        except ConditionFailed as exc:
            raise Conflict("an account with this email already exists", code="email_taken") from exc

    def get(self, user_id: str) -> dict[str, Any] | None:
        return self.table.get(*user_key(user_id))

    def get_by_email(self, email: str) -> dict[str, Any] | None:
        claim = self.table.get(f"EMAIL#{email}", "EMAIL")
        return self.get(claim["user_id"]) if claim else None

    def bump_token_version(self, user_id: str) -> int:
        """Revoke every token issued so far (logout everywhere)."""
        updated = self.table.update(
            *user_key(user_id), "ADD token_version :one", values={":one": 1}, condition="attribute_exists(pk)"
        )
        return int(updated["token_version"])

    def list_all(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return self.table.query("gsi1pk = :users", {":users": "USERS"}, index="gsi1", limit=limit, cursor=cursor,
                                partition=("gsi1pk", "USERS"), newest_first=True)

    def update_fields(self, user_id: str, fields: dict[str, Any], *, revoke_tokens: bool,
                      while_admin: str | None = None) -> dict[str, Any]:
        """Set fields on a user; with `revoke_tokens`, every token issued so far stops working at once. With
        `while_admin`, in one transaction with a check that this other user is still an admin who is not blocked
        (AdminGone when not): two admins blocking or deleting each other (or themselves) at the same instant
        cannot both succeed and leave nobody to manage the platform."""
        names = {f"#{key}": key for key in fields}
        values = {f":{key}": value for key, value in fields.items()}
        expression = "SET " + ", ".join(f"#{key} = :{key}" for key in fields)
        if revoke_tokens:
            expression += " ADD token_version :one"
            values[":one"] = 1
        if while_admin is None:
            return self.table.update(*user_key(user_id), expression, names=names, values=values,
                                     condition="attribute_exists(pk)")
        pk, sk = user_key(user_id)
        keeper_pk, keeper_sk = user_key(while_admin)
        try:
            self.table.transact([
                {"Update": {"Key": {"pk": pk, "sk": sk}, "UpdateExpression": expression,
                            "ConditionExpression": "attribute_exists(pk)", "ExpressionAttributeValues": values,
                            **({"ExpressionAttributeNames": names} if names else {})}},
                {"ConditionCheck": {"Key": {"pk": keeper_pk, "sk": keeper_sk},
                                    "ConditionExpression": "#role = :admin AND NOT #blocked = :yes",
                                    "ExpressionAttributeNames": {"#role": "role", "#blocked": "blocked"},
                                    "ExpressionAttributeValues": {":admin": "admin", ":yes": True}}},
            ])
        except ConditionFailed as failed:
            # Which item's condition failed tells the caller what happened: the user is gone (as the plain
            # update's condition says), or the admin who was to stay can no longer act.
            if failed.reasons[:1] != ["ConditionalCheckFailed"] and failed.reasons[1:2] == ["ConditionalCheckFailed"]:
                raise AdminGone(f"user {while_admin} can no longer act as an admin") from failed
            raise
        updated = self.get(user_id)
        if updated is None:  # deleted right after the write: as the plain update's condition would have said
            raise ConditionFailed(["ConditionalCheckFailed"])
        return updated

    def another_admin(self, user_id: str) -> str | None:
        """The id of an admin other than `user_id` who is not blocked, or None. Query gsi1 `USERS` with a filter,
        stopping at the first match: a read of the user listing, made only when an admin's ability to act is about
        to end (the last-admin check), never on a hot path."""
        found, _ = self.table.query(
            "gsi1pk = :users", {":users": "USERS", ":admin": "admin", ":me": user_id, ":yes": True}, index="gsi1",
            names={"#role": "role", "#id": "id", "#blocked": "blocked"},
            filter_expression="#role = :admin AND #id <> :me AND NOT #blocked = :yes", limit=1)
        return found[0]["id"] if found else None

    def delete_account(self, user: dict[str, Any]) -> int:
        """Everything under the user's partition (profile, bots, keys, summaries, injections, chat) and the
        email claim. The audit trail lives elsewhere and stays."""
        items = self.table.query_all("pk = :pk", {":pk": user_pk(user['id'])})
        keys = [(item["pk"], item["sk"]) for item in items] + [(f"EMAIL#{user['email']}", "EMAIL")]
        self.table.delete_many(keys)
        return len(keys)
