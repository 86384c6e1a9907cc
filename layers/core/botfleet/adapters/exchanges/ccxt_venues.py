"""The ccxt venues with ways of their own: how the client order id travels, how an order is found again by it
and cancelled, what ccxt reads from a market's raw info. Each is named by its exchange's descriptor
(`ccxt_client("BinanceClient")`); an exchange that ccxt's unified API serves as is needs none.
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal
from typing import Any

from botfleet.adapters.exchanges.ccxt_client import CcxtExchangeClient
from botfleet.adapters.exchanges.ccxt_markets import market_id
from botfleet.adapters.exchanges.precision import QUOTE_STEP, PreparedOrder, dec0, plain
from botfleet.domain.orders import ExchangeError, ExchangeOrderRejected, ExecutionFill, OrderStatus

# Binance refuses order types a market does not list in info.orderTypes (ccxt checks it before sending).
_BINANCE_ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"]


class BinanceClient(CcxtExchangeClient):
    # Spot only, and no margin/currency endpoints: nothing beyond the calls we make.
    options = {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}, "fetchMargins": False,
               "fetchCurrencies": False, "newOrderRespType": {"market": "FULL", "limit": "FULL"}}
    book_limits = (5, 10, 20, 50, 100, 500, 1000, 5000)

    def venue_info(self, rules):
        return {"orderTypes": _BINANCE_ORDER_TYPES}  # ccxt refuses a type the market's info does not list

    def create(self, order):
        amount, price = self.amount_and_price(order)
        params: dict[str, Any] = {"newClientOrderId": order.client_order_id}
        if order.quote_amount is not None:
            params["quoteOrderQty"] = plain(order.quote_amount)
        raw = self.call(self.exchange.create_order, order.symbol, order.request.type, order.request.side,
                          amount, price, params)
        # newOrderRespType FULL: the reply already carries the fills with their commissions.
        return self.status_from_ccxt(raw, order.symbol, order.client_order_id)

    def find(self, symbol, client_order_id):
        raw = self.find_or_none(self.exchange.fetch_order, None, symbol, {"origClientOrderId": client_order_id})
        if raw is None:
            return None
        trades = None
        if dec0(raw.get("filled")) > 0:
            # GET /api/v3/order has no commissions; the order's trades do.
            trades = self.call(self.exchange.fetch_my_trades, symbol, None, None, {"orderId": raw["id"]})
        return self.status_from_ccxt(raw, symbol, client_order_id, trades)

    def cancel(self, symbol, client_order_id):
        self.call(self.exchange.cancel_order, None, symbol, {"origClientOrderId": client_order_id})


class KuCoinClient(CcxtExchangeClient):
    # uta False: otherwise ccxt asks /api/ua/v1/account/mode before the first order.
    options = {"uta": False, "fetchCurrencies": False}
    book_limits = (20, 100)

    def venue_info(self, rules):
        # ccxt reads these from info to round a market buy's funds and sizes.
        return {"baseIncrement": str(rules.amount_step), "priceIncrement": str(rules.price_tick),
                "quoteIncrement": str(QUOTE_STEP)}

    def create(self, order):
        amount, price = self.amount_and_price(order)
        params: dict[str, Any] = {"clientOid": order.client_order_id}
        if order.quote_amount is not None:
            params["funds"] = plain(order.quote_amount)
        self.call(self.exchange.create_order, order.symbol, order.request.type, order.request.side,
                    amount, price, params)
        # KuCoin answers with the order id only; the fills, fee and average are on the order itself.
        status = self.find(order.symbol, order.client_order_id)
        if status is None:
            raise ExchangeError(self.exchange_id, f"order {order.client_order_id} accepted but not found")
        return status

    def find(self, symbol, client_order_id):
        raw = self.find_or_none(self.exchange.fetch_order, None, symbol, {"clientOid": client_order_id})
        # KuCoin answers an unknown clientOid with data: null, which ccxt parses into an order without an id.
        if raw is None or raw.get("id") is None:
            return None
        return self.status_from_ccxt(raw, symbol, client_order_id)

    def cancel(self, symbol, client_order_id):
        self.call(self.exchange.cancel_order, None, symbol, {"clientOid": client_order_id})


class LunoClient(CcxtExchangeClient):
    book_limits = (100,)  # <= 100 uses /orderbook_top

    def create(self, order):
        params = {"client_order_id": order.client_order_id}
        request = order.request
        if request.type == "market" and request.side == "buy":
            # Luno sizes market buys in the counter currency only (counter_volume).
            spend = order.quote_amount if order.quote_amount is not None else self._cost_to_buy(order)
            raw = self.call(self.exchange.create_order, order.symbol, "market", "buy", plain(spend), None, params)
        else:
            amount, price = self.amount_and_price(order)
            raw = self.call(self.exchange.create_order, order.symbol, request.type, request.side,
                              amount, price, params)
        details = self.call(self.exchange.privateGetOrdersId, {"id": raw["id"]})
        return self.status_from_raw(details, order.symbol, order.client_order_id)

    def find(self, symbol, client_order_id):
        raw = self._find_raw(symbol, client_order_id)
        return None if raw is None else self.status_from_raw(raw, symbol, client_order_id)

    def cancel(self, symbol, client_order_id):
        raw = self._find_raw(symbol, client_order_id)
        if raw is None:
            raise ExchangeOrderRejected(self.exchange_id, f"order {client_order_id} not found", "order_not_found")
        self.call(self.exchange.cancel_order, raw["order_id"], symbol)

    def closes(self, symbol, limit):
        if self.exchange.apiKey:
            return super().closes(symbol, limit)
        # Luno's candles need an API key; without one, one-minute closes from the public trades (last 24 h).
        trades = self.call(self.exchange.fetch_trades, symbol)
        by_minute: dict[int, Decimal] = {}
        for trade in sorted(trades, key=lambda t: t["timestamp"]):
            by_minute[trade["timestamp"] // 60_000] = dec0(trade["price"])
        return [by_minute[minute] for minute in sorted(by_minute)][-limit:]

    def _find_raw(self, symbol, client_order_id) -> dict | None:
        # Luno lists recent orders with their client_order_id; there is no v1 lookup by it.
        listing = self.call(self.exchange.privateGetListorders, {"pair": market_id(self.exchange_id, symbol)})
        return next((o for o in listing.get("orders") or [] if o.get("client_order_id") == client_order_id), None)

    def _cost_to_buy(self, order: PreparedOrder) -> Decimal:
        """What buying `order.amount` costs walking the current asks, rounded up to cents."""
        book = self.fetch_order_book(order.symbol, 100)
        remaining, cost = order.amount, Decimal(0)
        for level in book.asks:
            take = min(remaining, level.amount)
            cost += take * level.price
            remaining -= take
            if remaining <= 0:
                break
        if remaining > 0:
            raise ExchangeOrderRejected(self.exchange_id, "not enough liquidity for a market buy of this size",
                                        "liquidity")
        return (cost / QUOTE_STEP).to_integral_value(rounding=ROUND_UP) * QUOTE_STEP

    @staticmethod
    def status_from_raw(raw: dict, symbol: str, client_order_id: str) -> OrderStatus:
        # ccxt's Luno parser leaves type, average and a stopped order's state open, and takes a zero
        # fee_counter over a real fee_base, so the raw order is read directly.
        limit_order = raw.get("type") in ("BID", "ASK")
        filled, counter = dec0(raw.get("base")), dec0(raw.get("counter"))
        amount = dec0(raw.get("limit_volume")) if limit_order else filled
        average = counter / filled if filled > 0 else None
        base, quote = symbol.split("/")
        fee_base, fee_counter = dec0(raw.get("fee_base")), dec0(raw.get("fee_counter"))
        fee, fee_currency = (fee_base, base) if fee_base > 0 else (fee_counter, quote)
        if raw.get("state") == "PENDING":
            status = "open"
        elif limit_order and filled < amount:
            status = "canceled"  # Luno marks a stopped order COMPLETE; unfilled volume means it was stopped
        else:
            status = "closed"
        fills = (ExecutionFill(average, filled, fee, fee_currency, limit_order),) if average is not None else ()
        return OrderStatus(
            client_order_id=client_order_id, exchange_order_id=raw.get("order_id"), symbol=symbol,
            side="buy" if raw.get("type") in ("BUY", "BID") else "sell",
            type="limit" if limit_order else "market", status=status, amount=amount, filled=filled,
            average_price=average, fills=fills,
        )
