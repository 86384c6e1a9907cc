"""botfleet's command line (see infra/local/README.md).

`botfleet local` runs the whole stack on this machine. It prints the admin (and demo) credentials, then exactly
one `READY http://127.0.0.1:<port>` line once requests are accepted. SIGINT / SIGTERM stop it cleanly (workers
killed, executions stopped) with exit status 0.

`botfleet smoke --base-url URL` checks a deployed stack end to end (botfleet_local/smoke.py); exit status 1 when a
step failed.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path


def _env_float(name: str) -> float | None:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else None


def _repo_root(start: Path) -> Path:
    for d in (start, *start.parents):
        if (d / "cdk.json").exists() or (d / "infra" / "app.py").exists():
            return d
    return start


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="botfleet", description="botfleet command line")
    sub = parser.add_subparsers(dest="command", required=True)
    local = sub.add_parser("local", help="run the stack locally (moto + local Lambda workers)")
    local.add_argument("--port", type=int, default=int(os.environ.get("BOTFLEET_PORT") or 8000),
                       help="HTTP port (env BOTFLEET_PORT, default 8000; 0 picks a free port)")
    local.add_argument("--time-scale", type=float, default=_env_float("BOTFLEET_TIME_SCALE") or 1.0,
                       help="Step Functions waits pass N times faster (env BOTFLEET_TIME_SCALE, default 1)")
    local.add_argument("--tick-seconds", type=float, default=_env_float("BOTFLEET_TICK_SECONDS"),
                       help="fire schedules every S seconds; 0 = only through the control plane "
                            "(env BOTFLEET_TICK_SECONDS, default: each schedule's own rate)")
    local.add_argument("--demo", action="store_true", help="seed demo data")
    local.add_argument("--public-url", default=os.environ.get("BOTFLEET_PUBLIC_URL") or None,
                       help="the URL people reach this cloud at through a reverse proxy, e.g. "
                            "https://botfleet.example.com: /api/config then gives the WebSocket URL on that host "
                            "(env BOTFLEET_PUBLIC_URL; see docs/websocket.md)")
    local.add_argument("--repo-root", type=Path, default=None, help=argparse.SUPPRESS)
    local.add_argument("--app", default=None, help=argparse.SUPPRESS)  # CDK app command (tests)
    local.add_argument("--watch", action="append", default=None, help=argparse.SUPPRESS)
    local.add_argument("--work-dir", type=Path, default=None, help=argparse.SUPPRESS)
    local.add_argument("--quiet", action="store_true", help="do not echo function logs")
    local.add_argument("-v", "--verbose", action="store_true", help="log the emulator's own steps")

    smoke = sub.add_parser("smoke", help="check a deployed stack end to end (exit status 1 on any failure)",
                           description="Registers a throwaway user, walks the product as a client does, removes "
                                       "everything it made. See infra/local/README.md, 'Smoke check'.")
    smoke.add_argument("--base-url", required=True, help="the stack's URL, e.g. http://127.0.0.1:8000 or the "
                                                         "API Gateway stage URL")
    smoke.add_argument("--admin-email", default=os.environ.get("BOTFLEET_ADMIN_EMAIL") or None,
                       help="an admin, to check admin access too (env BOTFLEET_ADMIN_EMAIL)")
    smoke.add_argument("--admin-password", default=os.environ.get("BOTFLEET_ADMIN_PASSWORD") or None,
                       help="(env BOTFLEET_ADMIN_PASSWORD)")
    smoke.add_argument("--tick", choices=("control-plane", "invoke", "schedule", "none"), default="auto",
                       help="what makes the paper bot trade; default: the local cloud's control plane when the "
                            "stack has one, else invoke when --tick-function is given, else the stack's schedule")
    smoke.add_argument("--tick-function", default=None, metavar="NAME",
                       help="the deployed tick function, for --tick invoke (boto3's credentials, region and "
                            "AWS_ENDPOINT_URL)")
    smoke.add_argument("--provision-function", default=os.environ.get("BOTFLEET_PROVISION_FUNCTION") or None,
                       metavar="NAME",
                       help="the stack's provision function (its ProvisionFunctionName output): with --tick invoke or "
                            "schedule, the market is first moved through it as the control plane moves it, so the "
                            "bot's first tick trades (without it, a tick of the random walk trades about half the "
                            "time) (env BOTFLEET_PROVISION_FUNCTION)")
    smoke.add_argument("--timeout", type=float, default=90.0,
                       help="seconds to wait for anything asynchronous: a fill, a socket event, training (default 90)")
    smoke.add_argument("--openapi", type=Path, default=None,
                       help="the OpenAPI document whose /api/admin routes are checked (default: docs/openapi.json "
                            "of this checkout)")
    smoke.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    return parser


def run_smoke(args: argparse.Namespace) -> int:
    from .smoke import Options, main

    options = Options(base_url=args.base_url, admin_email=args.admin_email, admin_password=args.admin_password,
                      tick=args.tick, tick_function=args.tick_function, provision_function=args.provision_function,
                      timeout=args.timeout, openapi=args.openapi)
    return main(options, as_json=args.json)


def run_local(args: argparse.Namespace) -> int:
    from .cloud import LocalCloud

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    repo = (args.repo_root or _repo_root(Path.cwd())).resolve()
    cloud = LocalCloud(repo, port=args.port, tick_seconds=args.tick_seconds, time_scale=args.time_scale,
                       demo=args.demo, app_command=args.app, quiet=args.quiet,
                       watched=tuple(args.watch) if args.watch else None, work_dir=args.work_dir,
                       public_url=args.public_url)
    try:
        cloud.start()
    except OSError as e:
        print(f"botfleet local: cannot start: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        logging.getLogger("botfleet_local").exception("start-up failed")
        print(f"botfleet local: start-up failed: {e}", file=sys.stderr)
        return 1
    try:
        note = " (generated)" if cloud.admin_password_generated else ""
        print(f"admin: {cloud.admin_email} / {cloud.admin_password}{note}", flush=True)
        if args.demo:
            print(f"demo:  {cloud.demo_email} / {cloud.demo_password}", flush=True)
        t = cloud.timings
        print(f"started in {t.get('ready', 0):.1f} s (synth {'cached' if not t.get('synthesized') else 'ran'})",
              flush=True)
        print(f"READY {cloud.url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        cloud.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "local":
        return run_local(args)
    if args.command == "smoke":
        return run_smoke(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
