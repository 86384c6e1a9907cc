import base64
import json
import time

import jwt
import pytest


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
