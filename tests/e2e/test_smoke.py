"""`botfleet smoke` against the e2e local cloud: every step passes (the WebSocket ones included) run as an operator
runs it (a subprocess, `--json`) and in-process (the table); the throwaway user is gone afterwards; ticking by
invoking the tick function works too; a stack that does not answer is a failure with exit status 1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from botfleet_local import cli
from botfleet_local.smoke import Options, SmokeCheck
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, tick_function

ADMIN_ENV = {"BOTFLEET_ADMIN_EMAIL": ADMIN_EMAIL, "BOTFLEET_ADMIN_PASSWORD": ADMIN_PASSWORD}


def _smoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "botfleet_local", "smoke", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def _not_ok(report: dict) -> list[dict]:
    return [step for step in report["steps"] if step["status"] != "ok"]


def _admin_token(http) -> str:
    return http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()["access_token"]


def test_the_smoke_check_passes_every_step_and_leaves_no_user_behind(cloud, http):
    done = _smoke("--base-url", cloud.url, "--json", env=ADMIN_ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["tick"] == "control-plane" and _not_ok(report) == []
    names = [step["name"] for step in report["steps"]]
    providers = http.get("/api/config").json()["providers"]
    assert names == ["health", "config", "register", "login", "websocket", *(f"keys: {p}" for p in providers),
                     "paper bot", "trade", "realtime event", "rbac", "training", "quarantine config", "cleanup",
                     "delete account"]
    details = {step["name"]: step["detail"] for step in report["steps"]}
    assert "the admin gets 200" in details["rbac"] and "its socket was closed" in details["delete account"]

    email = report["user"]
    assert email.endswith("@smoke.invalid")
    users = http.get("/api/admin/users", params={"limit": 200},
                     headers={"Authorization": f"Bearer {_admin_token(http)}"}).json()["items"]
    assert email not in [user["email"] for user in users]
    # The email claim went with the account: the address registers again.
    again = http.post("/api/auth/register", json={"email": email, "password": "a fresh password 8", "name": "Again"})
    assert again.status_code == 201, again.text


def test_in_process_the_table_shows_every_step_ok_and_the_user_cannot_log_in(cloud, http):
    check = SmokeCheck(Options(cloud.url, admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD))
    report = check.run()
    table = report.table()
    print(table)
    assert report.ok, table
    assert all(row.status == "ok" for row in report.rows), table
    lines = table.splitlines()
    assert lines[0] == f"botfleet smoke check of {cloud.url} (tick: control-plane)"
    assert lines[-1].startswith(f"PASSED: {len(report.rows)} ok, 0 failed, 0 skipped in ")
    for name in ("websocket", "realtime event", "delete account"):
        (line,) = [line for line in lines if line.strip().startswith(name)]
        assert line.split()[len(name.split())] == "ok", line
    login = http.post("/api/auth/login", json={"email": check.state.email, "password": check.state.password})
    assert login.status_code == 401, login.text


def test_the_bot_can_be_ticked_by_invoking_the_tick_function(cloud):
    aws = {"AWS_ENDPOINT_URL": cloud.moto.url, "AWS_DEFAULT_REGION": cloud.region, "AWS_ACCESS_KEY_ID": "smoke",
           "AWS_SECRET_ACCESS_KEY": "smoke"}
    done = _smoke("--base-url", cloud.url, "--json", "--tick", "invoke", "--tick-function", tick_function(cloud),
                  "--timeout", "60", env=aws)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["tick"] == "invoke" and _not_ok(report) == [], done.stdout + done.stderr
    (trade,) = [step for step in report["steps"] if step["name"] == "trade"]
    assert "invoked tick(s)" in trade["detail"]


def test_a_stack_that_does_not_answer_fails_with_exit_status_1(capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    assert cli.main(["smoke", "--base-url", url]) == 1
    table = capsys.readouterr().out
    (health,) = [line for line in table.splitlines() if line.strip().startswith("health")]
    assert health.split()[1] == "failed" and "cannot reach" in health and "ConnectError" in health
    assert table.splitlines()[-1].startswith("FAILED: 0 ok, 1 failed, ")
    assert "delete account" in table and "no account was made" in table
