"""Quarantine: the state machine that takes a risk-paused bot out of the market for the ladder's wait
(a Wait with SecondsPath, never a sleeping Lambda), retrains it, validates the model out of sample, and
redeploys it — or, at the last rung, regenerates it; the worker function; and the API function."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from botfleet_infra import nag
from botfleet_infra.api import ApiConstruct
from botfleet_infra.catalogue import LONGEST_QUARANTINE_SECONDS
from botfleet_infra.data import DataConstruct, TableAccess
from botfleet_infra.functions import ONE_VCPU_MB, BotfleetFunction, FunctionFactory, FunctionSpec
from botfleet_infra.settings import BuildSettings
from botfleet_infra.workflows import lambda_step, state_machine

STATE_MACHINE_ENV = "QUARANTINE_STATE_MACHINE_ARN"


class QuarantineConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: BuildSettings, functions: FunctionFactory,
                 data: DataConstruct, api: ApiConstruct) -> None:
        super().__init__(scope, construct_id)
        self.worker = functions.create(self, "Quarantiner", FunctionSpec(
            name="quarantiner",
            description="Quarantine steps: begin, retrain (bounded), extend, redeploy, regenerate, safe state",
            memory_mb=ONE_VCPU_MB,  # for the retrain's numpy backtests
            timeout=Duration.minutes(5),
        ))
        data.connect_bot_writer(self.worker)  # redeploys and regenerates bots

        ids = {"owner_id.$": "$.owner_id", "bot_id.$": "$.bot_id", "pause_number.$": "$.pause_number"}

        def step(name: str, payload: dict, result_path: str | None):
            return lambda_step(self, name, self.worker, {**payload, **ids}, result_path)

        begin = step("Begin", {"action": "begin", "started.$": "$"}, "$.ladder")
        wait = sfn.Wait(self, "WaitOutTheLadder", time=sfn.WaitTime.seconds_path("$.ladder.wait_seconds"))
        retrain = step("Retrain", {"action": "retrain"}, "$.retrain")
        redeploy = step("Redeploy", {"action": "redeploy", "params.$": "$.retrain.params"}, "$.redeployed")
        extend = step("Extend", {"action": "extend", "extension.$": "$.ladder.extension"}, "$.ladder")
        regenerate = step("Regenerate", {"action": "regenerate"}, "$.regenerated")
        safe = step("SafeState", {"action": "safe", "error.$": "$.error"}, "$.safe")
        done = sfn.Succeed(self, "Done")
        superseded = sfn.Succeed(self, "Superseded", comment="the pause this execution was for did not happen")
        failed = sfn.Fail(self, "QuarantineFailed", error="QuarantineFailed", cause="a quarantine step failed")
        # A step that failed because a person took the bot out of this quarantine meanwhile (a late step of a
        # stopped execution) leaves the bot as they set it: the execution ends, not as a failure.
        safe.next(sfn.Choice(self, "LeftByHand?").when(
            sfn.Condition.string_equals("$.safe.status", "superseded"),
            sfn.Succeed(self, "LeftQuarantine", comment="a person resumed, paused, stopped or deleted the bot"),
        ).otherwise(failed))
        for task in (begin, retrain, redeploy, extend, regenerate):
            task.add_catch(safe, errors=["States.ALL"], result_path="$.error")

        validated = sfn.Choice(self, "Validated?").when(
            sfn.Condition.boolean_equals("$.retrain.validated", True), redeploy.next(done)
        ).otherwise(extend.next(wait))
        route = sfn.Choice(self, "Route").when(
            sfn.Condition.boolean_equals("$.ladder.skip", True), superseded
        ).when(
            sfn.Condition.boolean_equals("$.ladder.regenerate", True), regenerate.next(sfn.Succeed(self, "Regenerated"))
        ).otherwise(wait.next(retrain).next(validated))

        # Above every wait of one quarantine at its longest (30-day rungs, 5 failed validations: 180 days), plus a
        # day for its steps: a timeout is a failure no Catch sees, which would leave the bot "quarantined" for good.
        # Standard workflows may run for a year; a waiting execution costs nothing.
        self.state_machine, self.log_group = state_machine(
            self, definition=begin.next(route), worker=self.worker,
            timeout=Duration.seconds(LONGEST_QUARANTINE_SECONDS + 86400), settings=settings)

        self.api_function = functions.create(self, "Quarantine", FunctionSpec(
            name="quarantine",
            description="REST /api/quarantine: status with countdowns, history, config (PUT admin-only)",
            memory_mb=256,
            timeout=Duration.seconds(10),
        ))
        data.connect_table(self.api_function, TableAccess.READ_WRITE)
        data.connect_jwt_secret(self.api_function)
        api.route_tree(api.api_resource.add_resource("quarantine"), self.api_function)

    def allow_start(self, target: BotfleetFunction) -> None:
        """The tick's engine starts a quarantine when a bot trips a breaker."""
        target.add_environment(STATE_MACHINE_ENV, self.state_machine.state_machine_arn)
        self.state_machine.grant_start_execution(target.function)

    def allow_stop(self, target: BotfleetFunction) -> None:
        """Resuming a quarantined bot by hand (owner or admin) stops its execution."""
        target.add_environment(STATE_MACHINE_ENV, self.state_machine.state_machine_arn)
        self.state_machine.grant_execution(target.function, "states:StopExecution")
        nag.acknowledge(
            target.role, "IAM5",
            "StopExecution names executions of the quarantine state machine only; the wildcard is the execution "
            "name (bot and pause number), known only at runtime.",
            "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            '{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"' + nag.logical_id(self.state_machine) + '"}]}]}:*',
        )
