"""Training runs, their per-bot lock and the trained models.

Items: the run `USER#<owner>` / `TRAINING#<run_id>` (gsi1 `BOT#<bot>#TRAINING` for a bot's history), the bot's lock
`BOT#<bot>` / `TRAINING_LOCK` (TTL: a crashed run can't block the bot forever), each trained model `BOT#<bot>` /
`MODEL#<run_id>`. A run only moves forward while it is queued or running: a stopped (or failed) run ignores
late workers, and a stop wins over a late success. A late worker never recreates a run that is gone (deleted with
its owner's account), nor saves its model: `<>` holds on a missing attribute, so each update also asks for the item
to exist.
"""

from __future__ import annotations

import contextlib
from typing import Any

from botfleet.adapters.dynamo.schema import bot_pk, bot_training_pk, user_pk
from botfleet.adapters.dynamo.table import ConditionFailed, Table, storable


def _run_key(owner_id: str, run_id: str) -> tuple[str, str]:
    return user_pk(owner_id), f"TRAINING#{run_id}"


class DynamoTrainingRuns:
    def __init__(self, table: Table):
        self.table = table

    def lock(self, bot_id: str, run_id: str, now_epoch: int, expires_at: int) -> bool:
        """Take the bot's training lock (or an expired one); False when another run holds it."""
        try:
            self.table.put({"pk": bot_pk(bot_id), "sk": "TRAINING_LOCK", "entity": "training_lock",
                            "run_id": run_id, "expires_at": expires_at},
                           condition="attribute_not_exists(pk) OR expires_at < :now", values={":now": now_epoch})
        except ConditionFailed:
            return False
        return True

    def unlock(self, bot_id: str, run_id: str) -> None:
        """Release the bot's lock if this run still holds it (a newer run's lock is not ours to drop)."""
        with contextlib.suppress(ConditionFailed):
            self.table.delete(bot_pk(bot_id), "TRAINING_LOCK", condition="run_id = :run", values={":run": run_id})

    def create(self, run: dict[str, Any]) -> None:
        pk, sk = _run_key(run["owner_id"], run["run_id"])
        self.table.put({"pk": pk, "sk": sk, "entity": "training_run", "gsi1pk": bot_training_pk(run["bot_id"]),
                        "gsi1sk": f"{run['created_at']}#{run['run_id']}", **run}, condition="attribute_not_exists(pk)")

    def get(self, owner_id: str, run_id: str) -> dict[str, Any] | None:
        return self.table.get(*_run_key(owner_id, run_id), consistent=True)

    def set_execution(self, owner_id: str, run_id: str, execution_arn: str) -> None:
        self.table.update(*_run_key(owner_id, run_id), "SET execution_arn = :arn", values={":arn": execution_arn})

    def for_owner(self, owner_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return self.table.query("pk = :pk AND begins_with(sk, :runs)", {":pk": user_pk(owner_id), ":runs": "TRAINING#"},
                                limit=limit, cursor=cursor, partition=("pk", user_pk(owner_id)), newest_first=True)

    def for_bot(self, bot_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        partition = bot_training_pk(bot_id)
        return self.table.query("gsi1pk = :pk", {":pk": partition}, index="gsi1", limit=limit, cursor=cursor,
                                partition=("gsi1pk", partition), newest_first=True)

    def advance(self, owner_id: str, run_id: str, now: str, *, set_fields: dict[str, Any] | None = None,
                add_fields: dict[str, int | set[int]] | None = None) -> bool:
        """Progress of a queued or running run (`set_fields` replaced, `add_fields` counted up or, for a set,
        joined); False for a run that has stopped or failed meanwhile, or is gone."""
        names, values = {"#status": "status"}, {":now": now, ":stopped": "stopped", ":failed": "failed"}
        sets, adds = ["updated_at = :now"], []
        for key, value in (set_fields or {}).items():
            names[f"#{key}"], values[f":{key}"] = key, value
            sets.append(f"#{key} = :{key}")
        for key, value in (add_fields or {}).items():
            names[f"#{key}"], values[f":{key}"] = key, value
            adds.append(f"#{key} :{key}")
        expression = "SET " + ", ".join(sets) + (" ADD " + ", ".join(adds) if adds else "")
        try:
            self.table.update(*_run_key(owner_id, run_id), expression, names=names, values=values,
                              condition="attribute_exists(pk) AND #status <> :stopped AND #status <> :failed")
        except ConditionFailed:
            return False
        return True

    def finish(self, owner_id: str, run_id: str, status: str, now: str, fields: dict[str, Any]) -> bool:
        """The run's end (succeeded, failed or stopped); False when it had been stopped already, or is gone (for a
        stop: when it had ended already)."""
        names = {"#status": "status"}
        values = {":status": status, ":now": now}
        if status == "stopped":  # a stop ends a run that is still going, never one that has just succeeded
            values.update({":queued": "queued", ":running": "running"})
            condition = "#status IN (:queued, :running)"
        else:
            values[":stopped"] = "stopped"
            condition = "attribute_exists(pk) AND #status <> :stopped"
        sets = ["#status = :status", "updated_at = :now", "finished_at = :now"]
        for key, value in storable(fields).items():
            names[f"#{key}"], values[f":{key}"] = key, value
            sets.append(f"#{key} = :{key}")
        try:
            self.table.update(*_run_key(owner_id, run_id), "SET " + ", ".join(sets), names=names, values=values,
                              condition=condition)
        except ConditionFailed:
            return False
        return True

    def save_model(self, bot_id: str, run_id: str, owner_id: str, created_at: str, best: dict[str, Any]) -> None:
        """Only while the run is there: a run that finishes after its owner's account was deleted leaves no model
        behind in the deleted bot's partition."""
        model = {"pk": bot_pk(bot_id), "sk": f"MODEL#{run_id}", "entity": "model", "run_id": run_id,
                 "owner_id": owner_id, "created_at": created_at, **storable(best)}
        run_pk, run_sk = _run_key(owner_id, run_id)
        with contextlib.suppress(ConditionFailed):
            self.table.transact([
                {"ConditionCheck": {"Key": {"pk": run_pk, "sk": run_sk},
                                    "ConditionExpression": "attribute_exists(pk)"}},
                {"Put": {"Item": model}},
            ])
