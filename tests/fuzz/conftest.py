"""fuzz tier: one local cloud for the whole tier, a trader with a real bot, and the first admin.

The only verdict of this tier is "no 5xx": a client can send anything, and the contract (API.md,
Conventions) answers bad input with a 4xx in the error shape, never a server error.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from botfleet_local.cloud import LocalCloud

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL, ADMIN_PASSWORD = "root@fuzz.test", "fuzz admin passphrase 9"
TRADER_EMAIL, TRADER_PASSWORD = "trader@fuzz.test", "fuzz password 42"
# A bot the fuzzers can aim at: with only random ids every /bots/{id} route stops at its 404, and the
# request bodies never reach the handlers' own validation.
BOT = {"name": "fuzz target", "exchange": "luno", "symbol": "BTC/ZAR", "strategy": "sma_cross", "mode": "paper",
       "capital": "50000"}


# Package scope: the tier's two modules share one cloud (start-up is ~15-25 s of a ~3 min budget), and it
# stops when the tier's last test is done, so it never overlaps a cloud another tier starts (LocalCloud
# runs moto in-process; two alive at once would share moto's global backends).
@pytest.fixture(scope="package")
def cloud():
    # Its own work dir: the function log of a fuzz run is the place to read the 5xx tracebacks, and the
    # e2e tier (maybe running in another shell) keeps its own synth cache in .local.
    with LocalCloud(str(ROOT), port=0, tick_seconds=0, admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD,
                    quiet=True, work_dir=ROOT / ".local" / "fuzz") as running:
        yield running


@pytest.fixture(scope="package")
def http(cloud):
    with httpx.Client(base_url=cloud.url, timeout=60) as client:
        yield client


@dataclass
class Account:
    email: str
    password: str
    token: str
    user: dict
    bot_id: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def relogin(self, http: httpx.Client) -> bool:
        """Take a fresh token (after a fuzzed request revoked the old one); False if login is refused."""
        reply = http.post("/api/auth/login", json={"email": self.email, "password": self.password})
        if reply.status_code != 200:
            return False
        self.token = reply.json()["access_token"]
        return True


@pytest.fixture(scope="package")
def trader(http) -> Account:
    reply = http.post("/api/auth/register", json={"email": TRADER_EMAIL, "password": TRADER_PASSWORD, "name": "Fuzz"})
    assert reply.status_code == 201, reply.text
    body = reply.json()
    account = Account(TRADER_EMAIL, TRADER_PASSWORD, body["access_token"], body["user"])
    bot = http.post("/api/bots", json=BOT, headers=account.headers)
    assert bot.status_code == 201, bot.text
    account.bot_id = bot.json()["id"]
    return account


@pytest.fixture(scope="package")
def admin(http) -> Account:
    reply = http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["user"]["role"] == "admin", body
    return Account(ADMIN_EMAIL, ADMIN_PASSWORD, body["access_token"], body["user"])


@dataclass
class FunctionLog:
    """The cloud's function log (stdout/stderr of every Lambda worker) from a given offset on, so that a
    failure message can carry the server-side exceptions of this run rather than a pointer to a file."""

    path: Path
    _mark: int = field(default=0, repr=False)

    def mark(self) -> None:
        self._mark = self.path.stat().st_size if self.path.exists() else 0

    def errors_since_mark(self, limit: int = 40) -> list[str]:
        """The distinct exceptions logged since mark(), most frequent first, each with one sample message."""
        if not self.path.exists():
            return []
        with self.path.open("rb") as f:
            f.seek(self._mark)
            text = f.read().decode("utf-8", "replace")
        found: dict[str, list] = {}
        for line in text.split("\n"):  # not splitlines(): the runtime writes a traceback as one line joined by \r
            parsed = _error_summary(line)
            if parsed:
                key, sample = parsed
                found.setdefault(key, [0, sample])[0] += 1
        ranked = sorted(found.items(), key=lambda item: -item[1][0])[:limit]
        return [f"{count}x {key} (e.g. {sample})" for key, (count, sample) in ranked]


_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')
# An uncaught exception, as the Lambda runtime logs it: one line, "[ERROR] Type: message" then the traceback.
_RUNTIME_ERROR = re.compile(r"^\[ERROR\] (.*?)Traceback \(most recent call last\):(.*)$")


def _frame_where(trace: str) -> str:
    """The innermost frame of our code (the layer's botfleet package or a function's handler), else the innermost
    frame outside the standard library; paths as in the repository, not as in the synthesized assets."""
    frames = [m.groups() for m in _FRAME.finditer(trace)]
    ours = [f for f in frames if "/botfleet/" in f[0] or f[0].endswith("/handler.py")]
    pick = (ours or [f for f in frames if "site-packages" in f[0]] or frames or [None])[-1]
    if pick is None:
        return ""
    path, line_no, func = pick
    path = re.sub(r"^.*/python/botfleet/", "layers/core/botfleet/", path)
    path = re.sub(r"^.*/site-packages/", "", path)
    path = re.sub(r"^.*/asset\.[0-9a-f]+/handler\.py$", "<function>/handler.py", path)
    return f" at {path}:{line_no} {func}"


def _error_summary(line: str) -> tuple[str, str] | None:
    """(function, exception type and where it was raised; the message) for a line that logs an exception.
    The message stays out of the key: it varies with the input (the byte that is not UTF-8, the number)."""
    prefix, _, rest = line.partition("] ")
    function = prefix.lstrip("[")
    runtime = _RUNTIME_ERROR.match(rest)
    if runtime:  # escaped the handler: the gateway answered 502, or a stream/async invocation failed
        kind, _, message = runtime.group(1).strip().partition(": ")
        return f"{function}: uncaught {kind}{_frame_where(runtime.group(2))}", message[:160]
    if not rest.startswith("{"):
        return None
    try:
        record = json.loads(rest)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("level") not in ("ERROR", "CRITICAL") or "exception" not in record:
        return None
    trace = str(record["exception"]).strip()
    last = trace.splitlines()[-1] if trace else str(record.get("exception_name", "?"))
    kind, _, message = last.partition(": ")
    return f"{function}: {kind}{_frame_where(trace)}", message[:160]


@pytest.fixture(scope="package")
def function_log(cloud) -> FunctionLog:
    log = FunctionLog(Path(cloud.work_dir) / "logs" / "functions.log")
    log.mark()
    return log


@dataclass
class Tally:
    """What one fuzzing mode sent and got back."""

    mode: str
    requests: int = 0
    server_errors: int = 0
    not_sent: int = 0
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"fuzz: mode={self.mode} requests={self.requests} server_errors={self.server_errors}"


# Filled by test_schemathesis (one entry per mode that ran) and test_security_review_inputs; reported below.
TALLIES: dict[str, Tally] = {}
REVIEW: list[str] = []


def pytest_terminal_summary(terminalreporter):
    # The per-mode lines and the total go to the terminal whether the tests pass or fail: a test's own
    # print is captured and shown only on failure.
    if not TALLIES and not REVIEW:
        return
    terminalreporter.section("fuzz")
    for tally in TALLIES.values():
        terminalreporter.write_line(f"{tally.summary()} seconds={tally.seconds:.0f} not_sent={tally.not_sent} "
                                    f"statuses={dict(sorted(tally.statuses.items()))}")
        for note in tally.notes:
            terminalreporter.write_line(f"fuzz: mode={tally.mode} note: {note}")
    if TALLIES:
        total = sum(t.requests for t in TALLIES.values())
        errors = sum(t.server_errors for t in TALLIES.values())
        terminalreporter.write_line(f"fuzz: mode=total requests={total} server_errors={errors}")
    for line in REVIEW:
        terminalreporter.write_line(line)
