"""Quarantine benchmark (`make bench`): 500 bots trip their drawdown breaker in the same tick; every one must
have its quarantine execution started within that tick. Runs the real engine (all shards) and the real
Step Functions StartExecution calls against moto in-process, and reports where the time goes.

Peer: Freqtrade's protections only lock a pair for a fixed time (nothing to start); Hummingbot's kill switch
stops the bot for good. Neither has a per-bot quarantine workflow to compare against, so the reference
printed beside ours is the tick's own budget: one minute.
"""

from __future__ import annotations

import json
import os
import time

BOTS = int(os.environ.get("BENCH_BOTS", "500"))
SHARDS = 4


def main() -> None:
    import logging

    import boto3

    logging.getLogger("botfleet").setLevel(logging.ERROR)  # 500 "bot paused" warnings are the point, not news
    from moto import mock_aws

    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="x",
                      AWS_SECRET_ACCESS_KEY="x", TABLE_NAME="bench", TICK_SHARDS=str(SHARDS),
                      POWERTOOLS_TRACE_DISABLED="true")
    from botfleet import runtime
    from botfleet.adapters.dynamo.schema import create_table_kwargs
    from botfleet.clock import parse_iso
    from botfleet.services.auth import Principal
    from botfleet_local import transactions

    transactions.install()  # as the local cloud runs it: moto's transactions without a whole-table deepcopy
    with mock_aws():
        boto3.client("dynamodb").create_table(**create_table_kwargs("bench"))
        machine = boto3.client("stepfunctions").create_state_machine(
            name="quarantine", roleArn="arn:aws:iam::123456789012:role/x",
            definition=json.dumps({"StartAt": "Noop", "States": {"Noop": {"Type": "Pass", "End": True}}}),
        )["stateMachineArn"]
        os.environ["QUARANTINE_STATE_MACHINE_ARN"] = machine
        runtime.reset()
        owner = Principal("usr_bench", "bench@example.com", "Bench", "user")
        for i in range(BOTS):
            runtime.bot_service().create(owner, {
                "name": f"b{i}", "exchange": "luno", "symbol": "BTC/ZAR", "strategy": "sma_cross", "mode": "paper",
                "capital": "20000", "params": {"fast": 2, "slow": 3}, "risk": {"max_drawdown_pct": "2"}})
        engine, quarantine = runtime.engine(), runtime.quarantine()
        starts: list[float] = []
        original = quarantine.executions.start

        def timed_start(name, payload):
            began = time.perf_counter()
            try:
                return original(name, payload)
            finally:
                starts.append(time.perf_counter() - began)

        quarantine.executions.start = timed_start
        runtime.markets().move("luno", "BTC/ZAR", __import__("decimal").Decimal(5))
        for shard in range(SHARDS):  # every bot goes long
            engine.run_shard(shard, "2026-11-24T10:00:00.000Z", parse_iso("2026-11-24T10:00:00.000Z"))
        runtime.markets().move("luno", "BTC/ZAR", __import__("decimal").Decimal(-10))
        tick = "2026-11-24T10:01:00.000Z"
        began = time.perf_counter()
        tripped = sum(engine.run_shard(shard, tick, parse_iso(tick)).quarantined for shard in range(SHARDS))
        elapsed = time.perf_counter() - began
        listed = boto3.client("stepfunctions").list_executions(stateMachineArn=machine, maxResults=1000)
        started = len(listed["executions"])
        runtime.reset()
    in_starts = sum(starts)
    print(f"== quarantine: {BOTS} bots trip in one tick ({SHARDS} shards, one engine call each)")
    print(f"  tripped {tripped}, executions started {started} (one per bot and pause, by name)")
    each = 1000 * in_starts / max(len(starts), 1)
    print(f"  StartExecution: {len(starts)} calls, {in_starts:.2f} s in all, {each:.1f} ms each (moto in-process)")
    print(f"  the whole tick: {elapsed:.2f} s against moto in-process, shards one after another "
          f"(budget: 60 s per tick; in AWS the shards run in parallel)")
    print(f"quarantine: {started}/{BOTS} executions started within the tick; tick {elapsed:.1f} s; "
          f"starts {in_starts:.2f} s")


if __name__ == "__main__":
    main()
