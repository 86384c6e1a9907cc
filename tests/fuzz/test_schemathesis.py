"""schemathesis over the committed OpenAPI document, against the live local cloud, in three modes: a trader's
token, the admin's token, and no token. The only failing check: a response with status >= 500.

Every operation gets the same number of generated cases (half positive: valid per the schema; half negative:
invalid on purpose), so a slow route cannot crowd the others out. Hypothesis is derandomized, so two runs
send the same requests (the server's ids differ). FUZZ_EXAMPLES=N raises the cases per operation and
generation mode for a deeper run than the tier's default.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.errors import SchemathesisError

from tests.fuzz.conftest import ROOT, TALLIES, Account, Tally

pytestmark = pytest.mark.fuzz

# 8 per operation and generation mode: ~2,300 requests over the three modes, ~85 s on an idle 2-core machine.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
MODES = ("user", "admin", "anonymous")
# Logout revokes every token of the caller: fuzzing it with a token would leave the rest of the run on 401s.
TOKEN_MODE_EXCLUDED = {("POST", "/api/auth/logout")}
# Real ids are fed only where the route cannot take the fuzzing accounts away: a bot delete would leave the
# later routes with 404s only, and no real user id is ever fed (the admin must not block, log out, reset
# or delete itself or the trader).
NO_REAL_BOT_ID = {("DELETE", "/api/bots/{bot_id}")}

SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # reproducible: the same cases on every run
    database=None,  # no .hypothesis/ directory in the repo, and no replay of old cases skewing the counts
    deadline=None,  # a cold Lambda start takes seconds; that is not a finding
    phases=[Phase.generate],  # the check never raises, so there is nothing to shrink
    suppress_health_check=list(HealthCheck),  # slow responses and filtered strategies are expected here
    print_blob=False,
)


def _operations():
    schema = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.json")
    for result in schema.get_all_operations():
        yield result.ok()  # the document is ours and valid (scripts/openapi.py --check): an Err is a bug here


def _headers(case, generation: GenerationMode, token: str | None) -> dict:
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif generation is GenerationMode.NEGATIVE and "Authorization" in (case.headers or {}):
        # "No token" for the positive cases; the negative ones keep schemathesis' malformed Authorization
        # header (never a real token), so the token parser is fuzzed too.
        headers["Authorization"] = case.headers["Authorization"]
    return headers


def _aim(case, bot_id: str) -> None:
    """Point the case's bot ids at the trader's real bot, so that bodies and queries reach the handlers."""
    if "bot_id" in (case.path_parameters or {}):
        case.path_parameters = {**case.path_parameters, "bot_id": bot_id}
    if isinstance(case.query, dict) and "bot_id" in case.query:
        case.query = {**case.query, "bot_id": bot_id}
    if isinstance(case.body, dict) and "bot_id" in case.body:
        case.body = {**case.body, "bot_id": bot_id}


def _describe(case, status: object, body: bytes | str) -> str:
    payload = case.body
    if isinstance(payload, bytes | bytearray):  # e.g. bytes that are not UTF-8, sent as application/json
        shown = repr(bytes(payload))
    else:
        try:
            shown = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, default=repr)
        except (TypeError, ValueError):
            shown = repr(payload)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return (f"{case.method} {case.formatted_path} query={case.query or {}} media_type={case.media_type} "
            f"body={shown[:300]!s} -> {status} {body[:300]}")


@dataclass
class Fuzzer:
    """One mode's run: who calls (a token or none), where, and the tally it fills."""

    mode: str
    account: Account | None
    bot_id: str  # the trader's real bot
    http: httpx.Client
    session: requests.Session
    base_url: str
    tally: Tally
    unauthorized: int = 0  # 401s in the current batch of cases

    def operation(self, operation) -> None:
        for generation in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            self.unauthorized = 0
            try:
                self.property(operation, generation)()
            except Unsatisfiable:  # no negative case exists for a route without parameters or body
                pass
            except SchemathesisError as exc:  # a schema construct it cannot generate for: say so, fuzz the rest
                self.tally.notes.append(f"{operation.label} {generation.value}: {type(exc).__name__}: {exc}"[:300])
            # A fuzzed admin route or a login storm may have revoked the token: check and take a fresh one, so
            # that the rest of the run is not silently 401s. A route that answers 401 for its own reasons is not
            # that, hence the probe.
            if self.account is not None and self.unauthorized and self.http.get(
                    "/api/auth/me", headers=self.account.headers).status_code == 401:
                ok = self.account.relogin(self.http)
                self.tally.notes.append(f"token revoked by {operation.label} ({generation.value}); relogin {ok=}")

    def property(self, operation, generation: GenerationMode):
        @SETTINGS
        @given(case=operation.as_strategy(generation_mode=generation))
        def run(case):
            self.send(operation, generation, case)

        return run

    def send(self, operation, generation: GenerationMode, case) -> None:
        tally = self.tally
        # Real ids in the positive cases only: the negative ones should stay invalid.
        if self.account is not None and generation is GenerationMode.POSITIVE and (
                operation.method.upper(), operation.path) not in NO_REAL_BOT_ID:
            _aim(case, self.bot_id)
        case.headers = _headers(case, generation, self.account.token if self.account else None)
        try:
            response = case.call(base_url=self.base_url, session=self.session, timeout=60, allow_redirects=False)
        except (requests.ConnectionError, requests.Timeout) as exc:  # the server hung up or hung
            tally.requests += 1
            tally.server_errors += 1
            tally.failures.append(_describe(case, type(exc).__name__, str(exc)))
            return
        except Exception:
            # The client refused to build the request (e.g. a header value requests cannot encode): it never
            # reached the server, so it is neither a request nor a finding.
            tally.not_sent += 1
            return
        tally.requests += 1
        tally.statuses[response.status_code] += 1
        if response.status_code >= 500:
            tally.server_errors += 1
            tally.failures.append(_describe(case, response.status_code, response.content))
        elif response.status_code == 401:
            self.unauthorized += 1


@pytest.mark.parametrize("mode", MODES)
def test_no_server_errors(mode, cloud, http, trader, admin, function_log):
    account = {"user": trader, "admin": admin, "anonymous": None}[mode]
    tally = Tally(mode)
    function_log.mark()
    started = time.monotonic()
    with requests.Session() as session:
        fuzzer = Fuzzer(mode, account, trader.bot_id, http, session, cloud.url, tally)
        for operation in _operations():
            if account is not None and (operation.method.upper(), operation.path) in TOKEN_MODE_EXCLUDED:
                continue
            fuzzer.operation(operation)
    tally.seconds = time.monotonic() - started

    print(f"\n{tally.summary()} seconds={tally.seconds:.0f} not_sent={tally.not_sent} "
          f"statuses={dict(sorted(tally.statuses.items()))}")
    for note in tally.notes:
        print(f"fuzz: mode={mode} note: {note}")
    TALLIES[mode] = tally
    message = "\n".join([
        f"{tally.server_errors} server error(s) in mode={mode}:", *tally.failures[:50],
        f"server-side errors logged ({function_log.path}):", *function_log.errors_since_mark(),
    ])
    server_errors = tally.server_errors  # a plain int, so that pytest does not print the whole tally again
    assert server_errors == 0, message
    assert tally.requests > 0
