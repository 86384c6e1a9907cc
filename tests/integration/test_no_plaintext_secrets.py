"""No plaintext secret anywhere: keys for all six providers are saved, read, tested (good, wrong, failing),
refused and deleted, and the assistant uses the openai key (accepted, rejected, rate limited), with every logger
at DEBUG; then every response, every log line and every table item is
searched for every plaintext value."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import sys

import boto3
import pytest

from botfleet import runtime
from botfleet.services.keys import PROVIDERS
from tests.integration.conftest import TABLE, Api, load_handler
from tests.integration.test_keys_api import aim_keys_function_at, running_providers
from tests.support.events import rest_event

# Distinctive values, none a substring of another, so a hit can only be a leak.
SECRETS = {
    provider: {field: f"PLAIN{field.replace('_', '').upper()}{provider.upper()}{index}q7Zx"
               for field in PROVIDERS[provider]}
    for index, provider in enumerate(PROVIDERS)
}
WRONG = {provider: {field: f"WRONG{value}" for field, value in fields.items()} for provider, fields in SECRETS.items()}
REFUSED = {"too_long": "PLAINTOOLONG" + "y" * 600, "extra": "PLAINEXTRAFIELDq7Zx", "typed": "PLAINTYPEDq7Zx"}


def plaintexts() -> list[str]:
    """Every secret value, plus the encodings a transport puts on the wire (Luno's Basic auth is base64 of
    key:secret; a leaked header would hide the secret from a plain search)."""
    values = [value for fields in (*SECRETS.values(), *WRONG.values()) for value in fields.values()]
    encoded = [base64.b64encode(value.encode()).decode() for value in values]
    basic = [base64.b64encode(f"{fields['api_key']}:{fields['api_secret']}".encode()).decode()
             for fields in (*SECRETS.values(), *WRONG.values()) if "api_secret" in fields]
    return values + encoded + basic + list(REFUSED.values())


class RecordingApi(Api):
    """Api that keeps every raw response (status, headers, body) as the client would receive it."""

    def __init__(self):
        super().__init__()
        self.raw: list[str] = []

    def call(self, function, method, url, body=None, token=None, **kwargs):
        reply = load_handler(function).handler(rest_event(method, url, body, token, **kwargs), self.context)
        self.raw.append(json.dumps(reply, default=str))
        return reply["statusCode"], json.loads(reply["body"]) if reply.get("body") else None


class EverythingHandler(logging.Handler):
    """Keeps each record whole: message, arguments, extras and traceback (a formatter would drop extras)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        exc = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        self.lines.append(f"{record.getMessage()} {record.__dict__!r} {exc}")


@contextlib.contextmanager
def every_logger_at_debug():
    """Root and every named logger at DEBUG, recorded whole; Powertools' own handlers (which write JSON to
    stdout and don't propagate) pointed at the current sys.stdout, so capsys sees them."""
    recorder = EverythingHandler()
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    saved = [(each, each.level) for each in loggers]
    streams = []
    for each in loggers:
        each.setLevel(logging.DEBUG)
        if each is logging.getLogger() or not each.propagate:
            each.addHandler(recorder)
        handler = getattr(each, "powertools_handler", None)
        if isinstance(handler, logging.StreamHandler):
            streams.append((handler, handler.setStream(sys.stdout)))
    try:
        yield recorder
    finally:
        for each, level in saved:
            each.setLevel(level)
            each.removeHandler(recorder)
        for handler, stream in streams:
            handler.setStream(stream)


@pytest.fixture
def kms_key(aws, monkeypatch):
    key_arn = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setenv("KEYS_KMS_KEY_ID", key_arn)
    runtime.reset()
    return key_arn


def exercise_every_path(api: RecordingApi, mocks, dynamodb) -> None:
    token, user = api.register("ann@example.com")
    bob_token, bob = api.register("bob@example.com")
    for provider, credentials in SECRETS.items():
        assert api.call("keys", "PUT", f"/api/keys/{provider}", credentials, token=token)[0] == 200
        assert api.call("keys", "GET", f"/api/keys/{provider}", token=token)[0] == 200
        status, result = api.call("keys", "POST", "/api/keys/test", {"provider": provider}, token=token)
        assert status == 200 and result["ok"] is True, result
        status, result = api.call("keys", "POST", "/api/keys/test", {"provider": provider, **WRONG[provider]},
                                  token=token)
        assert status == 200 and result["ok"] is False, result
        mocks[provider].fail("server_error")
        assert api.call("keys", "POST", "/api/keys/test", {"provider": provider}, token=token)[1]["ok"] is False
    assert api.call("keys", "GET", "/api/keys", token=token)[0] == 200

    # Refused bodies must not echo what they refused.
    assert api.call("keys", "PUT", "/api/keys/openai", {"api_key": REFUSED["too_long"]}, token=token)[0] == 422
    assert api.call("keys", "PUT", "/api/keys/openai", {"api_key": "sk-x", "api_secret": REFUSED["extra"]},
                    token=token)[0] == 422
    assert api.call("keys", "PUT", "/api/keys/openai", {"api_key": [REFUSED["typed"]]}, token=token)[0] == 422
    assert api.call("keys", "PUT", "/api/keys/openai", {"api_key": "sk-x", "surprise": REFUSED["extra"]},
                    token=token)[0] == 422

    # A blob copied into another user's item fails to open (and says nothing about what it holds).
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"USER#{user['id']}"}, "sk": {"S": "KEY#kucoin"}})
    dynamodb.put_item(TableName=TABLE, Item={**item["Item"], "pk": {"S": f"USER#{bob['id']}"}})
    assert api.call("keys", "POST", "/api/keys/test", {"provider": "kucoin"}, token=bob_token)[0] == 409

    # The assistant opens the openai key to ask the model (a tool call and a reply), then meets a rejected key
    # (whose 401 quotes it) and a rate limit: it falls back to its rules each time.
    mocks["openai"].plan({"call": "list_bots", "arguments": {}}, {"text": "No bots yet."})
    status, reply = api.call("assistant", "POST", "/api/ai/chat", {"message": "how are my bots"}, token=token)
    assert status == 200 and reply["source"] == "openai", reply
    assert api.call("keys", "PUT", "/api/keys/openai", WRONG["openai"], token=token)[0] == 200
    status, reply = api.call("assistant", "POST", "/api/ai/chat", {"message": "status"}, token=token)
    assert status == 200 and reply["source"] == "rules" and reply["note"], reply
    assert api.call("keys", "PUT", "/api/keys/openai", SECRETS["openai"], token=token)[0] == 200
    mocks["openai"].fail("rate_limit")
    status, reply = api.call("assistant", "POST", "/api/ai/chat", {"message": "emergency stop"}, token=token)
    assert status == 200 and reply["source"] == "rules", reply
    assert api.call("assistant", "GET", "/api/ai/chat/history", token=token)[0] == 200

    # Delete one (audited) and re-save it, so the audit trail holds both kinds of entry.
    assert api.call("keys", "DELETE", "/api/keys/ovex", token=token)[0] == 204
    assert api.call("keys", "PUT", "/api/keys/ovex", SECRETS["ovex"], token=token)[0] == 200


def scan_all(dynamodb) -> list[dict]:
    items, kwargs = [], {"TableName": TABLE}
    while True:
        page = dynamodb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_no_plaintext_secret_in_responses_logs_or_table(aws, kms_key, monkeypatch, caplog, capsys):
    secrets_for_mocks = {provider: dict(fields) for provider, fields in SECRETS.items()}
    with running_providers(secrets_for_mocks) as mocks:
        aim_keys_function_at(monkeypatch, {name: mock.url for name, mock in mocks.items()})
        api = RecordingApi()
        for function in ("auth", "keys", "assistant"):
            load_handler(function)  # their loggers must exist before they are turned up
        caplog.set_level(logging.DEBUG)
        with every_logger_at_debug() as recorder:
            exercise_every_path(api, mocks, aws)
            load_handler("keys").logger.debug("capture canary")  # proves Powertools' JSON lines are seen
        assert all(mock.requests for mock in mocks.values()), "every provider was really called"

    captured = capsys.readouterr()
    items = scan_all(aws)
    places = {
        "responses": "\n".join(api.raw),
        "caplog": caplog.text + "\n".join(repr(record.__dict__) for record in caplog.records),
        "log records": "\n".join(recorder.lines),
        "stdout": captured.out,
        "stderr": captured.err,
        "table": json.dumps(items),
    }
    assert "ok: " in places["responses"] and len(recorder.lines) > 10
    assert '"KeysSaved"' in places["stdout"] and "capture canary" in places["stdout"]
    for place, text in places.items():
        if place != "responses":  # KMS's plaintext data key opens the stored ciphertext: never logged either
            assert "Plaintext" not in text, f"a KMS plaintext data key was logged in {place}"
            # Nor the token signing key read from Secrets Manager (the aws fixture's secret), in any place.
            if "x" * 48 in text:
                pytest.fail(f"the JWT signing secret was logged in {place}")
        leaked = [value[:9] + "..." for value in plaintexts() if value in text]
        if leaked:  # pytest.fail rather than assert: the assertion rewrite would print the values in full
            pytest.fail(f"plaintext secret(s) found in {place}: {leaked}")


def test_stored_items_hold_only_the_sealed_form(aws, kms_key, monkeypatch):
    with running_providers() as mocks:
        aim_keys_function_at(monkeypatch, {name: mock.url for name, mock in mocks.items()})
        api = RecordingApi()
        token, user = api.register()
        for provider, credentials in SECRETS.items():
            api.call("keys", "PUT", f"/api/keys/{provider}", credentials, token=token)

    stored = {item["provider"]["S"]: item for item in scan_all(aws) if item.get("entity", {}).get("S") == "api_key"}
    assert set(stored) == set(PROVIDERS)
    for provider, item in stored.items():
        assert set(item) == {"pk", "sk", "entity", "user_id", "provider", "ciphertext", "wrapped_key", "masked_key",
                             "fields", "updated_at"}
        assert [field["S"] for field in item["fields"]["L"]] == list(PROVIDERS[provider])
        ciphertext, wrapped = item["ciphertext"]["S"], item["wrapped_key"]["S"]
        assert ciphertext.startswith("gAAAAA")  # a Fernet token (version byte 0x80)
        assert len(base64.b64decode(wrapped)) > 32  # a KMS ciphertext blob, not a bare 32-byte key
        assert all(value not in ciphertext + wrapped for value in SECRETS[provider].values())
        # ...and it really is the secret, sealed: it opens to the plaintext for its owner and provider only.
        sealed = {"ciphertext": ciphertext, "wrapped_key": wrapped}
        assert runtime.keys_service().vault.open(user["id"], provider, sealed) == SECRETS[provider]
