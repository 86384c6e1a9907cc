"""Operator-only actions, invoked directly (no API route; IAM guards `lambda:InvokeFunction`):

- `{"action": "ensure_admin", "email", "password"}`: create the first admin (idempotent);
- `{"action": "seed_demo", "email", "password"}`: a demo account with paper bots on every exchange;
- `{"action": "market_move", "exchange", "symbol", "move_pct"}`: shock the simulated market;
- `{"action": "migrate"}`: bring stored items up to this version's shapes (idempotent; run after each upgrade,
  docs/deployment.md). Today: bots created before the fleet listing was of pointers are moved onto them.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from botfleet import runtime
from botfleet.domain.exchanges import EXCHANGE_DESCRIPTORS, require_market
from botfleet.domain.money import MOVE_PCT, money_str, parse_amount
from botfleet.errors import BotfleetError
from botfleet.services.auth import Principal

runtime.configure("provision")  # a missing or wrong setting fails the cold start, naming it
logger = Logger()

# One paper bot per exchange, each as its descriptor describes it: a new exchange joins the demo by itself.
DEMO_BOTS = tuple(
    {"name": descriptor.demo.name, "exchange": exchange_id, "symbol": descriptor.demo.symbol,
     "params": dict(descriptor.demo.params), "capital": descriptor.demo.capital}
    for exchange_id, descriptor in EXCHANGE_DESCRIPTORS.items()
)


def ensure_admin(event: dict[str, Any]) -> dict[str, Any]:
    user, created = runtime.auth().ensure_admin(event["email"], event["password"])
    return {"user_id": user["id"], "email": user["email"], "created": created}


def seed_demo(event: dict[str, Any]) -> dict[str, Any]:
    user, created = runtime.auth().ensure_user(event["email"], event["password"], "Demo trader")
    owner = Principal(user["id"], user["email"], user["name"], user["role"])
    existing, _ = runtime.bot_service().list(owner, 200, None)
    bots = existing
    if not existing:
        bots = [runtime.bot_service().create(owner, {**spec, "strategy": "sma_cross", "mode": "paper"})
                for spec in DEMO_BOTS]
    return {"user_id": user["id"], "email": user["email"], "created": created, "bots": [b.id for b in bots]}


def market_move(event: dict[str, Any]) -> dict[str, Any]:
    exchange, symbol = event["exchange"], event["symbol"]
    require_market(exchange, symbol)
    move = event["move_pct"]
    if isinstance(move, float):  # the control plane takes plain JSON numbers: {"move_pct": -2.5}
        move = repr(move)
    state = runtime.markets().move(exchange, symbol, parse_amount(move, "move_pct", MOVE_PCT))
    return {"exchange": exchange, "symbol": symbol, "price": money_str(state.price), "seq": state.seq}


def migrate(event: dict[str, Any]) -> dict[str, Any]:
    return {"fleet_listing_moved": runtime.bots().move_fleet_listing_to_pointers()}


ACTIONS = {"ensure_admin": ensure_admin, "seed_demo": seed_demo, "market_move": market_move, "migrate": migrate}


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event, context):
    action = ACTIONS.get(event.get("action"))
    if action is None:
        return {"ok": False, "error": {"code": "unknown_action", "message": f"one of {', '.join(ACTIONS)}"}}
    try:
        return {"ok": True, **action(event)}
    except BotfleetError as exc:
        return {"ok": False, "error": {"code": exc.code, "message": exc.message}, "status": exc.status}
    except KeyError as exc:
        return {"ok": False, "error": {"code": "bad_request", "message": f"missing field {exc}"}}
