"""infra/localstack: the pieces of `make localstack` that can be checked in seconds.

Not part of `make test` (its tiers are listed explicitly): run with `.venv/bin/python -m pytest tests/localstack -q`.
The executor tests need LocalStack's venv (`make localstack-setup`) and are skipped without it; each starts its own
LocalStack on a free port with a throwaway FILESYSTEM_ROOT, so a running `make localstack` is not disturbed.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import boto3
import pytest

RUN_PY = Path(__file__).resolve().parents[2] / "infra/localstack/run.py"
_spec = importlib.util.spec_from_file_location("localstack_run", RUN_PY)
run = importlib.util.module_from_spec(_spec)
sys.modules["localstack_run"] = run
_spec.loader.exec_module(run)

needs_venv = pytest.mark.skipif(not (run.VENV / "bin/python").exists(),
                                reason="LocalStack's venv is not installed (make localstack-setup)")


def test_noop_agent_jar_starts_a_jvm(tmp_path: Path) -> None:
    java = shutil.which("java")
    if not java:
        pytest.skip("no java")
    jar = tmp_path / "agent.jar"
    run.write_noop_agent_jar(jar)
    result = subprocess.run([java, f"-javaagent:{jar}", "-version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_tick_function_is_the_schedule_target() -> None:
    template = {"Resources": {
        "TradingTickFunctionX": {"Type": "AWS::Lambda::Function"},
        "OtherFunction": {"Type": "AWS::Lambda::Function"},
        "Schedule": {"Type": "AWS::Events::Rule", "Properties": {
            "ScheduleExpression": "rate(1 minute)",
            "Targets": [{"Arn": {"Fn::GetAtt": ["TradingTickFunctionX", "Arn"]}, "Id": "t"}]}},
    }}
    assert run.tick_logical_id(template) == "TradingTickFunctionX"


def test_resource_type_check_names_what_would_be_a_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "supported_resource_types",
                        lambda: {"aws::lambda::function", "aws::cloudformation::customresource"})
    ok = {"Resources": {"F": {"Type": "AWS::Lambda::Function"}, "C": {"Type": "Custom::Thing"}}}
    run.check_resource_types(run.Run(logs=Path()), ok)
    bad = {"Resources": {**ok["Resources"], "W": {"Type": "AWS::ApiGatewayV2::Api"}}}
    with pytest.raises(run.Failure, match="AWS::ApiGatewayV2::Api"):
        run.check_resource_types(run.Run(logs=Path()), bad)


@needs_venv
def test_the_localstack_template_has_only_supported_types(tmp_path: Path) -> None:
    """The synth `make localstack` deploys passes the check; with the WebSocket API it would not (API Gateway v2)."""
    from botfleet_infra.app import create_app

    supported = run.supported_resource_types()
    for websocket in (False, True):
        app, stack = create_app(context={**run.SYNTH_CONTEXT, "botfleet:websocket": websocket},
                                outdir=str(tmp_path / str(websocket)))
        template = app.synth().get_stack_by_name(stack.stack_name).template
        types = {r["Type"] for r in template["Resources"].values()}
        missing = {t for t in types if t.lower() not in supported}
        assert missing == (set() if not websocket else {t for t in types if t.startswith("AWS::ApiGatewayV2::")})


# --- the executor, inside a real LocalStack ----------------------------------------------------------------------

HANDLERS = {
    "ok.py": "import os\n"
             "def handler(event, context):\n"
             "    print('hello', context.aws_request_id)\n"
             "    return {'event': event, 'remaining_ms': context.get_remaining_time_in_millis(),\n"
             "            'endpoint': os.environ.get('AWS_ENDPOINT_URL'),\n"
             "            'trace': os.environ.get('_X_AMZN_TRACE_ID'), 'layer': __import__('layer_mod').VALUE}\n",
    "slow.py": "import time\ndef handler(event, context):\n    time.sleep(5)\n",
    "broken.py": "import no_such_module_anywhere\ndef handler(event, context):\n    return 1\n",
    "crash.py": "import os\ndef handler(event, context):\n    os._exit(3)\n",
    "raises.py": "def handler(event, context):\n    raise ValueError('boom')\n",
}


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lambda_client(tmp_path_factory: pytest.TempPathFactory):
    if not (run.VENV / "bin/python").exists():
        pytest.skip("LocalStack's venv is not installed (make localstack-setup)")
    work = tmp_path_factory.mktemp("localstack")
    (work / "logs").mkdir()
    run.setup_venv(run.Run(logs=work / "logs"))  # cached; reinstalls the executor if its source changed
    port = _free_port()
    env = run.runtime_env(fs=work / "fs", port=port, work=work, lambda_logs=work / "logs/lambda")
    (work / "tmp").mkdir()
    proc = run.launch(env, cwd=work, log=work / "logs/localstack.log", port=port)
    try:
        kw = {"endpoint_url": f"http://127.0.0.1:{port}", "region_name": "us-east-1",
              "aws_access_key_id": "test", "aws_secret_access_key": "test"}
        client = boto3.client("lambda", **kw)
        role = boto3.client("iam", **kw).create_role(RoleName="executor-test", AssumeRolePolicyDocument="{}")
        layer = client.publish_layer_version(
            LayerName="layer", Content={"ZipFile": _zip({"python/layer_mod.py": "VALUE = 'from the layer'\n"})})
        code = _zip(HANDLERS)
        for name, timeout in (("ok", 3), ("slow", 2), ("broken", 3), ("crash", 3), ("raises", 3)):
            client.create_function(FunctionName=name, Runtime="python3.13", Role=role["Role"]["Arn"],
                                   Handler=f"{name}.handler", Code={"ZipFile": code}, Timeout=timeout,
                                   Layers=[layer["LayerVersionArn"]])
            client.get_waiter("function_active_v2").wait(FunctionName=name)
        yield client
    finally:
        run.stop_process_group(proc)
    leftovers = list((work / "run/lambda-pids").glob("*.pid"))
    assert not leftovers, f"runtime processes outlived LocalStack: {leftovers}"


def _invoke(client, name: str) -> tuple[str | None, dict, str]:
    reply = client.invoke(FunctionName=name, Payload=b'{"n": 1}', LogType="Tail")
    logs = base64.b64decode(reply.get("LogResult", "")).decode()
    return reply.get("FunctionError"), json.loads(reply["Payload"].read() or b"null"), logs


@needs_venv
def test_a_function_runs_as_a_host_process_with_its_layer(lambda_client) -> None:
    error, payload, logs = _invoke(lambda_client, "ok")
    assert error is None, payload
    assert payload["event"] == {"n": 1}
    assert payload["layer"] == "from the layer"  # PYTHONPATH: the code dir, then each layer's python/
    assert payload["endpoint"].startswith("http://127.0.0.1:")
    assert payload["trace"].startswith("Root=1-")
    assert 0 < payload["remaining_ms"] <= 3000
    assert "hello" in logs and "START RequestId" in logs and "REPORT RequestId" in logs
    started = time.monotonic()
    assert _invoke(lambda_client, "ok")[0] is None
    assert time.monotonic() - started < 1.0  # warm


@needs_venv
def test_timeouts_init_errors_crashes_and_exceptions_are_reported_like_lambda(lambda_client) -> None:
    for _ in range(2):  # the second call of each needs a fresh process (or a fresh init attempt)
        error, payload, _ = _invoke(lambda_client, "slow")
        assert (error, payload["errorType"]) == ("Unhandled", "Sandbox.Timedout")
        assert "Task timed out after 2.00 seconds" in payload["errorMessage"]
        error, payload, _ = _invoke(lambda_client, "broken")
        assert (error, payload["errorType"]) == ("Unhandled", "Runtime.ImportModuleError")
        error, payload, _ = _invoke(lambda_client, "crash")
        assert (error, payload["errorType"]) == ("Unhandled", "Runtime.ExitError")
        error, payload, _ = _invoke(lambda_client, "raises")
        assert (error, payload["errorType"], payload["errorMessage"]) == ("Unhandled", "ValueError", "boom")
    assert _invoke(lambda_client, "ok")[0] is None
