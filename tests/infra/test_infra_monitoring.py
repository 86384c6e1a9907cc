"""The alarms watch series the stack really writes, and reach the alarm topic (infra/botfleet_infra/monitoring.py)."""

from __future__ import annotations

import re
from pathlib import Path

from aws_cdk.assertions import Template

from botfleet_infra.app import create_app

ROOT = Path(__file__).resolve().parents[2]


def _alarms(light) -> dict[str, dict]:
    return {logical_id: alarm["Properties"] for logical_id, alarm in light.resources_of_type(
        "AWS::CloudWatch::Alarm").items()}


def _published_metrics() -> set[tuple[str, str]]:
    """(metric name, service) for every add_metric in a function's handler or the core it calls."""
    found = set()
    for handler in (ROOT / "functions").glob("*/handler.py"):
        for name in re.findall(r'add_metric\(name="([A-Za-z]+)"', handler.read_text()):
            found.add((name, f"botfleet-{handler.parent.name}"))
    return found


def test_every_alarm_on_our_own_metrics_names_a_series_a_function_publishes(light):
    published = _published_metrics()
    ours = [a for a in _alarms(light).values() if a.get("Namespace") == "botfleet"]
    assert {a["MetricName"] for a in ours} == {"Ticks", "ConnectionPostsThrottled"}
    for alarm in ours:
        (dimension,) = alarm["Dimensions"]  # without `service` the alarm would watch a series nobody writes
        assert dimension["Name"] == "service" and (alarm["MetricName"], dimension["Value"]) in published


def test_trading_that_stops_or_fails_raises_an_alarm_on_the_topic(light):
    alarms = _alarms(light)
    (topic,) = light.resources_of_type("AWS::SNS::Topic")
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": topic}] and alarm["OKActions"] == [{"Ref": topic}]
    (no_ticks,) = [a for a in alarms.values() if a.get("MetricName") == "Ticks"]
    # Missing data is what a stopped schedule looks like: it must breach, not read as "fine".
    assert (no_ticks["ComparisonOperator"], no_ticks["Threshold"], no_ticks["TreatMissingData"]) == (
        "LessThanThreshold", 1, "breaching")
    ids = light.function_logical_ids()
    errors = {a["Dimensions"][0]["Value"]["Ref"] for a in alarms.values()
              if a.get("Namespace") == "AWS/Lambda" and a["MetricName"] == "Errors"}
    assert errors == {ids["tick"], ids["engine"]}
    failed = [a for a in alarms.values() if a.get("Namespace") == "AWS/States"]
    assert {a["MetricName"] for a in failed} == {"ExecutionsFailed", "ExecutionsTimedOut"} and len(failed) == 4
    lag = [a for a in alarms.values() if a.get("MetricName") == "IteratorAge"]
    assert len(lag) == 1 and lag[0]["Threshold"] == 60000


def test_an_alarm_email_comes_from_context_and_a_bad_one_fails_the_synth(light, tmp_path):
    assert light.resources_of_type("AWS::SNS::Subscription") == {}
    _, stack = create_app(context={"botfleet:light": True, "botfleet:alarm_email": "ops@example.com"},
                          outdir=str(tmp_path / "with"))
    (subscription,) = [r["Properties"] for r in Template.from_stack(stack).to_json()["Resources"].values()
                       if r["Type"] == "AWS::SNS::Subscription"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "ops@example.com")
    try:
        create_app(context={"botfleet:light": True, "botfleet:alarm_email": "not an address"},
                   outdir=str(tmp_path / "bad"))
    except ValueError as error:
        assert "botfleet:alarm_email" in str(error)
    else:
        raise AssertionError("a bad alarm email was accepted")
