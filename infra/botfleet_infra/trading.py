"""Trading: the once-a-minute TickSchedule, the tick fan-out function and the per-shard engine."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from botfleet_infra import nag
from botfleet_infra.data import DataConstruct, TableAccess
from botfleet_infra.functions import FunctionFactory, FunctionSpec
from botfleet_infra.settings import TICK_SHARDS, BuildSettings

#: A tick is one minute of market time: anything older than that is superseded by the next tick.
TICK_PERIOD = Duration.minutes(1)


class TradingConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: BuildSettings,
        functions: FunctionFactory,
        data: DataConstruct,
    ) -> None:
        super().__init__(scope, construct_id)

        self.engine = functions.create(
            self,
            "Engine",
            FunctionSpec(
                name="engine",
                description="Runs every running bot of a group of shards for one tick",
                memory_mb=1024,
                # Must finish well inside the one-minute tick period.
                timeout=Duration.seconds(50),
            ),
        )
        # Async invocations by tick. A throttled run is retried until the next tick starts (max_event_age), never
        # after: that tick has the same bots. A run that failed is not retried: Lambda waits about a minute before
        # retrying a function error ("Asynchronous invocation", Lambda developer guide), by when the event is past
        # its age and the next tick is under way; retry_attempts above 0 would only look like a safety net.
        # No reserved concurrency: shards run in parallel.
        self.engine.function.configure_async_invoke(retry_attempts=0, max_event_age=TICK_PERIOD)
        # engine reads bots and market state and writes fills, trades and balances: read/write.
        data.connect_bot_writer(self.engine)

        self.tick = functions.create(
            self,
            "Tick",
            FunctionSpec(
                name="tick",
                description="Fans one tick out to the engine: async runs sized by the fleet",
                memory_mb=256,
                timeout=Duration.seconds(30),
                environment={
                    "ENGINE_FUNCTION_NAME": self.engine.function.function_name,
                    "TICK_SHARDS": str(TICK_SHARDS),
                },
            ),
        )
        # tick records the newest tick and reads the shards' sizes (UpdateItem on the FLEET partition only), and
        # invokes the engine (lambda:InvokeFunction on the engine only).
        data.connect_table(self.tick, TableAccess.TICK_LOG)
        self.engine.function.grant_invoke(self.tick.function)
        nag.acknowledge(
            self.tick.role,
            "IAM5",
            "grant_invoke also allows the engine's versions and aliases (`<engine arn>:*`); still this one function.",
            nag.getatt_arn_finding(self.engine.function, ":*"),
        )

        # Construct id `TickSchedule` is part of the contract (docs/internals.md): the local cloud finds the
        # schedule by it.
        self.schedule = events.Rule(
            self,
            "TickSchedule",
            description="Drives trading: one tick per minute",
            schedule=events.Schedule.rate(TICK_PERIOD),
        )
        self.schedule.add_target(
            targets.LambdaFunction(
                self.tick.function,
                # Retries cover throttled or failed deliveries; a tick older than a period is dropped, the
                # next one supersedes it (hence no DLQ: there is nothing to replay).
                retry_attempts=2,
                max_event_age=TICK_PERIOD,
            )
        )
        # A tick that was delivered but failed inside the function is not retried, as for the engine's runs above.
        self.tick.function.configure_async_invoke(retry_attempts=0, max_event_age=TICK_PERIOD)
