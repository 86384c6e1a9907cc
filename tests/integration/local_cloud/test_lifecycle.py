"""Start-up and shutdown: periodic schedules, no orphan processes, the `botfleet local` CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from boto3.dynamodb.conditions import Key

from tests.integration.local_cloud.conftest import FIXTURE_APP, REPO, WORK_DIR, cloud_kwargs

pytestmark = pytest.mark.timeout(90)


def _children(pid: int) -> set[int]:
    """Live processes whose parent is `pid` (from /proc)."""
    out = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("PPid", "").strip() == str(pid) and not fields.get("State", "").startswith("Z"):
            out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def test_schedules_tick_and_stop_leaves_nothing_behind():
    import boto3

    from botfleet_local.cloud import LocalCloud

    before = _children(os.getpid())  # other tiers' processes are not ours to judge
    cloud = LocalCloud(**cloud_kwargs(tick_seconds=0.5, time_scale=1)).start()
    try:
        table = boto3.resource("dynamodb", endpoint_url=cloud.moto.url, region_name="us-east-1",
                               aws_access_key_id="x", aws_secret_access_key="x").Table(
            cloud.deployment.outputs["TableName"])
        time.sleep(1.8)
        ticks = table.query(KeyConditionExpression=Key("pk").eq("tick"))["Items"]
        assert 2 <= len(ticks) <= 5, len(ticks)
        # a long Step Functions wait that stop() must abort
        arn = httpx.post(cloud.url + "/api/sfn", json={"wait": 3600}).json()["executionArn"]
        sfn = boto3.client("stepfunctions", endpoint_url=cloud.moto.url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")
        assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
        workers = _children(os.getpid()) - before
        assert len(workers) >= 2  # at least the api and ticker workers
    finally:
        t0 = time.monotonic()
        cloud.stop()
        stop_seconds = time.monotonic() - t0
    assert stop_seconds < 5
    assert not [p for p in workers if _alive(p)]
    assert not _children(os.getpid()) - before


def test_cli_prints_ready_and_exits_cleanly_on_sigterm():
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTFLEET_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "infra" / "local"), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "botfleet_local", "local", "--port", "0", "--tick-seconds", "0", "--quiet",
           "--repo-root", str(REPO), "--app", f"{sys.executable} {FIXTURE_APP}",
           "--watch", "tests/fixtures/local_cloud", "--work-dir", str(WORK_DIR)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("READY "):
                break
        ready = [x for x in lines if x.startswith("READY ")]
        assert len(ready) == 1, (lines, proc.stderr.read() if proc.poll() is not None else "")
        url = ready[0].split(" ", 1)[1]
        assert url.startswith("http://127.0.0.1:")
        admin = next(x for x in lines if x.startswith("admin: "))
        assert "admin@botfleet.local" in admin and "(generated)" in admin
        r = httpx.get(url + "/api/items/5")
        assert r.status_code == 200 and r.json()["event"]["pathParameters"] == {"id": "5"}
        info = httpx.get(url + "/_local/info").json()
        assert info["schedules"][0]["name"] == "tick"
        assert json.loads(json.dumps(info["timings"]))["ready"] > 0
        workers = _children(proc.pid)
        assert workers  # the provision and api workers
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert rc == 0, proc.stderr.read()
    time.sleep(0.2)
    assert not [p for p in workers if _alive(p)]
