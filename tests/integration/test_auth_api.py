import base64
import json
import time

import boto3
import jwt
import pytest

from botfleet import runtime
from botfleet.adapters.dynamo.throttle import DynamoThrottleStore
from botfleet.domain.throttle import PAIR, Counter, CounterWrite
from tests.integration.conftest import TABLE, FakePublisher, load_handler
from tests.support.events import LambdaContext, rest_event, ws_event


def test_register_login_me_logout(api):
    token, _ = api.register()
    status, me = api.call("auth", "GET", "/api/auth/me", token=token)
    assert status == 200 and me["email"] == "ann@example.com" and me["role"] == "user"
    assert set(me) >= {"id", "email", "name", "role", "created_at"}
    status, session = api.call("auth", "POST", "/api/auth/login",
                               {"email": "ann@example.com", "password": "correct horse 1"})
    assert status == 200 and session["token_type"] == "bearer" and session["expires_in"] == 3600
    assert "password_hash" not in json.dumps(session)
    assert api.call("auth", "POST", "/api/auth/logout", token=session["access_token"])[0] == 204
    for revoked in (token, session["access_token"]):
        status, body = api.call("auth", "GET", "/api/auth/me", token=revoked)
        assert (status, body["error"]["code"]) == (401, "token_revoked")


def test_duplicate_email_is_409(api):
    api.register()
    status, body = api.call("auth", "POST", "/api/auth/register",
                            {"email": "ANN@example.com", "password": "another pass 2", "name": "Ann 2"})
    assert (status, body["error"]["code"]) == (409, "email_taken")


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"email": "ann@example.com", "password": "short", "name": "Ann"}, 422, "password"),
        ({"email": "not-an-email", "password": "correct horse 1", "name": "Ann"}, 422, "email"),
        ({"email": "ann@example.com", "password": "correct horse 1"}, 422, "name"),
        ({"email": "ann@example.com", "password": "correct horse 1", "name": "Ann", "role": "admin"}, 422, "role"),
        ([1, 2], 400, None),
    ],
)
def test_bad_registrations_get_the_contract_error(api, payload, status, field):
    got, body = api.call("auth", "POST", "/api/auth/register", payload)
    assert got == status
    assert set(body["error"]) == {"code", "message"}
    if field:
        assert body["error"]["message"].startswith(field)


def test_malformed_json_is_400(api):
    status, body = api.call("auth", "POST", "/api/auth/login", raw_body="{nope")
    assert (status, body["error"]["code"]) == (400, "malformed_json")


def test_bad_logins_then_429(api):
    api.register()
    codes = [api.call("auth", "POST", "/api/auth/login",
                      {"email": "ann@example.com", "password": f"wrong pass {i}"})[0] for i in range(6)]
    assert codes == [401] * 5 + [429]


def _login(email, password, source_ip, headers=None):
    """The raw reply, headers included."""
    event = rest_event("POST", "/api/auth/login", {"email": email, "password": password}, headers=headers,
                       source_ip=source_ip)
    reply = load_handler("auth").handler(event, LambdaContext())
    return reply["statusCode"], reply.get("multiValueHeaders") or {}, json.loads(reply["body"])


def _header(headers, name):
    values = {key.lower(): value for key, value in headers.items()}[name.lower()]
    return values[0] if isinstance(values, list) else values


def test_a_stranger_throttles_only_their_own_address_and_the_reply_says_how_long(api):
    api.register()  # from 127.0.0.1, the fake gateway's address
    answers = [_login("ann@example.com", "wrong pass 1", "203.0.113.9") for _ in range(10)]
    assert [status for status, _, _ in answers[:5]] == [401] * 5
    status, headers, body = answers[5]
    assert (status, body["error"]["code"]) == (429, "too_many_attempts")
    assert int(_header(headers, "Retry-After")) >= 1
    # The owner is not locked out: neither where they registered nor from a third address.
    assert _login("ann@example.com", "correct horse 1", "127.0.0.1")[0] == 200
    assert _login("ann@example.com", "correct horse 1", "192.0.2.44")[0] == 200


def test_the_address_is_the_gateways_not_a_forwarded_for_header(api):
    api.register()
    for n in range(5):
        _login("ann@example.com", "wrong pass 1", "203.0.113.9", headers={"X-Forwarded-For": f"10.0.0.{n}"})
    status, _, _ = _login("ann@example.com", "wrong pass 1", "203.0.113.9", headers={"X-Forwarded-For": "10.9.9.9"})
    assert status == 429


def test_throttle_counters_expire_with_the_tables_ttl(api, aws):
    api.register()
    _login("ann@example.com", "wrong pass 1", "203.0.113.9")
    items = boto3.resource("dynamodb", region_name="us-east-1").Table(TABLE).scan()["Items"]
    throttles = {item["pk"]: item for item in items if item.get("entity") == "throttle"}
    assert {"THROTTLE#login-pair#203.0.113.9#ann@example.com", "THROTTLE#login-address#203.0.113.9",
            "THROTTLE#login-account#ann@example.com"} <= set(throttles)
    now = time.time()
    assert all(now < int(item["expires_at"]) < now + 40 * 86400 for item in throttles.values())


def test_registrations_beyond_the_per_address_limit_are_429(api, monkeypatch):
    monkeypatch.setenv("REGISTRATIONS_PER_ADDRESS_PER_HOUR", "2")
    runtime.reset()
    body = {"password": "correct horse 1", "name": "N"}
    statuses = [api.call("auth", "POST", "/api/auth/register", {**body, "email": f"u{n}@example.com"},
                         source_ip="203.0.113.9")[0] for n in range(3)]
    assert statuses == [201, 201, 429]
    event = rest_event("POST", "/api/auth/register", {**body, "email": "u9@example.com"}, source_ip="203.0.113.9")
    reply = load_handler("auth").handler(event, LambdaContext())
    assert reply["statusCode"] == 429
    assert json.loads(reply["body"])["error"]["code"] == "too_many_registrations"
    assert 1 <= int(_header(reply["multiValueHeaders"], "Retry-After")) <= 3600
    assert api.call("auth", "POST", "/api/auth/register", {**body, "email": "u9@example.com"},
                    source_ip="192.0.2.44")[0] == 201


def test_logout_closes_the_callers_open_sockets(api, monkeypatch):
    publisher = FakePublisher()
    monkeypatch.setattr(runtime, "publisher", lambda: publisher)
    token, _ = api.register()
    other, _ = api.register("bob@example.com")
    ws = load_handler("ws")
    for connection_id, owner in (("ann-1", token), ("ann-2", token), ("bob-1", other)):
        assert ws.handler(ws_event("$connect", connection_id, token=owner), LambdaContext())["statusCode"] == 200
    assert api.call("auth", "POST", "/api/auth/logout", token=token)[0] == 204
    assert sorted(publisher.closed) == ["ann-1", "ann-2"]
    assert runtime.connections().get("ann-1") is None and runtime.connections().get("bob-1") is not None


def test_concurrent_claims_on_one_counter_let_exactly_one_through(aws):
    """Two attempts that read the same counter: the store takes the first claim and refuses the second."""
    store = DynamoThrottleStore(runtime.table())
    key = "203.0.113.9#ann@example.com"
    first = Counter(score=1, last_failure_at=1000.0)
    assert store.claim([CounterWrite(PAIR, key, None, first, 5000)])
    seen = store.read(PAIR, key)
    assert seen.score == 1 and seen.revision == 1
    ours, theirs = Counter(2, 1001.0, revision=seen.revision), Counter(2, 1001.5, revision=seen.revision)
    assert store.claim([CounterWrite(PAIR, key, seen, ours, 5000)])
    assert not store.claim([CounterWrite(PAIR, key, seen, theirs, 5000)])
    assert not store.claim([CounterWrite(PAIR, key, None, theirs, 5000)])  # "absent" is stale too
    assert store.read(PAIR, key).last_failure_at == 1001.0
    store.give_back(PAIR, key)
    assert store.read(PAIR, key).score == 1


def test_the_registration_window_counter_stops_at_its_limit(aws):
    store = DynamoThrottleStore(runtime.table())
    counted = [store.count_in_window("register-address", "203.0.113.9", 3600, 3, 7260) for _ in range(5)]
    assert counted == [True, True, True, False, False]
    assert store.count_in_window("register-address", "203.0.113.9", 7200, 3, 10860)  # the next window


def _secret(aws):
    import boto3

    sm = boto3.client("secretsmanager", region_name="us-east-1")
    return sm.get_secret_value(SecretId="jwt")["SecretString"]


def test_forged_tokens_are_refused(api, aws):
    token, user = api.register()
    secret = _secret(aws)
    now = int(time.time())
    claims = {"iss": "botfleet", "sub": user["id"], "role": "admin", "tv": 0, "iat": now, "exp": now + 600}
    header, _, signature = token.split(".")
    tampered_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    forged = {
        "tampered": f"{header}.{tampered_payload}.{signature}",
        "alg_none": f"{none_header}.{tampered_payload}.",
        "wrong_key": jwt.encode(claims, "y" * 48, algorithm="HS256"),
        "expired": jwt.encode({**claims, "exp": now - 1}, secret, algorithm="HS256"),
        "garbage": "not-a-jwt",
    }
    for name, bad in forged.items():
        status, body = api.call("auth", "GET", "/api/auth/me", token=bad)
        assert status == 401, name
        assert body["error"]["code"] in ("invalid_token", "token_expired"), name


def test_missing_token_is_401(api):
    status, body = api.call("auth", "GET", "/api/auth/me")
    assert (status, body["error"]["code"]) == (401, "not_authenticated")
