"""WebSocket sessions and the broadcast of table changes to their owners' connections."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from botfleet.clock import Clock, iso
from botfleet.ports import ConnectionPublisher, TableChange
from botfleet.services.auth import AuthService, Principal
from botfleet.views import LIVE_EVENTS

log = logging.getLogger(__name__)

TOPICS = ("trades", "bots", "quarantine", "training", "metrics", "assistant")
SCOPES = ("own", "fleet")  # fleet: every user's events, admins only
MAX_MESSAGE_CHARS = 4096  # a subscribe is ~100 characters; API Gateway itself allows 128 KB
CONNECTION_TTL = timedelta(hours=2)  # API Gateway closes WebSocket connections after 2 h anyway


class WebSocketSessions:
    """The ws function: authenticate at connect, remember the connection, answer ping and subscribe."""

    def __init__(self, auth: AuthService, connections: Any, publisher: ConnectionPublisher, clock: Clock):
        self.auth = auth
        self.connections = connections
        self.publisher = publisher
        self.clock = clock

    def connect(self, connection_id: str, token: str | None) -> Principal:
        principal = self.auth.authenticate(token)
        now = self.clock.now()
        self.connections.add(connection_id, principal.user_id, principal.role, iso(now),
                             int((now + CONNECTION_TTL).timestamp()))
        return principal

    def disconnect(self, connection_id: str) -> None:
        self.connections.remove(connection_id)

    def message(self, connection_id: str, body: str | None) -> None:
        reply = self._reply(connection_id, body)
        if not self.publisher.send(connection_id, reply):
            self.connections.remove(connection_id)

    def _reply(self, connection_id: str, body: str | None) -> dict[str, Any]:
        if body and len(body) > MAX_MESSAGE_CHARS:
            return _error("too_large", f"messages are at most {MAX_MESSAGE_CHARS} characters")
        try:
            message = json.loads(body or "")
        except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
            return _error("bad_request", "messages are JSON objects with an action")
        action = message.get("action") if isinstance(message, dict) else None
        if action == "ping":
            return {"type": "pong", "ts": iso(self.clock.now())}
        if action == "subscribe":
            return self._subscribe(connection_id, message)
        return _error("unknown_action", f"unknown action {str(action)[:40]!r}; use ping or subscribe")

    def _subscribe(self, connection_id: str, message: dict[str, Any]) -> dict[str, Any]:
        topics, scope = message.get("topics"), message.get("scope", "own")
        if not isinstance(topics, list) or not topics or not all(isinstance(t, str) and t in TOPICS for t in topics):
            return _error("validation_error", f"topics: a non-empty list of {', '.join(TOPICS)}")
        if scope not in SCOPES:
            return _error("validation_error", f"scope: one of {', '.join(SCOPES)}")
        topics = sorted(set(topics))
        if scope == "fleet":
            connection = self.connections.get(connection_id)
            if not connection or connection.get("role") != "admin":
                # Refused, and the connection keeps (or gets) the caller's own events for these topics.
                self.connections.set_topics(connection_id, topics)
                return _error("forbidden", "scope fleet needs the admin role; you receive your own events")
        self.connections.set_topics(connection_id, topics, fleet=scope == "fleet")
        return {"type": "subscribed", "data": {"topics": topics, "scope": scope}, "ts": iso(self.clock.now())}


class ConnectionCloser:
    """Closes every open WebSocket of a user. The one place for it: logout (auth), block, force logout, password
    reset and account deletion (admin) all end the user's live sessions this way."""

    def __init__(self, connections: Any, publisher: ConnectionPublisher):
        self.connections = connections
        self.publisher = publisher

    def close_all(self, user_id: str) -> int:
        """Close and forget each connection; returns how many there were."""
        closed = 0
        for connection in self.connections.for_user(user_id):
            self.publisher.disconnect(connection["connection_id"])
            # Removed here too: $disconnect would remove it, but only once the gateway gets round to it.
            self.connections.remove(connection["connection_id"])
            closed += 1
        return closed


class Broadcaster:
    """The broadcaster function: table changes → events on their owners' subscribed connections.
    Needs no signing key: it never authenticates anyone, it only reads who is connected."""

    def __init__(self, connections: Any, publisher: ConnectionPublisher, clock: Clock,
                 decode: Callable[[list[dict[str, Any]]], list[TableChange]]):
        self.connections = connections
        self.publisher = publisher
        self.clock = clock
        self.decode = decode  # the stream's records → TableChanges (adapters/dynamo/stream.py)

    def broadcast(self, records: list[dict[str, Any]]) -> int:
        """Turn stream records into events and deliver each to its owner's subscribed connections.
        Returns the number of messages delivered. Gone connections are removed."""
        by_owner: dict[str, list[tuple[str, dict[str, Any], bool]]] = {}
        for change in self.decode(records):
            event = self._event_for(change)
            if event:
                owner, topic, message, private = event
                by_owner.setdefault(owner, []).append((topic, message, private))
        delivered = 0
        watchers = self.connections.fleet_watchers() if by_owner else []
        for owner, events in by_owner.items():
            recipients = {c["connection_id"]: c for c in [*self.connections.for_user(owner), *watchers]}
            for connection in recipients.values():
                topics = connection.get("topics") or TOPICS  # not subscribed yet: everything of one's own
                for topic, message, private in events:
                    if topic not in topics or (private and connection.get("user_id") != owner):
                        continue
                    if not self.publisher.send(connection["connection_id"], message):
                        self.connections.remove(connection["connection_id"])
                        watchers = [w for w in watchers if w["connection_id"] != connection["connection_id"]]
                        break
                    delivered += 1
        return delivered

    def _event_for(self, change: TableChange) -> tuple[str, str, dict[str, Any], bool] | None:
        """(owner, topic, message, private) for a change the dashboard shows (views.LIVE_EVENTS), else None."""
        current = change.current
        live = LIVE_EVENTS.get(current.get("entity", ""))
        if live is None or (live.inserts_only and change.event != "INSERT"):
            return None
        data = live.view(change)
        if data is None:
            return None
        message = {"type": live.type, "data": data, "ts": iso(self.clock.now())}
        return current["owner_id"], live.topic, message, live.private


def _error(code: str, message: str) -> dict[str, Any]:
    # `data` is the contract's place (API.md, WebSocket); `error` stays for clients written before it.
    detail = {"code": code, "message": message}
    return {"type": "error", "data": detail, "error": detail}

