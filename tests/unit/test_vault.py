"""KeyVault against a fake KMS that enforces the encryption context the way KMS does."""

from __future__ import annotations

import base64
import os

import pytest
from botocore.exceptions import ClientError

from botfleet.adapters.vault import KeyVault, VaultError

KEY_ID = "arn:aws:kms:us-east-1:123456789012:key/fake"
SECRET = {"api_key": "AKIA-unit-key-123456", "api_secret": "s3cr3t-unit-value-abcdef"}


def _client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class FakeKms:
    """Wraps data keys as opaque random blobs; Decrypt needs the same key id and encryption context."""

    def __init__(self):
        self.wrapped: dict[bytes, tuple[str, dict, bytes]] = {}
        self.calls: list[str] = []

    def generate_data_key(self, *, KeyId, KeySpec, EncryptionContext):
        assert KeySpec == "AES_256"
        self.calls.append("GenerateDataKey")
        plaintext, blob = os.urandom(32), b"wrapped:" + os.urandom(24)
        self.wrapped[blob] = (KeyId, dict(EncryptionContext), plaintext)
        return {"KeyId": KeyId, "Plaintext": plaintext, "CiphertextBlob": blob}

    def decrypt(self, *, CiphertextBlob, KeyId, EncryptionContext):
        self.calls.append("Decrypt")
        if CiphertextBlob not in self.wrapped:
            raise _client_error("InvalidCiphertextException", "Decrypt")
        key_id, context, plaintext = self.wrapped[CiphertextBlob]
        if KeyId != key_id:
            raise _client_error("IncorrectKeyException", "Decrypt")
        if EncryptionContext != context:
            raise _client_error("InvalidCiphertextException", "Decrypt")
        return {"KeyId": key_id, "Plaintext": plaintext}


@pytest.fixture
def kms():
    return FakeKms()


@pytest.fixture
def vault(kms):
    return KeyVault(kms, KEY_ID)


def test_round_trip(vault, kms):
    sealed = vault.seal("usr_a", "binance", SECRET)
    assert set(sealed) == {"ciphertext", "wrapped_key"}
    assert vault.open("usr_a", "binance", sealed) == SECRET
    assert kms.calls == ["GenerateDataKey", "Decrypt"]


def test_sealed_form_holds_no_plaintext(vault, kms):
    sealed = vault.seal("usr_a", "binance", SECRET)
    text = repr(sealed)
    for value in SECRET.values():
        assert value not in text
    (data_key,) = [plaintext for _, _, plaintext in kms.wrapped.values()]
    assert base64.urlsafe_b64encode(data_key).decode() not in text  # the data key never leaves the vault
    assert base64.b64decode(sealed["wrapped_key"]) in kms.wrapped


def test_every_seal_uses_a_fresh_data_key(vault):
    first, second = vault.seal("usr_a", "binance", SECRET), vault.seal("usr_a", "binance", SECRET)
    assert first["wrapped_key"] != second["wrapped_key"]
    assert first["ciphertext"] != second["ciphertext"]


def test_opened_secret_does_not_print_its_values(vault):
    opened = vault.open("usr_a", "kucoin", vault.seal("usr_a", "kucoin", SECRET))
    for text in (repr(opened), str(opened), f"{opened}"):
        assert "api_key" in text
        assert all(value not in text for value in SECRET.values())


@pytest.mark.parametrize("user_id, provider", [("usr_b", "binance"), ("usr_a", "kucoin")])
def test_a_blob_bound_to_another_user_or_provider_does_not_open(vault, user_id, provider):
    sealed = vault.seal("usr_a", "binance", SECRET)
    with pytest.raises(VaultError) as caught:
        vault.open(user_id, provider, sealed)
    assert all(value not in str(caught.value) for value in SECRET.values())


def test_tampered_ciphertext_does_not_open(vault):
    sealed = vault.seal("usr_a", "binance", SECRET)
    token = base64.urlsafe_b64decode(sealed["ciphertext"])
    flipped = token[:40] + bytes([token[40] ^ 0x01]) + token[41:]
    with pytest.raises(VaultError):
        vault.open("usr_a", "binance", {**sealed, "ciphertext": base64.urlsafe_b64encode(flipped).decode()})


def test_ciphertext_and_wrapped_key_of_different_saves_do_not_mix(vault):
    first, second = vault.seal("usr_a", "binance", SECRET), vault.seal("usr_a", "binance", {"api_key": "x" * 9})
    with pytest.raises(VaultError):
        vault.open("usr_a", "binance", {"ciphertext": first["ciphertext"], "wrapped_key": second["wrapped_key"]})


def test_tampered_wrapped_key_does_not_open(vault):
    sealed = vault.seal("usr_a", "binance", SECRET)
    other = base64.b64encode(b"wrapped:" + os.urandom(24)).decode()
    with pytest.raises(VaultError):
        vault.open("usr_a", "binance", {**sealed, "wrapped_key": other})


@pytest.mark.parametrize("sealed", [{}, {"ciphertext": "x"}, {"ciphertext": "x", "wrapped_key": "not base64!"},
                                    {"ciphertext": None, "wrapped_key": "AAAA"}])
def test_malformed_sealed_secret(vault, sealed):
    with pytest.raises(VaultError):
        vault.open("usr_a", "binance", sealed)


def test_kms_failures_other_than_a_bad_blob_are_not_hidden(kms):
    class ThrottledKms(FakeKms):
        def decrypt(self, **kwargs):
            raise _client_error("ThrottlingException", "Decrypt")

    throttled = ThrottledKms()
    vault = KeyVault(throttled, KEY_ID)
    sealed = vault.seal("usr_a", "binance", SECRET)
    with pytest.raises(ClientError):  # infrastructure trouble is a 5xx, not "your key is broken"
        vault.open("usr_a", "binance", sealed)


def test_a_blob_wrapped_under_another_kms_key_does_not_open(kms):
    sealed = KeyVault(kms, "arn:aws:kms:us-east-1:999999999999:key/planted").seal("usr_a", "binance", SECRET)
    with pytest.raises(VaultError):
        KeyVault(kms, KEY_ID).open("usr_a", "binance", sealed)


def test_a_key_id_is_required(kms):
    with pytest.raises(ValueError, match="KEYS_KMS_KEY_ID"):
        KeyVault(kms, "")
