"""Removing an account and everything in it. The owner deletes their own (DELETE /api/auth/me, AccountService); an
admin deletes anyone else's (DELETE /api/admin/users/{id}, services.admin). Both go through AccountRemoval, the one
definition of what "everything" is."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

from botfleet.clock import Clock, iso
from botfleet.domain.bots import Bot, UnreadableBot
from botfleet.errors import AdminGone, Conflict, Unauthorized, WriteConflict
from botfleet.ports import BotRepository, UserAccounts
from botfleet.services.auth import AuthService, Principal
from botfleet.views import user_view

#: The pause reason a bot is stopped with when its owner's account goes (the stream shows it for a moment).
ACCOUNT_DELETED = "account_deleted"
#: How often an admin deleting their own account looks for another admin to leave in charge, when the one found
#: stops being able to act (blocked, deleted) between the look and the write.
LAST_ADMIN_ATTEMPTS = 3


def last_admin() -> Conflict:
    return Conflict("the last admin cannot delete their account: make another user an admin first",
                    code="last_admin")


class AccountRemoval:
    """`close_connections` closes the user's open WebSockets and says how many there were; None where the function
    cannot reach the @connections endpoint."""

    def __init__(self, users: UserAccounts, bots: BotRepository, clock: Clock,
                 close_connections: Callable[[str], int] | None):
        self.users = users
        self.bots = bots
        self.clock = clock
        self.close_connections = close_connections

    def remove(self, user: dict[str, Any], *, while_admin: str | None = None) -> dict[str, int]:
        """Tokens are revoked first, so nothing the user sends from here on lands; the bots are stopped, so no
        tick trades them while they go; then the bots with their trades, events and models (and the history the
        user's earlier deleted bots left), the open sockets, and the user's partition (profile, keys, injections,
        training runs, quarantine log, assistant data) with the email claim. The audit trail stays. Returns how
        much went.

        With `while_admin`, the first step (the block) happens only while that admin can still act: AdminGone when
        not (WriteConflict when the user is gone already), and nothing was changed."""
        user_id = user["id"]
        self.users.update_fields(user_id, {"blocked": True}, revoke_tokens=True, while_admin=while_admin)
        everything = self.bots.everything_of_owner(user_id)
        bots = [bot for bot in everything if isinstance(bot, Bot)]
        unreadable = [bot for bot in everything if isinstance(bot, UnreadableBot)]
        # Read before the partition goes: the bots deleted earlier are found through what it records about them.
        deleted_earlier = self.bots.ids_with_history(user_id) - {bot.id for bot in everything}
        for bot in bots:
            if bot.status != "stopped":
                # A tick that wrote the bot meanwhile doesn't matter: the bot is deleted next, and a later tick's
                # version-conditioned write cannot bring it back.
                with suppress(WriteConflict):
                    self.bots.save(bot.stopped(ACCOUNT_DELETED, iso(self.clock.now())))
            self.bots.purge_history(bot.id)
            self.bots.delete(bot)
        for corrupt in unreadable:  # stored state that cannot be read (the engine paused it): gone by its key
            self.bots.purge_history(corrupt.id)
            self.bots.remove(user_id, corrupt.id)
        for bot_id in sorted(deleted_earlier):  # a deleted bot's trades and events stay, until now
            self.bots.purge_history(bot_id)
        closed = self.close_connections(user_id) if self.close_connections is not None else 0
        items = self.users.delete_account(user)
        return {"bots_removed": len(bots) + len(unreadable), "items_removed": items, "connections_closed": closed}


class AccountService:
    """The owner's own account. `audit` is services.admin.AuditTrail.record (taken as a callable: the admin
    service builds on this module, not the other way round)."""

    def __init__(self, auth: AuthService, users: UserAccounts, removal: AccountRemoval, audit: Callable[..., Any]):
        self.auth = auth
        self.users = users
        self.removal = removal
        self.audit = audit

    def change_password(self, principal: Principal, current: str, new: str, *, source_ip: str | None = None,
                        request_id: str | None = None) -> tuple[dict[str, Any], str]:
        """The caller's own new password (AuthService.change_password), on the record: whether the old one was an
        admin reset's temporary password, and that every other session ended."""
        user, token = self.auth.change_password(principal, current, new, source_ip)
        self.audit(principal, "user.change_password", f"user:{principal.user_id}", None,
                   {"was_temporary": principal.must_change_password, "sessions_revoked": True}, request_id)
        return user, token

    def delete_own(self, principal: Principal, password: str, *, source_ip: str | None = None,
                   request_id: str | None = None) -> dict[str, int]:
        """The caller re-enters their password (403 `wrong_password`, throttled like a login, so a stolen token
        cannot delete the account nor guess the password faster than the login form). The last admin who can
        still act cannot go (409 `last_admin`): nobody could manage the platform any more."""
        self.auth.confirm_password(principal, password, source_ip)
        user = self.users.get(principal.user_id)
        if user is None:  # deleted by a concurrent request (or an admin) since the token was checked
            raise Unauthorized("the access token is revoked", code="token_revoked")
        removed = self._remove_leaving_an_admin(user) if user.get("role") == "admin" else self.removal.remove(user)
        self.audit(principal, "user.delete_self", f"user:{user['id']}", user_view(user), removed, request_id)
        return removed

    def _remove_leaving_an_admin(self, user: dict[str, Any]) -> dict[str, int]:
        """An admin goes only while another admin who can act stays, checked in the write that blocks them: two
        admins deleting their accounts at the same instant each see the other, and one of them gets 409."""
        for _ in range(LAST_ADMIN_ATTEMPTS):
            keeper = self.users.another_admin(user["id"])
            if keeper is None:
                raise last_admin()
            try:
                return self.removal.remove(user, while_admin=keeper)
            except AdminGone:
                continue  # that admin was blocked or deleted between the look and the write: look again
            except WriteConflict:
                if self.users.get(user["id"]) is None:
                    raise Unauthorized("the access token is revoked", code="token_revoked") from None
                raise
        raise last_admin()
