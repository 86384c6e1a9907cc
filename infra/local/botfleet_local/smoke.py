"""`botfleet smoke --base-url URL`: one check that a deployed botfleet stack works, end to end, as a client sees it.

It registers a throwaway user (`smoke-…@smoke.invalid`) and walks the product: health, config, login, the WebSocket,
the API-key flow of every provider, a paper bot that trades (with its `trade` event on the socket), the admin routes'
RBAC, a small training run and the quarantine config; then it removes everything it made, the account last
(DELETE /api/auth/me), even when a step failed. Each step is a row `(name, ok|failed|skipped, seconds, detail)`;
the exit status is 1 when any row failed.

It speaks only HTTP and WebSocket (httpx, websockets) to the stack and imports nothing of the project, so it runs
against the local cloud, LocalStack or AWS alike. What makes the bot trade depends on the stack (`--tick`):
- `control-plane` (the local cloud, found by its `/_local/info`): move the simulated market, fire the tick, wait;
- `invoke`: `lambda.invoke` the tick function (`--tick-function`, boto3's own credentials, region and
  `AWS_ENDPOINT_URL`) with the schedule's event, again every few seconds until the bot trades;
- `schedule`: wait for the stack's own schedule; `none`: don't trade (those steps are skipped).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
#: Per request: API Gateway gives up on an integration after 29 s.
HTTP_TIMEOUT_S = 30.0
#: The paper bot: a fast SMA cross on a market the local cloud can move (a 4 % rally crosses fast above slow).
BOT = {"name": "smoke paper bot", "exchange": "luno", "symbol": "BTC/ZAR", "strategy": "sma_cross",
       "params": {"fast": 2, "slow": 3}, "mode": "paper", "capital": "50000"}
MARKET_MOVE_PCT = 4
#: A small training run (docs/api.md "Training"): one chunk of 20 sets. On 2,000 candles rather than the API's
#: least, 500: on 500 the search finds no set with 3 round trips in about 1 run of 60 (a "failed" run that proves
#: nothing wrong); on 2,000, none of 300 seeded runs did, and the run still takes well under a second.
TRAINING = {"budget": 20, "candles": 2000}
TRAINING_FINAL = ("succeeded", "failed", "stopped")
TRADE_FIELDS = ("id", "bot_id", "exchange", "symbol", "side", "price", "amount", "cost", "fee", "fee_currency",
                "slippage_bps", "mode", "ts")
#: In invoke mode, how long to wait for a fill after each tick before ticking again.
INVOKE_EVERY_S = 3.0
#: What fills an admin route's path parameters: an id that exists nowhere (RBAC answers before any lookup).
DUMMY_ID = "smoke-no-such-id"
#: Where docs/openapi.json is in a checkout (this file is infra/local/botfleet_local/smoke.py).
CHECKOUT_OPENAPI = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


@dataclass(frozen=True)
class Options:
    base_url: str
    admin_email: str | None = None
    admin_password: str | None = None
    tick: str = "auto"  # auto | control-plane | invoke | schedule | none (see the module's docstring)
    tick_function: str | None = None
    provision_function: str | None = None  # moves the market before an invoked or scheduled tick (see `trade`)
    timeout: float = 90.0  # the longest wait for anything asynchronous: a fill, a socket event, training progress
    openapi: Path | None = None


@dataclass
class Row:
    name: str
    status: str
    seconds: float
    detail: str


@dataclass
class Report:
    base_url: str
    tick: str
    user: str | None
    rows: list[Row]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(row.status != FAILED for row in self.rows)

    def to_json(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "tick": self.tick, "user": self.user, "ok": self.ok,
                "seconds": round(self.seconds, 3),
                "steps": [{"name": r.name, "status": r.status, "seconds": round(r.seconds, 3), "detail": r.detail}
                          for r in self.rows]}

    def table(self) -> str:
        width = max([len(row.name) for row in self.rows] + [4])
        lines = [f"botfleet smoke check of {self.base_url} (tick: {self.tick})",
                 f"  {'step':<{width}}  {'result':<7}  {'seconds':>7}  detail"]
        lines += [f"  {row.name:<{width}}  {row.status:<7}  {row.seconds:>7.2f}  {row.detail}" for row in self.rows]
        counts = {status: sum(row.status == status for row in self.rows) for status in (OK, FAILED, SKIPPED)}
        verdict = "PASSED" if self.ok else "FAILED"
        lines.append(f"{verdict}: {counts[OK]} ok, {counts[FAILED]} failed, {counts[SKIPPED]} skipped "
                     f"in {self.seconds:.1f} s")
        return "\n".join(lines)


class Failed(Exception):
    """A step's check did not hold; the message is the row's detail."""


class Skipped(Exception):
    """A step that cannot run here (the reason is the row's detail)."""


@dataclass
class _State:
    """What the steps found and made: later steps build on it, and cleanup removes what it lists."""

    config: dict[str, Any] = field(default_factory=dict)
    email: str | None = None
    password: str | None = None
    user_id: str | None = None
    token: str | None = None
    admin_token: str | None = None
    socket: Any = None
    inbox: list[dict[str, Any]] = field(default_factory=list)  # socket messages received but not yet wanted
    bot_id: str | None = None
    trade: dict[str, Any] | None = None
    run_id: str | None = None
    run_status: str | None = None
    saved_keys: set[str] = field(default_factory=set)
    unreachable: bool = False  # health got no answer at all: every other step would only repeat that


class SmokeCheck:
    def __init__(self, options: Options):
        self.options = options
        self.base_url = options.base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=HTTP_TIMEOUT_S)
        self.state = _State()
        self.rows: list[Row] = []
        self.tick = options.tick
        self._open = contextlib.ExitStack()  # the socket, closed when the check ends

    # --- running ---------------------------------------------------------------------------------------------------
    def run(self) -> Report:
        started = time.monotonic()
        try:
            self._step("health", self.health)
            self._step("config", self.config)
            if not self.state.unreachable and self.tick == "auto":
                self.tick = self._detect_tick()
            self._step("register", self.register)
            self._step("login", self.login)
            self._step("websocket", self.websocket)
            providers = self.state.config.get("providers") or []
            for provider in providers:
                self._step(f"keys: {provider}", lambda provider=provider: self.key_flow(provider))
            if not providers:
                self._step("keys", lambda: self.key_flow(None))
            self._step("paper bot", self.paper_bot)
            self._step("trade", self.trade)
            self._step("realtime event", self.realtime_event)
            self._step("rbac", self.rbac)
            self._step("training", self.training)
            self._step("quarantine config", self.quarantine_config)
        finally:
            # Whatever happened above: nothing the check made may stay behind.
            self._step("cleanup", self.cleanup, always=True)
            self._step("delete account", self.delete_account, always=True)
            self._open.close()
            self.http.close()
        return Report(self.base_url, self.tick, self.state.email, self.rows, time.monotonic() - started)

    def _step(self, name: str, check: Callable[[], str], *, always: bool = False) -> None:
        started = time.monotonic()
        if self.state.unreachable and not always:
            self.rows.append(Row(name, SKIPPED, 0.0, "the stack did not answer (see health)"))
            return
        try:
            status, detail = OK, check()
        except Skipped as skipped:
            status, detail = SKIPPED, str(skipped)
        except Failed as failed:
            status, detail = FAILED, str(failed)
        except httpx.TransportError as exc:
            status, detail = FAILED, f"{type(exc).__name__}: {exc or 'no answer'}"
        except Exception as exc:  # a step's own surprise is that step's failure, never the end of the check
            status, detail = FAILED, f"{type(exc).__name__}: {exc}"
        self.rows.append(Row(name, status, time.monotonic() - started, detail))

    # --- HTTP --------------------------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, token: str | None = None, body: Any = None,
              expect: tuple[int, ...] = (200,)) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        reply = self.http.request(method, path, headers=headers, json=body)
        if reply.status_code not in expect:
            raise Failed(f"{method} {path} answered {reply.status_code}: {_why(reply)}")
        return reply

    def _user(self) -> str:
        if not self.state.token:
            raise Skipped("no signed-in user (register or login failed)")
        return self.state.token

    def _admin(self) -> str | None:
        """The admin's token when credentials were given (None when not); a refused login fails the step."""
        if not (self.options.admin_email and self.options.admin_password):
            return None
        if self.state.admin_token is None:
            reply = self._call("POST", "/api/auth/login", body={"email": self.options.admin_email,
                                                               "password": self.options.admin_password})
            if reply.json().get("user", {}).get("role") != "admin":
                raise Failed(f"{self.options.admin_email} is not an admin")
            self.state.admin_token = reply.json()["access_token"]
        return self.state.admin_token

    # --- the steps ---------------------------------------------------------------------------------------------------
    def health(self) -> str:
        try:
            reply = self.http.get("/api/health")
        except httpx.TransportError as exc:
            self.state.unreachable = True
            raise Failed(f"cannot reach {self.base_url}/api/health: {type(exc).__name__}: {exc or 'no answer'}"
                         ) from None
        body = _json(reply)
        if reply.status_code != 200 or body.get("status") != "ok":
            raise Failed(f"GET /api/health answered {reply.status_code}: {_why(reply)}")
        return ", ".join(f"{name} {value}" for name, value in (body.get("checks") or {}).items()) or "ok"

    def config(self) -> str:
        config = _json(self._call("GET", "/api/config"))
        missing = [key for key in ("ws_url", "exchanges", "providers") if key not in config]
        if missing:
            raise Failed(f"GET /api/config lacks {', '.join(missing)}")
        if not config["exchanges"] or not config["providers"]:
            raise Failed("GET /api/config lists no exchanges or no providers")
        self.state.config = config
        ws = config["ws_url"] or "empty (no WebSocket API)"
        return (f"{len(config['exchanges'])} exchanges ({', '.join(config['exchanges'])}), "
                f"{len(config['providers'])} providers, ws_url {ws}, version {config.get('version', '?')}")

    def register(self) -> str:
        self.state.email = f"smoke-{uuid.uuid4().hex[:12]}@smoke.invalid"
        self.state.password = f"throwaway {secrets.token_hex(8)} pass!"
        reply = self._call("POST", "/api/auth/register", expect=(201,), body={
            "email": self.state.email, "password": self.state.password, "name": "Smoke check"})
        body = reply.json()
        self.state.user_id, self.state.token = body["user"]["id"], body["access_token"]
        return f"{self.state.email} ({self.state.user_id})"

    def login(self) -> str:
        if not self.state.user_id:
            raise Skipped("no account (register failed)")
        body = self._call("POST", "/api/auth/login", body={"email": self.state.email,
                                                           "password": self.state.password}).json()
        if body.get("token_type") != "bearer" or not body.get("access_token"):
            raise Failed(f"login answered no bearer token: {sorted(body)}")
        self.state.token = body["access_token"]
        me = self._call("GET", "/api/auth/me", token=self.state.token).json()
        if me.get("id") != self.state.user_id:
            raise Failed(f"GET /api/auth/me is {me.get('id')}, not the new user")
        return f"bearer token for {body.get('expires_in')} s; /api/auth/me is the new user"

    def websocket(self) -> str:
        token = self._user()
        ws_url = self.state.config.get("ws_url")
        if not ws_url:
            raise Skipped("config's ws_url is empty: this stack has no WebSocket API")
        from websockets.exceptions import InvalidStatus
        from websockets.sync.client import connect

        try:
            self.state.socket = self._open.enter_context(
                connect(f"{ws_url}?token={quote(token)}", open_timeout=10, close_timeout=2))
        except InvalidStatus as refused:
            raise Failed(f"{ws_url} refused the connection: HTTP {refused.response.status_code}") from None
        started = time.monotonic()
        self.state.socket.send(json.dumps({"action": "ping"}))
        self._next_message(lambda m: m.get("type") == "pong", 10, "a pong")
        pong_ms = (time.monotonic() - started) * 1000
        topics = ["trades", "bots", "training"]
        self.state.socket.send(json.dumps({"action": "subscribe", "topics": topics}))
        reply = self._next_message(lambda m: m.get("type") in ("subscribed", "error"), 10, "the subscribe's answer")
        if reply["type"] != "subscribed":
            raise Failed(f"subscribe refused: {reply.get('data')}")
        return f"connected to {ws_url}, pong in {pong_ms:.0f} ms, subscribed to {', '.join(topics)}"

    def _next_message(self, wanted: Callable[[dict[str, Any]], bool], timeout: float, what: str) -> dict[str, Any]:
        """The first socket message (received earlier or now) that `wanted` accepts; the others stay in the inbox."""
        for message in self.state.inbox:
            if wanted(message):
                self.state.inbox.remove(message)
                return message
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                raw = self.state.socket.recv(timeout=remaining)
            except TimeoutError:
                break
            try:
                message = json.loads(raw)
            except ValueError:
                raise Failed(f"the socket sent something that is not JSON: {str(raw)[:80]!r}") from None
            if wanted(message):
                return message
            self.state.inbox.append(message)
        raise Failed(f"no {what} on the socket within {timeout:.0f} s")

    def key_flow(self, provider: str | None) -> str:
        token = self._user()
        if provider is None:
            raise Skipped("no providers to check (config did not pass)")
        rows = {row["provider"]: row for row in self._call("GET", "/api/keys", token=token).json()["items"]}
        if provider not in rows:
            raise Failed(f"GET /api/keys has no row for {provider}")
        fields = rows[provider].get("required_fields")
        if not fields:
            raise Failed(f"GET /api/keys does not say which fields {provider} needs (required_fields)")
        secrets_sent = {name: f"smoke-{name}-{secrets.token_hex(8)}" for name in fields}
        self.state.saved_keys.add(provider)
        saved = self._call("PUT", f"/api/keys/{provider}", token=token, body=secrets_sent)
        if not saved.json().get("configured"):
            raise Failed(f"PUT /api/keys/{provider} did not make it configured: {saved.text[:200]}")
        leaked = [name for name, value in secrets_sent.items() if value[:-4] in saved.text]
        if leaked:
            raise Failed(f"the saved record shows {', '.join(leaked)}: only the last 4 characters may show")
        result = self._call("POST", "/api/keys/test", token=token, body={"provider": provider}).json()
        shape = {"provider": str, "ok": bool, "message": str, "latency_ms": int}
        wrong = [name for name, kind in shape.items() if not isinstance(result.get(name), kind)]
        if wrong or result["provider"] != provider:
            raise Failed(f"the key test's answer is not the contract's shape ({', '.join(wrong) or 'provider'}): "
                         f"{json.dumps(result)[:200]}")
        self._call("DELETE", f"/api/keys/{provider}", token=token, expect=(204,))
        self.state.saved_keys.discard(provider)
        if self._call("GET", f"/api/keys/{provider}", token=token).json().get("configured"):
            raise Failed(f"{provider} still shows configured after DELETE")
        return (f"saved ({', '.join(fields)}), test ok={str(result['ok']).lower()} in {result['latency_ms']} ms "
                f"({result['message'][:60]}), deleted")

    def paper_bot(self) -> str:
        token = self._user()
        markets = self.state.config.get("markets") or {}
        if BOT["exchange"] not in self.state.config.get("exchanges", []) or (
                markets and BOT["symbol"] not in markets.get(BOT["exchange"], {}).get("symbols", [])):
            raise Failed(f"the stack does not list {BOT['exchange']} {BOT['symbol']}")
        bot = self._call("POST", "/api/bots", token=token, body=BOT, expect=(201,)).json()
        self.state.bot_id = bot["id"]
        if bot.get("status") != "running" or bot.get("mode") != "paper":
            raise Failed(f"the new bot is {bot.get('status')} in {bot.get('mode')} mode, not running in paper")
        return f"{bot['id']}: {BOT['exchange']} {BOT['symbol']} {BOT['strategy']}, running"

    def trade(self) -> str:
        token = self._user()
        if not self.state.bot_id:
            raise Skipped("no bot (paper bot failed)")
        if self.tick == "none":
            raise Skipped("--tick none: nothing makes the bot trade")
        started = time.monotonic()
        if self.tick == "control-plane":
            how = self._tick_through_control_plane()
            trades = self._wait_for_trades(token, min(self.options.timeout, 10))
        elif self.tick == "invoke":
            moved = self._move_through_provisioning()
            trades, how = self._tick_by_invoking(token)
            how = moved + how
        else:
            moved = self._move_through_provisioning()
            trades = self._wait_for_trades(token, self.options.timeout)
            how = moved + "the stack's own schedule"
        if not trades:
            raise Failed(f"no trade within {time.monotonic() - started:.0f} s ({how})")
        trade = trades[-1]  # the first fill (newest first)
        missing = [name for name in TRADE_FIELDS if trade.get(name) is None]
        if missing or trade["bot_id"] != self.state.bot_id or trade["mode"] != "paper":
            raise Failed(f"the trade is not the contract's shape (missing {', '.join(missing) or '-'}): "
                         f"{json.dumps(trade)[:200]}")
        self.state.trade = trade
        base, quote_currency = BOT["symbol"].split("/")
        return (f"{trade['side']} {trade['amount']} {base} @ {trade['price']} {quote_currency}, fee {trade['fee']} "
                f"{trade['fee_currency']}, within {time.monotonic() - started:.2f} s of {how}")

    def _tick_through_control_plane(self) -> str:
        symbol = BOT["symbol"].replace("/", "-")  # a symbol's "/" is written "-" in a path
        self._call("POST", f"/_local/market/{BOT['exchange']}/{symbol}", body={"move_pct": MARKET_MOVE_PCT})
        # wait: answered once everything the tick set off (engine shards, stream deliveries, broadcasts) is done.
        fired = self._call("POST", "/_local/schedules/tick/fire?wait=true")
        if not fired.json().get("idle", True):
            raise Failed("the tick's work did not finish within the control plane's wait")
        return f"a {MARKET_MOVE_PCT:+d} % market move and one fired tick"

    def _move_through_provisioning(self) -> str:
        """The control plane's move, on a deployed stack: the provision function's `market_move`. Without it the
        bot trades only when the random walk happens to cross its averages, which the one or two scheduled ticks
        of a 90 s wait often do not."""
        if not self.options.provision_function:
            return ""
        import boto3

        lam = boto3.client("lambda", region_name=os.environ.get("AWS_REGION") or None)
        reply = lam.invoke(FunctionName=self.options.provision_function, Payload=json.dumps(
            {"action": "market_move", "exchange": BOT["exchange"], "symbol": BOT["symbol"],
             "move_pct": MARKET_MOVE_PCT}).encode())
        answer = reply["Payload"].read()
        if "FunctionError" in reply or not json.loads(answer or b"{}").get("ok"):
            raise Failed(f"the market move failed: {answer[:200]!r}")
        return f"a {MARKET_MOVE_PCT:+d} % market move through {self.options.provision_function}, then "

    def _tick_by_invoking(self, token: str) -> tuple[list[dict[str, Any]], str]:
        if not self.options.tick_function:
            raise Failed("--tick invoke needs --tick-function NAME")
        import boto3

        # AWS_REGION as well as boto3's own AWS_DEFAULT_REGION: it is what Lambda and most CI set.
        lam = boto3.client("lambda", region_name=os.environ.get("AWS_REGION") or None)
        deadline = time.monotonic() + self.options.timeout
        ticks = 0
        while time.monotonic() < deadline:
            reply = lam.invoke(FunctionName=self.options.tick_function,
                               Payload=json.dumps(scheduled_event(lam.meta.region_name)).encode())
            ticks += 1
            if "FunctionError" in reply:
                raise Failed(f"the tick function failed: {reply['Payload'].read()[:200]!r}")
            trades = self._wait_for_trades(token, min(INVOKE_EVERY_S, max(deadline - time.monotonic(), 0)))
            if trades:
                return trades, f"{ticks} invoked tick(s)"
        return [], f"{ticks} invoked tick(s) of {self.options.tick_function}"

    def _wait_for_trades(self, token: str, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            trades = self._call("GET", f"/api/bots/{self.state.bot_id}/trades", token=token).json()["items"]
            if trades or time.monotonic() >= deadline:
                return trades
            time.sleep(0.25)

    def realtime_event(self) -> str:
        if self.state.socket is None:
            raise Skipped("no socket (websocket step did not connect)")
        if self.state.trade is None:
            raise Skipped("no trade to see (trade step did not pass)")
        trade_id = self.state.trade["id"]
        event = self._next_message(lambda m: m.get("type") == "trade" and (m.get("data") or {}).get("id") == trade_id,
                                   min(self.options.timeout, 15), f"trade event for {trade_id}")
        return f"`trade` event for {trade_id} (bot {event['data']['bot_id']}, ts {event.get('ts')})"

    def rbac(self) -> str:
        token = self._user()
        operations = admin_operations(self.options.openapi)
        wrong = []
        for method, path in operations:
            body = None if method in ("GET", "HEAD") else {}
            anonymous = self.http.request(method, path, json=body)
            user = self.http.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
            if anonymous.status_code != 401 or user.status_code != 403 or "error" not in _json(user):
                wrong.append(f"{method} {path}: {anonymous.status_code} anonymous, {user.status_code} for the user")
        if wrong:
            raise Failed(f"{len(wrong)} of {len(operations)} admin routes: " + "; ".join(wrong[:5]))
        detail = f"{len(operations)} admin routes: 401 anonymous, 403 for the user"
        admin = self._admin()
        if admin is None:
            return detail + "; no admin credentials, admin access not checked"
        self._call("GET", "/api/admin/users?limit=1", token=admin)
        return detail + "; the admin gets 200 from GET /api/admin/users"

    def training(self) -> str:
        token = self._user()
        if not self.state.bot_id:
            raise Skipped("no bot (paper bot failed)")
        run = self._call("POST", "/api/training/start", token=token, expect=(202,),
                         body={"bot_id": self.state.bot_id, **TRAINING}).json()
        self.state.run_id, self.state.run_status = run["run_id"], run.get("status")
        started = time.monotonic()
        deadline = started + min(self.options.timeout, 60)
        while True:
            status = self._call("GET", f"/api/training/status/{run['run_id']}", token=token).json()
            missing = [name for name in ("run_id", "bot_id", "status", "progress") if name not in status]
            if missing or status["status"] not in ("queued", "running", *TRAINING_FINAL):
                raise Failed(f"the run's status is not the contract's shape: {json.dumps(status)[:200]}")
            self.state.run_status = status["status"]
            if status["status"] in TRAINING_FINAL or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        waited = time.monotonic() - started
        if status["status"] == "queued":
            raise Failed(f"still queued after {waited:.0f} s: the training workflow never picked it up")
        if status["status"] == "failed":
            raise Failed(f"the run failed: {status.get('error') or 'no reason given'}")
        best = (status.get("best") or {}).get("params")
        return (f"{run['run_id']} ({TRAINING['budget']} sets, {TRAINING['candles']} candles): {status['status']} "
                f"after {waited:.1f} s, progress {status['progress']}" + (f", best {best}" if best else ""))

    def quarantine_config(self) -> str:
        token = self._user()
        config = self._call("GET", "/api/quarantine/config", token=token).json()
        durations, max_pauses = config.get("durations_seconds"), config.get("max_pauses")
        if not (isinstance(durations, list) and durations and all(isinstance(d, int) for d in durations)
                and isinstance(max_pauses, int)):
            raise Failed(f"not the contract's shape: {json.dumps(config)[:200]}")
        # Changing it is the admin's: the user's PUT (of the same values) must be refused before anything happens.
        self._call("PUT", "/api/quarantine/config", token=token, body=config, expect=(403,))
        detail = f"durations {durations} s, max_pauses {max_pauses}; the user may read it, PUT is 403"
        admin = self._admin()
        if admin is None:
            return detail
        self._call("GET", "/api/quarantine/config", token=admin)
        return detail + "; the admin reads it too"

    # --- cleanup -----------------------------------------------------------------------------------------------------
    def cleanup(self) -> str:
        token = self.state.token
        if not token:
            raise Skipped("nothing was made" if not self.state.user_id else "no token to clean up with")
        done, left = [], []
        if self.state.run_id and self.state.run_status not in TRAINING_FINAL:
            reply = self.http.post("/api/training/stop", json={"run_id": self.state.run_id},
                                   headers={"Authorization": f"Bearer {token}"})
            (done if reply.status_code in (200, 409) else left).append(f"training run ({reply.status_code})")
        if self.state.bot_id:
            reply = self.http.delete(f"/api/bots/{self.state.bot_id}", headers={"Authorization": f"Bearer {token}"})
            (done if reply.status_code in (204, 404) else left).append(f"bot ({reply.status_code})")
        for provider in sorted(self.state.saved_keys):
            reply = self.http.delete(f"/api/keys/{provider}", headers={"Authorization": f"Bearer {token}"})
            (done if reply.status_code == 204 else left).append(f"{provider} key ({reply.status_code})")
        if left:
            raise Failed(f"could not remove: {', '.join(left)}")
        return "removed: " + (", ".join(done) if done else "nothing left to remove")

    def delete_account(self) -> str:
        if not self.state.user_id:
            raise Skipped("no account was made")
        token = self.state.token
        reply = self.http.request("DELETE", "/api/auth/me", json={"password": self.state.password},
                                  headers={"Authorization": f"Bearer {token}"})
        if reply.status_code != 204:
            why = f"DELETE /api/auth/me answered {reply.status_code}: {_why(reply)}"
            admin = self._admin()
            if admin is None:
                raise Failed(f"{why}; {self.state.email} is left behind (no admin credentials to remove it)")
            removed = self.http.delete(f"/api/admin/users/{self.state.user_id}",
                                       headers={"Authorization": f"Bearer {admin}"})
            raise Failed(f"{why}; removed through the admin API instead ({removed.status_code})")
        checks = []
        if self.http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code != 401:
            raise Failed("the account's token still works after the deletion")
        checks.append("its token is refused")
        login = self.http.post("/api/auth/login", json={"email": self.state.email, "password": self.state.password})
        if login.status_code != 401:
            raise Failed(f"logging in after the deletion answered {login.status_code}, not 401")
        checks.append("login fails")
        if self.state.socket is not None:
            if not self._socket_closed(10):
                raise Failed("the account's socket is still open 10 s after the deletion")
            checks.append("its socket was closed")
        return f"{self.state.email} deleted: " + ", ".join(checks)

    def _socket_closed(self, timeout: float) -> bool:
        from websockets.exceptions import ConnectionClosed

        deadline = time.monotonic() + timeout
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                self.state.socket.recv(timeout=remaining)
        except ConnectionClosed:
            return True
        except TimeoutError:
            return False
        return False

    def _detect_tick(self) -> str:
        """The local cloud answers its control plane's `/_local/info` with its schedules; nothing else does."""
        try:
            info = self.http.get("/_local/info", timeout=5)
            schedules = {s.get("name") for s in _json(info).get("schedules", [])} if info.status_code == 200 else ()
        except (httpx.HTTPError, AttributeError, TypeError):
            schedules = ()
        if "tick" in schedules:
            return "control-plane"
        return "invoke" if self.options.tick_function else "schedule"


def scheduled_event(region: str | None) -> dict[str, Any]:
    """EventBridge's Scheduled Event, as the local cloud fires it (botfleet_local/schedules.py): the tick takes its
    id from `time`, in milliseconds so that every invocation is a tick of its own."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "", "time": now, "region": region or "", "resources": [], "detail": {}}


def admin_operations(document: Path | None = None) -> list[tuple[str, str]]:
    """Every operation under /api/admin in the OpenAPI document (docs/openapi.json of this checkout unless
    given), path parameters filled with an id that exists nowhere."""
    path = document or CHECKOUT_OPENAPI
    if not path.exists():
        raise Failed(f"no OpenAPI document at {path} (give one with --openapi)")
    paths = json.loads(path.read_text())["paths"]
    return [(method.upper(), re.sub(r"\{[^}]+\}", DUMMY_ID, route)) for route, operations in paths.items()
            if route == "/api/admin" or route.startswith("/api/admin/") for method in operations]


def _json(reply: httpx.Response) -> dict[str, Any]:
    try:
        body = reply.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _why(reply: httpx.Response) -> str:
    """The contract's error (`code: message`), else the start of whatever came back."""
    error = _json(reply).get("error")
    if isinstance(error, dict):
        return f"{error.get('code')}: {error.get('message')}"
    return reply.text[:200] or "(empty body)"


def run(options: Options) -> Report:
    return SmokeCheck(options).run()


def main(options: Options, *, as_json: bool = False) -> int:
    """Print the table (or one JSON document); 0 when no step failed, 1 otherwise."""
    report = run(options)
    print(json.dumps(report.to_json(), indent=2) if as_json else report.table(), flush=True)
    return 0 if report.ok else 1
