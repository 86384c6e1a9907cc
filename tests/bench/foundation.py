"""Foundation benchmarks (`make bench`). Prints measured numbers beside a baseline ("peer") for each.

1. Seconds from `botfleet local` (what `make run` runs) to READY: warm venv with the synth cache, and warm
   venv after a code change (fresh synth). `--cold-venv` also times a brand-new venv install (minutes).
2. Each function's cold start: importing its handler module in a fresh interpreter, as Lambda's init does,
   beside a bare powertools handler import (the floor any powertools function pays).
3. DynamoDB calls per bot per tick: the real engine against moto with a fleet of bots, counting every API call
   through botocore's event hooks, beside a naive per-bot design (read bot, read market, write trade, write bot).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
# Issue goals: the assistant imports the openai client only when a caller with a key chats.
COLD_START_GOALS_MS = {"assistant": 350}
FUNCTIONS = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "handler.py").exists())


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="x",
               AWS_SECRET_ACCESS_KEY="x", POWERTOOLS_TRACE_DISABLED="true", TABLE_NAME="t",
               JWT_SECRET_ARN="arn:aws:secretsmanager:us-east-1:123456789012:secret:x", TICK_SHARDS="4",
               WS_CALLBACK_URL="https://x.execute-api.us-east-1.amazonaws.com/prod", ENGINE_FUNCTION_NAME="engine",
               KEYS_KMS_KEY_ID="arn:aws:kms:us-east-1:123456789012:key/x",
               TRAINING_STATE_MACHINE_ARN="arn:aws:states:us-east-1:123456789012:stateMachine:x")
    env.update(extra)
    return env


def time_to_ready(python: str, *, touch: bool, timeout: float = 240) -> float:
    if touch:  # a code change invalidates the synth cache, as editing a construct would
        marker = ROOT / "functions" / "ops" / "handler.py"
        os.utime(marker)
    started = time.monotonic()
    proc = subprocess.Popen(
        [python, "-m", "botfleet_local", "local", "--port", "0", "--tick-seconds", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(), start_new_session=True,
    )
    try:
        for line in proc.stdout:
            if line.startswith("READY http://127.0.0.1:"):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                break
        raise RuntimeError("the local cloud never printed READY")
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def cold_import_ms(function: str, runs: int = 5) -> float:
    """Median wall time of `import handler` in a fresh interpreter (Lambda init), bytecode cached."""
    code = "import time; t = time.perf_counter(); import handler; print((time.perf_counter() - t) * 1000)"
    path = os.pathsep.join([str(ROOT / "functions" / function), str(ROOT / "layers" / "core")])
    samples = []
    for _ in range(runs + 1):
        out = subprocess.run([PY, "-c", code], cwd=ROOT / "functions" / function, env=_env(PYTHONPATH=path),
                             capture_output=True, text=True, check=True)
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples[1:])  # the first run writes .pyc files


def baseline_import_ms(runs: int = 5) -> float:
    code = ("import time; t = time.perf_counter(); "
            "from aws_lambda_powertools import Logger, Tracer, Metrics; "
            "from aws_lambda_powertools.event_handler import APIGatewayRestResolver; "
            "app = APIGatewayRestResolver(); print((time.perf_counter() - t) * 1000)")
    samples = [float(subprocess.run([PY, "-c", code], env=_env(), capture_output=True, text=True, check=True)
                     .stdout.strip().splitlines()[-1]) for _ in range(runs + 1)]
    return statistics.median(samples[1:])


def dynamo_calls_per_bot(bots: int = 200, shards: int = 4) -> dict[str, float]:
    """Run one tick over `bots` paper bots (5 exchanges, 9 markets) against moto, counting API calls."""
    import boto3
    from moto import mock_aws

    os.environ.update(_env(TABLE_NAME="bench", TICK_SHARDS=str(shards)))
    from botfleet import runtime
    from botfleet.adapters.dynamo.schema import create_table_kwargs
    from botfleet.clock import parse_iso
    from botfleet.services.auth import Principal

    markets = [("luno", "BTC/ZAR", "50000"), ("luno", "ETH/ZAR", "50000"), ("binance", "BTC/USDT", "3000"),
               ("binance", "ETH/USDT", "3000"), ("kucoin", "BTC/USDT", "3000"), ("valr", "BTC/ZAR", "50000"),
               ("valr", "ETH/ZAR", "50000"), ("ovex", "BTC/ZAR", "50000"), ("ovex", "USDT/ZAR", "50000")]
    from botfleet_local import transactions

    transactions.install()  # as on the local cloud: no whole-table copy per transaction
    with mock_aws():
        boto3.client("dynamodb").create_table(**create_table_kwargs("bench"))
        runtime.reset()
        owner = Principal("usr_bench", "bench@example.com", "Bench", "user")
        for i in range(bots):
            exchange, symbol, capital = markets[i % len(markets)]
            runtime.bot_service().create(owner, {"name": f"b{i}", "exchange": exchange, "symbol": symbol,
                                                 "strategy": "sma_cross", "mode": "paper", "capital": capital,
                                                 "params": {"fast": 2 + i % 5, "slow": 8 + i % 7}})
        calls: dict[str, int] = {}

        def count(event_name: str, **_):
            operation = event_name.rsplit(".", 1)[-1]
            calls[operation] = calls.get(operation, 0) + 1

        runtime.table().client.meta.events.register("before-call.dynamodb", count)
        engine, fills, started = runtime.engine(), 0, time.perf_counter()
        tick = "2026-11-24T10:00:00.000Z"
        for shard in range(shards):
            fills += engine.run_shard(shard, tick, parse_iso(tick)).fills
        elapsed = time.perf_counter() - started
        first = dict(calls)
        # A fleet's first tick writes every bot (each records its first mark); the next one shows steady state.
        calls.clear()
        steady_fills, tick = 0, "2026-11-24T10:01:00.000Z"
        for shard in range(shards):
            steady_fills += engine.run_shard(shard, tick, parse_iso(tick)).fills
        steady = dict(calls)
        runtime.reset()
    total = sum(first.values())
    return {"bots": bots, "fills": fills, "calls": total, "per_bot": total / bots, "by_operation": first,
            "tick_seconds_moto": elapsed, "steady_per_bot": sum(steady.values()) / bots, "steady_fills": steady_fills,
            "steady_by_operation": steady}


def cold_venv_seconds() -> float:
    target = Path(tempfile.mkdtemp(prefix="botfleet-cold-venv-"))
    started = time.monotonic()
    try:
        subprocess.run([sys.base_prefix + "/bin/python3", "-m", "venv", str(target)], check=True)
        pip = [str(target / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(ROOT / "requirements-dev.txt")], check=True, cwd=ROOT)
        subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True, cwd=ROOT)
        installed = time.monotonic() - started
        return installed + time_to_ready(str(target / "bin" / "python"), touch=True)
    finally:
        shutil.rmtree(target, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold-venv", action="store_true", help="also time a brand-new venv (several minutes)")
    parser.add_argument("--bots", type=int, default=200)
    args = parser.parse_args()

    print("== make run → READY (seconds)")
    fresh_synth = time_to_ready(PY, touch=True)
    cached = time_to_ready(PY, touch=False)
    print(f"  warm venv, synth cached      {cached:6.1f} s")
    print(f"  warm venv, fresh CDK synth   {fresh_synth:6.1f} s")
    if args.cold_venv:
        print(f"  cold venv (install + synth)  {cold_venv_seconds():6.1f} s")

    print("== cold start: import of the handler module in a fresh process (median ms)")
    floor = baseline_import_ms()
    for function in FUNCTIONS:
        goal = f"   (goal ≤ {COLD_START_GOALS_MS[function]} ms)" if function in COLD_START_GOALS_MS else ""
        print(f"  {function:12s} {cold_import_ms(function):7.1f} ms{goal}")
    print(f"  {'peer: bare powertools resolver':30s} {floor:7.1f} ms")

    print(f"== DynamoDB calls per bot per tick ({args.bots} bots, 9 markets, one tick)")
    result = dynamo_calls_per_bot(args.bots)
    print(f"  ours, a fleet's first tick: {result['calls']} calls for {result['bots']} bots ({result['fills']} fills) "
          f"= {result['per_bot']:.2f} calls/bot/tick; by operation {result['by_operation']}")
    print(f"  ours, the next tick (steady state): {result['steady_per_bot']:.2f} calls/bot/tick "
          f"({result['steady_fills']} fills); by operation {result['steady_by_operation']}")
    naive = 2 + 2 * result["fills"] / result["bots"]
    print(f"  peer (naive: GetItem bot + GetItem market per bot, PutItem trade + UpdateItem bot per fill) = "
          f"{naive:.2f} calls/bot/tick")
    print(f"  engine wall time against in-process moto: {result['tick_seconds_moto']:.2f} s")


if __name__ == "__main__":
    main()
