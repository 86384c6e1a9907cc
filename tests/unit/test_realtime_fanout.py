"""The broadcaster's fan-out with fakes: the pool's bound, the token bucket on an injected clock, retries of posts
refused for now, gone connections, batches under the byte budget and oversize events (docs/websocket.md)."""

from __future__ import annotations

import json
import logging
import random
import threading
import time

import pytest

from botfleet.clock import FixedClock
from botfleet.ports import PostRefusedForNow, TableChange
from botfleet.services.realtime import (
    Broadcaster,
    FanOutPolicy,
    TokenBucket,
    WebSocketSessions,
    encoded_size,
    pack,
)


class FakeTimer:
    """Virtual monotonic time, shared by the pool's threads. A sleep wakes `seconds` after the time its thread last
    read, and moves the clock there if it is not past it yet: the clock ends at the latest wake-up, as it would."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()
        self._read = threading.local()

    def monotonic(self) -> float:
        with self._lock:
            self._read.at = self.now
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            wake = getattr(self._read, "at", self.now) + max(seconds, 0.0)
            self.now = self._read.at = max(self.now, wake)


class FakeConnections:
    def __init__(self, *connections: dict):
        self.items = {c["connection_id"]: {"topics": [], **c} for c in connections}
        self.removed: list[str] = []

    def for_user(self, user_id):
        return [dict(c) for c in self.items.values() if c["user_id"] == user_id]

    def fleet_watchers(self):
        return [dict(c) for c in self.items.values() if c.get("fleet")]

    def remove(self, connection_id):
        self.removed.append(connection_id)
        self.items.pop(connection_id, None)


class FakePublisher:
    """Records posts (with the timer's time); `gone` ids answer False, `throttle[id]` refusals come before a
    success, `broken` ids raise, `slow` ids wait for `release`. Counts posts in flight at once."""

    def __init__(self, timer: FakeTimer | None = None, hold_s: float = 0.0):
        self.timer = timer
        self.hold_s = hold_s
        self.sent: list[tuple[str, dict, float]] = []
        self.gone: set[str] = set()
        self.broken: set[str] = set()
        self.throttle: dict[str, int] = {}
        self.slow: set[str] = set()
        self.release = threading.Event()
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()

    def send(self, connection_id, message):
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if connection_id in self.slow:
                assert self.release.wait(10), "the slow connection was never released"
            if self.hold_s:
                time.sleep(self.hold_s)  # a post's round trip, so that posts overlap
            with self._lock:
                if connection_id in self.broken:
                    raise RuntimeError("boom")
                if self.throttle.get(connection_id, 0) > 0:
                    self.throttle[connection_id] -= 1
                    raise PostRefusedForNow("throttled", throttled=True)
                if connection_id in self.gone:
                    return False
                # What goes on the wire: the adapter posts json.dumps(message, separators=(",", ":")).
                json.dumps(message, separators=(",", ":"))
                self.sent.append((connection_id, message, self.timer.monotonic() if self.timer else 0.0))
            return True
        finally:
            with self._lock:
                self.in_flight -= 1

    def disconnect(self, connection_id):
        pass

    def to(self, connection_id):
        return [m for c, m, _ in self.sent if c == connection_id]

    def events_to(self, connection_id):
        """Every event a connection received, batches opened, in order."""
        out = []
        for message in self.to(connection_id):
            out += message["data"] if message["type"] == "batch" else [message]
        return out


def trade(owner: str, n: int, pad: int = 0) -> TableChange:
    item = {"entity": "trade", "owner_id": owner, "id": f"trd_{owner}_{n}", "bot_id": "bot_1", "side": "buy",
            "price": "100", "client_order_id": "x" * pad}
    return TableChange("INSERT", item, None)


def assistant_message(owner: str) -> TableChange:
    return TableChange("INSERT", {"entity": "ai_message", "owner_id": owner, "id": "m1", "role": "assistant",
                                  "content": "hi"}, None)


def broadcaster(connections, publisher, timer=None, **policy) -> Broadcaster:
    return Broadcaster(connections, publisher, FixedClock(), lambda records: records,
                       policy=FanOutPolicy(**policy), timer=timer or FakeTimer(), rng=random.Random(1))


def users(count: int, per_user: int = 1, batches: bool = False) -> FakeConnections:
    """`batches`: the connections subscribed with "batch": true (the dashboard does)."""
    return FakeConnections(*({"connection_id": f"c{u}-{k}", "user_id": f"u{u}", "batches": batches}
                             for u in range(count) for k in range(per_user)))


def test_each_connection_gets_its_owners_events_in_order_one_message_each():
    connections = FakeConnections({"connection_id": "ann-1", "user_id": "ann"},
                                  {"connection_id": "ann-2", "user_id": "ann", "topics": ["bots"]},
                                  {"connection_id": "bob-1", "user_id": "bob"})
    publisher = FakePublisher()
    report = broadcaster(connections, publisher).broadcast([trade("ann", 1), trade("bob", 1), trade("ann", 2)])
    assert [m["data"]["id"] for m in publisher.to("ann-1")] == ["trd_ann_1", "trd_ann_2"]
    assert [m["type"] for m in publisher.to("ann-1")] == ["trade", "trade"]  # few events: no batch
    assert publisher.to("ann-2") == []  # subscribed to bots only
    assert [m["data"]["id"] for m in publisher.to("bob-1")] == ["trd_bob_1"]
    assert (report.delivered, report.posts, report.connections, report.failed) == (3, 3, 2, 0)


def test_fleet_watchers_get_everyones_events_but_private_ones_and_never_twice():
    connections = FakeConnections({"connection_id": "ann-1", "user_id": "ann"},
                                  {"connection_id": "root-1", "user_id": "root", "fleet": True},
                                  {"connection_id": "root-2", "user_id": "root", "fleet": True})
    publisher = FakePublisher()
    broadcaster(connections, publisher).broadcast([trade("ann", 1), trade("root", 1), assistant_message("ann")])
    assert [m["data"]["id"] for m in publisher.to("root-1")] == ["trd_ann_1", "trd_root_1"]  # no ai message of ann
    assert [m["type"] for m in publisher.to("ann-1")] == ["trade", "assistant"]


def test_posts_run_concurrently_within_the_pools_bound():
    connections, publisher = users(60), FakePublisher(hold_s=0.005)
    report = broadcaster(connections, publisher, concurrency=4).broadcast([trade(f"u{u}", 1) for u in range(60)])
    assert report.delivered == 60
    assert 1 < publisher.max_in_flight <= 4


def test_a_slow_connection_holds_up_only_itself():
    connections, publisher = users(20), FakePublisher()
    publisher.slow.add("c0-0")
    fan_out = broadcaster(connections, publisher, concurrency=2)
    done = threading.Thread(target=fan_out.broadcast, args=([trade(f"u{u}", 1) for u in range(20)],))
    done.start()
    deadline = time.monotonic() + 5
    while len(publisher.sent) < 19 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(publisher.sent) == 19 and not publisher.to("c0-0")  # everyone else, while c0-0 still hangs
    publisher.release.set()
    done.join(5)
    assert publisher.to("c0-0")


def test_the_token_bucket_reserves_in_order_at_the_rate():
    bucket = TokenBucket.full(rate=10, capacity=3, now=0.0)
    assert [bucket.reserve(0.0) for _ in range(5)] == [0.0, 0.0, 0.0, pytest.approx(0.1), pytest.approx(0.2)]
    assert bucket.reserve(1.0) == 0.0  # refilled (up to capacity) meanwhile


def test_posts_keep_under_the_rate_on_an_injected_clock():
    timer = FakeTimer()
    connections, publisher = users(300), FakePublisher(timer)
    start = timer.monotonic()
    report = broadcaster(connections, publisher, timer, concurrency=1, posts_per_second=100, burst=10).broadcast(
        [trade(f"u{u}", 1) for u in range(300)])
    assert report.delivered == 300
    times = sorted(at for _, _, at in publisher.sent)
    # Over any second, at most the burst plus a second's worth; and all of it took the rate's time, virtually.
    assert max(sum(1 for t in times if first <= t < first + 1.0) for first in times) <= 10 + 100
    assert times[-1] - start == pytest.approx((300 - 10) / 100)


def test_many_threads_share_one_rate():
    timer = FakeTimer()
    connections, publisher = users(200), FakePublisher(timer)
    start = timer.monotonic()
    broadcaster(connections, publisher, timer, concurrency=8, posts_per_second=50, burst=5).broadcast(
        [trade(f"u{u}", 1) for u in range(200)])
    assert len(publisher.sent) == 200
    # Eight threads, one bucket: the last post was due when the burst and 195 more at 50/s had gone (eight buckets
    # would have taken an eighth of that).
    assert timer.monotonic() - start == pytest.approx((200 - 5) / 50)


def test_a_throttled_post_is_retried_with_growing_jittered_backoff():
    timer = FakeTimer()
    connections, publisher = users(3), FakePublisher(timer)
    publisher.throttle["c1-0"] = 3
    report = broadcaster(connections, publisher, timer, backoff_s=0.05, backoff_cap_s=1.0).broadcast(
        [trade(f"u{u}", 1) for u in range(3)])
    assert report.delivered == 3 and (report.retried, report.throttled, report.failed) == (3, 3, 0)
    backoffs = [s for s in timer.sleeps if s > 0]
    assert len(backoffs) == 3 and all(0 <= s <= 0.05 * 2 ** i for i, s in enumerate(backoffs))


def test_a_post_refused_every_time_is_given_up_after_the_attempts():
    timer = FakeTimer()
    connections, publisher = users(3), FakePublisher(timer)
    publisher.throttle["c1-0"] = 99
    report = broadcaster(connections, publisher, timer, attempts=4).broadcast([trade(f"u{u}", 1) for u in range(3)])
    assert (report.delivered, report.failed, report.retried) == (2, 1, 3)
    assert report.throttled == 4  # each refusal counts, the last one's too (the quota alarm reads this)
    assert connections.removed == []  # refused is not gone


def test_gone_connections_are_removed_and_the_rest_delivered():
    connections, publisher = users(2, per_user=2), FakePublisher()
    publisher.gone.add("c0-1")
    report = broadcaster(connections, publisher).broadcast([trade("u0", 1), trade("u0", 2), trade("u1", 1)])
    assert connections.removed == ["c0-1"] and report.gone == 1
    assert len(publisher.to("c0-0")) == 2 and len(publisher.to("c1-0")) == 1 and len(publisher.to("c1-1")) == 1


def test_a_failing_connection_costs_only_its_own_messages():
    connections, publisher = users(5), FakePublisher()
    publisher.broken.add("c2-0")
    report = broadcaster(connections, publisher).broadcast([trade(f"u{u}", 1) for u in range(5)])
    assert report.delivered == 4 and report.failed == 1 and connections.removed == []


def test_many_events_for_one_connection_travel_in_batches_in_order():
    connections, publisher = users(1, batches=True), FakePublisher()
    report = broadcaster(connections, publisher, batch_over=3).broadcast([trade("u0", n) for n in range(10)])
    (message,) = publisher.to("c0-0")
    assert message["type"] == "batch" and "ts" in message
    assert [m["data"]["id"] for m in message["data"]] == [f"trd_u0_{n}" for n in range(10)]
    assert all(m["type"] == "trade" for m in message["data"])  # each element a message as it would come alone
    assert (report.delivered, report.posts) == (10, 1)


def test_up_to_batch_over_events_still_come_one_by_one():
    connections, publisher = users(1, batches=True), FakePublisher()
    broadcaster(connections, publisher, batch_over=3).broadcast([trade("u0", n) for n in range(3)])
    assert [m["type"] for m in publisher.to("c0-0")] == ["trade"] * 3


def test_a_batching_connection_gets_two_events_in_one_message_by_default():
    connections, publisher = users(1, batches=True), FakePublisher()
    report = broadcaster(connections, publisher).broadcast([trade("u0", 1), trade("u0", 2)])
    (message,) = publisher.to("c0-0")
    assert message["type"] == "batch" and [m["data"]["id"] for m in message["data"]] == ["trd_u0_1", "trd_u0_2"]
    assert (report.delivered, report.posts) == (2, 1)


def test_a_connection_that_did_not_ask_for_batches_never_gets_one():
    # The contract's clients (API.md) know no batch message: each event comes as its own message, however many.
    connections, publisher = users(1), FakePublisher()
    report = broadcaster(connections, publisher).broadcast([trade("u0", n) for n in range(10)])
    assert [m["type"] for m in publisher.to("c0-0")] == ["trade"] * 10
    assert [m["data"]["id"] for m in publisher.to("c0-0")] == [f"trd_u0_{n}" for n in range(10)]
    assert (report.delivered, report.posts) == (10, 10)


def test_batches_are_split_to_stay_under_the_byte_budget():
    connections, publisher = users(1, batches=True), FakePublisher()
    events = [trade("u0", n, pad=300) for n in range(50)]
    report = broadcaster(connections, publisher, max_message_bytes=2048).broadcast(events)
    messages = publisher.to("c0-0")
    assert len(messages) > 5 and all(encoded_size(m) <= 2048 for m in messages)
    assert [m["data"]["id"] for m in publisher.events_to("c0-0")] == [f"trd_u0_{n}" for n in range(50)]
    assert report.delivered == 50 and report.posts == len(messages)


def test_pack_fills_each_batch_as_far_as_the_budget_allows():
    from botfleet.services.realtime import _Encoded

    message = {"type": "trade", "data": {"id": "x" * 80}, "ts": "t"}
    events = [_Encoded(message, encoded_size(message))] * 40
    policy = FanOutPolicy(max_message_bytes=1024, batch_over=3)
    frames = pack(events, policy, "2026-01-01T00:00:00.000Z")
    sizes = [encoded_size(m) for m, _ in frames]
    assert sum(n for _, n in frames) == 40 and max(sizes) <= 1024
    assert all(size + encoded_size(message) + 1 > 1024 for size in sizes[:-1])  # none could have taken one more


def test_an_event_over_the_limit_is_dropped_with_a_log_line_never_cut(caplog):
    connections, publisher = users(2), FakePublisher()
    with caplog.at_level(logging.WARNING, logger="botfleet.services.realtime"):
        report = broadcaster(connections, publisher, max_message_bytes=2048).broadcast(
            [trade("u0", 1, pad=5000), trade("u0", 2), trade("u1", 1)])
    assert report.oversize == 1 and "too large" in caplog.text
    assert [m["data"]["id"] for m in publisher.to("c0-0")] == ["trd_u0_2"]
    assert len(publisher.to("c1-0")) == 1
    assert all(encoded_size(m) <= 2048 for _, m, _ in publisher.sent)


def test_an_event_that_fits_only_alone_goes_alone_between_batches():
    connections, publisher = users(1, batches=True), FakePublisher()
    fan_out = broadcaster(connections, publisher, max_message_bytes=2048)
    ((*_, bare_message, _),) = fan_out._events_for(trade("u0", 99))
    bare = encoded_size(bare_message)
    big = trade("u0", 99, pad=2048 - bare - 20)  # under 2048 bytes alone, over it inside a batch's envelope
    events = [trade("u0", n) for n in range(4)] + [big] + [trade("u0", n) for n in range(4, 8)]
    fan_out.broadcast(events)
    types = [m["type"] for m in publisher.to("c0-0")]
    assert types == ["batch", "trade", "batch"]
    assert [m["data"]["id"] for m in publisher.events_to("c0-0")] == [
        *(f"trd_u0_{n}" for n in range(4)), "trd_u0_99", *(f"trd_u0_{n}" for n in range(4, 8))]


def test_the_policy_refuses_a_budget_over_the_payload_limit():
    with pytest.raises(ValueError):
        FanOutPolicy(max_message_bytes=129 * 1024)
    assert FanOutPolicy().capacity == 1000  # a tenth of a second at 10,000 posts/s
    assert FanOutPolicy().max_message_bytes < 128 * 1024


def test_a_reply_refused_for_now_is_retried():
    class Connections:
        removed: list = []

        def get(self, connection_id):
            return {"connection_id": connection_id, "user_id": "u1", "role": "user", "token_version": 0}

        def remove(self, connection_id):
            self.removed.append(connection_id)

    class SignedIn:
        def still_signed_in(self, user_id, token_version):
            return True

    timer, publisher = FakeTimer(), FakePublisher()
    publisher.throttle["c1"] = 1
    sessions = WebSocketSessions(SignedIn(), Connections(), publisher, FixedClock(), timer)
    sessions.message("c1", json.dumps({"action": "ping"}))
    assert [m["type"] for m in publisher.to("c1")] == ["pong"] and timer.sleeps == [0.05]


# --- the adapter: what it posts, and how it reads @connections' answers --------------------------------------------

@pytest.fixture
def stubbed(monkeypatch):
    from botocore.stub import Stubber

    from botfleet.adapters.websocket import ApiGatewayPublisher

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    publisher = ApiGatewayPublisher("https://example.execute-api.us-east-1.amazonaws.com/prod", pool_size=8)
    with Stubber(publisher._client) as stub:
        yield publisher, stub
        stub.assert_no_pending_responses()


def test_the_adapter_posts_the_bytes_the_budget_measured(stubbed):
    publisher, stub = stubbed
    message = {"type": "trade", "data": {"id": "t1", "note": "naïve ✓"}, "ts": "2026-01-01T00:00:00.000Z"}
    sent = json.dumps(message, separators=(",", ":")).encode()
    assert len(sent) == encoded_size(message)
    stub.add_response("post_to_connection", {}, {"ConnectionId": "c1", "Data": sent})
    assert publisher.send("c1", message) is True
    assert publisher._client.meta.config.max_pool_connections == 8


@pytest.mark.parametrize(("code", "status", "outcome"), [
    ("GoneException", 410, False),
    ("LimitExceededException", 429, "throttled"),
    ("InternalServerErrorException", 500, "later"),
])
def test_the_adapter_reads_gone_throttled_and_failing(stubbed, code, status, outcome):
    publisher, stub = stubbed
    stub.add_client_error("post_to_connection", service_error_code=code, http_status_code=status)
    if outcome is False:
        assert publisher.send("c1", {"type": "x"}) is False
        return
    with pytest.raises(PostRefusedForNow) as refused:
        publisher.send("c1", {"type": "x"})
    assert refused.value.throttled is (outcome == "throttled")
