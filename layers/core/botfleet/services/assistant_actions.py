"""The assistant's proposals and their confirmation: what makes "the model proposes, the server disposes" true.

A proposal is stored in its owner's partition with the HMAC of a one-time token, keyed by a digest of the caller,
the action and exactly what it touches; the token itself is shown once and never stored. `execute` refuses an
unknown (or another user's), wrong, used, cancelled or expired one, each on the audit trail; otherwise it
consumes the proposal with one conditional write and runs this module's own code for the action type.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botfleet.clock import Clock, iso
from botfleet.domain import assistant as ai
from botfleet.errors import BotfleetError, Conflict, Forbidden, Gone, NotFound, Unprocessable
from botfleet.ids import new_id
from botfleet.ports import AssistantStore, BotRepository
from botfleet.services.auth import Principal
from botfleet.views import assistant_action_view, bot_summary_view

ADMIN_TOOLS = tuple(tool.name for tool in ai.TOOLS if tool.admin)


class Confirmations:
    def __init__(self, store: AssistantStore, bots: BotRepository, clock: Clock, *, bot_service: Any, admin: Any,
                 auth: Any, audit: Any, confirmation_seconds: int = ai.CONFIRMATION_SECONDS):
        self.store = store
        self.bots = bots
        self.clock = clock
        self.bot_service = bot_service  # pause/resume/stop a caller's bot: the same code as the REST routes
        self.admin = admin  # the fleet-wide stop: the admin override, audited per bot
        self.auth = auth  # re-entered passwords (show admin), throttled like logins
        self.audit = audit
        # Never longer than the domain's limit, whatever the configuration says.
        self.confirmation_seconds = max(1, min(confirmation_seconds, ai.CONFIRMATION_SECONDS))

    def propose(self, principal: Principal, now: datetime, *, action_type: str, target: dict[str, Any],
                description: str, preview: dict[str, Any], proposed_by: str, request_id: str | None,
                needs_password: bool = False) -> dict[str, Any]:
        """Store a proposal with a fresh token's hash; the returned view is the only place the token appears."""
        user_id = principal.user_id
        action_id = new_id("act")
        token = ai.new_confirmation_token()
        digest = ai.action_digest(user_id, action_id, action_type, target)
        valid_until = int(now.timestamp()) + self.confirmation_seconds
        item = {"id": action_id, "type": action_type, "target": target, "description": description,
                "preview": preview, "status": "pending", "needs_password": needs_password,
                "token_hash": ai.token_hash(token, digest), "valid_until": valid_until,
                "created_at": iso(now), "proposed_by": proposed_by, "request_id": request_id}
        self.store.add_proposal(user_id, item, valid_until)
        self._audit(principal, "ai.action.proposed", item, request_id,
                    {"description": description, "proposed_by": proposed_by})
        return {**assistant_action_view(item), "confirmation_token": token}

    def execute(self, principal: Principal, action_id: str, token: str, password: str | None = None,
                request_id: str | None = None, source_ip: str | None = None) -> dict[str, Any]:
        user_id = principal.user_id
        proposal = self.store.proposal(user_id, action_id)
        if proposal is None:  # unknown, or someone else's: their proposals live in their own partition
            self.audit.record(principal, "ai.action.refused", f"ai_action:{action_id}", None,
                              {"why": "unknown action (or another user's)"}, request_id)
            raise NotFound(f"action {action_id} not found", code="action_not_found")
        self._check_pending(principal, proposal, request_id)
        digest = ai.action_digest(user_id, proposal["id"], proposal["type"], proposal["target"])
        if not ai.token_matches(token, digest, proposal["token_hash"]):
            self._audit(principal, "ai.action.refused", proposal, request_id, {"why": "wrong confirmation token"})
            raise Forbidden("the confirmation token does not match this action", code="invalid_confirmation")
        self._check_may_run(principal, proposal, password, request_id, source_ip)
        now = int(self.clock.now().timestamp())
        if not self.store.transition(user_id, action_id, to="executing", token_hash=proposal["token_hash"],
                                     valid_after_epoch=now):
            # Someone else confirmed it first (or it lapsed this instant): tell which, change nothing.
            self._check_pending(principal, self.store.proposal(user_id, action_id) or proposal, request_id)
            raise Conflict("this action was confirmed already", code="action_used")
        self._audit(principal, "ai.action.confirmed", proposal, request_id, None)
        try:
            result = self._run(principal, proposal, request_id)
        except BotfleetError as exc:
            self.store.transition(user_id, action_id, expect="executing", to="failed",
                                  result={"error": {"code": exc.code, "message": exc.message}})
            self._audit(principal, "ai.action.failed", proposal, request_id, {"error": exc.message})
            self._say(principal, f"{proposal['description']}: not done ({exc.message}).", proposal, "failed")
            raise
        self.store.transition(user_id, action_id, expect="executing", to="done", result=result)
        self._audit(principal, "ai.action.executed", proposal, request_id, result)
        self._say(principal, f"Done: {_outcome(proposal, result)}", proposal, "done")
        return {"action_id": action_id, "type": proposal["type"], "status": "done", "result": result}

    def cancel(self, principal: Principal, action_id: str, request_id: str | None = None) -> dict[str, Any]:
        proposal = self.store.proposal(principal.user_id, action_id)
        if proposal is None:
            raise NotFound(f"action {action_id} not found", code="action_not_found")
        self._check_pending(principal, proposal, request_id)
        if not self.store.transition(principal.user_id, action_id, to="cancelled"):
            self._check_pending(principal, self.store.proposal(principal.user_id, action_id) or proposal,
                                request_id)
            raise Conflict("this action changed meanwhile; look again", code="action_used")
        self._audit(principal, "ai.action.cancelled", proposal, request_id, None)
        self._say(principal, f"Cancelled: {proposal['description']}.", proposal, "cancelled")
        return {"action_id": action_id, "status": "cancelled"}

    def cancel_pending(self, principal: Principal, request_id: str | None, why: str) -> None:
        for proposal in self.store.pending_proposals(principal.user_id):
            if self.store.transition(principal.user_id, proposal["id"], to="cancelled"):
                self._audit(principal, "ai.action.cancelled", proposal, request_id, {"why": why})

    def _check_pending(self, principal: Principal, proposal: dict[str, Any], request_id: str | None) -> None:
        """409 for a proposal already used or cancelled, 410 for an expired one (recorded as expired the first
        time anyone notices); each refusal audited."""
        status = proposal.get("status")
        now = int(self.clock.now().timestamp())
        if status == "pending" and int(proposal["valid_until"]) <= now:
            if self.store.transition(principal.user_id, proposal["id"], to="expired"):
                self._audit(principal, "ai.action.expired", proposal, request_id, None)
            status = "expired"
        if status == "pending":
            return
        if status == "expired":
            self._audit(principal, "ai.action.refused", proposal, request_id, {"why": "expired"})
            raise Gone("this confirmation has expired; ask again", code="action_expired")
        why = "cancelled" if status == "cancelled" else "already used"
        self._audit(principal, "ai.action.refused", proposal, request_id, {"why": why})
        raise Conflict(f"this action was {'cancelled' if status == 'cancelled' else 'confirmed already'}",
                       code="action_cancelled" if status == "cancelled" else "action_used")

    def _check_may_run(self, principal: Principal, proposal: dict[str, Any], password: str | None,
                       request_id: str | None, source_ip: str | None) -> None:
        """The role is checked again at confirmation: a role can change in two minutes."""
        if proposal["type"] in ("show_admin", "fleet_emergency_stop") and not principal.is_admin:
            self._audit(principal, "ai.action.refused", proposal, request_id, {"why": "admin role required"})
            raise Forbidden("this needs the admin role", code="admin_required")
        if proposal["type"] == "fleet_emergency_stop":
            memory = self.store.memory(principal.user_id)
            until = memory.get("admin_unlocked_until")
            if until is None or int(until) <= self.clock.now().timestamp():
                self._audit(principal, "ai.action.refused", proposal, request_id, {"why": "admin tools locked"})
                raise Forbidden("the admin tools are locked; say \"show admin\" again", code="admin_locked")
        if proposal["type"] == "show_admin":
            if not password:
                raise Unprocessable("password", "is required to show admin", code="password_required")
            try:
                self.auth.confirm_password(principal, password, source_ip)
            except BotfleetError:  # wrong (403) or throttled (429): refused either way, and on the record
                self._audit(principal, "ai.action.refused", proposal, request_id, {"why": "password not accepted"})
                raise

    def _run(self, principal: Principal, proposal: dict[str, Any], request_id: str | None) -> dict[str, Any]:
        """The server's own code for each action type; nothing here comes from a model."""
        kind, target = proposal["type"], proposal["target"]
        if kind in ("pause_bot", "resume_bot"):
            shown = target.get("status")
            now = self.bot_service.get(principal, target["bot_id"])
            if shown is not None and now.status != shown:
                raise Conflict(f"{now.name} is {now.status} now, not {shown} as when this was proposed; ask again",
                               code="action_stale")
            bot = self.bot_service.lifecycle(principal, target["bot_id"], kind.removesuffix("_bot"))
            return {"bot": {"id": bot.id, "name": bot.name, "status": bot.status}}
        if kind == "emergency_stop":
            return self._stop(self.bots.all_of_owner(principal.user_id),
                              lambda bot, action: self.bot_service.lifecycle(principal, bot.id, action),
                              shown=target.get("bots"))
        if kind == "fleet_emergency_stop":
            return self._stop(self.bots.whole_fleet(),
                              lambda bot, action: self.admin.bot_action(principal, bot.id, action, {}, request_id))
        if kind == "show_admin":
            until = self.clock.now() + timedelta(seconds=ai.ADMIN_UNLOCK_SECONDS)
            memory = self.store.memory(principal.user_id)
            self.store.save_memory(principal.user_id, {**memory, "admin_unlocked_until": int(until.timestamp())})
            return {"admin_tools": list(ADMIN_TOOLS), "unlocked_until": iso(until)}
        raise NotFound(f"unknown action type {kind}")

    @staticmethod
    def _stop(bots: list[Any], act, shown: dict[str, str] | None = None) -> dict[str, Any]:
        """Pause every running bot and stop every quarantined one (its quarantine would redeploy it); one bot
        that cannot be changed is reported and the rest still stop. With `shown` (bot id → the status the preview
        showed) only those bots, and each only if it is still in that status: the rest are `skipped`."""
        paused, stopped, failed, skipped = [], [], [], []
        for bot in bots:
            action = {"running": "pause", "quarantined": "stop"}.get(bot.status)
            if shown is not None and bot.id in shown and shown[bot.id] != bot.status:
                skipped.append({"id": bot.id, "name": bot.name, "status": bot.status, "was": shown[bot.id]})
                continue
            if action is None or (shown is not None and bot.id not in shown):
                continue
            try:
                act(bot, action)
            except BotfleetError as exc:
                failed.append({"id": bot.id, "name": bot.name, "error": exc.message})
                continue
            (paused if action == "pause" else stopped).append({"id": bot.id, "name": bot.name})
        return {"paused": paused, "stopped": stopped, "failed": failed} | ({"skipped": skipped} if shown is not None
                                                                            else {})

    def _say(self, principal: Principal, text: str, proposal: dict[str, Any], status: str) -> None:
        """An action's outcome joins the conversation (and so reaches the dashboard live)."""
        now = self.clock.now()
        action = {"id": proposal["id"], "type": proposal["type"], "status": status}
        self.store.append_message(principal.user_id, ai.conversation_message(
            f"{new_id('msg')}-0", "assistant", text, iso(now), source="action", actions=[action]),
            int(now.timestamp()))

    def expire_stale(self, principal: Principal, now: datetime, request_id: str | None) -> None:
        """Proposals nobody answered in time: recorded as expired (and audited) once."""
        for proposal in self.store.pending_proposals(principal.user_id):
            if int(proposal["valid_until"]) <= now.timestamp() and self.store.transition(
                    principal.user_id, proposal["id"], to="expired"):
                self._audit(principal, "ai.action.expired", proposal, request_id, None)

    def _audit(self, principal: Principal, action: str, proposal: dict[str, Any], request_id: str | None,
               details: dict[str, Any] | None) -> None:
        after = {"type": proposal["type"], "target": proposal["target"], **(details or {})}
        self.audit.record(principal, action, f"ai_action:{proposal['id']}", None, after, request_id)



def stop_preview(bots: list[Any], *, owners: bool = False) -> dict[str, Any]:
    """Exactly what a stop would touch now: each bot, what happens to it, its position and open orders."""
    touched = []
    for bot in bots:
        will = {"running": "pause", "quarantined": "stop"}.get(bot.status)
        if will:
            touched.append({**bot_summary_view(bot), "will": will} | ({"owner_id": bot.owner_id} if owners else {}))
    preview = {"bots": touched, "pause": sum(b["will"] == "pause" for b in touched),
               "stop": sum(b["will"] == "stop" for b in touched),
               "untouched": len(bots) - len(touched)}
    if owners:
        preview["owners"] = len({b["owner_id"] for b in touched})
    return preview


def _outcome(proposal: dict[str, Any], result: dict[str, Any]) -> str:
    if "bot" in result:
        return f"{result['bot']['name']} is {result['bot']['status']}."
    if "paused" in result:
        failed = f", {len(result['failed'])} could not be changed" if result["failed"] else ""
        skipped = (f", {len(result['skipped'])} changed since the preview and were left as they are"
                   if result.get("skipped") else "")
        return f"paused {len(result['paused'])} and stopped {len(result['stopped'])} bot(s){failed}{skipped}."
    if "unlocked_until" in result:
        return f"the admin tools are unlocked until {result['unlocked_until']}."
    return proposal["description"]

