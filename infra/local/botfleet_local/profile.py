"""botfleet, as far as the local cloud needs to know it. No other module here knows product details (but cli.py,
botfleet's command line, has its options).

Everything else is read from the synthesized template (functions, routes, WebSocket routes, stream
mappings, rules, state machines), so a new function or route in CDK works locally as is. What a template
cannot say is here, and cloud.py (the only importer) hands it to the generic parts:

* where the CDK app, its sources and the dashboard are, and the context a local synth adds;
* the environment the functions read (time scale) or need (no X-Ray daemon here);
* the API's error shape and where its WebSocket is served;
* the accounts made at start-up (the first admin, the demo trader) and the control plane's market move,
  both through the stack's provision function.

The local cloud's own fixture app (tests/fixtures/local_cloud) mirrors these shapes, so its tests run
with this profile too.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .control import ControlAction
from .workers import InvokeResult

# --- the CDK app and the repository ---------------------------------------------------------------------

STACK_NAME = "Botfleet"
# Roots (relative to the repo) whose files can change the synthesized template or its assets: the synth
# cache is keyed on them.
WATCHED = ("infra", "functions", "layers", "cdk.json")
# LIGHT mode: code assets straight from the working tree and no bundled dependency layer (the workers run
# on this interpreter, whose venv has the dependencies), no BootstrapVersion rule. Without the stack's web
# construct (S3 + CloudFront + a BucketDeployment of web/dist): moto has no CloudFront, and the local cloud serves
# the dashboard itself (WEB_DIR), on the API's port as CloudFront does in AWS.
SYNTH_CONTEXT = {"botfleet:light": True, "botfleet:web": False}
# The dashboard is built by `make web` (Vite) into web/dist; served from there (CloudFront serves the same files).
WEB_DIR = "web/dist"


def app_command() -> list[str]:
    """The CDK app, run from the repo root by this interpreter (the venv that has aws-cdk-lib)."""
    return [sys.executable, "infra/app.py"]


# --- what the functions see ------------------------------------------------------------------------------

# The WebSocket API is served beside the REST API, under /api; the functions learn it from their rewritten
# WS_URL (the dashboard from /api/config).
WEBSOCKET_PATH = "/api/ws"


def worker_env(time_scale: float) -> dict[str, str]:
    """Variables every function gets on top of its own."""
    return {
        "BOTFLEET_TIME_SCALE": f"{time_scale:g}",  # waits pass this much faster; quarantine countdowns agree
        "POWERTOOLS_TRACE_DISABLED": "true",  # Powertools' tracer would look for an X-Ray daemon
        "BOTFLEET_LOCAL": "1",  # for code that must know it runs on the local cloud
    }


def error_body(code: str, message: str, **extra: Any) -> dict:
    """The API's error shape (API.md), for what the gateway answers itself: a route no method matches (when
    the template has no GatewayResponse for it) and the control plane."""
    return {"error": {"code": code, "message": message, **extra}}


# --- accounts made at start-up -------------------------------------------------------------------------------

# The stack output naming the function that makes accounts and moves the simulated market.
PROVISION_OUTPUT = "ProvisionFunctionName"
DEFAULT_ADMIN_EMAIL = "admin@botfleet.local"
DEMO_EMAIL = "demo@botfleet.local"


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    generated: bool  # the password was made up here: printing it is the only way anyone learns it


def generated_password() -> str:
    """Random, and always within the password policy (the product's own generator)."""
    from botfleet.domain.users import generate_password

    return generate_password()


def admin_account(email: str | None = None, password: str | None = None) -> Account:
    """The first admin: as given, else BOTFLEET_ADMIN_EMAIL / BOTFLEET_ADMIN_PASSWORD, else the default
    email and a generated password."""
    password = password or os.environ.get("BOTFLEET_ADMIN_PASSWORD")
    return Account(email or os.environ.get("BOTFLEET_ADMIN_EMAIL") or DEFAULT_ADMIN_EMAIL,
                   password or generated_password(), generated=not password)


def demo_account(password: str | None = None) -> Account:
    """The demo trader `--demo` seeds: as given, else BOTFLEET_DEMO_PASSWORD, else generated."""
    password = password or os.environ.get("BOTFLEET_DEMO_PASSWORD")
    return Account(DEMO_EMAIL, password or generated_password(), generated=not password)


def create_accounts(provision: Callable[[dict], InvokeResult], admin: Account, demo: Account | None) -> None:
    """Make sure the first admin exists, and seed the demo trader with its bots when asked."""
    steps = [{"action": "ensure_admin", "email": admin.email, "password": admin.password}]
    if demo is not None:
        steps.append({"action": "seed_demo", "email": demo.email, "password": demo.password})
    for event in steps:
        result = provision(event)
        # The provision function answers {"ok": false, "error": {...}} for a refused request (e.g. a password
        # the policy rejects): starting without the admin the user asked for would only surface later as a
        # puzzling 401, so stop here and say why.
        try:
            reply = json.loads(result.payload)
        except ValueError:
            reply = None
        if result.error or (isinstance(reply, dict) and reply.get("ok") is False):
            detail = reply.get("error", reply) if isinstance(reply, dict) else result.payload[:500]
            raise RuntimeError(f"start-up step {event['action']} failed: {detail}")


# --- the control plane's market ------------------------------------------------------------------------------

def _market_move(path: dict[str, str], body: Any) -> dict:
    # A symbol's "/" cannot be a path segment's, so the path writes BTC/ZAR as BTC-ZAR.
    return {"action": "market_move", "exchange": path["exchange"], "symbol": path["symbol"].replace("-", "/"),
            "move_pct": body["move_pct"]}


CONTROL_ACTIONS = (
    # POST /_local/market/{exchange}/{symbol} {"move_pct": -25}: move the simulated market now.
    ControlAction("/market/{exchange}/{symbol}", PROVISION_OUTPUT, _market_move,
                  usage='expected {"move_pct": <number>}', failure="provision failed"),
)
