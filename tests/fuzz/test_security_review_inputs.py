"""Hand-made bad inputs on top of schemathesis: the classes a security review found to give 500s.

EXPECTED TO FAIL on main until the product answers each of them with a 4xx in the contract's error shape
(API.md, Conventions: 400 malformed, 413 too large, 415 unsupported media type, 422 naming the field; never a
5xx "whatever the bytes"). schemathesis seldom produces these on its own: it sends the media types the schema
declares, bodies of modest size and depth, and random strings that rarely decode as a cursor or parse as an
exotic decimal (its negative cases do send bytes that are not UTF-8 now and then).

One test for all of them, so that a failing run lists every class at once rather than stopping at the first.
"""

from __future__ import annotations

import base64
import json
import random

import pytest

from tests.fuzz.conftest import BOT, REVIEW, ROOT

pytestmark = pytest.mark.fuzz

DEEP = "[" * 1000 + "]" * 1000
TWO_MB = 2 * 1024 * 1024

# (method, path, who calls, a field of the route's body): the field carries the nested and the huge values,
# so they meet the route's own model rather than only the JSON parser.
BODY_ROUTES = [
    ("POST", "/api/bots", "user", "params"),
    ("PATCH", "/api/bots/{bot_id}", "user", "params"),
    ("POST", "/api/capital/injections", "user", "amount"),
    ("POST", "/api/auth/register", None, "email"),
    ("POST", "/api/auth/login", None, "email"),
    ("PUT", "/api/keys/luno", "user", "api_key"),
    ("POST", "/api/training/start", "user", "bot_id"),
    ("PUT", "/api/quarantine/config", "admin", "durations_seconds"),
    ("POST", "/api/admin/users/{user_id}/reset-password", "admin", "new_password"),
]


def body_cases(field: str) -> list[tuple[str, str, bytes]]:
    """(label, Content-Type, bytes) for one route."""
    multipart = b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--x--\r\n'
    return [
        ("text/plain", "text/plain", b'{"name": "x"}'),
        ("multipart without boundary", "multipart/form-data", multipart),
        ("not UTF-8", "application/json", b"\xff\xfe\x00"),
        ("JSON nested 1000 deep", "application/json", DEEP.encode()),
        (f"JSON nested 1000 deep in {field!r}", "application/json", f'{{"{field}": {DEEP}}}'.encode()),
        ("2 MB body", "application/json", json.dumps({field: "a" * TWO_MB}).encode()),
    ]


def cursors(owner_id: str, bot_id: str) -> list[tuple[str, str]]:
    def b64(value) -> str:
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).decode()

    return [
        ('cursor {"pk": "x"}', "eyJwayI6ICJ4In0="),
        ("cursor of random base64", b64(random.Random(7).randbytes(48))),
        ("cursor into another user's partition", b64({"pk": {"S": "USER#someone"}, "sk": {"S": "BOT#x"}})),
        # The same with a real user and a real bot: an answer with that user's bots would be a leak.
        ("cursor into a real user's partition", b64({"pk": {"S": f"USER#{owner_id}"}, "sk": {"S": f"BOT#{bot_id}"}})),
    ]


AMOUNTS = ["1E+125", "1e1000000", "1e-200", "1e309", "1_000", "١٢٣", "NaN", "-1", "0"]


def _list_routes() -> list[str]:
    """Every listing that takes a cursor, from the committed OpenAPI document."""
    spec = json.loads((ROOT / "docs" / "openapi.json").read_text())
    return [path for path, item in spec["paths"].items()
            if any(p.get("name") == "cursor" for p in item.get("get", {}).get("parameters", []))]


def _id_parameters() -> list[tuple[str, str, str | None, str, str]]:
    """(method, path, who, parameter, in) for every id parameter of every operation in the committed OpenAPI
    document: path parameters, and query parameters named *_id or actor."""
    spec = json.loads((ROOT / "docs" / "openapi.json").read_text())
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            who = "admin" if path.startswith("/api/admin/") else "user"
            for parameter in operation.get("parameters", []):
                name, where = parameter.get("name", ""), parameter.get("in")
                if where == "path" or (where == "query" and (name.endswith("_id") or name == "actor")):
                    found.append((method.upper(), path, who, name, where))
    return found


def _is_error_shape(reply) -> bool:
    try:
        body = reply.json()
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return (set(body) == {"error"} and isinstance(error, dict) and isinstance(error.get("code"), str)
            and isinstance(error.get("message"), str))


@pytest.fixture
def accounts(http, admin):
    """A trader with a bot (capital 50000, so an injection has a target), a second trader for the bots created
    with odd capital (one the server accepts and cannot read back would break the first one's listings), and a
    user the admin can reset."""
    made = {}
    for role in ("owner", "creator", "victim"):
        email = f"review-{role}@fuzz.test"
        reply = http.post("/api/auth/register", json={"email": email, "password": "review password 7", "name": role})
        assert reply.status_code == 201, reply.text
        made[role] = reply.json()
    user = {"Authorization": f"Bearer {made['owner']['access_token']}"}

    def new_bot() -> str:
        bot = http.post("/api/bots", json=BOT, headers=user)
        assert bot.status_code == 201, bot.text
        return bot.json()["id"]

    return {"user": user, "creator": {"Authorization": f"Bearer {made['creator']['access_token']}"},
            "admin": admin.headers, None: {}, "new_bot": new_bot, "bot_id": new_bot(),
            "victim_id": made["victim"]["user"]["id"]}


def test_security_review_inputs_answer_4xx_in_error_shape(http, accounts, trader, function_log):
    function_log.mark()
    sent, failures = 0, []

    def check(label: str, method: str, path: str, who, *, params=None, content: bytes | None = None,
              content_type: str | None = None, body=None, refused: bool = True) -> None:
        nonlocal sent
        headers = dict(accounts[who])
        if content_type:
            headers["Content-Type"] = content_type
        reply = http.request(method, path, params=params, content=content, json=body, headers=headers)
        sent += 1
        if reply.status_code >= 500 or (refused and not (400 <= reply.status_code < 500 and _is_error_shape(reply))):
            if content is not None:  # raw bytes: the label says what they are, the start is enough
                shown = f" content-type={content_type} body={content[:60]!r}{'...' if len(content) > 60 else ''}"
            else:
                shown = f" body={json.dumps(body, ensure_ascii=False)[:300]}" if body is not None else ""
            failures.append(f"[{label}] {method} {path}{f' query={params}' if params else ''}{shown} -> "
                            f"{reply.status_code} {reply.text[:300]}")

    ids = {"bot_id": accounts["bot_id"], "user_id": accounts["victim_id"]}
    for method, template, who, field in BODY_ROUTES:
        path = template.format(**ids)
        for label, content_type, content in body_cases(field):
            check(label, method, path, who, content=content, content_type=content_type)

    # The cursors go to every listing, not only /api/bots: each decodes its cursor on its own path.
    for template in _list_routes():
        who = "admin" if template.startswith("/api/admin/") else "user"
        path = template.replace("{bot_id}", accounts["bot_id"])
        for label, cursor in cursors(trader.user["id"], trader.bot_id):
            check(label, "GET", path, who, params={"cursor": cursor})

    # Ids no route could have stored, in every path and query parameter that names one: a 2,000-character sort key
    # is past DynamoDB's 1 KB limit, so it must be refused before any read (it was a 500).
    for method, template, who, name, where in _id_parameters():
        long_id = "a" * 2000
        if where == "path":
            path = template.replace("{" + name + "}", long_id)
            for other, value in (("bot_id", accounts["bot_id"]), ("user_id", accounts["victim_id"])):
                path = path.replace("{" + other + "}", value)
            check(f"{name} of 2,000 characters", method, path, who, body={} if method in ("POST", "PUT", "PATCH")
                  else None)
        else:
            check(f"{name} of 2,000 characters", method, template, who, params={name: long_id})
    for path, who in (("/api/trades", "user"), ("/api/admin/audit", "admin")):
        for since in ("9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"):  # beyond the years UTC holds
            check(f"since {since}", "GET", path, who, params={"since": since})

    for amount in AMOUNTS:
        check(f"capital {amount!r}", "POST", "/api/bots", "creator", body={**BOT, "capital": amount})
        # A bot of its own per amount: an amount the server accepts but cannot read back would otherwise fail
        # every later injection for the wrong reason.
        check(f"amount {amount!r}", "POST", "/api/capital/injections", "user",
              body={"bot_id": accounts["new_bot"](), "amount": amount, "kind": "deposit"})
    # An amount that was stored although no reader can load it back breaks every later read of the account.
    check("listing after the odd capitals", "GET", "/api/bots", "creator", refused=False)
    check("portfolio after the odd amounts", "GET", "/api/portfolio", "user", refused=False)

    REVIEW.append(f"fuzz: security-review inputs requests={sent} not_4xx_error_shape={len(failures)}")
    message = "\n".join([
        f"{len(failures)} of {sent} hand-made bad inputs were not a 4xx in the error shape:", *failures,
        f"server-side errors logged ({function_log.path}):", *function_log.errors_since_mark(),
    ])
    assert not failures, message
