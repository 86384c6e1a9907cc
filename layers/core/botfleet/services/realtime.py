"""WebSocket sessions and the broadcast of table changes to their owners' connections."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from botfleet.clock import Clock, iso
from botfleet.errors import Forbidden, Unauthorized
from botfleet.ports import ConnectionPublisher, PostRefusedForNow, TableChange
from botfleet.services.auth import AuthService, Principal
from botfleet.views import LIVE_EVENTS

log = logging.getLogger(__name__)

TOPICS = ("trades", "bots", "quarantine", "training", "metrics", "assistant")
SCOPES = ("own", "fleet")  # fleet: every user's events, admins only
MAX_MESSAGE_CHARS = 4096  # a subscribe is ~100 characters; API Gateway itself allows 128 KB
CONNECTION_TTL = timedelta(hours=2)  # API Gateway closes WebSocket connections after 2 h anyway


class WebSocketSessions:
    """The ws function: authenticate at connect, remember the connection, answer ping and subscribe."""

    REPLY_ATTEMPTS = 3

    def __init__(self, auth: AuthService, connections: Any, publisher: ConnectionPublisher, clock: Clock,
                 timer: Timer | None = None):
        self.auth = auth
        self.connections = connections
        self.publisher = publisher
        self.clock = clock
        self.timer = timer or MonotonicTimer()

    def connect(self, connection_id: str, token: str | None) -> Principal:
        principal = self.auth.authenticate(token)
        if principal.must_change_password:
            # As over REST: a temporary password from an admin's reset opens nothing but the password change (the
            # socket would stream the account's trades and private assistant replies to whoever holds it).
            raise Forbidden("choose a password of your own first: this one was a temporary password",
                            code="password_change_required")
        now = self.clock.now()
        self.connections.add(connection_id, principal.user_id, principal.role, iso(now),
                             int((now + CONNECTION_TTL).timestamp()), principal.token_version)
        # Checked again now that the connection is on record: a block, logout or reset that came between the
        # check above and the write did not see it to close it (ConnectionCloser revokes first, then closes what
        # it finds), but is seen here, so the handshake is refused.
        if not self.auth.still_signed_in(principal.user_id, principal.token_version):
            self.connections.remove(connection_id)
            raise Unauthorized("the access token is revoked", code="token_revoked")
        return principal

    def disconnect(self, connection_id: str) -> None:
        self.connections.remove(connection_id)

    def message(self, connection_id: str, body: str | None) -> None:
        connection = self.connections.get(connection_id)
        if connection is None or not self.auth.still_signed_in(connection["user_id"],
                                                               int(connection.get("token_version", 0))):
            # Forgotten (closed by a logout or block, expired) or its session revoked since it opened: the socket
            # is closed rather than answered, so whatever slipped past the closing of the account's sockets lasts
            # at most until its next message (the dashboard pings every 35 s of silence).
            self.publisher.disconnect(connection_id)
            if connection is not None:
                self.connections.remove(connection_id)
            return
        reply = self._reply(connection, body)
        for attempt in range(self.REPLY_ATTEMPTS):
            try:
                if not self.publisher.send(connection_id, reply):
                    self.connections.remove(connection_id)
                return
            except PostRefusedForNow as refused:
                # The account's @connections throttle is shared with the broadcaster: a short wait usually does.
                if attempt + 1 == self.REPLY_ATTEMPTS:
                    log.warning("reply refused for now; not sent", extra={"throttled": refused.throttled})
                    return
                self.timer.sleep(0.05 * 2 ** attempt)

    def _reply(self, connection: dict[str, Any], body: str | None) -> dict[str, Any]:
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
            return self._subscribe(connection, message)
        return _error("unknown_action", f"unknown action {str(action)[:40]!r}; use ping or subscribe")

    def _subscribe(self, connection: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        connection_id = connection["connection_id"]
        topics, scope = message.get("topics"), message.get("scope", "own")
        batch = message.get("batch", False)
        if not isinstance(topics, list) or not topics or not all(isinstance(t, str) and t in TOPICS for t in topics):
            return _error("validation_error", f"topics: a non-empty list of {', '.join(TOPICS)}")
        if scope not in SCOPES:
            return _error("validation_error", f"scope: one of {', '.join(SCOPES)}")
        if not isinstance(batch, bool):
            return _error("validation_error", "batch: true or false")
        topics = sorted(set(topics))
        if scope == "fleet" and connection.get("role") != "admin":
            # Refused, and the connection keeps (or gets) the caller's own events for these topics.
            self.connections.set_topics(connection_id, topics, batch=batch)
            return _error("forbidden", "scope fleet needs the admin role; you receive your own events")
        self.connections.set_topics(connection_id, topics, fleet=scope == "fleet", batch=batch)
        return {"type": "subscribed", "data": {"topics": topics, "scope": scope, "batch": batch},
                "ts": iso(self.clock.now())}


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


# --- the broadcaster's fan-out -------------------------------------------------------------------------------------
#
# API Gateway's quotas. https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html ("API Gateway
# account-level quotas, per Region"): 10,000 requests per second per account and region (a token bucket of 5,000
# for bursts; 2,500/s with 1,250 in af-south-1 and some newer regions), across REST, HTTP and WebSocket APIs and
# the WebSocket callback (@connections) API, so our REST traffic and the ws function's replies share it too.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html:
# message payload 128 KB (API Gateway sends it in frames of 32 KB, which clients reassemble).
POSTS_PER_SECOND = 10_000
POST_CONCURRENCY = 32  # posts in flight per broadcaster instance (docs/websocket.md, "Fan-out at scale")
MAX_MESSAGE_BYTES = 120 * 1024  # under the 128 KB payload limit, with room to spare
BATCH_OVER = 1  # a batching connection owed more events than this by one invocation gets them in batch messages
LOOKUPS_IN_FLIGHT = 8  # connection lookups at once: below botocore's default of 10 pooled DynamoDB connections


class Timer(Protocol):
    """Monotonic seconds and a way to wait: the fan-out's pacing takes it injected (tests pass a fake)."""

    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class MonotonicTimer:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(slots=True)
class TokenBucket:
    """`rate` tokens a second, at most `capacity` saved up (pure: `now` is passed in). A post reserves a token and
    waits until it is due, so callers queue in order instead of polling, and over any interval of t seconds no
    more than capacity + rate·t posts begin."""

    rate: float
    capacity: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, capacity: float, now: float) -> TokenBucket:
        return cls(rate, capacity, capacity, now)

    def reserve(self, now: float) -> float:
        """Take the next token; returns how many seconds from `now` until it is due (0: now)."""
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class RateLimiter:
    """A TokenBucket shared by the pool's threads: the reservation under a lock, the wait outside it."""

    def __init__(self, rate: float, capacity: float, timer: Timer):
        self.timer = timer
        self._bucket = TokenBucket.full(rate, capacity, timer.monotonic())
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            wait = self._bucket.reserve(self.timer.monotonic())
        if wait > 0:
            self.timer.sleep(wait)


@dataclass(frozen=True)
class FanOutPolicy:
    """How the broadcaster posts (docs/websocket.md, "Fan-out at scale")."""

    concurrency: int = POST_CONCURRENCY
    posts_per_second: float = POSTS_PER_SECOND  # this instance's share of the account's @connections quota
    burst: int | None = None  # posts a quiet instance may start at once; None: a tenth of a second's worth
    max_message_bytes: int = MAX_MESSAGE_BYTES
    batch_over: int = BATCH_OVER
    attempts: int = 5  # per message, when @connections refuses it for now (429, a brief 5xx)
    backoff_s: float = 0.05  # first retry's ceiling; doubles per attempt (full jitter), up to backoff_cap_s
    backoff_cap_s: float = 1.0

    def __post_init__(self):
        if self.concurrency < 1 or self.posts_per_second <= 0 or self.attempts < 1 or self.batch_over < 1:
            raise ValueError("concurrency, posts_per_second, attempts and batch_over must be positive")
        if not 1024 <= self.max_message_bytes <= 128 * 1024:
            raise ValueError("max_message_bytes: between 1 KiB and API Gateway's 128 KB")

    @property
    def capacity(self) -> float:
        return float(self.burst if self.burst is not None else max(1, round(self.posts_per_second / 10)))


@dataclass
class FanOutReport:
    """What one broadcast did; `delivered` counts events, `posts` messages (a batch is one post)."""

    delivered: int = 0
    posts: int = 0
    connections: int = 0
    gone: int = 0
    retried: int = 0  # posts refused for now and tried again
    throttled: int = 0  # of those, refused by the @connections throttle
    failed: int = 0  # messages not sent: the one given up on and its connection's later ones
    oversize: int = 0  # events larger than a message may be: never sent

    def add(self, other: FanOutReport) -> None:
        for name in ("delivered", "posts", "gone", "retried", "throttled", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True, slots=True)
class _Encoded:
    message: dict[str, Any]
    size: int  # bytes of its compact JSON, as the publisher sends it


def encoded_size(message: dict[str, Any]) -> int:
    """Bytes of the message as the publisher posts it: compact JSON with non-ASCII escaped, so characters are
    bytes."""
    return len(json.dumps(message, separators=(",", ":")))


def pack(events: list[_Encoded], policy: FanOutPolicy, ts: str,
         batching: bool = True) -> list[tuple[dict[str, Any], int]]:
    """The messages that carry `events` to one connection, in order, each with the number of events it holds.

    A connection that did not ask for batches (`batching` false: the contract's clients, API.md, know no batch
    message) gets one message per event, and so does one owed up to `batch_over` events. More are packed, in order,
    into `{"type": "batch", "data": [<message>, ...], "ts": ...}` messages of at most `max_message_bytes`; an event
    that fits a message only on its own goes alone, and a batch that would hold one event is that event's own
    message. (Events over the budget were dropped before this, see Broadcaster._encode.)"""
    if not batching or len(events) <= policy.batch_over:
        return [(e.message, 1) for e in events]
    overhead = encoded_size({"type": "batch", "data": [], "ts": ts})
    messages: list[tuple[dict[str, Any], int]] = []
    batch: list[dict[str, Any]] = []
    size = overhead

    def flush() -> None:
        if len(batch) == 1:
            messages.append((batch[0], 1))
        elif batch:
            messages.append(({"type": "batch", "data": list(batch), "ts": ts}, len(batch)))
        batch.clear()

    for event in events:
        if overhead + event.size > policy.max_message_bytes:  # fits only alone
            flush()
            size = overhead
            messages.append((event.message, 1))
            continue
        extra = event.size + (1 if batch else 0)  # the comma between elements
        if size + extra > policy.max_message_bytes:
            flush()
            size, extra = overhead, event.size
        batch.append(event.message)
        size += extra
    flush()
    return messages


class Broadcaster:
    """The broadcaster function: table changes → events on their owners' subscribed connections.
    Needs no signing key: it never authenticates anyone, it only reads who is connected.

    Posts go out concurrently from a bounded pool of threads (one connection's messages in order, on one thread,
    so a slow or failing connection holds up only itself), paced by a token bucket under the account's
    @connections quota; refusals for now (429, a brief 5xx) are retried with backoff, gone connections are
    forgotten, and many events for one connection travel as batch messages under the payload limit."""

    def __init__(self, connections: Any, publisher: ConnectionPublisher, clock: Clock,
                 decode: Callable[[list[dict[str, Any]]], list[TableChange]], *,
                 policy: FanOutPolicy | None = None, timer: Timer | None = None, rng: random.Random | None = None):
        self.connections = connections
        self.publisher = publisher
        self.clock = clock
        self.decode = decode  # the stream's records → TableChanges (adapters/dynamo/stream.py)
        self.policy = policy or FanOutPolicy()
        self.timer = timer or MonotonicTimer()
        self.limiter = RateLimiter(self.policy.posts_per_second, self.policy.capacity, self.timer)
        self.rng = rng or random.Random()
        self._pool: ThreadPoolExecutor | None = None  # made once, kept while the execution environment is warm

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.policy.concurrency, thread_name_prefix="post")
        return self._pool

    def broadcast(self, records: list[dict[str, Any]]) -> FanOutReport:
        """Turn stream records into events and deliver each to its owner's subscribed connections (and to fleet
        watchers, unless private). Gone connections are removed."""
        report = FanOutReport()
        events = [event for change in self.decode(records) for event in self._events_for(change)]
        events = self._encode(events, report)
        if not events:
            return report
        recipients = self._recipients(list(dict.fromkeys(owner for owner, *_ in events)))
        outbox: dict[str, list[_Encoded]] = {}  # connection → its events, in the stream's order
        batching: dict[str, bool] = {}  # connection → whether it asked for batch messages
        for owner, topic, encoded, private in events:
            for connection in recipients[owner]:
                topics = connection.get("topics") or TOPICS  # not subscribed yet: everything of one's own
                if topic in topics and not (private and connection.get("user_id") != owner):
                    outbox.setdefault(connection["connection_id"], []).append(encoded)
                    batching[connection["connection_id"]] = connection.get("batches") is True
        report.connections = len(outbox)
        ts = iso(self.clock.now())
        jobs = [self.pool.submit(self._post_all, connection_id,
                                 pack(owed, self.policy, ts, batching[connection_id]))
                for connection_id, owed in outbox.items()]
        gone = []
        for connection_id, job in zip(outbox, jobs, strict=True):
            result, is_gone = job.result()
            report.add(result)
            if is_gone:
                gone.append(connection_id)
        for connection_id in gone:
            self.connections.remove(connection_id)
        report.gone = len(gone)
        return report

    def _encode(self, events: list[tuple[str, str, dict[str, Any], bool]],
                report: FanOutReport) -> list[tuple[str, str, _Encoded, bool]]:
        """Each event measured once (whoever receives it); one too large for any message is dropped here, with a
        log line: sending it cut short would hand clients broken JSON."""
        kept = []
        for owner, topic, message, private in events:
            size = encoded_size(message)
            if size > self.policy.max_message_bytes:
                report.oversize += 1
                log.warning("event too large for a WebSocket message; not sent", extra={
                    "type": message.get("type"), "owner_id": owner, "bytes": size,
                    "limit": self.policy.max_message_bytes})
                continue
            kept.append((owner, topic, _Encoded(message, size), private))
        return kept

    def _recipients(self, owners: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Each owner's connections plus the fleet watchers, each connection once. The lookups run side by side
        (one Query each; a hundred owners one after another would be half a second of waiting in AWS)."""
        if len(owners) == 1:
            own, fleet = {owners[0]: self.connections.for_user(owners[0])}, self.connections.fleet_watchers()
        else:
            with ThreadPoolExecutor(min(LOOKUPS_IN_FLIGHT, len(owners) + 1), thread_name_prefix="lookup") as lookups:
                watchers = lookups.submit(self.connections.fleet_watchers)
                own = dict(zip(owners, lookups.map(self.connections.for_user, owners), strict=True))
                fleet = watchers.result()
        return {owner: list({c["connection_id"]: c for c in [*own[owner], *fleet]}.values()) for owner in owners}

    def _post_all(self, connection_id: str, messages: list[tuple[dict[str, Any], int]]) -> tuple[FanOutReport, bool]:
        """One connection's messages, in order. Returns what happened and whether the connection is gone. A
        message that fails for good ends this connection's turn: the client re-reads what it missed over REST."""
        report = FanOutReport()
        for index, (message, count) in enumerate(messages):
            outcome = self._post(connection_id, message, report)
            if outcome is None:
                report.failed += len(messages) - index
                return report, False
            if not outcome:
                return report, True
            report.posts += 1
            report.delivered += count
        return report, False

    def _post(self, connection_id: str, message: dict[str, Any], report: FanOutReport) -> bool | None:
        """True: sent; False: the connection is gone; None: given up on."""
        for attempt in range(self.policy.attempts):
            self.limiter.acquire()
            try:
                return self.publisher.send(connection_id, message)
            except PostRefusedForNow as refused:
                report.throttled += refused.throttled  # every refusal, the last one's too
                if attempt + 1 == self.policy.attempts:
                    log.warning("post refused until the last attempt; given up",
                                extra={"connection_id": connection_id, "throttled": refused.throttled})
                    return None
                report.retried += 1
                ceiling = min(self.policy.backoff_cap_s, self.policy.backoff_s * 2 ** attempt)
                self.timer.sleep(self.rng.uniform(0, ceiling))  # full jitter: retries spread out, not in step
            except Exception:  # one broken connection must not cost the others their messages
                log.exception("post failed", extra={"connection_id": connection_id})
                return None
        return None

    def _events_for(self, change: TableChange) -> list[tuple[str, str, dict[str, Any], bool]]:
        """(owner, topic, message, private) for each event a change makes (views.LIVE_EVENTS: a bot's change may
        be a status change, a move of its books, both or neither)."""
        current = change.current
        events = []
        for live in LIVE_EVENTS.get(current.get("entity", ""), ()):
            if live.inserts_only and change.event != "INSERT":
                continue
            data = live.view(change)
            if data is not None:
                message = {"type": live.type, "data": data, "ts": iso(self.clock.now())}
                events.append((current["owner_id"], live.topic, message, live.private))
        return events


def _error(code: str, message: str) -> dict[str, Any]:
    # `data` is the contract's place (API.md, WebSocket); `error` stays for clients written before it.
    detail = {"code": code, "message": message}
    return {"type": "error", "data": detail, "error": detail}

