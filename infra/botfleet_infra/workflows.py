"""What every botfleet state machine shares: Lambda steps that retry transient failures with backoff, and a
state machine that is traced and logs all its events (without execution data) to its own log group."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from botfleet_infra import nag
from botfleet_infra.functions import BotfleetFunction
from botfleet_infra.settings import BuildSettings

#: Transient Lambda failures are retried with backoff; a bug fails the run (its Catch) instead of looping.
RETRYABLE = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
             "Lambda.TooManyRequestsException"]


def lambda_step(scope: Construct, name: str, worker: BotfleetFunction, payload: dict,
                result_path: str | None) -> tasks.LambdaInvoke:
    task = tasks.LambdaInvoke(scope, name, lambda_function=worker.function, payload=sfn.TaskInput.from_object(payload),
                              payload_response_only=True, result_path=result_path)
    task.add_retry(errors=RETRYABLE, interval=Duration.seconds(2), max_attempts=3, backoff_rate=2)
    return task


def state_machine(scope: Construct, *, definition: sfn.IChainable, worker: BotfleetFunction, timeout: Duration,
                  settings: BuildSettings) -> tuple[sfn.StateMachine, logs.LogGroup]:
    log_group = logs.LogGroup(scope, "StateMachineLogs", retention=logs.RetentionDays.ONE_MONTH,
                              removal_policy=settings.stateful_removal_policy)
    machine = sfn.StateMachine(
        scope, "StateMachine",
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        timeout=timeout,
        tracing_enabled=True,
        # ALL events, without execution data: ids and counts are in the events, parameters and results stay in
        # the table.
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
    )
    nag.acknowledge(
        machine.role, "IAM5",
        f"Invoking the {worker.function.node.id} includes its versions and aliases (`<arn>:*`), still one function; "
        "X-Ray tracing and CloudWatch Logs delivery support no resource-level permissions.",
        nag.getatt_arn_finding(worker.function, ":*"), "Resource::*",
    )
    return machine, log_group
