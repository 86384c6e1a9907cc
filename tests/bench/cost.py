"""Cost per bot-month (`make bench-cost`): what a fleet costs on AWS, from counts measured here times AWS's prices.

Measured (tests/bench/scale.py, the real tick against moto, metered as AWS bills): DynamoDB write and read units per
bot per tick (a quiet fleet) and per fill, per market and per tick (the markets' state and candles, the tick log);
item sizes; the engine's compute per bot and its DynamoDB calls per run; bytes logged per tick; the CPU of one
@connections post in the broadcaster (tests/bench/posting.py).
Scenario (the issue's): N paper bots at one-minute ticks, 10 % of them trading per tick, 100 dashboard users each
connected 8 h a day (their sockets receive their bots' fills while connected).
Cited, not measured (each named where it is used): prices; DynamoDB's latency (single-digit milliseconds, "What is
Amazon DynamoDB?"), taken as 10 ms per call for the engine's Lambda duration; Lambda's per-invocation log lines.
Stated assumptions, parameters of the scenario: dashboard REST requests per user-day, breaker trips per trading
bot-month, the quarantine's state transitions.

It prints one line per scenario and region, ending `cost_per_bot_month_usd=<x>`; goal ≤ 0.02. "before" is the same
model with the tick as it was at ae33b81 (every bot written every tick in one TransactWriteItems: the issue's
measurement), everything else equal.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parents[2] / "layers" / "core")]

from botfleet.services.trading import READERS, WRITERS  # noqa: E402
from tests.bench import posting, scale  # noqa: E402  (the path above first)

GOAL = 0.02
TICKS_PER_MONTH = 60 * 24 * 30
KB = 1024

# --- prices (USD), transcribed by hand on 2026-12-02 from the AWS pricing pages named; this machine has no internet,
# so they cannot be refreshed here: `--prices FILE` (JSON, same keys) overrides them. -------------------------------
PRICES = {
    "us-east-1": {
        # https://aws.amazon.com/dynamodb/pricing/on-demand/ (on-demand, Standard table class, after 2024-11-01)
        "dynamodb_write_unit": 0.625e-6, "dynamodb_read_unit": 0.125e-6, "dynamodb_gb_month": 0.25,
        # https://aws.amazon.com/lambda/pricing/ (x86_64, the stack's ARCHITECTURE)
        "lambda_gb_second": 0.0000166667, "lambda_request": 0.20e-6,
        # https://aws.amazon.com/api-gateway/pricing/ (WebSocket: messages in 32 KB units; REST: first 333M)
        "ws_message": 1.00e-6, "ws_connection_minute": 0.25e-6, "rest_request": 3.50e-6,
        # https://aws.amazon.com/cloudfront/pricing/: CloudFront Functions (the /api/* viewer-address function)
        "cloudfront_function": 0.10e-6,
        # https://aws.amazon.com/step-functions/pricing/ (Standard workflows)
        "sfn_transition": 0.025e-3,
        # https://aws.amazon.com/cloudwatch/pricing/ (Logs ingestion; custom metrics, first 10,000)
        "logs_gb": 0.50, "metric_month": 0.30,
        # https://aws.amazon.com/secrets-manager/pricing/, https://aws.amazon.com/kms/pricing/
        "secret_month": 0.40, "kms_key_month": 1.00,
        # https://aws.amazon.com/eventbridge/pricing/: scheduled rules' events are not charged
        "scheduled_event": 0.0,
    },
    "af-south-1": {
        "dynamodb_write_unit": 0.74875e-6, "dynamodb_read_unit": 0.14975e-6, "dynamodb_gb_month": 0.2975,
        "lambda_gb_second": 0.0000221, "lambda_request": 0.28e-6,
        "ws_message": 1.19e-6, "ws_connection_minute": 0.30e-6, "rest_request": 4.55e-6,
        "cloudfront_function": 0.10e-6,
        "sfn_transition": 0.0333e-3,
        "logs_gb": 0.76, "metric_month": 0.30,
        "secret_month": 0.40, "kms_key_month": 1.00,
        "scheduled_event": 0.0,
    },
}

# --- cited figures and stated assumptions ----------------------------------------------------------------------------
DYNAMODB_CALL_S = 0.010  # "single-digit millisecond" (What is Amazon DynamoDB?), rounded up: the engine's calls wait
ENGINE_GB, TICK_GB, BROADCASTER_MB = 1.0, 0.25, 1769  # infra/botfleet_infra memory_mb of each function
BROADCASTER_GB = BROADCASTER_MB / 1024
TICK_FUNCTION_S = 0.05  # the tick function: one UpdateItem and one async invoke per run
INVOKE_S = 0.02  # one asynchronous Invoke call (the tick's fan-out), per run
LAMBDA_LOG_BYTES = 350  # START, END and REPORT lines Lambda writes per invocation
BROADCAST_POST_S = 0.010  # one @connections POST's round trip; the broadcaster posts from a bounded pool
BROADCAST_POOL = 32
BROADCAST_BATCH_S = 0.05  # assumption: a stream batch's own work in the broadcaster (parse, connection lookups)
BROADCAST_PARALLELIZATION = 10  # the stream mapping's ParallelizationFactor (infra/botfleet_infra/settings.py)
REST_REQUESTS_PER_USER_DAY = 300  # assumption: a dashboard session's loads and actions, a working day
HEARTBEAT_S = 35  # the dashboard pings after this much silence (web/src/live.ts PING_MS): a message in, a pong out and
# a ws-function call each; a minute with news for the user has one ping, a silent one 60 / 35
WS_GB, WS_FUNCTION_S = 0.25, 0.015  # the ws function's memory; an answered ping (no lookup, one post back): assumption
TRIPS_PER_TRADING_BOT_MONTH = 1.0  # assumption: breaker trips that start a quarantine
TRANSITIONS_PER_QUARANTINE = 12  # quarantine state machine: begin, wait, retrain, validate, redeploy, ... (approx.)
RETRAIN_GB_S = 1769 / 1024 * 30  # the retrain step: 1,769 MB for ~30 s (make bench-training's grid on one vCPU)
CUSTOM_METRICS = 20  # metric names the functions publish through EMF (20: grep add_metric functions/)
MARKETS = len(scale.MARKETS)
BOT_INDEXES_BEFORE = 2  # before: a running bot's item was in gsi1 (its shard) and gsi2 (the admins' fleet listing)
SUMMARY_UPDATE_UNITS_BEFORE = 2  # before: each fill's transaction also updated the owner's trade summary (< 1 KB)


@dataclass(frozen=True)
class Measured:
    """Per-unit figures from one quiet and one trading run of tests/bench/scale.py."""

    bot_write_units: float  # per bot per tick, quiet fleet (peaks, new days)
    fixed_write_units: float  # per tick, whatever the fleet (markets, candles, tick log, counters)
    write_units_per_fill: float
    bot_read_units: float  # per bot per tick (the shard queries)
    fixed_read_units: float  # per tick (market and tick-log reads)
    compute_s_per_bot: float
    calls_per_run: float  # of the measured run (every shard in it): a query per shard, market and tick-log reads
    write_calls_per_bot: float  # per bot per tick, 10 % trading (puts of bots that changed, fill transactions)
    log_bytes_per_tick: float
    trade_item_bytes: float
    bot_item_bytes: float
    post_cpu_s: float  # one @connections POST in the broadcaster (tests/bench/posting.py)
    metrics_read_units_per_bot: float  # an admin's GET /api/metrics reading the whole fleet
    metrics_calls_per_bot: float
    metrics_kept_read_units: float  # the same served from the kept read
    metrics_keep_write_units: float  # keeping a fleet read

    @classmethod
    def from_runs(cls, quiet: scale.FleetResult, trading: scale.FleetResult, meters: dict,
                  post_cpu_s: float) -> Measured:
        q, t = meters["quiet"], meters["trading"]
        per_tick = quiet.ticks
        bot_units = q["write_units_by_entity"].get("bot", 0.0) / (quiet.bots * per_tick)
        fixed = sum(units for entity, units in q["write_units_by_entity"].items() if entity != "bot") / per_tick
        fills = max(1, trading.fills)
        # Everything the trading fleet wrote beyond what its quiet share would have: the fills' transactions.
        extra = t["write_units"] - (fixed * trading.ticks + bot_units * trading.bots * trading.ticks)
        reads_fixed = q["read_units_by_operation"].get("GetItem", 0.0) / per_tick
        reads_bot = q["read_units_by_operation"].get("Query", 0.0) / (quiet.bots * per_tick)
        summary = trading.summary()
        calls = trading.calls
        runs = len(trading.runs)
        fixed_calls = (calls.get("Query", 0) + calls.get("GetItem", 0) + calls.get("UpdateItem", 0)) / runs
        write_calls = (calls.get("PutItem", 0) + calls.get("TransactWriteItems", 0)) / (trading.bots * trading.ticks)
        fleet_read, kept_read = trading.metrics_reads["fleet"], trading.metrics_reads["kept"]
        return cls(bot_units, fixed, max(0.0, extra) / fills, reads_bot, reads_fixed,
                   summary["engine_compute_ms_per_bot"] / 1000, fixed_calls, write_calls,
                   summary["log_bytes_per_tick"], trading.trade_item_bytes, quiet.bot_item_bytes, post_cpu_s,
                   fleet_read["read_units"] / trading.bots, fleet_read["calls"] / trading.bots,
                   kept_read["read_units"], fleet_read["write_units"])


@dataclass(frozen=True)
class Scenario:
    bots: int
    trading_fraction: float = 0.10
    users: int = 100
    hours_per_day: float = 8.0
    bots_per_run: int = 1000


def monthly_cost(m: Measured, s: Scenario, prices: dict, *, before: bool = False) -> dict[str, float]:
    """USD per month by item for scenario `s` in a region."""
    ticks = TICKS_PER_MONTH
    fills_per_tick = s.bots * s.trading_fraction
    # before: every bot's item rewritten each tick in a transaction (2 units per KB) and in both of its indexes
    # (gsi1 while running, gsi2 always: 1 unit per KB each); a fill added its trade, its events and the summary
    # update to that transaction (the bot, counted there, is today's transactional put and its shard-index copy).
    bot_kb = math.ceil(m.bot_item_bytes / KB)
    if before:
        bot_units = (2 + BOT_INDEXES_BEFORE) * bot_kb
        fill_units = m.write_units_per_fill - (2 + 1) * bot_kb + SUMMARY_UPDATE_UNITS_BEFORE
    else:
        bot_units, fill_units = m.bot_write_units, m.write_units_per_fill
    write_units = ticks * (m.fixed_write_units + s.bots * bot_units + fills_per_tick * fill_units)
    read_units = ticks * (m.fixed_read_units + s.bots * m.bot_read_units)
    trade_gb = ticks * fills_per_tick * m.trade_item_bytes / KB**3
    runs = max(1, math.ceil(s.bots / s.bots_per_run))
    run_bots = s.bots / runs
    write_calls = 1.0 if before else m.write_calls_per_bot  # before: one transaction per bot per tick
    # The run's reads: a query per shard of its own (measured with all 64 in one run), READERS at a time (before:
    # one after another), then the market views and the tick log; its bots' writes go WRITERS at a time (before:
    # one after another).
    writers, readers = (1, 1) if before else (WRITERS, READERS)
    shard_queries = scale.SHARDS / runs
    reads = m.calls_per_run - scale.SHARDS + math.ceil(shard_queries / readers)
    run_s = m.compute_s_per_bot * run_bots + (reads + run_bots * write_calls / writers) * DYNAMODB_CALL_S
    engine_gb_s = ticks * runs * run_s * ENGINE_GB
    tick_gb_s = ticks * (TICK_FUNCTION_S + runs * INVOKE_S) * TICK_GB
    connected_share = s.hours_per_day / 24
    trade_messages = ticks * fills_per_tick * connected_share
    # The share of a user's ticks that bring news: one of their bots (bots / users each) fills.
    news = 1 - (1 - s.trading_fraction) ** (s.bots / s.users)
    pings_per_minute = news * 1 + (1 - news) * 60 / HEARTBEAT_S
    pings = s.users * s.hours_per_day * 60 * pings_per_minute * 30
    messages = trade_messages + 2 * pings
    # Stream batches: one per engine run's burst of writes, split by partition key over up to the mapping's
    # parallelization factor (a fill writes two keys: the owner's bot item and the bot's trade).
    batches_per_run = min(BROADCAST_PARALLELIZATION, max(1, math.ceil(2 * fills_per_tick / runs)))
    broadcaster_invocations = ticks * runs * (1 if before else batches_per_run)
    # A post takes its round trip shared by the pool, or its CPU at the function's share of a vCPU: the longer.
    post_s = max(BROADCAST_POST_S / BROADCAST_POOL, posting.fan_out_floor_s(1, m.post_cpu_s, BROADCASTER_MB))
    broadcaster_gb_s = (broadcaster_invocations * BROADCAST_BATCH_S + trade_messages * post_s) * BROADCASTER_GB
    ws_gb_s = pings * WS_FUNCTION_S * WS_GB
    connection_minutes = s.users * s.hours_per_day * 60 * 30
    trips = s.bots * s.trading_fraction * TRIPS_PER_TRADING_BOT_MONTH
    invocations = ticks * (1 + runs) + broadcaster_invocations + trips * 5 + pings
    log_gb = (ticks * m.log_bytes_per_tick * runs + invocations * LAMBDA_LOG_BYTES) / KB**3
    p = prices
    return {
        "dynamodb_writes": write_units * p["dynamodb_write_unit"],
        "dynamodb_reads": read_units * p["dynamodb_read_unit"],
        "dynamodb_storage": trade_gb * p["dynamodb_gb_month"],
        "lambda": (engine_gb_s + tick_gb_s + broadcaster_gb_s + ws_gb_s + trips * RETRAIN_GB_S) * p["lambda_gb_second"]
                  + invocations * p["lambda_request"],
        "websocket": messages * p["ws_message"] + connection_minutes * p["ws_connection_minute"],
        "rest": s.users * REST_REQUESTS_PER_USER_DAY * 30 * (p["rest_request"] + p["cloudfront_function"]),
        "step_functions": trips * TRANSITIONS_PER_QUARANTINE * p["sfn_transition"],
        "cloudwatch": log_gb * p["logs_gb"] + CUSTOM_METRICS * p["metric_month"],
        "fixed": p["secret_month"] + p["kms_key_month"] + ticks * p["scheduled_event"],
    }


SCRAPE_S = 30  # assumption: an operator's Prometheus scraping the fleet's GET /api/metrics every 30 s
OPS_GB = 256 / 1024  # the ops function's memory (infra/botfleet_infra/api.py)


def metrics_scrape_cost(m: Measured, bots: int, prices: dict, *, before: bool) -> float:
    """USD a month of an admin's GET /api/metrics every SCRAPE_S: before, every scrape read the whole fleet; after,
    one a minute does (and keeps it), the others read the kept item. Outside the issue's scenario: printed apart."""
    scrapes = TICKS_PER_MONTH * 60 / SCRAPE_S
    fleet_reads = scrapes if before else TICKS_PER_MONTH
    kept_reads = scrapes - fleet_reads
    read_units = fleet_reads * bots * m.metrics_read_units_per_bot + kept_reads * m.metrics_kept_read_units
    write_units = 0 if before else fleet_reads * m.metrics_keep_write_units
    # The function waits on its calls one after another (BatchGetItem pages of 100, the listing's pages).
    gb_s = (fleet_reads * bots * m.metrics_calls_per_bot + kept_reads * 2) * DYNAMODB_CALL_S * OPS_GB
    return (read_units * prices["dynamodb_read_unit"] + write_units * prices["dynamodb_write_unit"]
            + gb_s * prices["lambda_gb_second"] + scrapes * (prices["lambda_request"] + prices["rest_request"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measure-bots", type=int, default=1000, help="fleet size measured on moto")
    parser.add_argument("--ticks", type=int, default=4)
    parser.add_argument("--prices", help="JSON file overriding PRICES (same shape)")
    parser.add_argument("--json", help="write the measured figures and the costs here")
    args = parser.parse_args()
    prices = json.loads(Path(args.prices).read_text()) if args.prices else PRICES

    meters = {}
    results = {}
    for fleet in ("quiet", "trading"):
        result = scale.measure(args.measure_bots, trading=fleet == "trading", ticks=args.ticks)
        scale.print_result(result)
        results[fleet] = result
        meters[fleet] = result.meter
    measured = Measured.from_runs(results["quiet"], results["trading"], meters, posting.post_cpu_seconds())
    print(f"measured: {json.dumps({k: round(v, 6) for k, v in measured.__dict__.items()})}")
    report = []
    for bots in (1_000, 10_000, 100_000):
        scenario = Scenario(bots)
        for region, region_prices in prices.items():
            for label, before in (("before", True), ("after", False)):
                items = monthly_cost(measured, scenario, region_prices, before=before)
                total = sum(items.values())
                per_bot = total / bots
                verdict = "PASS" if per_bot <= GOAL else "MISS"
                breakdown = " ".join(f"{name}={value:.2f}" for name, value in items.items())
                print(f"cost bots={bots} trading=10% users=100x8h region={region} {label}: month_usd={total:.2f} "
                      f"[{breakdown}] goal<={GOAL} {verdict} cost_per_bot_month_usd={per_bot:.4f}")
                report.append({"bots": bots, "region": region, "when": label, "month_usd": total,
                               "items": items, "cost_per_bot_month_usd": per_bot})
            before_usd, after_usd = (metrics_scrape_cost(measured, bots, region_prices, before=when)
                                     for when in (True, False))
            print(f"metrics scrape bots={bots} region={region} every={SCRAPE_S}s (an admin's GET /api/metrics, "
                  f"outside the scenario): before month_usd={before_usd:.2f} ({before_usd / bots:.4f} a bot), "
                  f"after month_usd={after_usd:.2f} ({after_usd / bots:.4f} a bot)")
    if args.json:
        Path(args.json).write_text(json.dumps({"measured": measured.__dict__, "costs": report}, indent=2))


if __name__ == "__main__":
    main()
