"""REST: /api/bots, /api/trades, /api/strategies, /api/capital, /api/portfolio, /api/markets — bots for their
owner, their fills, events and equity curve, capital injections and the portfolio, strategy families, and the
markets' candles."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from botfleet import runtime
from botfleet.domain.charts import MAX_CANDLES
from botfleet.domain.money import BASIS_POINTS, CAPITAL, INJECTION, PERCENT
from botfleet.domain.strategies import STRATEGIES
from botfleet.http import Caller, json_response, make_resolver, page_view
from botfleet.http.fields import Cursor, Identifier, IdInPath, IdInQuery, Limit, amount, text, whole
from botfleet.views import bot_view, event_view, trade_view

runtime.configure("bots")  # a missing or wrong setting fails the cold start, naming it
logger, metrics = Logger(), Metrics()
app = make_resolver()



Capital = amount(CAPITAL, "50000")
Percent = amount(PERCENT, "20")
BasisPoints = amount(BASIS_POINTS, "10")
# A strategy parameter: a whole number or a decimal string; its range is the strategy's (GET /api/strategies).
ParamValue = whole(-(10**9), 10**9) | Annotated[StrictStr, Field(max_length=32)]
Params = Annotated[dict[Annotated[str, Field(max_length=32)], ParamValue], Field(max_length=16)]


class RiskBody(BaseModel):
    """Circuit breakers; absent limits take the defaults (20 % drawdown, 10 % daily loss, 5 losses in a row)."""

    model_config = ConfigDict(extra="forbid")
    max_drawdown_pct: Percent | None = None
    daily_loss_pct: Percent | None = None
    max_consecutive_losses: whole(1, 1000) | None = None


class CreateBotBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: text(64)
    exchange: Annotated[str, Field(max_length=32)]
    symbol: Annotated[str, Field(max_length=32)]
    strategy: Annotated[str, Field(max_length=32)]
    params: Params | None = None
    mode: Literal["paper", "live"] = "paper"
    capital: Capital
    risk: RiskBody | None = None
    order_type: Literal["market", "limit"] | None = None
    limit_offset_bps: BasisPoints | None = None
    limit_ttl_ticks: whole(1, 1440) | None = None


class UpdateBotBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: text(64) | None = None
    params: Params | None = None
    capital: Capital | None = Field(default=None, description="a new allocation: the difference is recorded as "
                                                               "a deposit or withdrawal (never P&L)")
    risk: RiskBody | None = None
    order_type: Literal["market", "limit"] | None = None
    limit_offset_bps: BasisPoints | None = None
    limit_ttl_ticks: whole(1, 1440) | None = None


class InjectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bot_id: Identifier
    amount: amount(INJECTION, "2500")
    kind: Literal["deposit", "withdrawal"]


@app.get("/api/bots")
def list_bots(caller: Caller, limit: Limit = 50, cursor: Cursor = None):
    bots, next_cursor = runtime.bot_service().list(caller, limit, cursor)
    return page_view([bot_view(bot) for bot in bots], next_cursor)


def _dump(body: BaseModel) -> dict[str, Any]:
    values = body.model_dump()
    if values.get("risk") is not None:
        values["risk"] = {key: value for key, value in values["risk"].items() if value is not None}
    return values


@app.post("/api/bots", responses={201: {"description": "bot created (running)"}})
def create_bot(caller: Caller, body: Annotated[CreateBotBody, Body()]):
    bot = runtime.bot_service().create(caller, _dump(body), _idempotency_key())
    metrics.add_metric(name="BotsCreated", unit="Count", value=1)
    return json_response(201, bot_view(bot))


def _idempotency_key() -> str | None:
    """The request's Idempotency-Key header (any case): a retry with the same key does what the first one did."""
    headers = app.current_event.headers
    return headers.get("Idempotency-Key") or headers.get("idempotency-key")


@app.get("/api/bots/<bot_id>")
def get_bot(caller: Caller, bot_id: IdInPath):
    return bot_view(runtime.bot_service().get(caller, bot_id))


@app.patch("/api/bots/<bot_id>")
def update_bot(caller: Caller, bot_id: IdInPath, body: Annotated[UpdateBotBody, Body()]):
    changes = _dump(body)
    service = runtime.bot_service()
    if changes.get("capital") is not None:
        # A new allocation is a capital flow of the difference, recorded like any injection (refused when the bot
        # hasn't that much free cash). The rest of the change is judged first: a refused request moves no money.
        service.check_update(caller, bot_id, changes)
        runtime.capital().reallocate(caller, bot_id, changes["capital"])
    return bot_view(service.update(caller, bot_id, changes))


@app.delete("/api/bots/<bot_id>", responses={204: {"description": "bot deleted"}})
def delete_bot(caller: Caller, bot_id: IdInPath):
    runtime.bot_service().delete(caller, bot_id)
    return json_response(204)


def _lifecycle(action: str):
    def change(caller: Caller, bot_id: IdInPath):
        return bot_view(runtime.bot_service().lifecycle(caller, bot_id, action))

    change.__name__ = f"{action}_bot"
    app.post(f"/api/bots/<bot_id>/{action}", summary=f"{action} the bot")(change)


for _action in ("start", "pause", "resume", "stop"):
    _lifecycle(_action)


@app.get("/api/bots/<bot_id>/trades")
def bot_trades(caller: Caller, bot_id: IdInPath, limit: Limit = 50, cursor: Cursor = None):
    items, next_cursor = runtime.bot_service().trades(caller, bot_id, limit, cursor)
    return page_view([trade_view(item) for item in items], next_cursor)


@app.get("/api/bots/<bot_id>/events")
def bot_events(caller: Caller, bot_id: IdInPath, limit: Limit = 50, cursor: Cursor = None):
    """What happened to the bot: rejected orders (with the exchange rule), risk and sanity pauses, expiries."""
    items, next_cursor = runtime.bot_service().events(caller, bot_id, limit, cursor)
    return page_view([event_view(item) for item in items], next_cursor)


@app.get("/api/trades/summary")
def trades_summary(caller: Caller):
    """Per exchange and quote currency: trade count, volume, fees (valued in quote), realized P&L."""
    return page_view(runtime.bot_service().trade_summary(caller), None)  # whole: one row per exchange and currency


@app.get("/api/capital/injections")
def list_injections(caller: Caller, bot_id: IdInQuery = None, limit: Limit = 50,
                    cursor: Cursor = None):
    items, next_cursor = runtime.capital().list(caller, bot_id, limit, cursor)
    return page_view(items, next_cursor)


@app.post("/api/capital/injections", responses={201: {"description": "capital moved; P&L unchanged"}})
def create_injection(caller: Caller, body: Annotated[InjectionBody, Body()]):
    injection = runtime.capital().inject(caller, body.bot_id, body.amount, body.kind, _idempotency_key())
    return json_response(201, injection)


@app.get("/api/portfolio")
def portfolio(caller: Caller):
    """Per bot and per quote currency: cash, position, equity, realized/unrealized P&L, net injections."""
    return runtime.capital().portfolio(caller)


@app.get("/api/trades")
def all_trades(
    caller: Caller,
    limit: Limit = 50,
    cursor: Cursor = None,
    exchange: Annotated[str | None, Query(max_length=32)] = None,
    bot_id: IdInQuery = None,
    symbol: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[str | None, Query(max_length=40, description="ISO-8601 UTC; fills at or after")] = None,
):
    items, next_cursor = runtime.bot_service().all_trades(
        caller, limit, cursor, exchange=exchange, bot_id=bot_id, symbol=symbol, since=since
    )
    return page_view([trade_view(item) for item in items], next_cursor)


@app.get("/api/bots/<bot_id>/equity")
def bot_equity(
    caller: Caller,
    bot_id: str,
    since: Annotated[str | None, Query(max_length=40, description="ISO-8601 UTC; points at or after")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_CANDLES)] = 500,
):
    """The bot's equity curve: cash + position * close at the end of each of its market's one-minute candles
    (oldest first), derived from its books, trades and capital injections."""
    return runtime.charts().equity(caller, bot_id, since, limit)


@app.get("/api/markets/<exchange>/<symbol>/candles")
def market_candles(
    caller: Caller,
    exchange: str,
    symbol: Annotated[str, Path(max_length=32, description="BASE-QUOTE, e.g. BTC-ZAR")],
    timeframe: Annotated[Literal["1m"], Query()] = "1m",
    limit: Annotated[int, Query(ge=1, le=MAX_CANDLES)] = 500,
):
    """The market's newest one-minute candles (oldest first), kept for a week. The simulator has no traded
    volume of its own: `volume` is 0."""
    return runtime.charts().candles(exchange, symbol.replace("-", "/"), limit)


@app.get("/api/strategies")
def strategies(caller: Caller) -> dict[str, Any]:
    return page_view([{"name": s.name, "description": s.description, "params": [p.to_json() for p in s.params]}
                      for s in STRATEGIES.values()], None)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True)
@metrics.log_metrics
def handler(event, context):
    return app.resolve(event, context)
