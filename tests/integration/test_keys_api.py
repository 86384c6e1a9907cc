"""REST /api/keys end to end: the keys handler, moto's DynamoDB and KMS (which enforces encryption contexts), and
the provider tests against the mock exchanges and a mock OpenAI on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import socket
import time

import boto3
import pytest

from botfleet import runtime
from botfleet.clock import FixedClock
from botfleet.services.keys import PROVIDERS, KeyService
from tests.integration.conftest import TABLE
from tests.support.mock_exchanges import start_mock
from tests.support.mock_openai import MockOpenAI

EXCHANGES = ("luno", "binance", "kucoin", "valr", "ovex")


@pytest.fixture
def kms_key(aws, monkeypatch) -> str:
    key_arn = boto3.client("kms", region_name="us-east-1").create_key(
        Description="botfleet api keys (test)")["KeyMetadata"]["Arn"]
    monkeypatch.setenv("KEYS_KMS_KEY_ID", key_arn)
    runtime.reset()
    return key_arn


@contextlib.contextmanager
def running_providers(secrets: dict[str, dict[str, str]] | None = None):
    """All six providers on 127.0.0.1. `secrets` replaces a mock's accepted credentials (to make them
    distinctive). Yields {provider: mock}."""
    secrets = secrets or {}
    with contextlib.ExitStack() as stack:
        mocks = {"openai": stack.enter_context(MockOpenAI(secrets.get("openai", {}).get("api_key")))}
        for exchange in EXCHANGES:
            mock = start_mock(exchange)
            for field, value in secrets.get(exchange, {}).items():
                setattr(mock, field, value)
            mocks[exchange] = stack.enter_context(mock)
        yield mocks


def aim_keys_function_at(monkeypatch, urls: dict[str, str], timeout_s: float = 1.0) -> None:
    """What CDK would set: BOTFLEET_PROVIDER_URLS (here: the mocks) and the test timeout."""
    monkeypatch.setenv("BOTFLEET_PROVIDER_URLS", json.dumps(urls))
    monkeypatch.setenv("KEYS_TEST_TIMEOUT_S", str(timeout_s))
    runtime.reset()


def closed_port_url() -> str:
    """A URL nothing listens on: what a provider that is down looks like."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def provider_servers():
    with running_providers() as mocks:
        yield mocks


@pytest.fixture
def providers(provider_servers, kms_key, monkeypatch):
    """The module's mock providers, forgotten faults and requests, with the keys function aimed at them."""
    for mock in provider_servers.values():
        mock.requests.clear()
        mock.faults.clear()
    aim_keys_function_at(monkeypatch, {name: mock.url for name, mock in provider_servers.items()})
    return provider_servers


def good_credentials(mock) -> dict[str, str]:
    """The credentials a mock accepts, limited to what its provider takes."""
    accepted = {"api_key": mock.api_key} if isinstance(mock, MockOpenAI) else mock.credentials
    return {field: accepted[field] for field in PROVIDERS[provider_of(mock)]}


def provider_of(mock) -> str:
    return "openai" if isinstance(mock, MockOpenAI) else mock.exchange_id


@pytest.fixture
def ann(api, kms_key):
    token, user = api.register()
    return token, user


# -- saving, listing, deleting --------------------------------------------------------------------------------------

SAMPLE = {
    "openai": {"api_key": "sk-proj-sample-openai-a1b2"},
    "luno": {"api_key": "luno-id-sample-c3d4", "api_secret": "luno-secret-sample"},
    "binance": {"api_key": "binance-key-sample-e5f6", "api_secret": "binance-secret-sample"},
    "kucoin": {"api_key": "kucoin-key-sample-g7h8", "api_secret": "kucoin-secret-sample",
               "passphrase": "kucoin-pass-sample"},
    "valr": {"api_key": "valr-key-sample-i9j0", "api_secret": "valr-secret-sample"},
    "ovex": {"api_key": "ovex-token-sample-k1l2"},
}


def test_every_provider_is_listed_unconfigured_at_first(api, ann):
    token, _ = ann
    status, body = api.call("keys", "GET", "/api/keys", token=token)
    assert status == 200 and body["next_cursor"] is None
    assert [item["provider"] for item in body["items"]] == list(PROVIDERS)
    for item in body["items"]:
        assert item == {"provider": item["provider"], "configured": False, "masked_key": None, "updated_at": None,
                        "last_test": None, "required_fields": list(PROVIDERS[item["provider"]])}


def test_save_all_six_then_list_masked(api, ann):
    token, _ = ann
    for provider, credentials in SAMPLE.items():
        status, body = api.call("keys", "PUT", f"/api/keys/{provider}", credentials, token=token)
        assert status == 200, body
        assert body["provider"] == provider and body["configured"] is True
        assert body["masked_key"] == "****" + credentials["api_key"][-4:]
        assert body["updated_at"].endswith("Z") and body["last_test"] is None
        assert set(json.dumps(body).split('"')).isdisjoint(credentials.values())

    status, listing = api.call("keys", "GET", "/api/keys", token=token)
    assert status == 200
    assert {item["provider"]: item["masked_key"] for item in listing["items"]} == {
        provider: "****" + credentials["api_key"][-4:] for provider, credentials in SAMPLE.items()}
    text = json.dumps(listing)
    assert not any(value in text for credentials in SAMPLE.values() for value in credentials.values())

    status, one = api.call("keys", "GET", "/api/keys/kucoin", token=token)
    assert status == 200 and one["masked_key"] == "****g7h8" and one["configured"] is True


def test_put_replaces_and_delete_is_idempotent(api, ann):
    token, _ = ann
    api.call("keys", "PUT", "/api/keys/binance", SAMPLE["binance"], token=token)
    status, body = api.call("keys", "PUT", "/api/keys/binance", {"api_key": "new-binance-key-zz99",
                                                                 "api_secret": "new"}, token=token)
    assert status == 200 and body["masked_key"] == "****zz99"

    assert api.call("keys", "DELETE", "/api/keys/binance", token=token) == (204, None)
    assert api.call("keys", "DELETE", "/api/keys/binance", token=token) == (204, None)
    status, body = api.call("keys", "GET", "/api/keys/binance", token=token)
    assert status == 200 and body["configured"] is False and body["masked_key"] is None


def test_short_keys_show_no_characters(api, ann):
    token, _ = ann
    status, body = api.call("keys", "PUT", "/api/keys/ovex", {"api_key": "  abc1234  "}, token=token)
    assert status == 200 and body["masked_key"] == "****"


@pytest.mark.parametrize("method, url, body", [
    ("GET", "/api/keys/kraken", None),
    ("PUT", "/api/keys/kraken", {"api_key": "k"}),
    ("DELETE", "/api/keys/kraken", None),
    ("POST", "/api/keys/test", {"provider": "kraken"}),
])
def test_unknown_provider_is_404(api, ann, method, url, body):
    status, reply = api.call("keys", method, url, body, token=ann[0])
    assert status == 404 and reply["error"]["code"] == "unknown_provider"


@pytest.mark.parametrize("provider, body, field", [
    ("kucoin", {"api_key": "kucoin-key-1", "api_secret": "kucoin-secret-1"}, "passphrase"),
    ("binance", {"api_key": "binance-key-1"}, "api_secret"),
    ("binance", {"api_key": "   ", "api_secret": "binance-secret-2"}, "api_key"),
    ("openai", {"api_key": "sk-1", "api_secret": "not-used-by-openai"}, "api_secret"),
    ("openai", {"api_key": "sk-1", "token": "some-token-value"}, "token"),
    ("openai", {"api_key": "x" * 513}, "api_key"),
    ("openai", {"api_key": 12345}, "api_key"),
])
def test_invalid_credentials_are_422_naming_the_field(api, ann, provider, body, field):
    status, reply = api.call("keys", "PUT", f"/api/keys/{provider}", body, token=ann[0])
    assert status == 422, reply
    assert reply["error"]["message"].startswith(f"{field}:")
    assert not any(str(value).strip() in reply["error"]["message"] for value in body.values() if str(value).strip())


def test_malformed_bodies_are_400(api, ann):
    status, reply = api.call("keys", "PUT", "/api/keys/openai", token=ann[0], raw_body="{not json")
    assert status == 400 and reply["error"]["code"] == "malformed_json"
    status, reply = api.call("keys", "PUT", "/api/keys/openai", ["sk-1"], token=ann[0])
    assert status == 400


@pytest.mark.parametrize("method, url", [("GET", "/api/keys"), ("GET", "/api/keys/openai"),
                                         ("PUT", "/api/keys/openai"), ("DELETE", "/api/keys/openai"),
                                         ("POST", "/api/keys/test")])
def test_every_route_needs_a_token(api, kms_key, method, url):
    status, reply = api.call("keys", method, url, {"api_key": "sk-1", "provider": "openai"})
    assert status == 401 and reply["error"]["code"] == "not_authenticated"


# -- tenancy ----------------------------------------------------------------------------------------------------------


def test_one_user_cannot_see_test_or_delete_anothers_keys(api, providers):
    ann_token, _ = api.register("ann@example.com")
    bob_token, _ = api.register("bob@example.com")
    api.call("keys", "PUT", "/api/keys/binance", good_credentials(providers["binance"]), token=ann_token)

    status, listing = api.call("keys", "GET", "/api/keys", token=bob_token)
    assert status == 200 and not any(item["configured"] for item in listing["items"])
    assert api.call("keys", "GET", "/api/keys/binance", token=bob_token)[1]["configured"] is False
    status, reply = api.call("keys", "POST", "/api/keys/test", {"provider": "binance"}, token=bob_token)
    assert status == 404 and reply["error"]["code"] == "key_not_configured"
    assert api.call("keys", "DELETE", "/api/keys/binance", token=bob_token) == (204, None)

    status, still = api.call("keys", "GET", "/api/keys/binance", token=ann_token)
    assert still["configured"] is True and still["masked_key"] == "****" + providers["binance"].api_key[-4:]
    assert not providers["binance"].requests, "bob's test never reached the exchange with ann's key"


def test_a_sealed_blob_copied_to_another_user_does_not_open(api, aws, providers):
    ann_token, ann = api.register("ann@example.com")
    bob_token, bob = api.register("bob@example.com")
    api.call("keys", "PUT", "/api/keys/binance", good_credentials(providers["binance"]), token=ann_token)

    # Someone with write access to the table copies ann's sealed key into bob's partition.
    item = aws.get_item(TableName=TABLE, Key={"pk": {"S": f"USER#{ann['id']}"}, "sk": {"S": "KEY#binance"}})["Item"]
    aws.put_item(TableName=TABLE, Item={**item, "pk": {"S": f"USER#{bob['id']}"}, "user_id": {"S": bob["id"]}})

    status, reply = api.call("keys", "POST", "/api/keys/test", {"provider": "binance"}, token=bob_token)
    assert status == 409 and reply["error"]["code"] == "key_unreadable"
    assert not providers["binance"].requests
    with pytest.raises(Exception, match="cannot be decrypted"):
        runtime.keys_service().credentials_for(bob["id"], "binance")

    # The same blob under another provider of ann's does not open either (the provider is in the context).
    aws.put_item(TableName=TABLE, Item={**item, "sk": {"S": "KEY#valr"}, "provider": {"S": "valr"}})
    status, reply = api.call("keys", "POST", "/api/keys/test", {"provider": "valr"}, token=ann_token)
    assert status == 409 and reply["error"]["code"] == "key_unreadable"

    status, reply = api.call("keys", "POST", "/api/keys/test", {"provider": "binance"}, token=ann_token)
    assert status == 200 and reply["ok"] is True  # ann's own key is untouched
    assert runtime.keys_service().credentials_for(ann["id"], "binance") == good_credentials(providers["binance"])


# -- the test endpoint ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_stored_good_key_tests_ok_and_is_remembered(api, ann, providers, provider):
    token, _ = ann
    mock = providers[provider]
    api.call("keys", "PUT", f"/api/keys/{provider}", good_credentials(mock), token=token)

    status, result = api.call("keys", "POST", "/api/keys/test", {"provider": provider}, token=token)
    assert status == 200, result
    assert result["provider"] == provider and result["ok"] is True, result
    assert result["message"].startswith("ok:")
    assert isinstance(result["latency_ms"], int) and 0 <= result["latency_ms"] < 5000
    assert mock.requests, "the provider was really called"

    record = api.call("keys", "GET", f"/api/keys/{provider}", token=token)[1]
    assert record["last_test"]["ok"] is True and record["last_test"]["latency_ms"] == result["latency_ms"]
    assert record["last_test"]["message"] == result["message"] and record["last_test"]["at"].endswith("Z")


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_wrong_secret_is_rejected(api, ann, providers, provider):
    mock = providers[provider]
    wrong = ({"api_key": "sk-wrong-openai-key"} if provider == "openai"
             else {field: mock.wrong_credentials()[field] for field in PROVIDERS[provider]})
    status, result = api.call("keys", "POST", "/api/keys/test", {"provider": provider, **wrong}, token=ann[0])
    assert status == 200, result
    assert result["ok"] is False and result["message"].startswith("rejected:"), result
    assert not any(value in result["message"] for value in wrong.values())


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_provider_that_is_down_is_unreachable_quickly(api, ann, providers, provider, monkeypatch):
    credentials = good_credentials(providers[provider])
    urls = {name: mock.url for name, mock in providers.items()} | {provider: closed_port_url()}
    aim_keys_function_at(monkeypatch, urls, timeout_s=5)
    started = time.monotonic()
    status, result = api.call("keys", "POST", "/api/keys/test", {"provider": provider, **credentials},
                              token=ann[0])
    assert status == 200
    assert result["ok"] is False and result["message"].startswith("unreachable:"), result
    assert time.monotonic() - started < 2.5  # well under the 5 s timeout: a refusal is not waited out


@pytest.mark.parametrize("provider", ["binance", "valr", "openai"])
def test_a_hanging_provider_times_out_within_the_limit(api, ann, providers, provider):
    mock = providers[provider]
    mock.fail("hang", seconds=5)
    started = time.monotonic()
    status, result = api.call("keys", "POST", "/api/keys/test", {"provider": provider, **good_credentials(mock)},
                              token=ann[0])
    assert status == 200
    assert result["ok"] is False and result["message"] == f"timed out: no answer from {provider} within 1 s"
    assert time.monotonic() - started < 3.0


@pytest.mark.parametrize("provider", ["kucoin", "ovex", "openai"])
def test_rate_limited_and_server_errors_are_ok_false(api, ann, providers, provider):
    mock = providers[provider]
    body = {"provider": provider, **good_credentials(mock)}
    mock.fail("rate_limit")
    status, result = api.call("keys", "POST", "/api/keys/test", body, token=ann[0])
    assert status == 200 and result["ok"] is False and result["message"].startswith("rate limited:"), result
    mock.fail("server_error")
    status, result = api.call("keys", "POST", "/api/keys/test", body, token=ann[0])
    assert status == 200 and result["ok"] is False and result["message"].startswith("unavailable:"), result


def test_unsaved_credentials_are_tested_without_touching_the_stored_key(api, ann, providers):
    token, _ = ann
    mock = providers["valr"]
    api.call("keys", "PUT", "/api/keys/valr", good_credentials(mock), token=token)
    api.call("keys", "POST", "/api/keys/test", {"provider": "valr"}, token=token)

    wrong = {"api_key": mock.api_key, "api_secret": "wrong-secret-value"}
    status, result = api.call("keys", "POST", "/api/keys/test", {"provider": "valr", **wrong}, token=token)
    assert status == 200 and result["ok"] is False
    assert api.call("keys", "GET", "/api/keys/valr", token=token)[1]["last_test"]["ok"] is True


def test_saving_a_new_key_forgets_the_old_test_result(api, ann, providers):
    token, _ = ann
    api.call("keys", "PUT", "/api/keys/luno", good_credentials(providers["luno"]), token=token)
    api.call("keys", "POST", "/api/keys/test", {"provider": "luno"}, token=token)
    status, body = api.call("keys", "PUT", "/api/keys/luno", {"api_key": "other-luno-id", "api_secret": "x"},
                            token=token)
    assert status == 200 and body["last_test"] is None
    status, result = api.call("keys", "POST", "/api/keys/test", {"provider": "luno"}, token=token)
    assert result["ok"] is False and result["message"].startswith("rejected:")
    assert api.call("keys", "GET", "/api/keys/luno", token=token)[1]["last_test"]["ok"] is False


def test_testing_a_key_that_is_not_stored_is_404(api, ann):
    for body in ({"provider": "openai"}, {"provider": "openai", "api_key": "  "}):  # blank = the stored key
        status, reply = api.call("keys", "POST", "/api/keys/test", body, token=ann[0])
        assert status == 404 and reply["error"]["code"] == "key_not_configured"


def test_unsaved_credentials_are_validated_like_a_save(api, ann):
    status, reply = api.call("keys", "POST", "/api/keys/test",
                             {"provider": "kucoin", "api_key": "k", "api_secret": "s"}, token=ann[0])
    assert status == 422 and reply["error"]["message"].startswith("passphrase:")


# -- the service's other callers: engine, admin, audit, throttle ------------------------------------------------------


class RecordingTester:
    def __init__(self):
        self.calls = []

    def test(self, provider, credentials):
        self.calls.append((provider, dict(credentials)))
        return True, "ok: fake"


def service_with(tester, clock=None, audit=None, tests_per_minute=20) -> KeyService:
    built = runtime.keys_service()
    return KeyService(built.stored, built.vault, clock or FixedClock(), tester, audit=audit,
                      tests_per_minute=tests_per_minute)


def test_credentials_for_the_engine_and_is_configured_for_admin(kms_key):
    service = service_with(RecordingTester())
    service.put("usr_1", "kucoin", SAMPLE["kucoin"])
    assert service.credentials_for("usr_1", "kucoin") == SAMPLE["kucoin"]
    assert "kucoin-secret-sample" not in repr(service.credentials_for("usr_1", "kucoin"))
    assert service.is_configured("usr_1", "kucoin") and not service.is_configured("usr_1", "binance")
    assert not service.is_configured("usr_2", "kucoin") and not service.is_configured("usr_1", "kraken")
    with pytest.raises(Exception, match="no binance key"):
        service.credentials_for("usr_1", "binance")


def test_key_changes_are_audited_without_secrets(kms_key):
    entries = []
    service = service_with(RecordingTester(), audit=lambda *entry: entries.append(entry))
    service.put("usr_1", "binance", SAMPLE["binance"])
    service.put("usr_1", "binance", {"api_key": "second-binance-key-9999", "api_secret": "second-secret"})
    service.delete("usr_1", "binance")
    service.delete("usr_1", "binance")  # nothing there: nothing to audit
    masked_first, masked_second = {"provider": "binance", "masked_key": "****e5f6"}, {
        "provider": "binance", "masked_key": "****9999"}
    assert entries == [
        ("usr_1", "key.saved", "user:usr_1/key:binance", None, masked_first),
        ("usr_1", "key.saved", "user:usr_1/key:binance", masked_first, masked_second),
        ("usr_1", "key.deleted", "user:usr_1/key:binance", masked_second, None),
    ]


def test_the_api_writes_key_changes_to_the_audit_trail(api, ann, aws):
    token, user = ann
    api.call("keys", "PUT", "/api/keys/openai", SAMPLE["openai"], token=token)
    api.call("keys", "DELETE", "/api/keys/openai", token=token)
    items = aws.query(TableName=TABLE, KeyConditionExpression="pk = :pk",
                      ExpressionAttributeValues={":pk": {"S": "AUDIT"}})["Items"]
    assert [item["action"]["S"] for item in items] == ["key.saved", "key.deleted"]
    assert all(item["actor"]["S"] == user["id"] for item in items)
    assert SAMPLE["openai"]["api_key"] not in json.dumps(items)


def test_key_tests_are_throttled_per_user(kms_key):
    tester, clock = RecordingTester(), FixedClock()
    service = service_with(tester, clock=clock, tests_per_minute=2)
    for _ in range(2):
        service.test("usr_1", "openai", {"api_key": "sk-1"})
    with pytest.raises(Exception, match="at most 2 key tests a minute") as caught:
        service.test("usr_1", "openai", {"api_key": "sk-1"})
    assert caught.value.status == 429 and caught.value.headers["Retry-After"]
    service.test("usr_2", "openai", {"api_key": "sk-1"})  # another user has their own budget
    clock.advance(seconds=60)
    service.test("usr_1", "openai", {"api_key": "sk-1"})
    assert len(tester.calls) == 4
