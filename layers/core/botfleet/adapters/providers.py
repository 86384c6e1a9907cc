"""Calls a provider for real to check a set of API keys: an authenticated balance read on an exchange, a model
listing on OpenAI. Every failure becomes `(False, reason)`; nothing here raises for a provider's answer.

Reasons are our own fixed phrases, never the provider's text: venues (and OpenAI) echo the key, request URLs or
signatures back in their errors, and what we return is shown to the user and logged. Each message starts with a
category word the UI can rely on: `ok`, `rejected`, `rate limited`, `timed out`, `unreachable`, `unavailable`,
`failed`.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger

from botfleet.domain.orders import ExchangeAuthError, ExchangeError, ExchangeRateLimited, ExchangeUnavailable
from botfleet.domain.providers import EXCHANGE_PROVIDERS, LLM_PROVIDERS

logger = Logger(child=True)
DEFAULT_TIMEOUT_S = 5.0

Outcome = tuple[bool, str]


def provider_urls_from_env(raw: str | None) -> dict[str, str]:
    """BOTFLEET_PROVIDER_URLS: JSON `{"binance": "http://127.0.0.1:1234", ...}`; unset means the real hosts.
    A typo in a provider name fails loudly at cold start rather than silently testing against the real host."""
    if not raw:
        return {}
    urls = json.loads(raw)
    if not isinstance(urls, dict) or not all(isinstance(value, str) for value in urls.values()):
        raise ValueError("BOTFLEET_PROVIDER_URLS must be a JSON object of provider name to base URL")
    unknown = set(urls) - set(EXCHANGE_PROVIDERS + LLM_PROVIDERS)
    if unknown:
        raise ValueError(f"BOTFLEET_PROVIDER_URLS names unknown providers: {', '.join(sorted(unknown))}")
    return urls


class ProviderTester:
    """`test(provider, credentials) -> (ok, message)` against the real host, or the override in `base_urls`."""

    def __init__(self, base_urls: Mapping[str, str] | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
                 exchange_client_factory: Callable[..., Any] | None = None,
                 openai_client_factory: Callable[..., Any] | None = None):
        self.base_urls = dict(base_urls or {})
        self.timeout_s = timeout_s
        # Factories are injectable so the error mapping is unit-tested without a network; the defaults import
        # ccxt/httpx/openai only when a test actually runs.
        self._exchange_client = exchange_client_factory or _make_exchange_client
        self._openai_client = openai_client_factory or make_openai_client

    def test(self, provider: str, credentials: Mapping[str, str]) -> Outcome:
        try:
            if provider in LLM_PROVIDERS:
                return self._test_openai(credentials)
            if provider in EXCHANGE_PROVIDERS:
                return self._test_exchange(provider, credentials)
        except Exception as exc:  # a key test reports; it never turns a provider's oddity into a 5xx
            logger.warning("key test failed unexpectedly", extra={"provider": provider, "error": type(exc).__name__})
            return False, f"failed: {provider} answered in a way we did not understand; try again later"
        raise ValueError(f"no key test for provider {provider!r}")

    # -- exchanges --------------------------------------------------------------------------------------------

    def _test_exchange(self, provider: str, credentials: Mapping[str, str]) -> Outcome:
        client = self._exchange_client(provider, dict(credentials), base_url=self.base_urls.get(provider),
                                       timeout_s=self.timeout_s)
        try:
            client.test_connection()  # an authenticated balance read: proves key, secret and read permission
        except ExchangeAuthError:
            return False, _REJECTED.format(provider=provider)
        except ExchangeRateLimited:
            return False, _RATE_LIMITED.format(provider=provider)
        except ExchangeUnavailable as exc:
            if _is_timeout(exc):
                return False, _TIMED_OUT.format(provider=provider, seconds=_seconds(self.timeout_s))
            if _is_no_connection(exc):
                return False, _UNREACHABLE.format(provider=provider)
            return False, _UNAVAILABLE.format(provider=provider)
        except ExchangeError as exc:
            logger.info("key test refused", extra={"provider": provider, "kind": exc.kind})
            return False, f"failed: {provider} refused the balance read; check the key's permissions"
        return True, f"ok: {provider} accepted the key (balance read)"

    # -- OpenAI -----------------------------------------------------------------------------------------------

    def _test_openai(self, credentials: Mapping[str, str]) -> Outcome:
        import openai  # lazy: ~0.3 s of imports that only this path needs

        client = self._openai_client(api_key=credentials["api_key"], base_url=self.base_urls.get("openai"),
                                     timeout_s=self.timeout_s)
        try:
            client.models.list()  # authenticated, free, and doesn't depend on any model being enabled
        except (openai.AuthenticationError, openai.PermissionDeniedError):
            return False, _REJECTED.format(provider="openai")
        except openai.RateLimitError:
            return False, _RATE_LIMITED.format(provider="openai") + " (or the account is out of quota)"
        except openai.APITimeoutError:
            return False, _TIMED_OUT.format(provider="openai", seconds=_seconds(self.timeout_s))
        except openai.APIConnectionError:
            return False, _UNREACHABLE.format(provider="openai")
        except openai.APIStatusError as exc:
            if exc.status_code >= 500:
                return False, _UNAVAILABLE.format(provider="openai")
            return False, f"failed: openai refused the model listing (HTTP {exc.status_code})"
        finally:
            client.close()
        return True, "ok: openai accepted the key (models listed)"


_REJECTED = "rejected: {provider} refused the credentials; check the key, secret and its permissions"
_RATE_LIMITED = "rate limited: {provider} asked us to slow down; try again in a minute"
_TIMED_OUT = "timed out: no answer from {provider} within {seconds} s"
_UNREACHABLE = "unreachable: could not connect to {provider}"
_UNAVAILABLE = "unavailable: {provider} is having trouble (server error); try again later"


def _causes(exc: BaseException):
    """The exception and what it was raised from, down to the socket error at the bottom."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and not any(current is earlier for earlier in seen):
        seen.append(current)
        yield current
        current = current.__cause__ or current.__context__


def _is_timeout(exc: ExchangeUnavailable) -> bool:
    """ExchangeUnavailable covers timeouts, refused connections and 5xx alike; the chain of causes (ccxt →
    requests → urllib3 → socket, or httpx → httpcore → socket) tells them apart."""
    return "timed out" in exc.message or any(
        isinstance(cause, TimeoutError) or "Timeout" in type(cause).__name__ for cause in _causes(exc))


def _is_no_connection(exc: ExchangeUnavailable) -> bool:
    """Refused, reset or DNS failure at the bottom of the chain: we never got an answer. Otherwise the venue
    answered with a server error or a maintenance notice."""
    return any(isinstance(cause, ConnectionError | socket.gaierror) for cause in _causes(exc))


def _seconds(value: float) -> str:
    return f"{value:g}"


def _make_exchange_client(provider: str, credentials: dict, *, base_url: str | None, timeout_s: float):
    from botfleet.adapters.exchanges import make_client

    client = make_client(provider, credentials, base_url=base_url, timeout_s=timeout_s)
    exchange = getattr(client, "exchange", None)
    if exchange is not None:  # ccxt spaces calls by the venue's rate limit; one call needs no spacing
        exchange.enableRateLimit = False
    return client


def make_openai_client(*, api_key: str, base_url: str | None, timeout_s: float):
    """The official client, imported on first use (~0.3 s). max_retries=0: a key test is one honest attempt within
    its timeout, and the assistant's rounds must fit its function's time budget (the rules answer when it fails)."""
    from openai import OpenAI

    return OpenAI(api_key=api_key, base_url=base_url or None, timeout=timeout_s, max_retries=0)
