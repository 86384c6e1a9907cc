"""The tick's fan-out: engine runs sized from the bots each shard ran last (services.trading.plan_runs)."""

from hypothesis import given
from hypothesis import strategies as st

from botfleet.services.trading import plan_runs


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
