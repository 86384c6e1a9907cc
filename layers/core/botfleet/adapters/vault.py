"""Envelope encryption for users' API keys: a fresh KMS data key per save, Fernet over the secret fields.

What is stored is only the Fernet token and the KMS-wrapped data key. KMS binds every wrapped key to an
encryption context `{user_id, provider}`, so a sealed blob copied into another user's item (or under another
provider) cannot be unwrapped: KMS refuses, and `open` raises VaultError. The IAM policies condition
kms:Decrypt on the same context keys (docs/api_keys.md).

Plaintext data keys live only inside `seal`/`open`. Python cannot guarantee memory is wiped (bytes are
immutable and Fernet keeps its own copy), so the best we can do is: never store or return the data key, drop
every reference before returning, and overwrite the one mutable copy we hold.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError
from cryptography.fernet import Fernet, InvalidToken

from botfleet.adapters.aws import silence_secret_dumps
from botfleet.errors import SecretUnreadable

# What KMS answers when the blob, its key or its encryption context doesn't match: tampering or a copied blob.
_UNOPENABLE = ("InvalidCiphertextException", "IncorrectKeyException")


class VaultError(SecretUnreadable):
    """A sealed secret could not be opened: tampered, truncated, or bound to another user or provider.
    Never carries secret material in its message."""


class SecretFields(dict):
    """Opened secret fields. A plain dict whose repr shows field names only, so a stray log line, assertion
    message or traceback never prints a value."""

    def __repr__(self) -> str:
        return f"SecretFields({', '.join(sorted(self))})"

    __str__ = __repr__


def encryption_context(user_id: str, provider: str) -> dict[str, str]:
    return {"user_id": user_id, "provider": provider}


class KeyVault:
    def __init__(self, kms_client: Any, key_id: str):
        if not key_id:
            raise ValueError("a KMS key id is needed to seal API keys (KEYS_KMS_KEY_ID)")
        self.kms = kms_client
        self.key_id = key_id
        silence_secret_dumps()  # botocore's DEBUG records of KMS's answers carry the plaintext data key

    def seal(self, user_id: str, provider: str, secret: Mapping[str, str]) -> dict[str, str]:
        """Encrypt `secret` under a new data key; returns `{ciphertext, wrapped_key}` (both safe to store)."""
        reply = self.kms.generate_data_key(
            KeyId=self.key_id, KeySpec="AES_256", EncryptionContext=encryption_context(user_id, provider)
        )
        data_key = bytearray(reply.pop("Plaintext"))
        try:
            token = _fernet(data_key).encrypt(json.dumps(dict(secret), separators=(",", ":")).encode())
        finally:
            _wipe(data_key)
        return {
            "ciphertext": token.decode("ascii"),
            "wrapped_key": base64.b64encode(reply["CiphertextBlob"]).decode("ascii"),
        }

    def open(self, user_id: str, provider: str, sealed: Mapping[str, Any]) -> SecretFields:
        """Decrypt what `seal` returned for the same user and provider; VaultError if it can't be."""
        try:
            wrapped = base64.b64decode(sealed["wrapped_key"], validate=True)
            token = sealed["ciphertext"].encode("ascii")
        except (KeyError, TypeError, AttributeError, ValueError, binascii.Error) as exc:
            raise VaultError("the sealed secret is malformed") from exc
        try:
            # KeyId pinned: only our key may unwrap, whatever key ARN a (planted) blob names.
            reply = self.kms.decrypt(
                CiphertextBlob=wrapped, KeyId=self.key_id, EncryptionContext=encryption_context(user_id, provider)
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _UNOPENABLE:
                raise VaultError("KMS refused to unwrap the data key (tampered, or another user's)") from None
            raise  # throttling, access denied, KMS down: infrastructure, not the user's data
        data_key = bytearray(reply.pop("Plaintext"))
        try:
            plaintext = _fernet(data_key).decrypt(token)
        except InvalidToken:
            raise VaultError("the ciphertext does not match its data key (tampered)") from None
        finally:
            _wipe(data_key)
        fields = json.loads(plaintext)
        if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
            raise VaultError("the sealed secret is not a set of string fields")
        return SecretFields(fields)


def _fernet(data_key: bytearray) -> Fernet:
    if len(data_key) != 32:
        raise VaultError("KMS returned a data key of the wrong size")
    return Fernet(base64.urlsafe_b64encode(data_key))


def _wipe(buffer: bytearray) -> None:
    for index in range(len(buffer)):
        buffer[index] = 0
