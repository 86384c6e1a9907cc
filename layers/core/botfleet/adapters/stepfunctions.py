"""Step Functions executions: training runs and the quarantine flow (the Executions port)."""

from __future__ import annotations

import json
from typing import Any

from botfleet.errors import AlreadyExists


class StepFunctionsExecutions:
    def __init__(self, state_machine_arn: str):
        from botfleet.adapters.aws import client

        self._client = client("stepfunctions")
        self.state_machine_arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> str:
        """Start an execution named `name`: the name makes the start idempotent (Step Functions refuses a
        second execution of the same name with a different input, and returns the first for the same one)."""
        from botocore.exceptions import ClientError

        try:
            reply = self._client.start_execution(stateMachineArn=self.state_machine_arn, name=name,
                                                 input=json.dumps(payload))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ExecutionAlreadyExists":
                raise AlreadyExists(name) from None
            raise
        return reply["executionArn"]

    def stop_by_name(self, name: str, cause: str) -> None:
        arn = self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
        self.stop(arn, cause)

    def stop(self, execution_arn: str, cause: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self._client.stop_execution(executionArn=execution_arn, cause=cause[:256])
        except ClientError as exc:  # already finished: nothing left to stop
            if exc.response["Error"]["Code"] != "ExecutionDoesNotExist":
                raise
