"""The fleet read behind an admin's GET /api/metrics (`make bench-metrics`; docs/scaling.md, "Fleet metrics").

Measured on moto in-process: the read units and calls of one fleet read, and the ops function's own CPU per bot
(the time of the read minus the time inside moto's handler, calls one after another), two ways: whole bots, as the
read was before (every bot item parsed and turned into a Bot), and only the figures metrics count (a projection of
status, pause reason and the ledger's totals). From those, a fleet read's time in the ops function at 1,000 to
100,000 bots: its CPU at the function's share of a vCPU (memory / 1,769 MB) plus its calls' round trips (10 ms each,
DynamoDB's "single-digit milliseconds"; before one after another, now GET_MANY_IN_FLIGHT at a time), against the
function's timeout then (10 s) and now (28 s, under API Gateway's 29 s):

    metrics fleet read bots=10000: before 256 MB 23.1 s (timeout 10 s), after 1769 MB 1.3 s (timeout 28 s) PASS
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parents[2] / "layers" / "core")]

ONE_VCPU_MB = 1769  # Lambda: a function gets a full vCPU at 1,769 MB, and a share in proportion below it
BEFORE_MB, AFTER_MB = 256, 1769  # the ops function's memory then and now (infra/botfleet_infra/api.py)
BEFORE_TIMEOUT_S, AFTER_TIMEOUT_S = 10, 28  # and its timeout
CALL_S = 0.010
MARKETS = [("luno", "BTC/ZAR", "50000"), ("binance", "ETH/USDT", "1000"), ("kucoin", "BTC/USDT", "5000"),
           ("valr", "BTC/ZAR", "50000"), ("ovex", "BTC/ZAR", "50000")]


def measure(bots: int) -> dict:
    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="x",
                      AWS_SECRET_ACCESS_KEY="x", TABLE_NAME="bench", TICK_SHARDS="64",
                      POWERTOOLS_TRACE_DISABLED="true")
    import boto3
    from moto import mock_aws
    from moto.core.botocore_stubber import BotocoreStubber

    from botfleet import runtime
    from botfleet.adapters.dynamo import table as table_module
    from botfleet.adapters.dynamo.schema import create_table_kwargs
    from botfleet.domain.bots import bot_figures
    from botfleet.services.auth import Principal
    from tests.support.dynamo_meter import DynamoMeter

    in_moto = [0.0]
    handle = BotocoreStubber.__call__

    def timed(self, event_name, request, **kwargs):
        started = time.perf_counter()
        try:
            return handle(self, event_name, request, **kwargs)
        finally:
            in_moto[0] += time.perf_counter() - started

    table_module.GET_MANY_IN_FLIGHT = 1  # calls one after another: the time outside moto is the client's own
    BotocoreStubber.__call__ = timed
    try:
        with mock_aws():
            boto3.client("dynamodb").create_table(**create_table_kwargs("bench"))
            runtime.reset()
            service = runtime.bot_service()
            owners = [Principal(f"usr_{i:03d}", f"u{i}@example.com", "Bench", "user")
                      for i in range(max(1, bots // 10))]
            for i in range(bots):
                exchange, symbol, capital = MARKETS[i % len(MARKETS)]
                service.create(owners[i % len(owners)], {"name": f"b{i}", "exchange": exchange, "symbol": symbol,
                                                         "strategy": "sma_cross", "mode": "paper", "capital": capital})
            repository = runtime.bots()
            meter = DynamoMeter().attach(runtime.table().client)
            ways = {"before": lambda: [bot_figures(bot) for bot in repository.whole_fleet()],
                    "after": repository.fleet_figures}
            result = {}
            for way, read in ways.items():
                read()  # warm
                best = None
                for _ in range(3):
                    meter.reset()
                    in_moto[0] = 0.0
                    started = time.perf_counter()
                    figures = read()
                    own = time.perf_counter() - started - in_moto[0]
                    best = own if best is None else min(best, own)
                assert len(figures) == bots
                result[way] = {"cpu_s_per_bot": best / bots, "read_units": meter.read_units,
                               "calls": sum(meter.calls.values())}
            runtime.reset()
    finally:
        BotocoreStubber.__call__ = handle
    return result


def lambda_seconds(bots: int, cpu_s_per_bot: float, calls_per_bot: float, memory_mb: int, in_flight: int) -> float:
    return bots * cpu_s_per_bot * ONE_VCPU_MB / min(memory_mb, ONE_VCPU_MB) + bots * calls_per_bot * CALL_S / in_flight


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", type=int, default=300, help="fleet measured on moto")
    args = parser.parse_args()
    from botfleet.adapters.dynamo.table import GET_MANY_IN_FLIGHT

    measured = measure(args.bots)
    for way, figures in measured.items():
        print(f"measured {way}: {figures['cpu_s_per_bot'] * 1e6:.0f} us of CPU a bot, "
              f"{figures['read_units'] / args.bots:.3f} read units a bot, {figures['calls']} calls for "
              f"{args.bots} bots")
    before, after = measured["before"], measured["after"]
    for bots in (1_000, 10_000, 100_000):
        was = lambda_seconds(bots, before["cpu_s_per_bot"], before["calls"] / args.bots, BEFORE_MB, 1)
        now = lambda_seconds(bots, after["cpu_s_per_bot"], after["calls"] / args.bots, AFTER_MB,
                             GET_MANY_IN_FLIGHT)
        verdict = "PASS" if now <= AFTER_TIMEOUT_S else "MISS"
        print(f"metrics fleet read bots={bots}: before {BEFORE_MB} MB {was:.1f} s (timeout {BEFORE_TIMEOUT_S} s), "
              f"after {AFTER_MB} MB {now:.1f} s (timeout {AFTER_TIMEOUT_S} s) {verdict}")


if __name__ == "__main__":
    main()
