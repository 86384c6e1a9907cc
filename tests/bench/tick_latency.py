"""Tick latency benchmark (`make bench-tick-latency`): how soon after an engine run starts its bots' writes land,
with the run's shards read one after another (readers=1, the engine before) or read ahead (READERS in flight), for
a fleet of fast-trading paper bots against moto in-process with a network round trip added to every DynamoDB call.

Why a round trip: moto answers in-process, so reading 64 shards one after another costs only moto's own time here;
in AWS each Query waits a round trip first ("single-digit millisecond", What is Amazon DynamoDB?; 6 ms by default,
`--round-trip-ms`). The wait is a sleep before the call is sent, which lets other threads run, as a socket wait
does. Moto's own time (its serialization of every item, in this one interpreter) is in every figure too, for both
ways alike. Prints, per way of reading:

    tick_latency bots=100 round_trip_ms=6 readers=1 fills=.. run_s=.. write_p50_s=.. write_p95_s=.. last_write_s=..

a write's time being when its bot's record_tick returned, from the run's start: the moment its owner's news can
leave (docs/scaling.md, "Engine runs sized by the fleet"). Set-up and warm-up ticks are not timed.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import scale  # puts layers/core and infra/local on the path
from tests.bench.ws import percentile

ROUND_TRIP_MS = 6.0
TICKS = 5  # measured ticks per way of reading; the figures are their medians


def measure(bots: int, round_trip_ms: float, ticks: int = TICKS, warmup: int = 3) -> list[dict]:
    scale._environment(1000)
    import boto3
    from moto import mock_aws

    from botfleet import runtime
    from botfleet.adapters.dynamo.schema import create_table_kwargs
    from botfleet.clock import parse_iso
    from botfleet.services.auth import Principal
    from botfleet.services.trading import READERS, plan_runs
    from botfleet_local import queries, transactions

    logging.getLogger("botfleet").setLevel(logging.ERROR)
    transactions.install()
    queries.install()
    results = []
    with mock_aws():
        boto3.client("dynamodb").create_table(**create_table_kwargs("bench"))
        runtime.reset()
        service = runtime.bot_service()
        owners = [Principal(f"usr_{i:04d}", f"u{i}@example.com", "Bench", "user") for i in range(max(1, bots // 10))]
        for i in range(bots):
            exchange, symbol, capital = scale.MARKETS[i % len(scale.MARKETS)]
            strategy, params = scale.TRADER
            service.create(owners[i % len(owners)], {"name": f"b{i}", "exchange": exchange, "symbol": symbol,
                                                     "strategy": strategy, "mode": "paper", "capital": capital,
                                                     "params": params})
        engine, tick_log, client = runtime.engine(), runtime.tick_log(), runtime.table().client
        writes: list[float] = []
        record_tick, started = engine.bots.record_tick, {"at": 0.0}

        def timed_record_tick(*args, **kwargs):
            written = record_tick(*args, **kwargs)
            writes.append(time.perf_counter() - started["at"])
            return written

        engine.bots.record_tick = timed_record_tick
        delay = {"s": 0.0}
        # First, before moto's own before-send handler answers the call.
        client.meta.events.register_first("before-send.dynamodb", lambda **_: time.sleep(delay["s"]))
        minute = 0

        def tick() -> tuple[float, int]:
            nonlocal minute
            tick_id = f"2026-11-24T{10 + minute // 60:02d}:{minute % 60:02d}:00.000Z"
            minute += 1
            started["at"] = time.perf_counter()
            fills = 0
            for shards in plan_runs(tick_log.begin(tick_id), scale.SHARDS):
                fills += engine.run(list(shards), tick_id, parse_iso(tick_id)).fills
            return time.perf_counter() - started["at"], fills

        for _ in range(warmup):
            tick()
        delay["s"] = round_trip_ms / 1000
        runs: dict[int, list[dict]] = {1: [], READERS: []}
        for _ in range(ticks):  # the two ways take turns, so that both see markets alike
            for readers, measured in runs.items():
                engine.readers = readers
                writes.clear()
                run_s, fills = tick()
                ordered = sorted(writes)
                measured.append({"run_s": run_s, "fills": fills, "write_p50_s": percentile(ordered, 50),
                                 "write_p95_s": percentile(ordered, 95),
                                 "last_write_s": ordered[-1] if ordered else 0})
        for readers, measured in runs.items():
            results.append({"bots": bots, "round_trip_ms": round_trip_ms, "readers": readers,
                            **{key: statistics.median(run[key] for run in measured) for key in measured[0]}})
        runtime.reset()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", type=int, nargs="+", default=[100])
    parser.add_argument("--round-trip-ms", type=float, default=ROUND_TRIP_MS)
    args = parser.parse_args()
    for bots in args.bots:
        for r in measure(bots, args.round_trip_ms):
            print(f"tick_latency bots={r['bots']} round_trip_ms={r['round_trip_ms']:g} readers={r['readers']} "
                  f"fills={r['fills']:.0f} run_s={r['run_s']:.3f} write_p50_s={r['write_p50_s']:.3f} "
                  f"write_p95_s={r['write_p95_s']:.3f} last_write_s={r['last_write_s']:.3f}", flush=True)


if __name__ == "__main__":
    main()
