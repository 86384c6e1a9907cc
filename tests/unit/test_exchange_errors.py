"""One mapping from what exchanges say to the domain's ExchangeError kinds."""

from __future__ import annotations

import ccxt
import pytest

from botfleet.adapters.exchanges.errors import MAX_MESSAGE_CHARS, classify_rejection, from_ccxt, from_http
from botfleet.domain.orders import (
    ExchangeAuthError,
    ExchangeError,
    ExchangeInsufficientFunds,
    ExchangeOrderRejected,
    ExchangeRateLimited,
    ExchangeUnavailable,
)


@pytest.mark.parametrize(("exc", "expected"), [
    (ccxt.AuthenticationError("bad key"), ExchangeAuthError),
    (ccxt.PermissionDenied("no trading"), ExchangeAuthError),
    (ccxt.AccountSuspended("suspended"), ExchangeAuthError),
    (ccxt.InsufficientFunds("Account has insufficient balance"), ExchangeInsufficientFunds),
    (ccxt.RateLimitExceeded("429"), ExchangeRateLimited),
    (ccxt.DDoSProtection("slow down"), ExchangeRateLimited),
    (ccxt.RequestTimeout("timed out"), ExchangeUnavailable),
    (ccxt.NetworkError("connection refused"), ExchangeUnavailable),
    (ccxt.ExchangeNotAvailable("503"), ExchangeUnavailable),
    (ccxt.OnMaintenance("maintenance"), ExchangeUnavailable),
    (ccxt.InvalidOrder("Filter failure: NOTIONAL"), ExchangeOrderRejected),
    (ccxt.ExchangeError("something odd"), ExchangeError),
])
def test_ccxt_exceptions_map_to_domain_kinds(exc, expected):
    mapped = from_ccxt("binance", exc)
    assert type(mapped) is expected
    assert mapped.exchange == "binance"


def test_rate_limited_and_unavailable_are_retryable_the_rest_not():
    assert from_ccxt("kucoin", ccxt.RateLimitExceeded("x")).retryable
    assert from_ccxt("kucoin", ccxt.RequestTimeout("x")).retryable
    assert not from_ccxt("kucoin", ccxt.InvalidOrder("x")).retryable


@pytest.mark.parametrize(("exc", "rule"), [
    (ccxt.InvalidOrder("binance {\"code\":-1013,\"msg\":\"Filter failure: NOTIONAL\"}"), "min_notional"),
    (ccxt.InvalidOrder("binance {\"code\":-1013,\"msg\":\"Filter failure: LOT_SIZE\"}"), "min_amount"),
    (ccxt.InvalidOrder("binance {\"code\":-1013,\"msg\":\"Filter failure: PRICE_FILTER\"}"), "precision"),
    (ccxt.InvalidOrder("binance {\"code\":-2010,\"msg\":\"Duplicate order sent.\"}"), "duplicate_client_order_id"),
    (ccxt.DuplicateOrderId("luno ErrDuplicateClientOrderID"), "duplicate_client_order_id"),
    (ccxt.OrderNotFound("Order does not exist."), "order_not_found"),
    (ccxt.BadSymbol("luno ErrInvalidMarketPair"), "unknown_symbol"),
    (ccxt.InvalidOrder("luno ErrVolumeTooLow"), "min_amount"),
    (ccxt.InvalidOrder("luno ErrPriceDenominationNotAllowed"), "precision"),
    (ccxt.BadRequest("kucoin Order size below the minimum requirement."), "min_amount"),
    (ccxt.InvalidOrder("something new"), "rejected"),
])
def test_rejections_carry_a_rule(exc, rule):
    mapped = from_ccxt("binance", exc)
    assert isinstance(mapped, ExchangeOrderRejected) and mapped.rule == rule


@pytest.mark.parametrize(("status", "message", "expected", "rule"), [
    (401, "Request has an invalid signature", ExchangeAuthError, None),
    (403, "forbidden", ExchangeAuthError, None),
    (429, "Rate limit exceeded", ExchangeRateLimited, None),
    (500, "boom", ExchangeUnavailable, None),
    (503, "", ExchangeUnavailable, None),
    (400, "Insufficient Balance", ExchangeInsufficientFunds, None),
    (422, "rfq.trade.insufficient_balance", ExchangeInsufficientFunds, None),
    (400, "A customerOrderId already exists for this order", ExchangeOrderRejected, "duplicate_client_order_id"),
    (422, "rfq.trade.duplicate_reference", ExchangeOrderRejected, "duplicate_client_order_id"),
    (422, "rfq.quote.expired", ExchangeOrderRejected, "quote_expired"),
    (404, "Order not found", ExchangeOrderRejected, "order_not_found"),
])
def test_http_statuses_and_messages_map_for_the_own_clients(status, message, expected, rule):
    mapped = from_http("valr", status, message)
    assert type(mapped) is expected
    if rule:
        assert mapped.rule == rule


def test_classify_rejection_defaults_to_rejected():
    assert classify_rejection("") == "rejected"
    assert classify_rejection("Order total is below the minimum allowed") == "min_notional"


def test_a_venues_error_text_is_kept_without_the_requests_query_or_secrets_and_bounded():
    # ccxt's HTTP errors carry the URL: for a signed Binance GET its query holds the request's signature.
    url = ("https://api.binance.com/api/v3/order?symbol=BTCUSDT&orderId=1&timestamp=1796316885287"
           "&signature=3f1d0a6b8c9e2f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a")
    mapped = from_ccxt("binance", ccxt.InvalidOrder(f'binance GET {url} 400 Bad Request {{"code":-1013,'
                                                    f'"msg":"Filter failure: LOT_SIZE"}}'))
    assert mapped.rule == "min_amount"  # classified on the whole text
    assert "signature" not in mapped.message and "3f1d0a6b" not in mapped.message
    assert "https://api.binance.com/api/v3/order?…" in mapped.message and "LOT_SIZE" in str(mapped)
    assert "3f1d0a6b" not in str(mapped) and "3f1d0a6b" not in repr(mapped.args)
    echoed = from_http("valr", 401, 'bad request: {"apiKey":"abc123secret","passphrase": "hunter2", key=zzz9}')
    assert "abc123secret" not in echoed.message and "hunter2" not in echoed.message and "zzz9" not in echoed.message
    assert isinstance(echoed, ExchangeAuthError)
    page = from_ccxt("kucoin", ccxt.DDoSProtection("kucoin <html>" + "<p>blocked</p>\n" * 100_000 + "</html>"))
    assert isinstance(page, ExchangeRateLimited) and len(page.message) <= MAX_MESSAGE_CHARS
    assert "\n" not in page.message
