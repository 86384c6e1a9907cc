"""VALR (https://api.valr.com), our own client: ccxt has no VALR.

Auth: every private request carries X-VALR-API-KEY, X-VALR-TIMESTAMP (ms) and X-VALR-SIGNATURE, the hex
HMAC-SHA512, keyed by the API secret, of timestamp + VERB + path (with its query) + body.
Orders carry our client order id as `customerOrderId`; VALR refuses a second order with the same one, and
finds an order by it: that is both our idempotency and our reconciliation.
VALR accepts orders asynchronously (202 + an id): the outcome, including an insufficient balance, appears on
the order's status a moment later, so `create_order` polls the status briefly before answering.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from botfleet.adapters.exchanges.base import Credentials
from botfleet.adapters.exchanges.errors import classify_rejection, from_http, is_duplicate
from botfleet.adapters.exchanges.http import JsonHttp
from botfleet.adapters.exchanges.precision import book_from_levels, dec, dec0, plain, prepare_order, rules_for
from botfleet.domain.market import OrderBook
from botfleet.domain.orders import (
    Balance,
    ExchangeInsufficientFunds,
    ExchangeOrderRejected,
    ExecutionFill,
    OrderRequest,
    OrderStatus,
)

VALR_API = "https://api.valr.com"
_STATUS = {"Placed": "open", "Active": "open", "Requested": "open", "Partially Filled": "open",
           "Filled": "closed", "Cancelled": "canceled", "Expired": "canceled", "Failed": "rejected"}
_SETTLED = {"closed", "canceled", "rejected"}
# Poll delays (s) while VALR processes a new order or a cancel: ~1.5 s in all, then the caller reconciles.
_POLL_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.75)


def valr_signature(api_secret: str, timestamp: str, verb: str, path: str, body: str = "") -> str:
    payload = f"{timestamp}{verb.upper()}{path}{body}".encode()
    return hmac.new(api_secret.encode(), payload, hashlib.sha512).hexdigest()


def valr_pair(symbol: str) -> str:
    return symbol.replace("/", "").upper()


def _message(payload: Any) -> str:
    if isinstance(payload, dict):
        return str(payload.get("message") or payload.get("error") or payload)
    return str(payload or "")


class ValrClient:
    exchange_id = "valr"

    def __init__(self, credentials: dict | None = None, *, base_url: str | None = None, timeout_s: float = 10,
                 now_ms: Callable[[], int] | None = None, sleep: Callable[[float], None] = time.sleep):
        self._creds = Credentials(credentials or {})
        self._http = JsonHttp(self.exchange_id, base_url or VALR_API, timeout_s, _message)
        self._now_ms = now_ms or (lambda: int(time.time() * 1000))
        self._sleep = sleep

    def __repr__(self) -> str:
        return "ValrClient()"

    # -- the port ---------------------------------------------------------------------------------------------

    def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        rules_for(self.exchange_id, symbol)
        _, book = self._http.request("GET", f"/v1/public/{valr_pair(symbol)}/orderbook")
        return book_from_levels([(lv["price"], lv["quantity"]) for lv in book.get("Bids") or []],
                                [(lv["price"], lv["quantity"]) for lv in book.get("Asks") or []], depth)

    def fetch_balance(self) -> dict[str, Balance]:
        _, rows = self._private("GET", "/v1/account/balances")
        return {row["currency"]: Balance(row["currency"], dec0(row.get("available")), dec0(row.get("reserved")))
                for row in rows}

    def create_order(self, request: OrderRequest) -> OrderStatus:
        order = prepare_order(self.exchange_id, request)
        body: dict[str, Any] = {"side": request.side.upper(), "pair": valr_pair(request.symbol)}
        if request.type == "market":
            if order.quote_amount is not None:
                body["quoteAmount"] = plain(order.quote_amount)
            else:
                body["baseAmount"] = plain(order.amount)
        else:
            body |= {"quantity": plain(order.amount), "price": plain(order.price), "postOnly": False,
                     "timeInForce": "GTC"}
        body["customerOrderId"] = request.client_order_id
        try:
            self._private("POST", f"/v1/orders/{request.type}", body=body)
        except ExchangeOrderRejected as exc:
            existing = self.fetch_order(request.symbol, request.client_order_id) if is_duplicate(exc) else None
            if existing is None:
                raise
            return existing
        status = self._await(request.symbol, request.client_order_id,
                             lambda st: st.status in _SETTLED or request.type == "limit")
        if status is None:  # accepted but not visible yet: unknown outcome, the caller reconciles
            return OrderStatus(request.client_order_id, None, request.symbol, request.side, request.type, "open",
                               order.amount, Decimal(0), None)
        if status.status == "rejected":
            reason = status.reason or "order failed"
            if "insufficient" in reason.lower():
                raise ExchangeInsufficientFunds(self.exchange_id, reason)
            raise ExchangeOrderRejected(self.exchange_id, reason, rule=classify_rejection(reason))
        return status

    def fetch_order(self, symbol: str, client_order_id: str) -> OrderStatus | None:
        pair = valr_pair(symbol)
        rules_for(self.exchange_id, symbol)
        code, raw = self._private("GET", f"/v1/orders/{pair}/customerorderid/{client_order_id}", allow=(400, 404))
        if code in (400, 404):
            if classify_rejection(_message(raw)) == "order_not_found" or code == 404:
                return None
            raise from_http(self.exchange_id, code, _message(raw))
        original, remaining = dec0(raw.get("originalQuantity")), dec0(raw.get("remainingQuantity"))
        filled = original - remaining
        average, fills = None, ()
        if filled > 0:
            # The status has no prices or fees; the order's history summary has both.
            _, summary = self._private("GET", f"/v1/orders/history/summary/customerorderid/{client_order_id}")
            average = dec(summary.get("averagePrice"))
            fee_currency = summary.get("feeCurrency") or ""
            fills = (ExecutionFill(average, filled, dec0(summary.get("totalFee")), fee_currency,
                                   raw.get("orderType") == "limit"),) if average is not None else ()
        return OrderStatus(
            client_order_id=client_order_id, exchange_order_id=raw.get("orderId"), symbol=symbol,
            side=str(raw.get("orderSide", "")).lower(), type=str(raw.get("orderType", "")).lower(),
            status=_STATUS.get(raw.get("orderStatusType"), "open"), amount=original, filled=filled,
            average_price=average, fills=fills, reason=raw.get("failedReason") or None,
        )

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderStatus:
        rules_for(self.exchange_id, symbol)
        body = {"customerOrderId": client_order_id, "pair": valr_pair(symbol)}
        self._private("DELETE", "/v1/orders/order", body=body)
        status = self._await(symbol, client_order_id, lambda st: st.status in _SETTLED)
        if status is None:
            raise ExchangeOrderRejected(self.exchange_id, f"order {client_order_id} not found", "order_not_found")
        return status

    def test_connection(self) -> None:
        self._private("GET", "/v1/account/balances")

    # -- beyond the port: live market data ------------------------------------------------------------------------

    def fetch_closes(self, symbol: str, limit: int = 240) -> list[Decimal]:
        """One-minute closes, oldest first, from VALR's public price buckets."""
        now = datetime.fromtimestamp(self._now_ms() / 1000, UTC)
        query = {"periodSeconds": 60, "startTime": (now - timedelta(minutes=limit)).isoformat(),
                 "endTime": now.isoformat()}
        _, buckets = self._http.request("GET", f"/v1/public/{valr_pair(symbol)}/buckets", query=query)
        ordered = sorted(buckets, key=lambda bucket: bucket["startTime"])
        return [dec0(bucket["close"]) for bucket in ordered][-limit:]

    # -- plumbing -------------------------------------------------------------------------------------------------

    def _private(self, method: str, path: str, **kwargs) -> tuple[int, Any]:
        return self._http.request(method, path, signer=self._sign, **kwargs)

    def _sign(self, verb: str, path: str, body: str) -> dict[str, str]:
        timestamp = str(self._now_ms())
        return {"X-VALR-API-KEY": self._creds.api_key, "X-VALR-TIMESTAMP": timestamp,
                "X-VALR-SIGNATURE": valr_signature(self._creds.api_secret, timestamp, verb, path, body)}

    def _await(self, symbol: str, client_order_id: str, done) -> OrderStatus | None:
        status = self.fetch_order(symbol, client_order_id)
        for delay in _POLL_DELAYS:
            if status is not None and done(status):
                break
            self._sleep(delay)
            status = self.fetch_order(symbol, client_order_id)
        return status
