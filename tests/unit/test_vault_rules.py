"""The key vault's rules without AWS or a network: masking, required fields per provider, and how a provider's
answers become `(ok, reason)` in ProviderTester (fake clients)."""

from __future__ import annotations

import openai
import pytest

from botfleet.adapters.providers import ProviderTester, provider_urls_from_env
from botfleet.domain.orders import (
    ExchangeAuthError,
    ExchangeOrderRejected,
    ExchangeRateLimited,
    ExchangeUnavailable,
)
from botfleet.errors import NotFound, Unprocessable
from botfleet.services.keys import MAX_VALUE_LENGTH, PROVIDERS, clean_credentials, mask

FULL = {"api_key": "key-1234567890", "api_secret": "secret-abcdef", "passphrase": "pass-xyz"}

# -- masking ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api_key, masked", [
    ("sk-proj-abcdefghijkl", "****ijkl"),
    ("12345678", "****5678"),
    ("1234567", "****"),
    ("abc", "****"),
])
def test_masking_shows_at_most_the_last_four(api_key, masked):
    assert mask(api_key) == masked


# -- required fields ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider, fields", [
    ("openai", ["api_key"]), ("ovex", ["api_key"]),
    ("luno", ["api_key", "api_secret"]), ("binance", ["api_key", "api_secret"]), ("valr", ["api_key", "api_secret"]),
    ("kucoin", ["api_key", "api_secret", "passphrase"]),
])
def test_each_provider_takes_exactly_its_fields(provider, fields):
    assert list(PROVIDERS[provider]) == fields
    body = {field: FULL[field] for field in fields}
    assert clean_credentials(provider, body) == body
    for missing in fields:
        with pytest.raises(Unprocessable) as caught:
            clean_credentials(provider, {f: v for f, v in body.items() if f != missing})
        assert caught.value.field == missing and missing in caught.value.message
    for extra in set(FULL) - set(fields):
        with pytest.raises(Unprocessable) as caught:
            clean_credentials(provider, {**body, extra: FULL[extra]})
        assert caught.value.field == extra


def test_kucoin_without_passphrase_names_it():
    with pytest.raises(Unprocessable, match="passphrase: is required for kucoin"):
        clean_credentials("kucoin", {"api_key": "k" * 10, "api_secret": "s" * 10})


def test_values_are_stripped_and_blank_is_missing():
    assert clean_credentials("binance", {"api_key": "  key-1 \n", "api_secret": "\tsec"}) == {
        "api_key": "key-1", "api_secret": "sec"}
    with pytest.raises(Unprocessable, match="api_secret: is required"):
        clean_credentials("binance", {"api_key": "key-1", "api_secret": "   "})


def test_blank_fields_the_provider_does_not_use_are_ignored():
    """A form may send every field; an empty passphrase for Binance is not an error."""
    assert clean_credentials("binance", {"api_key": "k", "api_secret": "s", "passphrase": ""}) == {
        "api_key": "k", "api_secret": "s"}
    assert clean_credentials("openai", {"api_key": "k", "api_secret": None}) == {"api_key": "k"}


def test_values_are_length_limited_and_the_value_is_never_quoted():
    long_value = "x" * (MAX_VALUE_LENGTH + 1)
    with pytest.raises(Unprocessable) as caught:
        clean_credentials("openai", {"api_key": long_value})
    assert caught.value.field == "api_key" and long_value not in caught.value.message
    assert clean_credentials("openai", {"api_key": "y" * MAX_VALUE_LENGTH})


@pytest.mark.parametrize("value", ["line\nbreak", "nul\x00byte", "tab\tinside"])
def test_control_characters_are_refused(value):
    with pytest.raises(Unprocessable, match="api_key: must not contain control characters"):
        clean_credentials("openai", {"api_key": value})


def test_non_strings_and_unknown_fields():
    with pytest.raises(Unprocessable, match="api_key: must be a string"):
        clean_credentials("openai", {"api_key": 12345678})
    with pytest.raises(Unprocessable, match="token: is not a credential field"):
        clean_credentials("openai", {"api_key": "k", "token": "t"})


def test_unknown_provider_is_not_found():
    with pytest.raises(NotFound) as caught:
        clean_credentials("kraken", {"api_key": "k"})
    assert caught.value.code == "unknown_provider"


# -- provider answers → (ok, reason) ---------------------------------------------------------------------------------

SECRET = "do-not-echo-this-secret"


class FakeExchangeClient:
    def __init__(self, error: Exception | None):
        self.error = error

    def test_connection(self):
        if self.error:
            raise self.error


def _with_cause(error: Exception, cause: Exception) -> Exception:
    error.__cause__ = cause
    return error


class ReadTimeout(Exception):  # stands in for httpx.ReadTimeout / ccxt.RequestTimeout (matched by name)
    pass


class ExchangeNotAvailable(Exception):  # stands in for ccxt's 5xx
    pass


def _refused() -> Exception:
    """ccxt.NetworkError raised from requests' ConnectionError raised from the socket's refusal."""
    network = RuntimeError("binance GET https://api.binance.com/api/v3/account")
    network.__cause__ = ConnectionRefusedError(SECRET)
    return network


def _dns_failure() -> Exception:
    import socket

    connect = RuntimeError("ConnectError")
    connect.__cause__ = socket.gaierror(SECRET)
    return connect


def exchange_tester(error: Exception | None, seen: list | None = None) -> ProviderTester:
    def factory(provider, credentials, *, base_url, timeout_s):
        if seen is not None:
            seen.append((provider, credentials, base_url, timeout_s))
        return FakeExchangeClient(error)

    return ProviderTester({"valr": "http://127.0.0.1:9"}, timeout_s=2, exchange_client_factory=factory)


@pytest.mark.parametrize("error, ok, reason", [
    (None, True, "ok"),
    (ExchangeAuthError("valr", f"bad key {SECRET}"), False, "rejected"),
    (ExchangeRateLimited("valr", SECRET), False, "rate limited"),
    (_with_cause(ExchangeUnavailable("valr", SECRET), ReadTimeout(SECRET)), False, "timed out"),
    (ExchangeUnavailable("valr", "timed out: GET /v1/account/balances"), False, "timed out"),
    (_with_cause(ExchangeUnavailable("binance", SECRET), _refused()), False, "unreachable"),
    (_with_cause(ExchangeUnavailable("valr", SECRET), _dns_failure()), False, "unreachable"),
    (_with_cause(ExchangeUnavailable("binance", SECRET), ExchangeNotAvailable(SECRET)), False, "unavailable"),
    (ExchangeUnavailable("valr", "HTTP 503"), False, "unavailable"),
    (ExchangeOrderRejected("valr", SECRET), False, "failed"),
    (RuntimeError(SECRET), False, "failed"),
])
def test_exchange_answers_become_reasons(error, ok, reason):
    result = exchange_tester(error).test("valr", {"api_key": "k", "api_secret": SECRET})
    assert result[0] is ok
    assert result[1].startswith(reason + ":")
    assert SECRET not in result[1]  # the venue's own text (which may echo credentials) is never passed on


def test_timeout_message_names_the_limit():
    error = _with_cause(ExchangeUnavailable("valr", "x"), ReadTimeout())
    assert exchange_tester(error).test("valr", {"api_key": "k"})[1] == "timed out: no answer from valr within 2 s"


def test_the_tester_aims_at_the_override_url_with_its_timeout():
    seen: list = []
    exchange_tester(None, seen).test("valr", {"api_key": "k", "api_secret": "s"})
    assert seen == [("valr", {"api_key": "k", "api_secret": "s"}, "http://127.0.0.1:9", 2)]


class FakeOpenAI:
    def __init__(self, error: Exception | None):
        self.error, self.closed = error, False
        self.models = self

    def list(self):
        if self.error:
            raise self.error
        return ["gpt-4o-mini"]

    def close(self):
        self.closed = True


def _status_error(cls, status: int):
    import httpx2 as httpx  # the transport openai is built on in this release

    request = httpx.Request("GET", "http://127.0.0.1/v1/models")
    return cls(f"Incorrect API key provided: {SECRET}", response=httpx.Response(status, request=request),
               body=None)


def _openai_errors():
    import httpx2 as httpx

    request = httpx.Request("GET", "http://127.0.0.1/v1/models")
    return [
        (None, True, "ok"),
        (_status_error(openai.AuthenticationError, 401), False, "rejected"),
        (_status_error(openai.PermissionDeniedError, 403), False, "rejected"),
        (_status_error(openai.RateLimitError, 429), False, "rate limited"),
        (_status_error(openai.InternalServerError, 503), False, "unavailable"),
        (_status_error(openai.NotFoundError, 404), False, "failed"),
        (openai.APITimeoutError(request=request), False, "timed out"),
        (openai.APIConnectionError(request=request), False, "unreachable"),
    ]


@pytest.mark.parametrize("error, ok, reason", _openai_errors())
def test_openai_answers_become_reasons(error, ok, reason):
    client = FakeOpenAI(error)
    tester = ProviderTester(openai_client_factory=lambda **kwargs: client)
    result = tester.test("openai", {"api_key": SECRET})
    assert result[0] is ok and result[1].startswith(reason + ":")
    assert SECRET not in result[1]
    assert client.closed


def test_provider_urls_from_env():
    assert provider_urls_from_env(None) == {}
    assert provider_urls_from_env('{"binance": "http://127.0.0.1:1"}') == {"binance": "http://127.0.0.1:1"}
    with pytest.raises(ValueError, match="krakn"):
        provider_urls_from_env('{"krakn": "http://127.0.0.1:1"}')
    with pytest.raises(ValueError):
        provider_urls_from_env('["binance"]')
