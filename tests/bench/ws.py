"""WebSocket fan-out benchmark (`make bench-ws`; docs/websocket.md, "Fan-out at scale").

1,000 WebSocket connections to the local cloud (127.0.0.1 only), owned by `--users` users (default 100, so ten
tabs each) who each run one paper bot; then one tick that fills every bot (its market rallied first), and for
every trade message that should reach a connection: the time from the tick's fire to its arrival. Prints

    ws connections=1000 p50_ms=.. p95_ms=.. max_ms=.. lost=.. goal_p95_ms=250 <PASS|MISS>

What is measured, end to end, as a client of the deployed stack would see it: the control plane's fire (the tick
function, the engine's shards and their fills) → the table's stream → the broadcaster → `@connections` → the
gateway → the socket. `lost` is expected - received within `--timeout` seconds of the fire, where expected is
read back over REST after the tick: each connection should get one message per trade its owner's bots made in
that tick (a fill of each bot, normally).

A line before it splits that time: when the engine's writes reached the table's stream (an observing hook on the
cloud's stream dispatcher), and write → socket, the fan-out's own share (stream → broadcaster → @connections →
gateway → socket). The engine runs a shard's bots one after another, so the last fill is written long after the
first; on this machine that, not the fan-out, is most of the fire → message time.

Set-up (not timed): the local cloud starts as the e2e tier starts it (port 0, ticks only when fired, the
per-address registration limit lifted); a first tick warms the engine's workers; the users register and create
their bots over the API. The sockets live in a separate process (`--clients`): the local cloud's gateway, moto
and the stream threads share this interpreter, and the clients' own work must not slow them (nor theirs the
clients' clock). That process opens the sockets (a bounded number of handshakes at a time), subscribes each as the
dashboard does (every topic), fires the tick itself and times from just before the request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench import posting  # noqa: E402  (the path above first)

GOAL_P95_MS = 250
CONNECTIONS = 1000
USERS = 100
TIMEOUT_S = 15.0  # after the fire: a message later than this is lost
HANDSHAKES_IN_FLIGHT = 32  # like a crowd of browsers, not a thundering herd against the 500/s connect quota
SETUP_IN_FLIGHT = 8  # registrations and bot creations at once (the API has no bulk create)
PASSWORD = "bench password 9431"
CONTEXT = {"botfleet:registrations_per_address_per_hour": 100000}
# Markets the bots trade, with a capital above each one's minimum order; a +4 % move makes sma_cross(2, 3) buy.
MARKETS = [("luno", "BTC/ZAR", "50000"), ("kucoin", "BTC/USDT", "5000"), ("binance", "ETH/USDT", "1000"),
           ("valr", "BTC/ZAR", "50000")]
MOVE_PCT = 4


def raise_fd_limit(need: int) -> None:
    """Each socket is a descriptor on both ends (this process serves, the clients' process connects)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < need:
            print(f"   the descriptor limit is {target} (hard), below the {need} this run wants", file=sys.stderr)


def _retrying(call, what: str):
    for attempt in range(5):
        reply = call()
        if reply.status_code < 500 and reply.status_code != 429:
            if reply.status_code >= 300:
                raise RuntimeError(f"{what}: {reply.status_code} {reply.text[:200]}")
            return reply
        time.sleep(0.5 * (attempt + 1))
    raise RuntimeError(f"{what}: {reply.status_code} {reply.text[:200]}")


def _user_with_a_bot(http: httpx.Client, i: int) -> dict:
    email = f"ws{i:04d}@bench.test"
    reply = _retrying(lambda: http.post("/api/auth/register", json={"email": email, "password": PASSWORD,
                                                                    "name": f"Bench {i}"}), f"register {email}")
    token, user = reply.json()["access_token"], reply.json()["user"]
    exchange, symbol, capital = MARKETS[i % len(MARKETS)]
    body = {"name": f"ws bench {i}", "exchange": exchange, "symbol": symbol, "strategy": "sma_cross",
            "params": {"fast": 2, "slow": 3}, "mode": "paper", "capital": capital}
    bot = _retrying(lambda: http.post("/api/bots", headers={"Authorization": f"Bearer {token}"}, json=body),
                    f"bot of {email}").json()
    return {"user_id": user["id"], "token": token, "bot_id": bot["id"]}


# --- the clients' process ----------------------------------------------------------------------------------------

def clients(spec: dict) -> dict:
    """Open the sockets, subscribe, fire the tick, collect trade messages; then read back what was expected."""
    from websockets.asyncio.client import connect

    raise_fd_limit(len(spec["sockets"]) + 256)
    # socket index -> trade id -> arrival. time.monotonic is the system's CLOCK_MONOTONIC on Linux: the same
    # clock in this process and the cloud's, so arrivals compare with the writes the cloud saw.
    received: dict[int, dict[str, float]] = {}
    fired = {"at": 0.0}

    async def run() -> dict:
        gate = asyncio.Semaphore(HANDSHAKES_IN_FLIGHT)
        subscribed = [asyncio.Event() for _ in spec["sockets"]]
        sockets: list = [None] * len(spec["sockets"])

        async def reader(index: int, socket) -> None:
            trades = received.setdefault(index, {})
            async for frame in socket:
                now = time.monotonic()
                message = json.loads(frame)
                kind = message.get("type")
                if kind == "subscribed":
                    subscribed[index].set()
                # A batch (several events for one connection in one invocation) is a list of ordinary messages.
                for event in message.get("data", []) if kind == "batch" else [message]:
                    if event.get("type") == "trade":
                        trades.setdefault(event["data"]["id"], now)

        async def open_one(index: int, token: str) -> asyncio.Task:
            async with gate:
                for attempt in range(5):
                    try:
                        socket = await connect(f"{spec['ws_url']}?token={token}", open_timeout=30,
                                               ping_interval=None, max_size=2**20, max_queue=None)
                        break
                    except Exception as exc:  # refused, reset, timed out: a crowd of handshakes sometimes is
                        if attempt == 4:
                            raise RuntimeError(f"socket {index} never opened: {exc!r}") from exc
                        await asyncio.sleep(0.2 * (attempt + 1))
                sockets[index] = socket
                task = asyncio.create_task(reader(index, socket))
                await socket.send(json.dumps({"action": "subscribe",
                                              "topics": ["trades", "bots", "quarantine", "training", "assistant"],
                                              "batch": True}))  # as the dashboard subscribes (web/src/live.ts)
                await asyncio.wait_for(subscribed[index].wait(), 30)
                return task

        began = time.monotonic()
        readers = await asyncio.gather(*(open_one(i, s["token"]) for i, s in enumerate(spec["sockets"])))
        opened = time.monotonic() - began
        await asyncio.sleep(1.0)  # the last subscriptions' replies are out; nothing else is in flight

        async with httpx.AsyncClient(base_url=spec["url"], timeout=120) as http:
            fired["at"] = time.monotonic()
            reply = await http.post("/_local/schedules/tick/fire", params={"wait": "true"})
            reply.raise_for_status()
            idle_after = time.monotonic() - fired["at"]
            # Idle means every stream record was delivered and every broadcast finished: what is still on the
            # wire arrives within moments. Wait for the rest up to the timeout only if the counts say so below.
            await asyncio.sleep(0.5)
            expected = await _expected(http, spec)
            deadline = fired["at"] + spec["timeout"]
            while time.monotonic() < deadline and _missing(expected, received, spec):
                await asyncio.sleep(0.1)
        for task in readers:
            task.cancel()
        await asyncio.gather(*(s.close() for s in sockets if s is not None), return_exceptions=True)
        return {"opened_s": opened, "idle_after_s": idle_after, "expected": expected}

    summary = asyncio.run(run())
    arrivals = [[index, trade_id, at] for index, trades in received.items() for trade_id, at in trades.items()]
    return {**summary, "fired_at": fired["at"], "arrivals": arrivals}


async def _expected(http: httpx.AsyncClient, spec: dict) -> dict[str, list[str]]:
    """Each user's trades in the tick just fired (its id: the newest trade's tick_id), read over REST."""
    users = {s["user_id"]: s["token"] for s in spec["sockets"]}
    gate = asyncio.Semaphore(SETUP_IN_FLIGHT)

    async def trades(token: str) -> list[dict]:
        async with gate:
            reply = await http.get("/api/trades", params={"limit": 50}, headers={"Authorization": f"Bearer {token}"})
            reply.raise_for_status()
            return reply.json()["items"]

    per_user = dict(zip(users, await asyncio.gather(*(trades(t) for t in users.values())), strict=True))
    ticks = {t["tick_id"] for items in per_user.values() for t in items[:1]}
    tick_id = max(ticks) if ticks else None
    return {user: [t["id"] for t in items if t["tick_id"] == tick_id] for user, items in per_user.items()}


def _missing(expected: dict[str, list[str]], received: dict[int, dict[str, float]], spec: dict) -> bool:
    return any(trade_id not in received.get(index, {})
               for index, socket in enumerate(spec["sockets"]) for trade_id in expected.get(socket["user_id"], []))


# --- the cloud's process -----------------------------------------------------------------------------------------

def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def _watch_trade_writes(cloud) -> dict[str, float]:
    """When each trade item reached the table's stream (the engine's write, as the stream poller sees it): an
    observation hook on the running cloud's dispatcher, so the fan-out's own share (write → socket) can be told
    apart from the engine's (fire → write). Observes only; every record goes on as before."""
    written: dict[str, float] = {}
    deliver = cloud.streams.record

    def record(table, record: dict) -> None:
        image = record.get("dynamodb", {}).get("NewImage") or {}
        if record.get("eventName") == "INSERT" and image.get("entity", {}).get("S") == "trade":
            written.setdefault(image["id"]["S"], time.monotonic())
        deliver(table, record)

    cloud.streams.record = record
    return written


def _parallelization(cloud, function_arn: str) -> int:
    """The broadcaster's stream mapping's ParallelizationFactor, as deployed (1 when unset)."""
    import boto3

    client = boto3.client("lambda", endpoint_url=cloud.moto.url, region_name=cloud.region,
                          aws_access_key_id="x", aws_secret_access_key="x")
    (mapping,) = [m for m in client.list_event_source_mappings()["EventSourceMappings"]
                  if m["FunctionArn"] == function_arn]
    return int(mapping.get("ParallelizationFactor") or 1)


def _summary(latencies: list[float]) -> tuple[float, float, float]:
    values = sorted(latencies)
    return percentile(values, 50), percentile(values, 95), (values[-1] if values else float("nan"))


def bench(connections: int, users: int, timeout: float) -> bool:
    from botfleet_local.cloud import LocalCloud

    raise_fd_limit(connections * 2 + 512)
    started = time.monotonic()
    with LocalCloud(str(ROOT), port=0, tick_seconds=0, time_scale=1, quiet=True, context=CONTEXT) as cloud, \
            httpx.Client(base_url=cloud.url, timeout=120) as http:
        print(f"   local cloud up in {time.monotonic() - started:.1f} s", file=sys.stderr)
        # Warm the engine's workers before any bot exists (their cold starts are `make bench`'s to measure).
        http.post("/_local/schedules/tick/fire", params={"wait": "true"}).raise_for_status()
        began = time.monotonic()
        with ThreadPoolExecutor(SETUP_IN_FLIGHT) as pool:
            owners = list(pool.map(lambda i: _user_with_a_bot(http, i), range(users)))
        print(f"   {users} users with a paper bot each in {time.monotonic() - began:.1f} s", file=sys.stderr)
        for exchange, symbol, _ in MARKETS:
            http.post(f"/_local/market/{exchange}/{symbol.replace('/', '-')}",
                      json={"move_pct": MOVE_PCT}).raise_for_status()
        config = http.get("/api/config").json()
        broadcaster = next(f for f in cloud.deployment.functions.values() if "Broadcaster" in f.logical_id)
        broadcaster_mb = broadcaster.memory
        broadcaster_rate = float(broadcaster.env.get("WS_POSTS_PER_SECOND", "10000"))
        instances = _parallelization(cloud, broadcaster.arn)
        spec = {"url": cloud.url, "ws_url": config["ws_url"], "timeout": timeout,
                "sockets": [owners[i % users] for i in range(connections)]}
        written = _watch_trade_writes(cloud)
        child = subprocess.run([sys.executable, __file__, "--clients"], input=json.dumps(spec), text=True,
                               capture_output=True, timeout=timeout + 600)
        if child.returncode != 0 or not child.stdout.strip():
            raise SystemExit(f"the clients' process failed (exit {child.returncode}):\n{child.stderr[-3000:]}")
        result = json.loads(child.stdout)

    fired = result["fired_at"]
    arrivals = {(index, trade_id): at for index, trade_id, at in result["arrivals"]}
    from_fire, from_write, lost, expected = [], [], 0, 0
    for index, socket in enumerate(spec["sockets"]):
        for trade_id in result["expected"].get(socket["user_id"], []):
            expected += 1
            at = arrivals.get((index, trade_id))
            if at is None or at - fired > timeout:
                lost += 1
                continue
            from_fire.append((at - fired) * 1000)
            if trade_id in written:
                from_write.append((at - written[trade_id]) * 1000)
    p50, p95, worst = _summary(from_fire)
    writes = sorted((written[t] - fired) * 1000 for ids in result["expected"].values() for t in ids if t in written)
    print(f"   {connections} sockets opened and subscribed in {result['opened_s']:.1f} s; {expected} trade messages "
          f"expected; the cloud idle {result['idle_after_s'] * 1000:.0f} ms after the fire", file=sys.stderr)
    if writes:
        w50, w95, wmax = _summary(from_write)
        print(f"   the engine wrote the {len(writes)} trades {writes[0]:.0f}..{writes[-1]:.0f} ms after the fire; "
              f"write → socket p50_ms={w50:.0f} p95_ms={w95:.0f} max_ms={wmax:.0f} (the fan-out's share)",
              file=sys.stderr)
    # On AWS the fan-out's floor is the broadcaster's CPU share, which this machine cannot show: measured here.
    post_cpu = posting.post_cpu_seconds()
    print(f"   on AWS: a @connections post costs {post_cpu * 1000:.2f} ms of the broadcaster's CPU, so {expected} "
          f"posts take at least {posting.fan_out_floor_s(expected, post_cpu, broadcaster_mb):.2f} s in one instance "
          f"at its {broadcaster_mb} MB ({posting.fan_out_floor_s(expected, post_cpu, 256):.2f} s at 256 MB), "
          f"{posting.fan_out_floor_s(expected, post_cpu, broadcaster_mb, instances, broadcaster_rate):.2f} s "
          f"spread over the stream mapping's {instances} parallel batches at {broadcaster_rate:g} posts/s each",
          file=sys.stderr)
    ok = lost == 0 and expected > 0 and p95 <= GOAL_P95_MS
    print(f"ws connections={connections} p50_ms={p50:.0f} p95_ms={p95:.0f} max_ms={worst:.0f} lost={lost} "
          f"goal_p95_ms={GOAL_P95_MS} {'PASS' if ok else 'MISS'}", flush=True)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds after the fire")
    parser.add_argument("--clients", action="store_true", help=argparse.SUPPRESS)  # the sockets' process
    args = parser.parse_args()
    if args.clients:
        print(json.dumps(clients(json.load(sys.stdin))))
        return
    if not 1 <= args.users <= args.connections:
        raise SystemExit("--users: between 1 and --connections")
    bench(args.connections, args.users, args.timeout)


if __name__ == "__main__":
    main()
