"""One mapping from whatever an exchange (or ccxt) says went wrong to the domain's ExchangeError kinds.

| what the venue says                                   | domain error               |
|-------------------------------------------------------|----------------------------|
| ccxt AuthenticationError / PermissionDenied, HTTP 401/403 | ExchangeAuthError      |
| ccxt InsufficientFunds, "insufficient balance"         | ExchangeInsufficientFunds  |
| ccxt RateLimitExceeded / DDoSProtection, HTTP 429      | ExchangeRateLimited        |
| ccxt RequestTimeout / NetworkError / ExchangeNotAvailable, HTTP 5xx, timeouts | ExchangeUnavailable |
| ccxt InvalidOrder / BadSymbol / BadRequest, other 4xx  | ExchangeOrderRejected(rule) |

The rule of a rejection is recognised from the venue's message (`classify_rejection`) so the engine and the
API can say *why* (min_notional, min_amount, precision, ...), with the same names paper trading uses.
"""

from __future__ import annotations

import re

from botfleet.domain.orders import (
    ExchangeAuthError,
    ExchangeError,
    ExchangeInsufficientFunds,
    ExchangeOrderRejected,
    ExchangeRateLimited,
    ExchangeUnavailable,
)

# (rule, pattern) in priority order; patterns cover Binance filter names, KuCoin/VALR/OVEX messages and Luno's
# Err* codes. The first match wins, so the specific ones come before the generic "too small".
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (rule, re.compile(pattern, re.IGNORECASE))
    for rule, pattern in (
        ("duplicate_client_order_id", r"duplicate|already exists|clientOid.*(exist|used)"),
        ("order_not_found", r"not exist|not found|unknown order|ErrCannotStopUnknown"),
        ("unknown_symbol", r"invalid symbol|BadSymbol|ErrInvalidMarketPair|unknown (pair|market|symbol)"),
        ("min_notional", r"NOTIONAL|ErrValueTooLow|min(imum)? (order )?(value|funds|total)"
                         r"|(value|funds|total)\b.{0,20}(small|below|minimum)"),
        ("precision", r"PRICE_FILTER|Denomination|decimal places|precision|increment|tick size|step size"),
        ("min_amount", r"LOT_SIZE|ErrVolumeTooLow|ErrAmountTooSmall|min(imum)? (order )?(size|amount|quantity|qty)"
                       r"|too small|below the minimum"),
        ("post_only", r"post.?only|ErrOrderCanceled"),
        ("liquidity", r"ErrNotEnoughLiquidity|liquidity"),
        ("quote_expired", r"quote.*expired|expired.*quote"),
    )
)

_INSUFFICIENT = re.compile(r"insufficient|not enough balance|balance not enough|ErrInsufficient", re.IGNORECASE)


def classify_rejection(message: str) -> str:
    for rule, pattern in _RULES:
        if pattern.search(message):
            return rule
    return "rejected"


def is_duplicate(error: ExchangeError) -> bool:
    return isinstance(error, ExchangeOrderRejected) and error.rule == "duplicate_client_order_id"


def is_not_found(error: ExchangeError) -> bool:
    return isinstance(error, ExchangeOrderRejected) and error.rule == "order_not_found"


# What a venue's error text may carry that must not reach a bot's events or the logs: ccxt puts the request's URL in
# HTTP errors (a signed Binance GET has `signature=` and `timestamp=` in its query), venues echo parameters back, and
# a DDoS page can be a megabyte of HTML (an event item holds at most 400 KB, in a transaction with the bot's books).
_QUERY = re.compile(r"(https?://[^\s?\"']+)\?[^\s\"']*")
_SECRET_PARAM = re.compile(r"\b(signature|sign|api[_-]?key|apikey|key|secret|passphrase|token|password)\b"
                           r"(\"?\s*[=:]\s*\"?)[^&\s\",}]+", re.IGNORECASE)
MAX_MESSAGE_CHARS = 300


def shown(message: str) -> str:
    """A venue's error text as we store and log it: URLs without their query, secret-looking parameters' values
    masked, whitespace collapsed, at most MAX_MESSAGE_CHARS characters."""
    text = _SECRET_PARAM.sub(r"\1\2***", _QUERY.sub(r"\1?…", message))
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS - 1] + "…"


def _shown(error: ExchangeError) -> ExchangeError:
    error.message = shown(error.message)
    error.args = (f"{error.exchange}: {error.message}",)  # str(error), and a traceback's last line, say the same
    return error


def from_http(exchange_id: str, status: int, message: str) -> ExchangeError:
    """For the own clients (VALR, OVEX): the HTTP status first, then the venue's message (classified whole, kept
    as `shown` makes it)."""
    return _shown(_from_http(exchange_id, status, message))


def _from_http(exchange_id: str, status: int, message: str) -> ExchangeError:
    if status in (401, 403):
        return ExchangeAuthError(exchange_id, message or f"HTTP {status}")
    if status == 429:
        return ExchangeRateLimited(exchange_id, message or "rate limited")
    if status >= 500 or status in (408, 418):
        return ExchangeUnavailable(exchange_id, message or f"HTTP {status}")
    if _INSUFFICIENT.search(message):
        return ExchangeInsufficientFunds(exchange_id, message)
    return ExchangeOrderRejected(exchange_id, message or f"HTTP {status}", rule=classify_rejection(message))


def from_ccxt(exchange_id: str, exc: Exception) -> ExchangeError:
    """Map a ccxt exception (classified on its whole text, kept as `shown` makes it)."""
    return _shown(_from_ccxt(exchange_id, exc))


def _from_ccxt(exchange_id: str, exc: Exception) -> ExchangeError:
    """ccxt is imported here only because a ccxt client already loaded it."""
    import ccxt  # already in sys.modules whenever a ccxt client raised

    message = str(exc)
    # Order matters: ccxt's RateLimitExceeded is a NetworkError, OrderNotFound and DuplicateOrderId are
    # InvalidOrders, PermissionDenied is an AuthenticationError.
    if isinstance(exc, ccxt.AuthenticationError | ccxt.AccountSuspended):
        return ExchangeAuthError(exchange_id, message)
    if isinstance(exc, ccxt.InsufficientFunds):
        return ExchangeInsufficientFunds(exchange_id, message)
    if isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return ExchangeRateLimited(exchange_id, message)
    if isinstance(exc, ccxt.OperationFailed):  # NetworkError and kin: "may succeed on retry", fate unknown
        return ExchangeUnavailable(exchange_id, message)
    if isinstance(exc, ccxt.DuplicateOrderId):
        return ExchangeOrderRejected(exchange_id, message, rule="duplicate_client_order_id")
    if isinstance(exc, ccxt.OrderNotFound):
        return ExchangeOrderRejected(exchange_id, message, rule="order_not_found")
    if isinstance(exc, ccxt.BadSymbol):
        return ExchangeOrderRejected(exchange_id, message, rule="unknown_symbol")
    if isinstance(exc, ccxt.InvalidOrder | ccxt.BadRequest | ccxt.OperationRejected):
        return ExchangeOrderRejected(exchange_id, message, rule=classify_rejection(message))
    if _INSUFFICIENT.search(message):
        return ExchangeInsufficientFunds(exchange_id, message)
    # A body code ccxt does not know becomes a bare ExchangeError; the HTTP status still tells what happened.
    status = _http_status(exc)
    if status is not None and (status >= 500 or status in (401, 403, 429)):
        return from_http(exchange_id, status, message)
    rule = classify_rejection(message)
    if rule != "rejected":
        return ExchangeOrderRejected(exchange_id, message, rule=rule)
    return ExchangeError(exchange_id, message)


def _http_status(exc: BaseException) -> int | None:
    """The HTTP status behind a ccxt exception: ccxt raises from inside its handling of the HTTP error, so the
    transport's exception (with its response) is the context."""
    cause = exc.__cause__ or exc.__context__
    while cause is not None:
        status = getattr(getattr(cause, "response", None), "status_code", None)
        if isinstance(status, int):
            return status
        cause = cause.__cause__ or cause.__context__
    return None
