"""One mapping from what exchanges say to the domain's ExchangeError kinds."""

from __future__ import annotations

import ccxt
import pytest

from botfleet.adapters.exchanges.errors import classify_rejection, from_ccxt, from_http
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
