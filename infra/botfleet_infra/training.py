"""Training: a Step Functions state machine (prepare → Map of chunk evaluations → reduce, a Catch that marks
the run failed) run by the trainer function, and the training API function that starts and stops it."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from botfleet_infra import nag
from botfleet_infra.api import ApiConstruct
from botfleet_infra.data import DataConstruct, TableAccess
from botfleet_infra.functions import ONE_VCPU_MB, FunctionFactory, FunctionSpec
from botfleet_infra.settings import BuildSettings
from botfleet_infra.workflows import lambda_step, state_machine

#: Chunks evaluated at once: enough to use a few cores' worth of Lambdas, few enough not to starve the account.
MAP_CONCURRENCY = 4


class TrainingConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: BuildSettings, functions: FunctionFactory,
                 data: DataConstruct, api: ApiConstruct) -> None:
        super().__init__(scope, construct_id)
        self.trainer = functions.create(self, "Trainer", FunctionSpec(
            name="trainer",
            description="Training state machine steps: prepare, evaluate a chunk, reduce, fail",
            memory_mb=ONE_VCPU_MB,  # the numpy backtest is CPU-bound
            timeout=Duration.minutes(5),
        ))
        # Reads bots and markets, writes runs, progress, models and the lock.
        data.connect_table(self.trainer, TableAccess.READ_WRITE)

        def step(name: str, payload: dict, result_path: str | None):
            return lambda_step(self, name, self.trainer, payload, result_path)

        ids = {"run_id.$": "$.run_id", "owner_id.$": "$.owner_id", "bot_id.$": "$.bot_id"}
        prepare = step("Prepare", {"action": "prepare", **ids}, "$.prepared")
        evaluate = step("Evaluate", {"action": "evaluate", "item.$": "$"}, None)
        chunks = sfn.Map(self, "EvaluateChunks", items_path="$.prepared.chunks", max_concurrency=MAP_CONCURRENCY,
                         result_path="$.results")
        chunks.item_processor(evaluate)
        reduce = step("Reduce", {"action": "reduce", "results.$": "$.results", **ids}, "$.outcome")
        failed = step("MarkFailed", {"action": "fail", "error.$": "$.error", **ids}, "$.marked")
        fail = sfn.Fail(self, "RunFailed", error="TrainingFailed", cause="a training step failed")
        failed.next(fail)
        for state in (prepare, chunks, reduce):
            state.add_catch(failed, errors=["States.ALL"], result_path="$.error")

        self.state_machine, self.log_group = state_machine(
            self, definition=prepare.next(chunks).next(reduce), worker=self.trainer, timeout=Duration.minutes(30),
            settings=settings)

        self.api_function = functions.create(self, "Training", FunctionSpec(
            name="training",
            description="REST /api/training: start, status, stop, history, apply",
            memory_mb=512,
            timeout=Duration.seconds(15),
            environment={"TRAINING_STATE_MACHINE_ARN": self.state_machine.state_machine_arn},
        ))
        data.connect_bot_writer(self.api_function)  # applying a trained model writes the bot
        data.connect_jwt_secret(self.api_function)
        self.state_machine.grant_start_execution(self.api_function.function)
        self.state_machine.grant_execution(self.api_function.function, "states:StopExecution")
        nag.acknowledge(
            self.api_function.role, "IAM5",
            "StopExecution names executions of this state machine only; the wildcard is the execution name "
            "(a run id), known only at runtime.",
            "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            '{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"' + nag.logical_id(self.state_machine) + '"}]}]}:*',
        )
        resource = api.api_resource.add_resource("training")
        api.route_tree(resource, self.api_function)
