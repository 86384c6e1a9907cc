"""REST: /api/bots, /api/trades, /api/strategies — bots for their owner, fills, strategy families."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr

from botfleet import runtime
from botfleet.domain.strategies import STRATEGIES
from botfleet.http import Caller, json_response, make_resolver, page_view
from botfleet.views import bot_view, trade_view

logger, metrics = Logger(), Metrics()
app = make_resolver()



def _amount(value: Any) -> str:
    """Decimals travel as strings; whole numbers are accepted as-is; floats never (they lose cents)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('must be a decimal string such as "1000.50"')
    return str(value)


Amount = Annotated[str, BeforeValidator(_amount)]
Limit = Annotated[int, Query(ge=1, le=200)]
ParamValue = StrictInt | StrictStr


class CreateBotBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    exchange: str
    symbol: str
    strategy: str
    params: dict[str, ParamValue] | None = None
    mode: Literal["paper", "live"] = "paper"
    capital: Amount


class UpdateBotBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    params: dict[str, ParamValue] | None = None
    capital: Amount | None = None


@app.get("/api/bots")
def list_bots(caller: Caller, limit: Limit = 50, cursor: Annotated[str | None, Query()] = None):
    bots, next_cursor = runtime.bot_service().list(caller, limit, cursor)
    return page_view([bot_view(bot) for bot in bots], next_cursor)


@app.post("/api/bots", responses={201: {"description": "bot created (running)"}})
def create_bot(caller: Caller, body: Annotated[CreateBotBody, Body()]):
    bot = runtime.bot_service().create(caller, body.model_dump())
    metrics.add_metric(name="BotsCreated", unit="Count", value=1)
    return json_response(201, bot_view(bot))


@app.get("/api/bots/<bot_id>")
def get_bot(caller: Caller, bot_id: str):
    return bot_view(runtime.bot_service().get(caller, bot_id))


@app.patch("/api/bots/<bot_id>")
def update_bot(caller: Caller, bot_id: str, body: Annotated[UpdateBotBody, Body()]):
    return bot_view(runtime.bot_service().update(caller, bot_id, body.model_dump()))


@app.delete("/api/bots/<bot_id>", responses={204: {"description": "bot deleted"}})
def delete_bot(caller: Caller, bot_id: str):
    runtime.bot_service().delete(caller, bot_id)
    return json_response(204)


def _lifecycle(action: str):
    def change(caller: Caller, bot_id: str):
        return bot_view(runtime.bot_service().lifecycle(caller, bot_id, action))

    change.__name__ = f"{action}_bot"
    app.post(f"/api/bots/<bot_id>/{action}", summary=f"{action} the bot")(change)


for _action in ("start", "pause", "resume", "stop"):
    _lifecycle(_action)


@app.get("/api/bots/<bot_id>/trades")
def bot_trades(caller: Caller, bot_id: str, limit: Limit = 50, cursor: Annotated[str | None, Query()] = None):
    items, next_cursor = runtime.bot_service().trades(caller, bot_id, limit, cursor)
    return page_view([trade_view(item) for item in items], next_cursor)


@app.get("/api/trades")
def all_trades(
    caller: Caller,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query()] = None,
    exchange: Annotated[str | None, Query()] = None,
    bot_id: Annotated[str | None, Query()] = None,
    symbol: Annotated[str | None, Query()] = None,
    since: Annotated[str | None, Query(description="ISO-8601 UTC; fills at or after")] = None,
):
    items, next_cursor = runtime.bot_service().all_trades(
        caller, limit, cursor, exchange=exchange, bot_id=bot_id, symbol=symbol, since=since
    )
    return page_view([trade_view(item) for item in items], next_cursor)


@app.get("/api/strategies")
def strategies(caller: Caller) -> dict[str, Any]:
    return {
        "items": [
            {"name": s.name, "description": s.description, "params": [p.to_json() for p in s.params]}
            for s in STRATEGIES.values()
        ]
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@metrics.log_metrics
def handler(event, context):
    return app.resolve(event, context)
