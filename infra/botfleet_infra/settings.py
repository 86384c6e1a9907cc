"""Build settings shared by every construct: which mode we synthesize in and where the sources are."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import RemovalPolicy, aws_lambda
from constructs import Node

#: Context key that switches the app to LIGHT mode (`-c botfleet:light=true` or CDK_CONTEXT_JSON).
LIGHT_CONTEXT_KEY = "botfleet:light"

#: Context key: how many accounts one source address may register an hour (the auth function's
#: REGISTRATIONS_PER_ADDRESS_PER_HOUR). The e2e tests raise it: all their clients share 127.0.0.1.
REGISTRATIONS_CONTEXT_KEY = "botfleet:registrations_per_address_per_hour"
DEFAULT_REGISTRATIONS_PER_ADDRESS_PER_HOUR = 20

#: Context key: how long an assistant confirmation token lives, in seconds (1 to 120; the assistant function's
#: ASSISTANT_CONFIRMATION_SECONDS). Shorter is stricter; the e2e tests shorten it to watch a token expire.
CONFIRMATION_CONTEXT_KEY = "botfleet:assistant_confirmation_seconds"
MAX_CONFIRMATION_SECONDS = 120

#: Context key: how many `@connections` posts a second the broadcasters may send together (default 5,000). API
#: Gateway's throttle is per account and region, 10,000 requests a second in most regions and 2,500 in af-south-1
#: (docs/websocket.md), and the REST API and the ws function's replies draw on it too: half is left to them. Set
#: 1,250 for af-south-1. Each broadcaster instance paces itself at this / BROADCAST_PARALLELIZATION.
BROADCAST_POSTS_CONTEXT_KEY = "botfleet:broadcast_posts_per_second"
DEFAULT_BROADCAST_POSTS_PER_SECOND = 5_000
MAX_BROADCAST_POSTS_PER_SECOND = 10_000

#: Stream batches of one shard the broadcaster processes at once (the event source mapping's
#: ParallelizationFactor; Lambda's maximum is 10). A tick's posts then spread over up to ten instances instead of
#: one, each posting for the owners whose records hash to it; one partition key's records stay in order.
BROADCAST_PARALLELIZATION = 10

#: Context key: whether the stack has its WebSocket API (default true). LocalStack's community edition has no
#: API Gateway v2, so `-c botfleet:websocket=false` leaves it out (with the ws and broadcaster functions):
#: /api/config then gives an empty ws_url, and no function is told a callback URL to post to.
WEBSOCKET_CONTEXT_KEY = "botfleet:websocket"

#: Context key: whether the stack hosts the dashboard (S3 + CloudFront, web.py; default true). The emulators leave it
#: out with `-c botfleet:web=false`: neither moto nor LocalStack community has CloudFront, and both run the dashboard
#: another way (the local cloud serves web/dist itself; LocalStack is smoke-checked through its REST API only).
WEB_CONTEXT_KEY = "botfleet:web"

#: Context key: an email address the alarms' SNS topic sends to (monitoring.py); unset, the topic has no subscriber
#: (subscribe one yourself). The address must confirm AWS's subscription email.
ALARM_EMAIL_CONTEXT_KEY = "botfleet:alarm_email"

#: Where `make web` builds the dashboard (relative to the repository root): what the web construct deploys.
WEB_DIST = ("web", "dist")

#: Repository root: infra/botfleet_infra/settings.py -> three levels up.
REPO_ROOT = Path(__file__).resolve().parents[2]

#: The Lambda runtime. python3.13, not the dev machines' 3.11: AWS blocks creating python3.11 functions
#: since 2026-07-31 (cfn-lint E2533, AWS's runtime lifecycle), and 3.13 shares 3.14's deprecation date
#: (2029-06-30) with more mature wheels. The code is kept 3.11-compatible (pyproject requires-python) so
#: the local cloud runs it on the dev interpreter; the deps layer is built for cp313 at synth.
PYTHON_VERSION = "3.13"
RUNTIME = aws_lambda.Runtime.PYTHON_3_13

#: x86_64 rather than arm64: the deps layer contains compiled wheels (pydantic-core, argon2-cffi-bindings,
#: cffi) and the local cloud runs the very same code on this x86_64 machine, so one architecture means one
#: set of wheels everywhere. arm64 is ~20% cheaper per GB-s; switching is this constant plus the matching
#: pip platforms below.
ARCHITECTURE = aws_lambda.Architecture.X86_64

#: The wheel platforms pip may pick for the deps layer (each becomes one `--platform`). Both, because no single
#: tag covers every pinned wheel: numpy 2.4 ships only manylinux_2_28 (no manylinux2014) wheels, and
#: pydantic-core 2.46 ships only manylinux2014 ones, so either tag alone fails the FULL synth (issue 13). Both
#: run on the python3.13 runtime: it is Amazon Linux 2023, glibc 2.34, and manylinux_2_28 needs glibc >= 2.28.
PIP_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")

#: Stage name of both APIs. Kept as a literal (not a Ref to the Stage resource) wherever a URL is built, so
#: the URLs also resolve in emulators that skip Stage resources.
API_STAGE_NAME = "prod"

#: Number of shards (partitions of the running-bot index) running bots are spread over (TICK_SHARDS in
#: docs/internals.md). Fixed: a bot's shard is where it is written. Engine runs take groups of them sized by the
#: fleet (BOTS_PER_RUN, docs/scaling.md), so 64 shards of ≤1,000 bots each carry 64,000 bots a minute.
TICK_SHARDS = 64


def _truthy(value: object) -> bool:
    """Context values arrive as JSON booleans (CDK_CONTEXT_JSON) or as strings (`-c key=true`)."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _positive_int(key: str, value: object) -> int:
    """A whole number ≥ 1 from context (a JSON number or a `-c key=20` string); anything else fails the synth."""
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if isinstance(value, bool) or number < 1:
        raise ValueError(f"context {key} must be a whole number of at least 1, not {value!r}")
    return number


@dataclass(frozen=True)
class BuildSettings:
    """How the app is synthesized.

    LIGHT (tests, the local cloud, LocalStack): code assets straight from the working tree, the deps layer
    is not bundled, no BootstrapVersion rule, stateful resources are destroyed with the stack.
    FULL (default, real AWS): the deps layer is pip-installed for the Lambda platform at synth, the core
    layer is byte-compiled, stateful resources are retained.
    """

    light: bool = False
    repo_root: Path = REPO_ROOT
    registrations_per_address_per_hour: int = DEFAULT_REGISTRATIONS_PER_ADDRESS_PER_HOUR
    assistant_confirmation_seconds: int = MAX_CONFIRMATION_SECONDS
    broadcast_posts_per_second: int = DEFAULT_BROADCAST_POSTS_PER_SECOND
    websocket: bool = True
    web: bool = True
    alarm_email: str = ""

    @classmethod
    def from_context(cls, node: Node) -> BuildSettings:
        raw = node.try_get_context(REGISTRATIONS_CONTEXT_KEY)
        registrations = DEFAULT_REGISTRATIONS_PER_ADDRESS_PER_HOUR if raw is None else _positive_int(
            REGISTRATIONS_CONTEXT_KEY, raw)
        raw = node.try_get_context(CONFIRMATION_CONTEXT_KEY)
        confirmation = MAX_CONFIRMATION_SECONDS if raw is None else _positive_int(CONFIRMATION_CONTEXT_KEY, raw)
        if confirmation > MAX_CONFIRMATION_SECONDS:
            raise ValueError(f"context {CONFIRMATION_CONTEXT_KEY} must be at most {MAX_CONFIRMATION_SECONDS} s: a "
                             f"confirmation older than that no longer matches what the user saw")
        raw = node.try_get_context(BROADCAST_POSTS_CONTEXT_KEY)
        posts = DEFAULT_BROADCAST_POSTS_PER_SECOND if raw is None else _positive_int(BROADCAST_POSTS_CONTEXT_KEY, raw)
        if posts > MAX_BROADCAST_POSTS_PER_SECOND:
            raise ValueError(f"context {BROADCAST_POSTS_CONTEXT_KEY} must be at most {MAX_BROADCAST_POSTS_PER_SECOND}: "
                             f"API Gateway's throttle in the largest regions")
        websocket = node.try_get_context(WEBSOCKET_CONTEXT_KEY)
        web = node.try_get_context(WEB_CONTEXT_KEY)
        alarm_email = str(node.try_get_context(ALARM_EMAIL_CONTEXT_KEY) or "").strip()
        if alarm_email and ("@" not in alarm_email or len(alarm_email) > 254 or any(c.isspace() for c in alarm_email)):
            raise ValueError(f"context {ALARM_EMAIL_CONTEXT_KEY} must be an email address, not {alarm_email!r}")
        return cls(light=_truthy(node.try_get_context(LIGHT_CONTEXT_KEY) or False),
                   registrations_per_address_per_hour=registrations, assistant_confirmation_seconds=confirmation,
                   broadcast_posts_per_second=posts,
                   websocket=True if websocket is None else _truthy(websocket),
                   web=True if web is None else _truthy(web), alarm_email=alarm_email)

    @property
    def posts_per_second_per_broadcaster(self) -> float:
        """One broadcaster instance's share of the posts (its WS_POSTS_PER_SECOND)."""
        return self.broadcast_posts_per_second / BROADCAST_PARALLELIZATION

    @property
    def mode_name(self) -> str:
        return "light" if self.light else "full"

    @property
    def stateful_removal_policy(self) -> RemovalPolicy:
        """Throw-away stacks (LIGHT) clean up after themselves; real data (FULL) outlives its stack."""
        return RemovalPolicy.DESTROY if self.light else RemovalPolicy.RETAIN

    def path(self, *parts: str) -> Path:
        return self.repo_root.joinpath(*parts)

    @property
    def web_dist(self) -> Path:
        """The built dashboard (`make web`); it may not exist yet (a fresh clone), see web.py."""
        return self.path(*WEB_DIST)
