"""Stored API keys, the vault and the key tester."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botfleet.errors import SecretUnreadable
from botfleet.ids import new_id
from tests.support.fakes._common import copied


class FakeStoredKeys:
    """Mirrors adapters/dynamo/api_keys.py (DynamoStoredKeys): one record per (user, provider), listed by
    provider; `remember_test` writes only onto the record still holding the tested `wrapped_key` (False when it
    was replaced or deleted); `count_test` counts up per (user, minute) and returns the count."""

    def __init__(self):
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.test_counts: dict[tuple[str, int], int] = {}

    def all_of(self, user_id: str) -> list[dict[str, Any]]:
        return [copied(self.records[key]) for key in sorted(self.records) if key[0] == user_id]

    def get(self, user_id: str, provider: str) -> dict[str, Any] | None:
        return copied(self.records.get((user_id, provider)))

    def put(self, record: dict[str, Any]) -> None:
        self.records[(record["user_id"], record["provider"])] = copied(record)

    def delete(self, user_id: str, provider: str) -> None:
        self.records.pop((user_id, provider), None)

    def remember_test(self, user_id: str, provider: str, wrapped_key: str, last_test: dict[str, Any]) -> bool:
        record = self.records.get((user_id, provider))
        if record is None or record.get("wrapped_key") != wrapped_key:
            return False
        record["last_test"] = copied(last_test)
        return True

    def count_test(self, user_id: str, minute: int, expires_at: int) -> int:
        self.test_counts[(user_id, minute)] = self.test_counts.get((user_id, minute), 0) + 1
        return self.test_counts[(user_id, minute)]


class FakeVault:
    """Mirrors adapters/vault.py (KeyVault) without cryptography: `seal` hands out an opaque ciphertext and a
    fresh wrapped key per call (never the secret: that stays inside the fake), bound to the user and provider as
    KMS binds its encryption context. `open` gives the secret back only for the same user, provider, wrapped key
    and ciphertext; anything else raises SecretUnreadable, like VaultError."""

    def __init__(self):
        # wrapped key -> (user, provider, ciphertext, secret)
        self._sealed: dict[str, tuple[str, str, str, dict[str, str]]] = {}
        self._numbers = itertools.count(1)

    def seal(self, user_id: str, provider: str, secret: Mapping[str, str]) -> dict[str, str]:
        number = next(self._numbers)
        wrapped, ciphertext = f"wrapped-{number}-{new_id('dk')}", f"sealed-{number}-{new_id('ct')}"
        self._sealed[wrapped] = (user_id, provider, ciphertext, dict(secret))
        return {"ciphertext": ciphertext, "wrapped_key": wrapped}

    def open(self, user_id: str, provider: str, sealed: Mapping[str, Any]) -> dict[str, str]:
        found = self._sealed.get(sealed.get("wrapped_key", ""))
        if found is None or found[:3] != (user_id, provider, sealed.get("ciphertext")):
            raise SecretUnreadable("the sealed secret cannot be opened (tampered, or another user's)")
        return dict(found[3])


class FakeKeyTester:
    """Stands in for adapters/providers.py (ProviderTester): accepts exactly the api keys in `valid`, records each
    call's provider and credentials, and runs `during` (if given) while the "provider" is being called, for
    things that happen meanwhile."""

    def __init__(self, valid: Sequence[str] = (), *, during: Callable[[], Any] | None = None):
        self.valid = set(valid)
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.during = during

    def test(self, provider: str, credentials: Mapping[str, str]) -> tuple[bool, str]:
        self.calls.append((provider, dict(credentials)))
        if self.during is not None:
            self.during()
        if credentials.get("api_key") in self.valid:
            return True, f"{provider} accepted the key"
        return False, f"{provider} rejected the key (401)"
