"""The providers a user can store API keys for, and the fields each one needs (pure data).

The exchanges and their fields come from the exchange descriptors (`botfleet.domain.exchange_descriptors`);
only the assistant's model provider is named here. The order of `PROVIDERS` is what /api/config shows.
"""

from __future__ import annotations

from botfleet.domain.exchanges import EXCHANGE_DESCRIPTORS

#: Every field an API key may have; a provider needs a subset (what the keys API accepts and masks).
CREDENTIAL_FIELDS = ("api_key", "api_secret", "passphrase")

#: The assistant's model provider and its key's fields.
LLM_PROVIDER_FIELDS: dict[str, tuple[str, ...]] = {"openai": ("api_key",)}

LLM_PROVIDERS: tuple[str, ...] = tuple(LLM_PROVIDER_FIELDS)
EXCHANGE_PROVIDERS: tuple[str, ...] = tuple(EXCHANGE_DESCRIPTORS)

PROVIDERS: dict[str, tuple[str, ...]] = {
    **LLM_PROVIDER_FIELDS,
    **{exchange_id: descriptor.credential_fields for exchange_id, descriptor in EXCHANGE_DESCRIPTORS.items()},
}


def _check_fields() -> None:
    """A field outside CREDENTIAL_FIELDS would be refused by the keys API: such a key could never be stored."""
    unknown = {provider: set(fields) - set(CREDENTIAL_FIELDS) for provider, fields in PROVIDERS.items()}
    if any(unknown.values()):
        raise ValueError(f"credential fields outside {CREDENTIAL_FIELDS}: {unknown}")


_check_fields()
