"""The Executions adapter against moto's Step Functions: a name starts one execution, a second start of the name
is the domain's AlreadyExists (never the AWS error leaking into a service), and stopping what is gone is a no-op."""

from __future__ import annotations

import json

import boto3
import pytest

from botfleet.adapters.stepfunctions import StepFunctionsExecutions
from botfleet.errors import AlreadyExists


@pytest.fixture
def state_machine(aws):
    stepfunctions = boto3.client("stepfunctions", region_name="us-east-1")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    return stepfunctions.create_state_machine(
        name="quarantine", definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/quarantine")["stateMachineArn"]


def test_a_name_starts_one_execution(state_machine):
    executions = StepFunctionsExecutions(state_machine)
    arn = executions.start("bot_1-pause-1", {"bot_id": "bot_1", "pause_number": 1})
    assert arn.endswith(":bot_1-pause-1")
    with pytest.raises(AlreadyExists):
        executions.start("bot_1-pause-1", {"bot_id": "bot_1", "pause_number": 2})


def test_stopping_an_execution_that_never_ran_is_nothing_to_do(state_machine):
    StepFunctionsExecutions(state_machine).stop_by_name("bot_9-pause-1", "resumed by hand")
