"""TickSchedule drives tick once a minute; tick fans out to engine asynchronously."""


def test_tick_schedule_targets_tick(light):
    rules = light.resources_of_type("AWS::Events::Rule")
    assert len(rules) == 1
    (rule,) = rules.values()
    # The local cloud finds the rule by its construct id.
    assert rule["Metadata"]["aws:cdk:path"].endswith("/TickSchedule/Resource")
    props = rule["Properties"]
    assert props["ScheduleExpression"] == "rate(1 minute)"
    assert props["State"] == "ENABLED"
    (target,) = props["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [light.function_logical_ids()["tick"], "Arn"]}
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 60


def test_events_may_invoke_tick_only_from_the_rule(light):
    (rule_id,) = light.resources_of_type("AWS::Events::Rule")
    tick_arn = {"Fn::GetAtt": [light.function_logical_ids()["tick"], "Arn"]}
    permissions = [
        p["Properties"]
        for p in light.resources_of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": tick_arn,
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
        }
    ]


def test_stale_ticks_are_not_retried_past_a_period(light):
    configs = {
        c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
        for c in light.resources_of_type("AWS::Lambda::EventInvokeConfig").values()
    }
    ids = light.function_logical_ids()
    for name in ("tick", "engine"):
        assert configs[ids[name]]["MaximumEventAgeInSeconds"] == 60
        # Lambda retries a function error about a minute later, past that age: retries would only look like a net.
        assert configs[ids[name]]["MaximumRetryAttempts"] == 0
