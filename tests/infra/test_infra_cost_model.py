"""The cost model (`make bench-cost`, tests/bench/cost.py) prices the stack as it is synthesized and the dashboard
as it is written: each priced function's memory, the broadcaster's parallel batches and the heartbeat are read
here from the template and the web source, so a change to either that the model does not follow fails."""

from __future__ import annotations

import re

import pytest

from botfleet_infra.functions import ONE_VCPU_MB
from tests.bench import cost, posting
from tests.infra.conftest import REPO_ROOT


@pytest.mark.parametrize("priced, priced_gb", [
    ("engine", cost.ENGINE_GB),
    ("tick", cost.TICK_GB),
    ("broadcaster", cost.BROADCASTER_GB),
    ("ws", cost.WS_GB),
    ("quarantiner", cost.RETRAIN_GB_S / 30),  # the retrain step: its memory for ~30 s
])
def test_each_priced_function_has_the_memory_the_model_prices(light, priced, priced_gb):
    memory_mb = light.function(priced)["Properties"]["MemorySize"]
    assert memory_mb / 1024 == pytest.approx(priced_gb), (priced, memory_mb)


def test_the_broadcaster_is_priced_with_its_parallel_batches_and_one_vcpu(light):
    (mapping,) = light.resources_of_type("AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["ParallelizationFactor"] == cost.BROADCAST_PARALLELIZATION
    assert light.function("broadcaster")["Properties"]["MemorySize"] == cost.BROADCASTER_MB == posting.ONE_VCPU_MB
    assert posting.ONE_VCPU_MB == ONE_VCPU_MB


def test_the_heartbeat_is_priced_as_the_dashboard_pings():
    source = (REPO_ROOT / "web" / "src" / "live.ts").read_text()
    (ping_ms,) = re.findall(r"export const PING_MS = ([\d_]+);", source)
    assert int(ping_ms.replace("_", "")) / 1000 == cost.HEARTBEAT_S
