"""A bot's state changes are domain methods, one definition each, used by its owner, admins, the assistant, the
quarantine and the engine."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from botfleet.domain.bots import Bot
from botfleet.domain.ledger import Ledger
from botfleet.domain.quarantine import QuarantineState
from botfleet.errors import Conflict

AT = "2026-12-02T00:00:00.000Z"


def bot(**changes) -> Bot:
    ledger = replace(Ledger.open("BTC", "USDT", Decimal(1000)), rebase_pending=False, consecutive_losses=3)
    base = Bot(id="bot_1", owner_id="usr_1", name="b", exchange="binance", symbol="BTC/USDT", strategy="sma_cross",
               params={}, mode="paper", capital=Decimal(1000), ledger=ledger, created_at=AT, updated_at=AT)
    return replace(base, **changes)


def test_resume_after_a_breaker_trip_starts_the_breakers_afresh_and_ends_the_quarantine():
    tripped = bot(status="quarantined", pause_reason="max_drawdown", quarantine=QuarantineState(stage="waiting"))
    resumed = tripped.resumed(AT)
    assert (resumed.status, resumed.pause_reason, resumed.quarantine) == ("running", None, None)
    assert resumed.ledger.rebase_pending and resumed.ledger.consecutive_losses == 0


def test_resume_after_a_manual_pause_keeps_the_books_as_they_are():
    paused = bot(status="paused", pause_reason="manual")
    assert paused.resumed(AT).ledger == paused.ledger


def test_pause_only_from_running_and_stop_ends_a_quarantine():
    assert bot().paused("manual", AT).pause_reason == "manual"
    with pytest.raises(Conflict):
        bot(status="stopped").paused("manual", AT)
    stopped = bot(status="quarantined", quarantine=QuarantineState(stage="retraining")).stopped("admin", AT)
    assert (stopped.status, stopped.quarantine, stopped.pause_reason) == ("stopped", None, "admin")


def test_the_engine_counts_only_breaker_trips_toward_the_ladder():
    assert bot().tripped("max_drawdown", counts=True).pause_count == 1
    assert bot().tripped("sanity_check", counts=False).pause_count == 0


def test_redeploy_and_restart_put_the_bot_back_from_the_next_mark():
    quarantined = bot(status="quarantined", pause_reason="daily_loss", quarantine=QuarantineState(stage="validating"))
    redeployed = quarantined.redeployed({"fast": 3, "slow": 9}, AT)
    assert (redeployed.status, redeployed.params, redeployed.quarantine) == ("running", {"fast": 3, "slow": 9}, None)
    assert redeployed.ledger.rebase_pending
    assert bot(status="stopped").restarted(AT).status == "running"
    failed = quarantined.quarantine_failed(AT)
    assert (failed.status, failed.pause_reason, failed.quarantine.stage) == ("paused", "quarantine_failed", "failed")
