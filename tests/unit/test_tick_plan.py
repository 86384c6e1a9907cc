"""The tick's fan-out: engine runs sized from the bots each shard ran last (services.trading.plan_runs), and how a
run reads its shards."""

import threading
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from botfleet.services.trading import READERS, TradingEngine, plan_runs


def test_a_new_deployment_runs_its_shards_a_few_to_a_run():
    assert plan_runs({}, 4, 1000) == [(0, 1, 2, 3)]
    assert plan_runs({}, 64, 1000) == [tuple(range(start, start + 8)) for start in range(0, 64, 8)]


def test_small_fleets_share_one_run_and_big_shards_get_their_own():
    assert plan_runs({0: 3, 1: 0, 2: 5, 3: 1}, 4, 1000) == [(0, 1, 2, 3)]
    assert plan_runs({0: 600, 1: 600, 2: 300, 3: 2500}, 4, 1000) == [(0,), (1, 2), (3,)]


def test_shards_not_seen_yet_get_their_own_runs():
    assert plan_runs({0: 10, 2: 10}, 3, 1000) == [(1,), (0, 2)]


@given(st.lists(st.integers(0, 5000), min_size=1, max_size=64), st.integers(10, 5000))
def test_every_shard_runs_exactly_once_and_no_run_exceeds_the_target_unless_one_shard_does(sizes, target):
    runs = plan_runs(dict(enumerate(sizes)), len(sizes), target)
    assert sorted(shard for run in runs for shard in run) == list(range(len(sizes)))
    for run in runs:
        assert len(run) == 1 or sum(sizes[shard] for shard in run) <= target
    # and no more runs than needed, give or take one per oversized shard
    assert len(runs) <= 2 * (sum(sizes) // target + 1) + sum(1 for size in sizes if size > target)


class ShardsThatMeetInFlight:
    """A running-bot index whose shard reads each wait until `together` of them are in flight at once: a run that
    read its shards one after another would never get past the first (the barrier breaks and the read raises)."""

    def __init__(self, together: int):
        self.barrier = threading.Barrier(together, timeout=10)
        self.read: list[int] = []

    def running_in_shard(self, shard: int) -> list:
        self.barrier.wait()
        self.read.append(shard)
        return []


def test_a_run_reads_its_shards_ahead_several_at_once():
    index = ShardsThatMeetInFlight(together=READERS)
    shards = list(range(2 * READERS))
    report = TradingEngine(index, market_data=None).run(shards, "2026-11-24T10:00:00Z", datetime(2026, 11, 24, 10))
    assert sorted(index.read) == shards and report.bots == 0 and not report.stale
