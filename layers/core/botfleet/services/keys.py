"""Users' API keys for exchanges and OpenAI: validated, sealed by the vault, stored masked, tested for real.

Plaintext exists only between the request body and `vault.seal`, and between `vault.open` and the provider
call (or the trading engine, via `credentials_for`). What is stored, returned, logged and audited is the
masked key and the field names. See docs/api_keys.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from botfleet.clock import Clock, iso
from botfleet.domain.providers import CREDENTIAL_FIELDS, PROVIDERS
from botfleet.domain.throttle import MinuteWindow
from botfleet.errors import Conflict, NotFound, SecretUnreadable, Unprocessable
from botfleet.ports import StoredKeys

MAX_VALUE_LENGTH = 512
MASK = "****"
MIN_LENGTH_TO_REVEAL = 8  # a shorter key would give away too much of itself in its last 4 characters
TESTS_PER_MINUTE = 20  # per user: stops the test endpoint being an oracle for checking stolen keys

Audit = Callable[[str, str, str, Any, Any], Any]  # (actor_id, action, target, before, after)


class SecretVault(Protocol):
    def seal(self, user_id: str, provider: str, secret: Mapping[str, str]) -> dict[str, str]: ...
    def open(self, user_id: str, provider: str, sealed: Mapping[str, Any]) -> Mapping[str, str]: ...


class KeyTester(Protocol):
    def test(self, provider: str, credentials: Mapping[str, str]) -> tuple[bool, str]: ...


# -- pure rules ----------------------------------------------------------------------------------------------------


def check_provider(provider: str) -> tuple[str, ...]:
    """The provider's required fields; 404 for a provider we don't know (the contract's 'unknown provider')."""
    if provider not in PROVIDERS:
        raise NotFound(f"unknown provider {provider!r} (one of: {', '.join(PROVIDERS)})", code="unknown_provider")
    return PROVIDERS[provider]


def clean_credentials(provider: str, body: Mapping[str, Any]) -> dict[str, str]:
    """Exactly the provider's fields, stripped. 422 naming the field for a missing, empty, too long or
    unexpected one. Messages never quote a value."""
    required = check_provider(provider)
    cleaned: dict[str, str] = {}
    for field, value in body.items():
        if field not in CREDENTIAL_FIELDS:
            raise Unprocessable(field, "is not a credential field")
        if value is not None and not isinstance(value, str):
            raise Unprocessable(field, "must be a string")
        value = (value or "").strip()
        if field not in required:
            if value:  # a form may send every field; only a filled-in one the provider doesn't take is an error
                raise Unprocessable(field, f"is not used by {provider} (it takes {', '.join(required)})")
            continue
        if len(value) > MAX_VALUE_LENGTH:
            raise Unprocessable(field, f"must be at most {MAX_VALUE_LENGTH} characters")
        if not value.isprintable():  # newlines would end up in HTTP headers and signatures
            raise Unprocessable(field, "must not contain control characters")
        if value:
            cleaned[field] = value
    for field in required:
        if field not in cleaned:
            raise Unprocessable(field, f"is required for {provider}")
    return cleaned


def mask(api_key: str) -> str:
    """`****` plus at most the last 4 characters, and only for keys long enough to spare them."""
    return MASK + api_key[-4:] if len(api_key) >= MIN_LENGTH_TO_REVEAL else MASK


# -- the service ---------------------------------------------------------------------------------------------------


class KeyService:
    def __init__(self, stored: StoredKeys, vault: SecretVault, clock: Clock, tester: KeyTester, *,
                 audit: Audit | None = None, timer: Callable[[], float] = time.monotonic,
                 tests_per_minute: int = TESTS_PER_MINUTE):
        self.stored = stored
        self.vault = vault
        self.clock = clock
        self.tester = tester
        self.audit = audit
        self.timer = timer
        self.tests_per_minute = tests_per_minute

    # -- reading -------------------------------------------------------------------------------------------------

    def list(self, user_id: str) -> list[dict[str, Any]]:
        """Every provider, configured or not, in a fixed order."""
        by_provider = {item["provider"]: item for item in self.stored.all_of(user_id)}
        return [_record(provider, by_provider.get(provider)) for provider in PROVIDERS]

    def get(self, user_id: str, provider: str) -> dict[str, Any]:
        """The masked record; a provider without a key is `configured: false` (200), like its row in the list."""
        check_provider(provider)
        return _record(provider, self._item(user_id, provider))

    def is_configured(self, user_id: str, provider: str) -> bool:
        return provider in PROVIDERS and self._item(user_id, provider) is not None

    def credentials_for(self, user_id: str, provider: str) -> Mapping[str, str]:
        """The opened credentials, for the trading engine (live mode) and the AI assistant. Never log them."""
        check_provider(provider)
        return self._open(user_id, provider, self._stored(user_id, provider))

    # -- writing -------------------------------------------------------------------------------------------------

    def put(self, user_id: str, provider: str, body: Mapping[str, Any]) -> dict[str, Any]:
        credentials = clean_credentials(provider, body)
        before = self._item(user_id, provider)
        item = {
            "user_id": user_id,
            "provider": provider, **self.vault.seal(user_id, provider, credentials),
            "masked_key": mask(credentials["api_key"]), "fields": list(credentials),
            "updated_at": iso(self.clock.now()),
            "last_test": None,  # a new key hasn't been tested; an old result must not vouch for it
        }
        self.stored.put(item)
        self._audit(user_id, "key.saved", provider, before, item)
        return _record(provider, item)

    def delete(self, user_id: str, provider: str) -> None:
        """Idempotent: deleting a key that isn't there is fine (and not audited: nothing changed)."""
        check_provider(provider)
        before = self._item(user_id, provider)
        if before is None:
            return
        self.stored.delete(user_id, provider)
        self._audit(user_id, "key.deleted", provider, before, None)

    # -- testing -------------------------------------------------------------------------------------------------

    def test(self, user_id: str, provider: str, unsaved: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Call the provider with the unsaved credentials, or else the stored ones. A rejecting or unreachable
        provider is `ok: false` with the reason; only a stored key's result is remembered as `last_test`.
        A body whose credential fields are all blank counts as "test the stored key" (a form left empty)."""
        check_provider(provider)
        if unsaved and any(not isinstance(value, str) or value.strip() for value in unsaved.values()):
            credentials, stored = clean_credentials(provider, unsaved), None
            self._throttle(user_id)
        else:
            stored = self._stored(user_id, provider)
            self._throttle(user_id)
            credentials = self._open(user_id, provider, stored)
        started = self.timer()
        ok, message = self.tester.test(provider, credentials)
        latency_ms = max(0, round((self.timer() - started) * 1000))
        result = {"provider": provider, "ok": ok, "message": message, "latency_ms": latency_ms}
        if stored is not None:
            self._remember(user_id, provider, stored, result)
        return result

    # -- plumbing ------------------------------------------------------------------------------------------------

    def _item(self, user_id: str, provider: str) -> dict[str, Any] | None:
        return self.stored.get(user_id, provider)

    def _stored(self, user_id: str, provider: str) -> dict[str, Any]:
        item = self._item(user_id, provider)
        if item is None:
            raise NotFound(f"no {provider} key is configured", code="key_not_configured")
        return item

    def _open(self, user_id: str, provider: str, item: Mapping[str, Any]) -> Mapping[str, str]:
        try:
            return self.vault.open(user_id, provider, item)
        except SecretUnreadable:
            # Tampered, or a blob that belongs to someone else: the key is unusable, the user can fix it by saving.
            raise Conflict(f"the stored {provider} key cannot be decrypted; save it again",
                           code="key_unreadable") from None

    def _remember(self, user_id: str, provider: str, stored: Mapping[str, Any], result: dict[str, Any]) -> None:
        last_test = {key: result[key] for key in ("ok", "message", "latency_ms")} | {"at": iso(self.clock.now())}
        # Only onto the key that was tested: if it was replaced or deleted meanwhile, the result is stale.
        self.stored.remember_test(user_id, provider, stored["wrapped_key"], last_test)

    def _throttle(self, user_id: str) -> None:
        """A fixed one-minute window per user: a key test calls the provider, so it costs us and them."""
        now = int(self.clock.now().timestamp())
        window = MinuteWindow.containing(now)
        if self.stored.count_test(user_id, window.minute, window.expires_at) > self.tests_per_minute:
            raise window.refusal(now, self.tests_per_minute, "key tests", "too_many_key_tests")

    def _audit(self, user_id: str, action: str, provider: str, before: Mapping | None, after: Mapping | None):
        if self.audit is not None:
            self.audit(user_id, action, f"user:{user_id}/key:{provider}", _audit_view(before), _audit_view(after))


def _record(provider: str, item: Mapping[str, Any] | None) -> dict[str, Any]:
    """What leaves the service: never ciphertext, wrapped key or field values."""
    return {
        "provider": provider,
        "configured": item is not None,
        "masked_key": item["masked_key"] if item else None,
        "updated_at": item["updated_at"] if item else None,
        "last_test": _last_test_view(item.get("last_test")) if item else None,
        "required_fields": list(PROVIDERS[provider]),
    }


def _last_test_view(last_test: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not last_test:
        return None
    return {"ok": bool(last_test["ok"]), "message": last_test["message"],
            "latency_ms": int(last_test["latency_ms"]), "at": last_test["at"]}


def _audit_view(item: Mapping[str, Any] | None) -> dict[str, str] | None:
    return {"provider": item["provider"], "masked_key": item["masked_key"]} if item else None
