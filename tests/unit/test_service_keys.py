"""KeyService built from in-memory fakes (tests/support/fakes.py): validation per provider, sealing and masking,
an audit trail without secrets, the per-minute test throttle, stale test results, unreadable keys."""

from __future__ import annotations

import json

import pytest

from botfleet.clock import FixedClock
from botfleet.domain.providers import PROVIDERS
from botfleet.errors import Conflict, NotFound, RateLimited, Unprocessable
from botfleet.services.admin import AuditTrail
from botfleet.services.keys import KeyService
from tests.support.fakes import FakeAuditLog, FakeKeyTester, FakeStoredKeys, FakeVault

ANN, BOB = "usr_ann", "usr_bob"
KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
BINANCE = {"api_key": KEY, "api_secret": SECRET}


class World:
    def __init__(self, tester: FakeKeyTester | None = None, tests_per_minute: int = 20):
        self.clock = FixedClock()
        self.stored = FakeStoredKeys()
        self.vault = FakeVault()
        self.tester = tester or FakeKeyTester(valid=[KEY])
        self.audit_log = FakeAuditLog()
        self.ticks = iter(range(0, 10_000, 1))
        self.service = KeyService(self.stored, self.vault, self.clock, self.tester,
                                  audit=AuditTrail(self.audit_log, self.clock).record,
                                  timer=lambda: next(self.ticks) * 0.125, tests_per_minute=tests_per_minute)


@pytest.fixture
def world():
    return World()


# --- validation ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("provider", "body", "field"), [
    ("binance", {"api_key": KEY}, "api_secret"),  # a missing field is named
    ("kucoin", BINANCE, "passphrase"),  # kucoin needs its passphrase too
    ("openai", {"api_key": KEY, "api_secret": SECRET}, "api_secret"),  # a filled-in field the provider doesn't take
    ("binance", {**BINANCE, "password": "x"}, "password"),  # not a credential field at all
    ("binance", {**BINANCE, "api_key": 12345}, "api_key"),  # not a string
    ("binance", {**BINANCE, "api_key": "a" * 513}, "api_key"),  # too long
    ("binance", {**BINANCE, "api_secret": "line\nbreak"}, "api_secret"),  # control characters
    ("binance", {**BINANCE, "api_key": "   "}, "api_key"),  # blank counts as missing
])
def test_put_refuses_bad_credentials_naming_the_field_and_stores_nothing(world, provider, body, field):
    with pytest.raises(Unprocessable) as refused:
        world.service.put(ANN, provider, body)
    assert refused.value.field == field and refused.value.status == 422
    assert KEY not in refused.value.message and SECRET not in refused.value.message
    assert world.stored.records == {} and world.audit_log.entries == []


def test_an_unknown_provider_is_a_404(world):
    with pytest.raises(NotFound) as unknown:
        world.service.put(ANN, "mtgox", BINANCE)
    assert unknown.value.code == "unknown_provider"
    with pytest.raises(NotFound):
        world.service.get(ANN, "mtgox")


def test_a_form_may_send_empty_fields_the_provider_does_not_take(world):
    saved = world.service.put(ANN, "binance", {**BINANCE, "passphrase": "", "api_key": f"  {KEY}  "})
    assert saved["configured"] is True
    assert world.service.credentials_for(ANN, "binance") == BINANCE  # stripped, and only the provider's fields


# --- sealing, masking, listing -------------------------------------------------------------------------------

def test_put_seals_the_secret_and_returns_only_the_masked_key(world):
    saved = world.service.put(ANN, "binance", BINANCE)
    assert saved == {"provider": "binance", "configured": True, "masked_key": "****MPLE",
                     "updated_at": "2026-01-01T00:00:00.000Z", "last_test": None,
                     "required_fields": ["api_key", "api_secret"]}
    [record] = world.stored.records.values()
    assert KEY not in json.dumps(record) and SECRET not in json.dumps(record)  # sealed, not stored in clear
    assert record["fields"] == ["api_key", "api_secret"]
    assert world.service.credentials_for(ANN, "binance") == BINANCE  # and opened again


def test_a_short_key_is_masked_entirely(world):
    assert world.service.put(ANN, "openai", {"api_key": "sk-1234"})["masked_key"] == "****"
    assert world.service.put(ANN, "openai", {"api_key": "sk-12345"})["masked_key"] == "****2345"


def test_list_shows_every_provider_in_order_and_only_the_callers_keys(world):
    world.service.put(ANN, "binance", BINANCE)
    world.service.put(BOB, "luno", BINANCE)
    listed = world.service.list(ANN)
    assert [row["provider"] for row in listed] == list(PROVIDERS)
    assert {row["provider"] for row in listed if row["configured"]} == {"binance"}
    assert world.service.get(ANN, "luno")["configured"] is False
    assert world.service.is_configured(ANN, "binance") and not world.service.is_configured(ANN, "luno")
    assert not world.service.is_configured(ANN, "mtgox")


def test_saving_again_replaces_the_key_and_forgets_its_last_test(world):
    world.service.put(ANN, "binance", BINANCE)
    assert world.service.test(ANN, "binance")["ok"] is True
    assert world.service.get(ANN, "binance")["last_test"]["ok"] is True
    other = {"api_key": "NEWKEY-0000-9999", "api_secret": "s3cret-2"}
    assert world.service.put(ANN, "binance", other)["last_test"] is None
    assert world.service.credentials_for(ANN, "binance") == other


# --- audit ---------------------------------------------------------------------------------------------------

def test_saving_and_deleting_are_audited_with_masked_keys_only(world):
    world.service.put(ANN, "binance", BINANCE)
    world.service.put(ANN, "binance", {"api_key": "SECONDKEY-abcd", "api_secret": "second-secret"})
    world.service.delete(ANN, "binance")
    world.service.delete(ANN, "binance")  # nothing there: idempotent and not audited
    saved, replaced, deleted = world.audit_log.entries
    assert [e["action"] for e in (saved, replaced, deleted)] == ["key.saved", "key.saved", "key.deleted"]
    assert saved["actor"] == ANN and saved["target"] == f"user:{ANN}/key:binance"
    assert saved["before"] is None and saved["after"] == {"provider": "binance", "masked_key": "****MPLE"}
    assert replaced["before"] == {"provider": "binance", "masked_key": "****MPLE"}
    assert replaced["after"] == {"provider": "binance", "masked_key": "****abcd"}
    assert deleted["after"] is None
    trail = json.dumps(world.audit_log.entries)
    for secret in (KEY, SECRET, "SECONDKEY-abcd", "second-secret", "sealed-", "wrapped-"):
        assert secret not in trail
    assert world.service.get(ANN, "binance")["configured"] is False


# --- testing keys --------------------------------------------------------------------------------------------

def test_testing_the_stored_key_remembers_the_result_with_its_latency(world):
    world.service.put(ANN, "binance", BINANCE)
    result = world.service.test(ANN, "binance")
    assert result == {"provider": "binance", "ok": True, "message": "binance accepted the key", "latency_ms": 125}
    assert world.tester.calls == [("binance", BINANCE)]  # the opened credentials went to the provider
    assert world.service.get(ANN, "binance")["last_test"] == {
        "ok": True, "message": "binance accepted the key", "latency_ms": 125, "at": "2026-01-01T00:00:00.000Z"}


def test_unsaved_credentials_are_tested_but_never_remembered(world):
    world.service.put(ANN, "binance", BINANCE)
    result = world.service.test(ANN, "binance", {"api_key": "WRONG-KEY-0000", "api_secret": "x"})
    assert result["ok"] is False and "rejected" in result["message"]
    assert world.tester.calls[-1] == ("binance", {"api_key": "WRONG-KEY-0000", "api_secret": "x"})
    assert world.service.get(ANN, "binance")["last_test"] is None
    # An all-blank form means "test the stored key".
    assert world.service.test(ANN, "binance", {"api_key": "", "api_secret": " "})["ok"] is True
    assert world.tester.calls[-1] == ("binance", BINANCE)


def test_testing_without_a_stored_key_is_a_404(world):
    with pytest.raises(NotFound) as missing:
        world.service.test(ANN, "binance")
    assert missing.value.code == "key_not_configured"
    assert world.tester.calls == []


def test_key_tests_are_throttled_per_user_and_minute():
    world = World(tests_per_minute=3)
    world.clock.advance(seconds=15)  # 15 s into the minute
    world.service.put(ANN, "binance", BINANCE)
    for _ in range(3):
        world.service.test(ANN, "binance")
    with pytest.raises(RateLimited) as throttled:
        world.service.test(ANN, "binance", {"api_key": "ANOTHER-KEY-1", "api_secret": "x"})  # unsaved count too
    assert throttled.value.code == "too_many_key_tests" and throttled.value.headers == {"Retry-After": "45"}
    assert len(world.tester.calls) == 3  # the throttled test never reached the provider
    world.service.put(BOB, "binance", BINANCE)
    assert world.service.test(BOB, "binance")["ok"] is True  # another user has their own budget
    world.clock.advance(seconds=45)
    assert world.service.test(ANN, "binance")["ok"] is True  # a new minute


def test_a_result_for_a_key_replaced_during_its_test_is_not_written_onto_the_new_key():
    replacement = {"api_key": "REPLACED-KEY-777", "api_secret": "other"}
    world = World()
    world.tester.during = lambda: world.service.put(ANN, "binance", replacement)
    world.service.put(ANN, "binance", BINANCE)
    result = world.service.test(ANN, "binance")
    assert result["ok"] is True  # the old key did work ...
    after = world.service.get(ANN, "binance")
    assert after["masked_key"] == "****-777" and after["last_test"] is None  # ... but it no longer is the key


def test_a_result_for_a_key_deleted_during_its_test_brings_nothing_back():
    world = World()
    world.tester.during = lambda: world.service.delete(ANN, "binance")
    world.service.put(ANN, "binance", BINANCE)
    world.service.test(ANN, "binance")
    assert world.stored.records == {} and world.service.get(ANN, "binance")["configured"] is False


# --- unreadable keys -----------------------------------------------------------------------------------------

def test_a_blob_copied_to_another_user_cannot_be_opened_and_is_a_409(world):
    world.service.put(ANN, "binance", BINANCE)
    stolen = world.stored.get(ANN, "binance")
    world.stored.put({**stolen, "user_id": BOB})  # ANN's sealed key planted under BOB
    assert world.service.get(BOB, "binance")["configured"] is True
    for attempt in (lambda: world.service.credentials_for(BOB, "binance"), lambda: world.service.test(BOB, "binance")):
        with pytest.raises(Conflict) as unreadable:
            attempt()
        assert unreadable.value.status == 409 and unreadable.value.code == "key_unreadable"
        assert KEY not in unreadable.value.message
    assert world.tester.calls == []  # nothing was sent anywhere


def test_a_blob_moved_to_another_provider_or_tampered_cannot_be_opened(world):
    world.service.put(ANN, "binance", BINANCE)
    sealed = world.stored.get(ANN, "binance")
    world.stored.put({**sealed, "provider": "luno"})
    with pytest.raises(Conflict, match="cannot be decrypted"):
        world.service.credentials_for(ANN, "luno")
    assert world.service.credentials_for(ANN, "binance") == BINANCE  # the original still opens ...
    world.stored.put({**sealed, "ciphertext": sealed["ciphertext"] + "x"})
    with pytest.raises(Conflict, match="cannot be decrypted"):
        world.service.credentials_for(ANN, "binance")  # ... until someone tampers with it
