"""Scale benchmark (`make bench-scale`; `make bench-cost` runs it too): the real tick (tick log, fan-out plan,
engine runs) over a fleet of paper bots against moto in-process, with every DynamoDB call metered in the units AWS
bills (tests/support/dynamo_meter.py), the engine's own compute separated from the time spent inside moto, and the
bytes it logs.

Two fleets, each warmed up first (a new bot's first mark is a write; holders buy their position):
- quiet: nobody trades. Half the bots watch and stay flat (RSI below 1 never happens), half bought and hold
  (RSI above 99 never happens): their drawdown peaks and new days are what may still be written;
- trading: the same plus a tenth of the fleet on a fast SMA cross, which trades on many ticks.

What it prints, per fleet: write and read units per bot per tick, write units per fill, calls per bot per tick;
per engine run: bots, shards, wall time, the engine's compute (wall minus time in moto) and DynamoDB calls.
The goal beside ours: ≤ 0.2 write units per bot per tick for the quiet fleet (issue "Scale and cost").

Moto is not DynamoDB: its time is reported apart and never counted as the engine's. `--bots 10000` is the 10,000-bot
tick of docs/scaling.md (~15 minutes for both fleets on this machine, nearly all of it moto's).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core"), str(ROOT / "infra" / "local")]

SHARDS = 64  # infra/botfleet_infra/settings.py TICK_SHARDS
MARKETS = [("luno", "BTC/ZAR", "50000"), ("luno", "ETH/ZAR", "50000"), ("binance", "BTC/USDT", "3000"),
           ("binance", "ETH/USDT", "3000"), ("kucoin", "BTC/USDT", "3000"), ("valr", "BTC/ZAR", "50000"),
           ("valr", "ETH/ZAR", "50000"), ("ovex", "BTC/ZAR", "50000"), ("ovex", "USDT/ZAR", "50000")]
WATCHER = ("rsi_reversion", {"period": 30, "oversold": 1, "overbought": 99})
HOLDER = ("rsi_reversion", {"period": 14, "oversold": 50, "overbought": 99})
TRADER = ("sma_cross", {"fast": 2, "slow": 3})
GOAL_QUIET_WRITE_UNITS = 0.2


@dataclass
class RunTiming:
    bots: int
    shards: int
    wall_s: float
    dynamo_s: float
    dynamo_calls: int

    @property
    def compute_s(self) -> float:
        return self.wall_s - self.dynamo_s


@dataclass
class FleetResult:
    fleet: str
    bots: int
    ticks: int
    fills: int = 0
    write_units: float = 0.0
    read_units: float = 0.0
    calls: dict = field(default_factory=dict)
    written_entities: dict = field(default_factory=dict)
    runs: list[RunTiming] = field(default_factory=list)
    log_bytes: int = 0
    bot_item_bytes: float = 0.0  # mean size of a stored bot item (what a per-bot write would cost)
    trade_item_bytes: float = 0.0
    meter: dict = field(default_factory=dict)  # write units by entity, read units by operation (for bench-cost)
    # An admin's GET /api/metrics after the ticks: "fleet" reads every bot, "kept" serves the kept read.
    metrics_reads: dict = field(default_factory=dict)

    def per_bot_tick(self, value: float) -> float:
        return value / (self.bots * self.ticks)

    @property
    def fills_per_tick(self) -> float:
        return self.fills / self.ticks

    def summary(self) -> dict:
        engine_s = sum(run.compute_s for run in self.runs) / self.ticks
        return {
            "fleet": self.fleet, "bots": self.bots, "ticks": self.ticks, "fills_per_tick": self.fills_per_tick,
            "write_units_per_bot_tick": self.per_bot_tick(self.write_units),
            "read_units_per_bot_tick": self.per_bot_tick(self.read_units),
            "calls_per_bot_tick": self.per_bot_tick(sum(self.calls.values())),
            "calls": self.calls, "written_entities": self.written_entities,
            "engine_compute_s_per_tick": engine_s,
            "engine_compute_ms_per_bot": 1000 * engine_s / self.bots,
            "runs_per_tick": len(self.runs) / self.ticks,
            "max_run_wall_s": max(run.wall_s for run in self.runs),
            "max_run_compute_s": max(run.compute_s for run in self.runs),
            "max_run_bots": max(run.bots for run in self.runs),
            "dynamo_calls_per_run": sum(run.dynamo_calls for run in self.runs) / len(self.runs),
            "log_bytes_per_tick": self.log_bytes / self.ticks,
            "bot_item_bytes": self.bot_item_bytes, "trade_item_bytes": self.trade_item_bytes,
        }


class _LogBytes(logging.Handler):
    """Bytes the engine logs (what CloudWatch Logs ingests), with the run summary the handler adds."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.bytes = 0

    def emit(self, record: logging.LogRecord) -> None:
        # Powertools writes one JSON object per record: the message and the extra keys, ~200 bytes of envelope.
        extra = {k: v for k, v in record.__dict__.items() if k not in logging.LogRecord("", 0, "", 0, "", (), None)
                 .__dict__ and k not in ("message", "asctime")}
        self.bytes += 200 + len(record.getMessage()) + len(json.dumps(extra, default=str))


def _environment(bots_per_run: int) -> None:
    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="x",
                      AWS_SECRET_ACCESS_KEY="x", TABLE_NAME="bench", TICK_SHARDS=str(SHARDS),
                      BOTS_PER_RUN=str(bots_per_run), POWERTOOLS_TRACE_DISABLED="true",
                      OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


def measure(bots: int, *, trading: bool, ticks: int = 4, warmup: int = 3, bots_per_run: int = 1000,
            quiet_log: bool = True) -> FleetResult:
    """One fleet of `bots` paper bots on nine markets; `warmup` ticks, then `ticks` measured ones."""
    _environment(bots_per_run)
    import boto3
    from moto import mock_aws

    from botfleet import runtime
    from botfleet.adapters.dynamo.schema import create_table_kwargs
    from botfleet.clock import parse_iso
    from botfleet.services.auth import Principal
    from botfleet.services.trading import plan_runs
    from botfleet_local import queries, transactions
    from tests.support.dynamo_meter import DynamoMeter, item_size

    if quiet_log:
        logging.getLogger("botfleet").setLevel(logging.ERROR)
    log_bytes = _LogBytes()
    # As the local cloud runs moto: transactions without a whole-table deepcopy, a Query that reads its partition.
    transactions.install()
    queries.install()
    result = FleetResult("trading" if trading else "quiet", bots, ticks)
    with mock_aws():
        boto3.client("dynamodb").create_table(**create_table_kwargs("bench"))
        runtime.reset()
        service = runtime.bot_service()
        owners = [Principal(f"usr_{i:04d}", f"u{i}@example.com", "Bench", "user") for i in range(max(1, bots // 10))]
        traders = bots // 10 if trading else 0
        for i in range(bots):
            exchange, symbol, capital = MARKETS[i % len(MARKETS)]
            strategy, params = TRADER if i < traders else (WATCHER if i % 2 else HOLDER)
            service.create(owners[i % len(owners)], {"name": f"b{i}", "exchange": exchange, "symbol": symbol,
                                                     "strategy": strategy, "mode": "paper", "capital": capital,
                                                     "params": params})
        table = runtime.table()
        client = table.client
        engine, tick_log = runtime.engine(), runtime.tick_log()
        # Reads and writes in the stepping thread, so that a run's compute is its wall time minus its time in
        # DynamoDB calls (in AWS they go eight at a time: docs/scaling.md).
        engine.readers = engine.writers = 1
        in_dynamo = {"s": 0.0, "calls": 0, "started": 0.0}

        def before(**_):
            in_dynamo["started"] = time.perf_counter()

        def after(**_):
            in_dynamo["s"] += time.perf_counter() - in_dynamo["started"]
            in_dynamo["calls"] += 1

        client.meta.events.register("before-call.dynamodb", before)
        client.meta.events.register("after-call.dynamodb", after)
        meter = DynamoMeter().attach(client)
        for number in range(warmup + ticks):
            measured = number >= warmup
            if number == warmup:
                meter.reset()
                logging.getLogger("botfleet").addHandler(log_bytes)
            tick_id = f"2026-11-24T10:{number:02d}:00.000Z"
            sizes = tick_log.begin(tick_id)
            for shards in plan_runs(sizes, SHARDS, bots_per_run):
                in_dynamo.update(s=0.0, calls=0)
                started = time.perf_counter()
                report = engine.run(list(shards), tick_id, parse_iso(tick_id))
                wall = time.perf_counter() - started
                if measured:
                    result.fills += report.fills
                    result.runs.append(RunTiming(report.bots, len(shards), wall, in_dynamo["s"], in_dynamo["calls"]))
                    log_bytes.bytes += 200 + len(json.dumps(asdict(report)))  # the handler's "engine run done"
        logging.getLogger("botfleet").removeHandler(log_bytes)
        result.write_units, result.read_units = meter.write_units, meter.read_units
        result.calls, result.written_entities = dict(meter.calls), dict(meter.written_entities)
        result.log_bytes = log_bytes.bytes
        result.meter = {"write_units": meter.write_units, "write_units_by_entity": dict(meter.write_units_by_entity),
                        "read_units_by_operation": dict(meter.read_units_by_operation)}
        result.metrics_reads = _metrics_reads(runtime, meter, Principal("usr_admin", "ops@example.com", "Ops", "admin"))
        scan = [item for page in client.get_paginator("scan").paginate(TableName="bench") for item in page["Items"]]
        bot_items = [item_size(item) for item in scan if item.get("entity", {}).get("S") == "bot"]
        trade_items = [item_size(item) for item in scan if item.get("entity", {}).get("S") == "trade"]
        result.bot_item_bytes = sum(bot_items) / max(1, len(bot_items))
        result.trade_item_bytes = sum(trade_items) / max(1, len(trade_items))
        runtime.reset()
    return result


def _metrics_reads(runtime, meter, admin) -> dict:
    """What an admin's GET /api/metrics costs: the first reads the whole fleet (and keeps it), the next, within a
    minute, the kept read. Units as billed, DynamoDB calls, seconds on moto."""
    from botfleet.clock import FixedClock
    from botfleet.services.metrics import MetricsService

    built = runtime.metrics()
    service = MetricsService(built.bots, built.counters, FixedClock())
    reads = {}
    for kind in ("fleet", "kept"):
        meter.reset()
        started = time.perf_counter()
        service.snapshot(admin)
        reads[kind] = {"read_units": meter.read_units, "write_units": meter.write_units,
                       "calls": sum(meter.calls.values()), "s": time.perf_counter() - started}
    return reads


def print_result(result: FleetResult) -> None:
    s = result.summary()
    verdict = ""
    if result.fleet == "quiet":
        verdict = (f" goal<={GOAL_QUIET_WRITE_UNITS} "
                   f"{'PASS' if s['write_units_per_bot_tick'] <= GOAL_QUIET_WRITE_UNITS else 'MISS'}")
    print(f"scale fleet={result.fleet} bots={result.bots} ticks={result.ticks} "
          f"fills_per_tick={s['fills_per_tick']:.1f} "
          f"write_units_per_bot_tick={s['write_units_per_bot_tick']:.4f} "
          f"read_units_per_bot_tick={s['read_units_per_bot_tick']:.4f} "
          f"calls_per_bot_tick={s['calls_per_bot_tick']:.4f}{verdict}")
    print(f"  calls {s['calls']}; items written by entity {s['written_entities']}")
    print(f"  engine: {s['runs_per_tick']:.0f} run(s) per tick (≤{os.environ.get('BOTS_PER_RUN')} bots each), "
          f"compute {s['engine_compute_ms_per_bot']:.3f} ms/bot; the largest run: {s['max_run_bots']} bots, "
          f"wall {s['max_run_wall_s']:.2f} s of which compute {s['max_run_compute_s']:.2f} s (the rest is moto), "
          f"{s['dynamo_calls_per_run']:.0f} DynamoDB calls per run")
    print(f"  logs {s['log_bytes_per_tick']:.0f} bytes/tick; a bot item {s['bot_item_bytes']:.0f} bytes, "
          f"a trade item {s['trade_item_bytes']:.0f} bytes")
    fleet, kept = result.metrics_reads["fleet"], result.metrics_reads["kept"]
    print(f"  an admin's GET /api/metrics: reading the fleet {fleet['read_units']:.0f} read units "
          f"({fleet['read_units'] / result.bots:.3f} a bot), {fleet['calls']} DynamoDB calls, "
          f"{fleet['s']:.2f} s on moto; served from the kept read (within a minute) {kept['read_units']:.1f} read "
          f"units, {kept['calls']} calls")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=4)
    parser.add_argument("--bots-per-run", type=int, default=1000)
    parser.add_argument("--fleet", choices=("quiet", "trading", "both"), default="both")
    parser.add_argument("--json", help="also write the summaries here")
    args = parser.parse_args()
    summaries = []
    for fleet in (("quiet", "trading") if args.fleet == "both" else (args.fleet,)):
        result = measure(args.bots, trading=fleet == "trading", ticks=args.ticks, bots_per_run=args.bots_per_run)
        print_result(result)
        summaries.append(result.summary())
    if args.json:
        Path(args.json).write_text(json.dumps(summaries, indent=2))


if __name__ == "__main__":
    main()
