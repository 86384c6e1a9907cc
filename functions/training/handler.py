"""REST: /api/training — start, status, stop, history of training runs, and applying a trained model."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field

from botfleet import runtime
from botfleet.domain.training_limits import MAX_BUDGET, MAX_CANDLES, MIN_CANDLES
from botfleet.http import Caller, json_response, make_resolver, page_view
from botfleet.http.fields import Cursor, Identifier, IdInPath, IdInQuery, Limit, whole
from botfleet.views import bot_view

runtime.configure("training")  # a missing or wrong setting fails the cold start, naming it
logger, metrics = Logger(), Metrics()
app = make_resolver()


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bot_id: Identifier
    budget: whole(1, MAX_BUDGET) | None = Field(default=None, description="parameter sets to try (default 400)")
    candles: whole(MIN_CANDLES, MAX_CANDLES) | None = Field(default=None,
                                                   description="one-minute candles of history (default 4320)")


class RunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_id: Identifier


@app.post("/api/training/start", responses={202: {"description": "run accepted (queued)"}})
def start(caller: Caller, body: Annotated[StartBody, Body()]):
    run = runtime.training().start(caller, body.bot_id, body.budget, body.candles)
    metrics.add_metric(name="TrainingRuns", unit="Count", value=1)
    return json_response(202, run)


@app.get("/api/training/status/<run_id>")
def status(caller: Caller, run_id: IdInPath):
    return runtime.training().status(caller, run_id)


@app.post("/api/training/stop")
def stop(caller: Caller, body: Annotated[RunBody, Body()]):
    return runtime.training().stop(caller, body.run_id)


@app.get("/api/training/history")
def history(caller: Caller, bot_id: IdInQuery = None,
            limit: Limit = 50, cursor: Cursor = None):
    items, next_cursor = runtime.training().history(caller, bot_id, limit, cursor)
    return page_view(items, next_cursor)


@app.post("/api/training/apply")
def apply(caller: Caller, body: Annotated[RunBody, Body()]):
    """Give the run's bot its best parameters: training never changes a bot by itself."""
    return bot_view(runtime.training().apply(caller, body.run_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True)
@metrics.log_metrics
def handler(event, context):
    return app.resolve(event, context)
