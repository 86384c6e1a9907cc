"""Admin actions on users and bots. Every one is written to the audit trail with what it changed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from botfleet.clock import Clock, iso
from botfleet.domain.bots import ADMIN_HOLD, MODES, Bot, check_capital
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.users import check_password_strength, generate_password
from botfleet.errors import AdminGone, Conflict, NotFound, Unauthorized, Unprocessable, WriteConflict
from botfleet.ids import new_id
from botfleet.ports import AuditLog
from botfleet.services.accounts import AccountRemoval
from botfleet.services.auth import Principal
from botfleet.views import bot_view, user_view


def admin_user_view(user: dict[str, Any]) -> dict[str, Any]:
    return {**user_view(user), "blocked": bool(user.get("blocked"))}


class AuditTrail:
    """Who did what to what, when, with the state before and after. Never holds secrets."""

    def __init__(self, log: AuditLog, clock: Clock):
        self.log = log
        self.clock = clock

    def record(self, actor: Principal | str, action: str, target: str, before: Any = None, after: Any = None,
               request_id: str | None = None) -> dict[str, Any]:
        entry = {
            "id": new_id("aud"), "actor": actor.user_id if isinstance(actor, Principal) else actor,
            "actor_email": actor.email if isinstance(actor, Principal) else None, "action": action,
            "target": target, "before": before, "after": after, "request_id": request_id,
            "ts": iso(self.clock.now()),
        }
        self.log.append(entry)
        return entry


class AdminService:
    def __init__(self, users: Any, bots: Any, sessions: Any, hasher: Any, audit: AuditTrail,
                 clock: Clock, keys: Any = None, quarantine: Any = None):
        self.users = users
        self.bots = bots
        self.sessions = sessions  # closes a user's open WebSockets (services.realtime.ConnectionCloser)
        self.hasher = hasher
        self.audit = audit
        self.clock = clock
        self.keys = keys  # the key vault service, to check live mode has keys (None: no vault configured)
        self.quarantine = quarantine

    # --- users -----------------------------------------------------------------------------------
    # Reads are audited too (the contract: every admin call): who looked through every user's email, every bot
    # and the log itself. After the read, so a listing of the log does not show its own entry.
    def list_users(self, admin: Principal, limit: int, cursor: str | None, request_id: str | None = None):
        items, next_cursor = self.users.list_all(limit, cursor)
        self.audit.record(admin, "admin.users.list", "users", None, {"count": len(items), "page": bool(cursor)},
                          request_id)
        return [admin_user_view(user) for user in items], next_cursor

    def audit_entries(self, admin: Principal, limit: int, cursor: str | None, filters: dict[str, str | None],
                      request_id: str | None = None):
        items, next_cursor = self.audit.log.list(limit, cursor, **filters)
        self.audit.record(admin, "admin.audit.read", "audit", None,
                          {**{key: value for key, value in filters.items() if value}, "count": len(items),
                           "page": bool(cursor)}, request_id)
        return items, next_cursor

    def _user(self, user_id: str) -> dict[str, Any]:
        user = self.users.get(user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        return user

    def _not_self(self, admin: Principal, user_id: str, action: str) -> None:
        if admin.user_id == user_id:
            raise Conflict(f"an admin cannot {action} their own account", code="self_action")

    @staticmethod
    def _keeper(admin: Principal, target: dict[str, Any], ends_access: bool) -> str | None:
        """When an admin blocks or deletes another admin, the write holds only while the acting admin can still
        act: two admins doing it to each other at the same instant cannot both succeed and leave no admin."""
        return admin.user_id if ends_access and target.get("role") == "admin" else None

    @contextmanager
    def _while_acting(self, admin: Principal, user_id: str) -> Iterator[None]:
        """A write's failed condition, told apart: the acting admin was blocked or deleted meanwhile (their token
        is revoked: 401, as their next request would hear), or the user went meanwhile (404)."""
        try:
            yield
        except AdminGone:
            raise Unauthorized("the access token is revoked", code="token_revoked") from None
        except WriteConflict:
            if self.users.get(user_id) is None:
                raise NotFound(f"user {user_id} not found") from None
            raise

    def _close_connections(self, user_id: str) -> int:
        # None where the function has no @connections endpoint (the assistant uses only the bot overrides).
        return self.sessions.close_all(user_id) if self.sessions is not None else 0

    def reset_password(self, admin: Principal, user_id: str, new_password: str | None, request_id: str | None):
        # Not their own: an admin's token alone (stolen, left open) must not set the account's password for good,
        # past the current password that POST /api/auth/password asks for and its throttle.
        self._not_self(admin, user_id, "reset the password of")
        user = self._user(user_id)
        temporary = new_password is None
        password = new_password if new_password is not None else generate_password(user["email"])
        check_password_strength(password, user["email"], field="new_password")
        self.users.update_fields(user_id, {"password_hash": self.hasher.hash(password),
                                           "must_change_password": temporary}, revoke_tokens=True)
        self._close_connections(user_id)
        self.audit.record(admin, "user.reset_password", f"user:{user_id}", None,
                          {"temporary": temporary, "sessions_revoked": True}, request_id)
        return {"user_id": user_id, "temporary_password": password} if temporary else {"user_id": user_id}

    def set_blocked(self, admin: Principal, user_id: str, blocked: bool, request_id: str | None):
        self._not_self(admin, user_id, "block" if blocked else "unblock")
        user = self._user(user_id)
        with self._while_acting(admin, user_id):
            updated = self.users.update_fields(user_id, {"blocked": blocked}, revoke_tokens=blocked,
                                               while_admin=self._keeper(admin, user, blocked))
        closed = self._close_connections(user_id) if blocked else 0
        self.audit.record(admin, "user.block" if blocked else "user.unblock", f"user:{user_id}",
                          {"blocked": bool(user.get("blocked"))}, {"blocked": blocked, "connections_closed": closed},
                          request_id)
        return admin_user_view(updated)

    def force_logout(self, admin: Principal, user_id: str, request_id: str | None):
        user = self._user(user_id)
        self.users.update_fields(user_id, {"forced_logout_at": iso(self.clock.now())}, revoke_tokens=True)
        closed = self._close_connections(user_id)
        self.audit.record(admin, "user.logout", f"user:{user_id}",
                          {"token_version": int(user.get("token_version", 0))},
                          {"token_version": int(user.get("token_version", 0)) + 1, "connections_closed": closed},
                          request_id)
        return {"user_id": user_id, "sessions_revoked": True, "connections_closed": closed}

    def delete_user(self, admin: Principal, user_id: str, request_id: str | None):
        """Bots are stopped, then everything of the user is removed (services.accounts); the audit trail stays."""
        self._not_self(admin, user_id, "delete")
        user = self._user(user_id)
        with self._while_acting(admin, user_id):
            removed = AccountRemoval(self.users, self.bots, self.clock, self._close_connections).remove(
                user, while_admin=self._keeper(admin, user, True))
        self.audit.record(admin, "user.delete", f"user:{user_id}", admin_user_view(user), removed, request_id)

    # --- bots ------------------------------------------------------------------------------------
    def list_bots(self, admin: Principal, limit: int, cursor: str | None, request_id: str | None = None):
        bots, next_cursor = self.bots.list_all(limit, cursor)
        self.audit.record(admin, "admin.bots.list", "bots", None, {"count": len(bots), "page": bool(cursor)},
                          request_id)
        return [{**bot_view(bot), "owner_id": bot.owner_id} for bot in bots], next_cursor

    def _bot(self, bot_id: str) -> Bot:
        bot = self.bots.get_any(bot_id)
        if bot is None:
            raise NotFound(f"bot {bot_id} not found")
        return bot

    def bot_action(self, admin: Principal, bot_id: str, action: str, body: dict[str, Any], request_id: str | None):
        """mode {mode}, pause, resume, restart, exchange {exchange}: an override of the owner's settings."""
        owner_id = self._bot(bot_id).owner_id
        try:
            result = self.bots.mutate(owner_id, bot_id, lambda bot: self._apply(bot, action, body))
        except WriteConflict:
            raise Conflict("the bot keeps changing; try again", code="concurrent_update") from None
        if result is None:
            raise NotFound(f"bot {bot_id} not found")
        bot, saved = result
        if bot.status == "quarantined" and saved.status != "quarantined" and self.quarantine:
            # an admin put it back (or paused it): its quarantine stops
            self.quarantine.release(bot, "paused by an admin" if saved.status == "paused" else
                                    "put back in the market by an admin")
        before = {key: bot_view(bot)[key] for key in ("status", "pause_reason", "mode", "exchange", "symbol")}
        after = {key: bot_view(saved)[key] for key in before}
        self.audit.record(admin, f"bot.{action}", f"bot:{bot_id}", before, after, request_id)
        return {**bot_view(saved), "owner_id": saved.owner_id}

    def _apply(self, bot: Bot, action: str, body: dict[str, Any]) -> Bot:
        now = iso(self.clock.now())
        if action == "pause":
            return bot.paused(ADMIN_HOLD, now)
        if action == "resume":
            return bot.resumed(now)
        if action == "stop":
            # Not a REST action: the assistant's fleet-wide emergency stop, for bots that cannot be paused (a
            # quarantined bot would otherwise be redeployed by its quarantine later).
            return bot.stopped(ADMIN_HOLD, now)
        if action == "restart":
            return bot.restarted(now)
        if action == "mode":
            mode = body.get("mode")
            if mode not in MODES:
                raise Unprocessable("mode", f"must be one of {', '.join(MODES)}")
            if mode == "live" and not self._has_keys(bot.owner_id, bot.exchange):
                raise Conflict(f"the owner has no {bot.exchange} API key stored; live mode needs one",
                               code="api_key_required")
            return replace(bot, mode=mode, updated_at=now)
        if action == "exchange":
            exchange = get_exchange(body.get("exchange", ""))
            exchange.rules(bot.symbol)  # 422 naming the symbol when the new exchange doesn't list it
            if bot.ledger.base_total > 0 or bot.orders:
                raise Conflict("the bot holds a position or open orders on its exchange; flatten it first",
                               code="position_open")
            check_capital(exchange.id, bot.symbol, bot.ledger.quote_total)
            return replace(bot, exchange=exchange.id, updated_at=now)
        raise NotFound(f"unknown bot action {action}")

    def _has_keys(self, user_id: str, provider: str) -> bool:
        return bool(self.keys and self.keys.is_configured(user_id, provider))
