"""Dashboard benchmarks (`make bench-web`; docs/dashboard.md, "Performance"). Prints ours beside the issue's goals.

(a) The first load's JavaScript, gzipped: web/dist/index.html's module scripts and modulepreload links, and
    whatever those import statically (followed recursively); chunks imported on demand (the charts library) are
    listed but not counted. Goal: ≤ 250 KB.
(b) The bots view of a user with 500 bots while 50 `trade` events a second reach the page for 20 s: Debian's
    chromium (driven by Playwright, as the browser tier does) against the real local cloud (started as
    tests/browser/conftest.py starts it: port 0, ticks only when fired). A PerformanceObserver for `longtask`
    (buffered) is installed before the page loads. Goal: no long task (> 50 ms) while the events arrive.

How the events are produced: a real tick first (the market rallies, the control plane fires the tick), so the
engine fills bots and the broadcaster delivers real `trade` messages; those are the templates. A tick cannot hold
a rate (a tick fills whichever bots its strategy tells to, all at once), so the steady 50/s are then sent the way
the broadcaster sends every message: looked up in the connections table (the same repository and index the
broadcaster queries for the user) and POSTed to API Gateway's @connections endpoint (the local cloud's), which
writes them into the page's real WebSocket. Each is a real trade message with a fresh id, one of the user's 500
bots (its exchange and symbol), a price near that market's and the time of sending; a separate process sends them
on schedule, each without waiting for the one before. The real tick's burst (every bot filled at once, so the
list the page re-reads has changed everywhere) is measured too and printed on its own line. The synthetic fills
move no books: the list re-read after them changes nowhere, which is why the tick's line matters.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import random
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "dist"
sys.path.insert(0, str(ROOT))

GOAL_FIRST_LOAD_KB = 250
GOAL_LONG_TASK_MS = 50
BOTS = 500
RATE = 50  # trade events per second
SECONDS = 20
IDLE_SECONDS = 10  # the control: the same view with no events
CREATE_CONCURRENCY = 8  # bot creations in flight at once (the API has no bulk create)
PASSWORD = "bench password 9431"
# The bots' markets and a capital each can trade with (above each market's minimum order).
MARKETS = [("luno", "BTC/ZAR", "50000"), ("kucoin", "BTC/USDT", "5000"), ("binance", "ETH/USDT", "1000")]

# Installed before any of the app's code runs: every long task of the page's life, from the start; and the time
# each `trade` message reached the page's main thread, timed there (Playwright's sync API hands events to Python
# late, in batches), the first 1000 kept whole (the real tick's are the templates of the feed).
IN_PAGE = """
window.__longTasks = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
} catch (e) { window.__longTasks = null; }
// Long animation frames say what ran in them: scripts (by invoker) and rendering; a long task whose frame ran little
// of either was the thread waiting for a CPU.
window.__frames = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__frames.push({
      start: e.startTime, duration: e.duration,
      rendering: e.renderStart ? e.startTime + e.duration - e.renderStart : 0,
      scripts: e.scripts.map((s) => ({ invoker: s.invoker, duration: s.duration })),
    });
  }).observe({ type: 'long-animation-frame', buffered: true });
} catch (e) { window.__frames = null; }
window.__trades = [];
window.__tradeSamples = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', (event) => {
      if (typeof event.data === 'string' && event.data.startsWith('{"type":"trade"')) {
        window.__trades.push(performance.now());
        if (window.__tradeSamples.length < 1000) window.__tradeSamples.push(event.data);
      }
    });
  }
};
"""


# --- (a) the first load ------------------------------------------------------------------------------------

class _Entry(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("type") == "module" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        if tag == "link" and attrs.get("rel") == "modulepreload" and attrs.get("href"):
            self.scripts.append(attrs["href"])


# A static import in minified ESM: `import{a as b}from"./x.js"`, `import"./x.js"`, `export{c}from"./y.js"`; not
# `import("./z.js")`, which loads on demand.
_STATIC = re.compile(r"""(?:\bimport|\bexport)\s*(?:[\w$*{}\s,]+?\s*from\s*)?["'`]([^"'`]+\.js)["'`]""")
_DYNAMIC = re.compile(r"""\bimport\(\s*["'`]([^"'`]+\.js)["'`]\s*\)""")


def _resolve(src: str, importer: str) -> str:
    """A URL path under dist/ (`/assets/x.js`) from `src` as written in `importer` (a path under dist/)."""
    if src.startswith("/"):
        return src
    base = importer.rsplit("/", 1)[0]
    parts = [p for p in f"{base}/{src}".split("/") if p not in ("", ".")]
    out: list[str] = []
    for part in parts:
        if part == "..":
            out.pop()
        else:
            out.append(part)
    return "/" + "/".join(out)


def first_load() -> tuple[dict[str, int], dict[str, int]]:
    """(gzipped bytes of each script the first load fetches, of each chunk loaded on demand)."""
    entry = _Entry()
    entry.feed((DIST / "index.html").read_text(encoding="utf-8"))
    if any(re.match(r"^(https?:)?//", src) for src in entry.scripts):
        raise SystemExit(f"index.html loads a script from another origin: {entry.scripts}")
    todo, sizes, lazy = [_resolve(s, "/index.html") for s in entry.scripts], {}, set()
    while todo:
        path = todo.pop()
        if path in sizes:
            continue
        code = (DIST / path.lstrip("/")).read_bytes()
        sizes[path] = len(gzip.compress(code, 9))
        text = code.decode("utf-8", "replace")
        todo += [_resolve(s, path) for s in _STATIC.findall(text)]
        lazy |= {_resolve(s, path) for s in _DYNAMIC.findall(text)}
    on_demand = {p: len(gzip.compress((DIST / p.lstrip("/")).read_bytes(), 9)) for p in lazy - set(sizes)}
    return sizes, on_demand


def report_first_load() -> None:
    sizes, on_demand = first_load()
    total = sum(sizes.values()) / 1024
    print(f"== (a) first load: {total:.1f} KB of gzipped JavaScript (goal ≤ {GOAL_FIRST_LOAD_KB} KB) "
          f"{'✓' if total <= GOAL_FIRST_LOAD_KB else '✗ MISSED'}")
    for path, size in sorted(sizes.items()):
        print(f"   {path:58s} {size / 1024:7.1f} KB")
    for path, size in sorted(on_demand.items()):
        print(f"   {path:58s} {size / 1024:7.1f} KB  (on demand, not counted)")


# --- (b) 500 bots, 50 trades a second ----------------------------------------------------------------------

def _create_bots(http: httpx.Client, token: str) -> float:
    headers = {"Authorization": f"Bearer {token}"}

    def create(i: int) -> None:
        exchange, symbol, capital = MARKETS[i % len(MARKETS)]
        body = {"name": f"Bench {i + 1:03d}", "exchange": exchange, "symbol": symbol, "strategy": "sma_cross",
                "params": {"fast": 2, "slow": 3 + i % 3}, "mode": "paper", "capital": capital}
        for attempt in range(5):
            reply = http.post("/api/bots", headers=headers, json=body)
            if reply.status_code == 201:
                return
            if reply.status_code < 500 and reply.status_code != 429:
                raise RuntimeError(f"creating bot {i}: {reply.status_code} {reply.text[:200]}")
            time.sleep(0.5 * (attempt + 1))
        raise RuntimeError(f"creating bot {i}: {reply.status_code} {reply.text[:200]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(CREATE_CONCURRENCY) as pool:
        list(pool.map(create, range(BOTS)))
    return time.perf_counter() - started


def _connections(cloud, user_id: str) -> list[str]:
    """The user's subscribed connections, read as the broadcaster reads them (its repository, its index)."""
    import boto3

    from botfleet.adapters.dynamo.connections import DynamoConnectionRepository
    from botfleet.adapters.dynamo.table import Table

    client = boto3.client("dynamodb", endpoint_url=cloud.moto.url, region_name=cloud.region,
                          aws_access_key_id="bench", aws_secret_access_key="bench")
    repository = DynamoConnectionRepository(Table(cloud.deployment.outputs["TableName"], client))
    return [c["connection_id"] for c in repository.for_user(user_id) if c.get("topics")]


def feed(spec: dict) -> dict:
    """`rate` trade messages a second for `seconds`, each POSTed to every connection's @connections URL (the
    request the broadcaster's post_to_connection makes), each on its own schedule: a slow answer delays no other
    message (up to 64 in flight). Runs in its own process (`--feed`): the local cloud's gateway and moto share the
    bench's interpreter, and the sender's pace must not depend on them."""
    import asyncio

    rng = random.Random(7)
    serial = itertools.count(1)
    templates = {tuple(key.split(" ")): message for key, message in spec["templates"].items()}
    bots = [b for b in spec["bots"] if (b["exchange"], b["symbol"]) in templates]
    rate, count = spec["rate"], int(spec["seconds"] * spec["rate"])

    def message() -> str:
        bot = rng.choice(bots)
        template = templates[(bot["exchange"], bot["symbol"])]
        data = dict(template["data"])
        price = Decimal(data["price"]) * Decimal(1 + rng.uniform(-0.002, 0.002))
        price = price.quantize(Decimal(data["price"]))
        cost = (price * Decimal(data["amount"])).quantize(Decimal(data["cost"]))
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        data.update(id=f"{data['id']}b{next(serial)}", bot_id=bot["id"], side=rng.choice(("buy", "sell")),
                    price=str(price), cost=str(cost), ts=now)
        return json.dumps({**template, "data": data, "ts": now}, separators=(",", ":"))

    async def run() -> dict:
        late, answers = [], []
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            async def post(url: str, body: str) -> bool:
                for _ in range(3):  # a keep-alive connection the server just closed: once more on a fresh one
                    try:
                        return (await http.post(url, content=body)).status_code == 200
                    except httpx.TransportError:
                        continue
                return False

            async def send(body: str) -> None:
                began = time.perf_counter()
                delivered = await asyncio.gather(*(post(url, body) for url in spec["urls"]))
                answers.append((time.perf_counter() - began, all(delivered)))

            start, sends = time.perf_counter(), []
            for n in range(count):
                wait = start + n / rate - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                else:
                    late.append(-wait)
                sends.append(asyncio.create_task(send(message())))
            await asyncio.gather(*sends)
            elapsed = time.perf_counter() - start
        times = sorted(t for t, _ in answers)
        return {"sent": count, "seconds": elapsed, "late_over_20ms": sum(1 for x in late if x > 0.02),
                "answer_p50_ms": times[len(times) // 2] * 1000, "answer_max_ms": times[-1] * 1000,
                "failed": sum(1 for _, ok in answers if not ok)}

    return asyncio.run(run())


def _long_tasks(page, since_ms: float, until_ms: float | None = None) -> list[float]:
    tasks = page.evaluate("window.__longTasks")
    if tasks is None:
        raise SystemExit("this chromium does not report long tasks (PerformanceObserver 'longtask')")
    return [t["duration"] for t in tasks if t["start"] >= since_ms and (until_ms is None or t["start"] < until_ms)]


def _attribution(page, since_ms: float, until_ms: float) -> list[str]:
    """For each long task in the window: what its long animation frame ran (scripts by invoker, rendering)."""
    tasks = [t for t in page.evaluate("window.__longTasks") if since_ms <= t["start"] < until_ms]
    frames = page.evaluate("window.__frames") or []
    lines = []
    for task in tasks:
        around = (f for f in frames if f["start"] <= task["start"] + 1 < f["start"] + f["duration"] + 1)
        frame = next(around, None)
        if frame is None:
            lines.append(f"a {task['duration']:.0f} ms task: no long animation frame recorded around it")
            continue
        scripts = sorted(frame["scripts"], key=lambda s: -s["duration"])
        ran = sum(s["duration"] for s in scripts)
        top = ", ".join(f"{s['invoker'] or '?'} {s['duration']:.0f} ms" for s in scripts[:3])
        lines.append(f"a {task['duration']:.0f} ms task in a {frame['duration']:.0f} ms frame: scripts {ran:.0f} ms"
                     f"{f' ({top})' if top else ''}, rendering {frame['rendering']:.0f} ms")
    return lines


def _describe(durations: list[float]) -> str:
    if not durations:
        return f"0 long tasks (none over {GOAL_LONG_TASK_MS} ms)"
    return (f"{len(durations)} long tasks over {GOAL_LONG_TASK_MS} ms, the longest {max(durations):.0f} ms "
            f"(median {statistics.median(durations):.0f} ms, {sum(d - 50 for d in durations):.0f} ms blocking)")


def _arrivals(page, since_ms: float) -> tuple[int, float, list[int]]:
    """(trade messages the page received since `since_ms`, their rate per second, the count in each second)."""
    times = [t for t in page.evaluate("window.__trades") if t >= since_ms]
    if len(times) < 2:
        return len(times), 0.0, [len(times)]
    span = (times[-1] - times[0]) / 1000
    per_second = [0] * max(1, int(span))  # whole seconds only: the last, partial one would look like a stall
    for t in times:
        second = int((t - times[0]) / 1000)
        if second < len(per_second):
            per_second[second] += 1
    return len(times), (len(times) - 1) / span, per_second


# The bots view lists every bot: all in the DOM, or (a long list) the table says how many rows it has.
SHOWS_ALL = """count => {
  const table = document.querySelector('[data-testid=bots-table]');
  return !!table && (table.tBodies[0].querySelectorAll('tr[data-bot-id]').length === count
    || table.getAttribute('aria-rowcount') === String(count + 1));
}"""


def _rows(page) -> str:
    rendered = page.locator("[data-testid=bots-table] tbody tr[data-bot-id]").count()
    return f"{BOTS} bots, {rendered} rows in the DOM"


def _all_bots(http: httpx.Client, headers: dict) -> list[dict]:
    bots, cursor = [], None
    while True:
        reply = http.get("/api/bots", headers=headers, params={"limit": 200, **({"cursor": cursor} if cursor else {})})
        reply.raise_for_status()
        bots += reply.json()["items"]
        cursor = reply.json().get("next_cursor")
        if not cursor:
            return bots


def live_bots_view(seconds: float, rate: int, idle: float) -> bool:
    from playwright.sync_api import sync_playwright

    from botfleet_local.cloud import LocalCloud
    from botfleet_local.websocket import CONNECTIONS_ENDPOINT
    from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, CHROMIUM, CHROMIUM_ARGS, CONTEXT, DESKTOP, TIMEZONE

    started = time.perf_counter()
    with LocalCloud(str(ROOT), port=0, tick_seconds=0, time_scale=1, admin_email=ADMIN_EMAIL,
                    admin_password=ADMIN_PASSWORD, quiet=True, context=CONTEXT) as cloud, \
            httpx.Client(base_url=cloud.url, timeout=120) as http:
        print(f"   local cloud up in {time.perf_counter() - started:.1f} s")
        reply = http.post("/api/auth/register", json={"email": "fleet@bench.test", "password": PASSWORD,
                                                      "name": "Fleet"})
        reply.raise_for_status()
        token, user = reply.json()["access_token"], reply.json()["user"]
        took = _create_bots(http, token)
        bots = _all_bots(http, {"Authorization": f"Bearer {token}"})
        assert len(bots) == BOTS, len(bots)
        print(f"   {BOTS} bots created through the API in {took:.1f} s ({CREATE_CONCURRENCY} requests in flight)")

        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(viewport=DESKTOP, locale="en-ZA", timezone_id=TIMEZONE, color_scheme="dark")
            context.add_init_script(IN_PAGE)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{cloud.url}/#/bots")
            page.get_by_label("Email").fill("fleet@bench.test")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in", exact=True).click()
            page.locator("[data-testid=connection][data-state=live]").wait_for(timeout=60000)
            page.wait_for_function(SHOWS_ALL, arg=BOTS, timeout=60000)
            page.wait_for_timeout(1000)
            print(f"   load, sign in, the bots view ({_rows(page)}): {_describe(_long_tasks(page, 0))}")
            # The control: the same page with nothing arriving. A long task here is the machine (a 2-core box
            # shared with the local cloud, its Lambda workers and whatever else runs), not the dashboard.
            quiet_from = page.evaluate("performance.now()")
            page.wait_for_timeout(idle * 1000)
            print(f"   the same view, no events, {idle:.0f} s (the noise floor): "
                  f"{_describe(_long_tasks(page, quiet_from))}")

            # A real tick: every market rallies, the engine fills the bots whose strategy says buy, and the
            # broadcaster delivers their trades to the page; the first of each market model the feed.
            for exchange, symbol, _ in MARKETS:
                market = f"/_local/market/{exchange}/{symbol.replace('/', '-')}"
                http.post(market, json={"move_pct": 4}).raise_for_status()
            before = page.evaluate("performance.now()")
            tick_started = time.perf_counter()
            http.post("/_local/schedules/tick/fire", params={"wait": "true"}, timeout=600).raise_for_status()
            tick_seconds = time.perf_counter() - tick_started
            page.wait_for_timeout(4000)  # the last fills' effects (the bots list is re-read 2.5 s after a fill)
            count, per_s, _ = _arrivals(page, before)
            print(f"   a real tick ({tick_seconds:.1f} s through the control plane): {count} fills reached the page "
                  f"({per_s:.0f}/s while they came); {_describe(_long_tasks(page, before))}")
            templates: dict[str, dict] = {}
            for text in page.evaluate("window.__tradeSamples"):
                message = json.loads(text)
                templates.setdefault(f"{message['data']['exchange']} {message['data']['symbol']}", message)
            if not templates:
                raise SystemExit("the tick filled no bot: no real trade message to model the feed on")
            connection_ids = _connections(cloud, user["id"])
            if len(connection_ids) != 1:
                raise SystemExit(f"expected the page's one subscribed connection, found {connection_ids}")
            urls = [f"{cloud.url}{CONNECTIONS_ENDPOINT}/@connections/{c}" for c in connection_ids]

            spec = {"urls": urls, "templates": templates, "rate": rate, "seconds": seconds,
                    "bots": [{k: b[k] for k in ("id", "exchange", "symbol")} for b in bots]}
            window_start = page.evaluate("performance.now()")
            sender = subprocess.Popen([sys.executable, __file__, "--feed"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
            sender.stdin.write(json.dumps(spec))
            sender.stdin.close()
            while sender.poll() is None:
                page.wait_for_timeout(250)  # keeps the driver's events flowing while the feed runs
            output = sender.stdout.read()
            if sender.returncode != 0 or not output.strip():
                raise SystemExit(f"the feed failed (exit {sender.returncode}); its error is above")
            sent = json.loads(output)
            page.wait_for_timeout(3000)  # what the last events set off (the bots list is re-read 2.5 s later)
            window_end = page.evaluate("performance.now()")
            tasks = _long_tasks(page, window_start, window_end)
            count, per_s, per_second = _arrivals(page, window_start)
            print(f"   the feed: {sent['sent']} trade messages sent in {sent['seconds']:.1f} s "
                  f"({sent['late_over_20ms']} over 20 ms behind schedule; @connections answered in "
                  f"{sent['answer_p50_ms']:.0f} ms median, "
                  f"{sent['answer_max_ms']:.0f} ms at most; {sent['failed']} refused)")
            print(f"   the page received {count}: {per_s:.1f} events/s (per second: min {min(per_second)}, "
                  f"max {max(per_second)}); the view: {_rows(page)}")
            ok = not tasks and not errors
            print(f"== (b) the bots view, {BOTS} bots, {per_s:.0f} trade events/s for {seconds:.0f} s: "
                  f"{_describe(tasks)} (goal: no long task over {GOAL_LONG_TASK_MS} ms) {'✓' if ok else '✗ MISSED'}")
            for line in _attribution(page, window_start, window_end):
                print(f"   {line}")
            if errors:
                print(f"   page errors: {errors[:3]}")
            browser.close()
            return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--rate", type=int, default=RATE)
    parser.add_argument("--idle-seconds", type=float, default=IDLE_SECONDS, help="the control window, no events")
    parser.add_argument("--first-load-only", action="store_true")
    parser.add_argument("--feed", action="store_true", help=argparse.SUPPRESS)  # the sender process
    args = parser.parse_args()
    if args.feed:
        print(json.dumps(feed(json.load(sys.stdin))))
        return
    if not (DIST / "index.html").exists():
        raise SystemExit("build the dashboard first: make web")
    report_first_load()
    if not args.first_load_only:
        print(f"== (b) the bots view with {BOTS} bots, {args.rate} trade events/s for {args.seconds:.0f} s")
        live_bots_view(args.seconds, args.rate, args.idle_seconds)


if __name__ == "__main__":
    main()
