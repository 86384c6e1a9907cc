"""Alarms: what an operator must hear about, on one SNS topic (and an email, with context botfleet:alarm_email).

Each alarm watches a metric the stack really emits: Lambda's own (`AWS/Lambda`, by FunctionName), Step Functions'
(`AWS/States`, by StateMachineArn), DynamoDB's (`AWS/DynamoDB`, by TableName), and the functions' EMF metrics
(namespace `botfleet`, dimension `service` = `botfleet-<function>`, as Powertools Metrics publishes them: an alarm
without that dimension would watch a series nobody writes). tests/infra/test_infra_monitoring.py holds them to the
names the code publishes.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from botfleet_infra import nag
from botfleet_infra.data import DataConstruct
from botfleet_infra.functions import METRICS_NAMESPACE, BotfleetFunction
from botfleet_infra.settings import BuildSettings

FIVE_MINUTES = Duration.minutes(5)
AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD


def service_metric(name: str, function: str, statistic: str = "Sum") -> cloudwatch.Metric:
    """An EMF metric a function publishes through Powertools Metrics (its `service` is botfleet-<function>)."""
    return cloudwatch.Metric(namespace=METRICS_NAMESPACE, metric_name=name,
                             dimensions_map={"service": f"botfleet-{function}"}, statistic=statistic,
                             period=FIVE_MINUTES)


class MonitoringConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: BuildSettings, tick: BotfleetFunction,
                 engine: BotfleetFunction, broadcaster: BotfleetFunction | None, data: DataConstruct,
                 state_machines: dict[str, sfn.StateMachine]) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alarms", display_name="botfleet alarms", enforce_ssl=True)
        nag.acknowledge(
            self.topic, "SNS2",
            "The topic carries alarm names and states, no data. CloudWatch cannot publish to a topic encrypted with "
            "the AWS-managed SNS key, and a customer-managed key for alarm names is a cost with nothing to protect.")
        if settings.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        # Trading stops: no tick counted in five minutes (the schedule fires every minute), or its runs fail.
        self._alarm("NoTicks", service_metric("Ticks", "tick"), threshold=1,
                    comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                    missing=cloudwatch.TreatMissingData.BREACHING,
                    description="No trading tick in 5 minutes: the schedule or the tick function is down")
        for name, function in (("Tick", tick), ("Engine", engine)):
            # A failed run is not retried (infra/trading.py): that tick's bots of those shards did not trade.
            self._alarm(f"{name}Errors", function.function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                        threshold=1, description=f"The {name.lower()} function failed: its shards missed a tick")
            self._alarm(f"{name}Throttles", function.function.metric_throttles(period=FIVE_MINUTES,
                                                                               statistic="Sum"),
                        threshold=1, description=f"The {name.lower()} function was throttled (account concurrency)")
        for name, machine in state_machines.items():
            self._alarm(f"{name}ExecutionsFailed", machine.metric_failed(period=FIVE_MINUTES, statistic="Sum"),
                        threshold=1, description=f"A {name.lower()} execution failed (its bot is left paused)")
            self._alarm(f"{name}ExecutionsTimedOut", machine.metric_timed_out(period=FIVE_MINUTES, statistic="Sum"),
                        threshold=1, description=f"A {name.lower()} execution timed out (no Catch sees a timeout)")
        for event in ("ReadThrottleEvents", "WriteThrottleEvents"):
            self._alarm(f"Table{event}", data.table.metric(event, period=FIVE_MINUTES, statistic="Sum"),
                        threshold=1, description=f"The state table throttled requests ({event})")
        if broadcaster is not None:
            # Live updates lag: the broadcaster reads the table's stream this far behind its newest record.
            self._alarm("BroadcastLag", broadcaster.function.metric("IteratorAge", period=Duration.minutes(1),
                                                                     statistic="Maximum"),
                        threshold=60_000, periods=3, description="Live updates are more than a minute behind")
            # The account's @connections quota (10,000/s; 2,500/s in af-south-1) is near: posts wait and retry.
            self._alarm("BroadcastThrottled", service_metric("ConnectionPostsThrottled", "broadcaster"),
                        threshold=100, description="@connections posts throttled: the account quota is near")

    def _alarm(self, name: str, metric: cloudwatch.IMetric, *, threshold: float, description: str, periods: int = 1,
               comparison: cloudwatch.ComparisonOperator = AT_LEAST,
               missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING) -> None:
        alarm = cloudwatch.Alarm(self, name, metric=metric, threshold=threshold, evaluation_periods=periods,
                                 comparison_operator=comparison, treat_missing_data=missing,
                                 alarm_description=description)
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms[name] = alarm
