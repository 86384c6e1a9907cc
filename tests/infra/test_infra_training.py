"""The training state machine: prepare → Map (bounded concurrency, retries) → reduce, every step caught."""

import json


def _definition(light, name: str = "Training") -> dict:
    (machine,) = [m for logical_id, m in light.resources_of_type("AWS::StepFunctions::StateMachine").items()
                  if logical_id.startswith(name)]
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else "ARN" for part in parts)  # tokens sit inside strings
    return json.loads(text)


def test_prepare_map_reduce_with_a_catch_on_every_step(light):
    definition = _definition(light)
    states = definition["States"]
    assert definition["StartAt"] == "Prepare"
    assert states["Prepare"]["Next"] == "EvaluateChunks" and states["EvaluateChunks"]["Next"] == "Reduce"
    for name in ("Prepare", "EvaluateChunks", "Reduce"):
        (catch,) = states[name]["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"] and catch["Next"] == "MarkFailed"
    assert states["MarkFailed"]["Next"] == "RunFailed" and states["RunFailed"]["Type"] == "Fail"


def test_the_map_is_bounded_and_its_task_retries_with_backoff(light):
    chunks = _definition(light)["States"]["EvaluateChunks"]
    assert chunks["Type"] == "Map" and chunks["MaxConcurrency"] == 4
    assert chunks["ItemsPath"] == "$.prepared.chunks"
    evaluate = chunks["ItemProcessor"]["States"]["Evaluate"]
    # CDK's own retry of transient Lambda client errors comes first; then ours, with backoff
    (retry,) = [r for r in evaluate["Retry"] if "Lambda.TooManyRequestsException" in r["ErrorEquals"]]
    assert retry["MaxAttempts"] == 3 and retry["BackoffRate"] == 2 and retry["IntervalSeconds"] == 2


def test_who_starts_and_stops_executions(light, function_name):
    # training runs: the training API; quarantines: started by the tick's engine, stopped by a hand resume
    actions = light.role_actions(function_name)
    assert ("states:StartExecution" in actions) == (function_name in {"training", "engine"})
    assert ("states:StopExecution" in actions) == (function_name in {"training", "bots", "admin", "assistant"})


def test_quarantine_waits_from_config_retrains_validates_and_catches(light):
    definition = _definition(light, "Quarantine")
    states = definition["States"]
    assert definition["StartAt"] == "Begin"
    assert states["WaitOutTheLadder"] == {"Type": "Wait", "SecondsPath": "$.ladder.wait_seconds",
                                          "Next": "Retrain"}
    route = {choice["Next"] for choice in states["Route"]["Choices"]} | {states["Route"]["Default"]}
    assert route == {"Superseded", "Regenerate", "WaitOutTheLadder"}
    validated = states["Validated?"]
    assert validated["Choices"][0]["Next"] == "Redeploy" and validated["Default"] == "Extend"
    assert states["Extend"]["Next"] == "WaitOutTheLadder"  # failed validation: another rung, then retrain
    for name in ("Begin", "Retrain", "Redeploy", "Extend", "Regenerate"):
        assert states[name]["Catch"][0]["Next"] == "SafeState"
        assert any("Lambda.TooManyRequestsException" in retry["ErrorEquals"] and retry["BackoffRate"] == 2
                   for retry in states[name]["Retry"])
    assert states["SafeState"]["Next"] == "LeftByHand?"
    left = states["LeftByHand?"]
    assert left["Choices"] == [{"Variable": "$.safe.status", "StringEquals": "superseded", "Next": "LeftQuarantine"}]
    assert left["Default"] == "QuarantineFailed" and states["LeftQuarantine"]["Type"] == "Succeed"
    # Begin gets the execution's input whole (a path to a field an older execution lacks would fail uncaught).
    assert states["Begin"]["Parameters"]["started.$"] == "$"


def test_the_quarantine_outlasts_its_longest_ladder(light):
    # A timeout is a failure no Catch sees: the bot would stay "quarantined" with nothing behind it.
    from botfleet.domain.quarantine import LONGEST_QUARANTINE_SECONDS

    definition = _definition(light, "Quarantine")
    assert LONGEST_QUARANTINE_SECONDS < definition["TimeoutSeconds"] <= 365 * 86400  # a Standard workflow's year
