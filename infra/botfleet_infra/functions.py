"""The one way this app makes a Lambda function (and the two layers every function carries)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from botfleet_infra import bundling, nag
from botfleet_infra.settings import ARCHITECTURE, RUNTIME, BuildSettings

HANDLER = "handler.handler"
METRICS_NAMESPACE = "botfleet"
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
#: The memory at which Lambda gives a function one full vCPU: its CPU share is memory / 1,769 MB ("Lambda allocates
#: CPU power in proportion to the amount of memory configured"). For the CPU-bound functions.
ONE_VCPU_MB = 1769


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between functions: name (= directory under functions/), sizing and own env vars."""

    name: str
    description: str
    memory_mb: int = 256
    timeout: Duration = field(default_factory=lambda: Duration.seconds(10))
    environment: Mapping[str, str] = field(default_factory=dict)


class SharedLayers(Construct):
    """The two layers every function carries.

    core: the `botfleet` package as `python/botfleet` (Lambda mounts layers at /opt and puts /opt/python on
    sys.path). deps: third-party runtime deps from layers/deps/requirements.txt.
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: BuildSettings) -> None:
        super().__init__(scope, construct_id)
        self.core = lambda_.LayerVersion(
            self,
            "CoreLayer",
            code=bundling.core_layer_code(settings),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="botfleet core package (domain + adapters)",
            removal_policy=settings.stateful_removal_policy,
        )
        self.deps = lambda_.LayerVersion(
            self,
            "DepsLayer",
            code=bundling.deps_layer_code(settings),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="botfleet third-party runtime dependencies"
            + (" (LIGHT build: placeholder, not installed)" if settings.light else ""),
            removal_policy=settings.stateful_removal_policy,
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.deps, self.core]


class BotfleetFunction(Construct):
    """A function with its own role, its own log group and the project-wide defaults.

    - Its own execution role, so grants made to one function never leak to another.
    - An explicit log group with retention instead of `log_retention=` (that prop deploys a Node.js custom
      resource, which emulators never complete) and instead of the AWSLambdaBasicExecutionRole managed policy
      (which allows writing to *every* log group): the role may only write to its own log group.
    - X-Ray active tracing (Powertools Tracer), Powertools env vars.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FunctionSpec,
        layers: SharedLayers,
        settings: BuildSettings,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=LOG_RETENTION,
            removal_policy=settings.stateful_removal_policy,
        )
        self.role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of the botfleet {spec.name} function",
        )
        self.log_group.grant_write(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=bundling.function_code(settings, spec.name),
            layers=layers.all,
            role=self.role,
            log_group=self.log_group,
            # JSON: the core's stdlib loggers (the engine's "bot failed in the tick", the broadcaster's retries) go
            # through the runtime's handler, which in Text format drops their `extra` fields (the bot id) and the
            # request id; in JSON it keeps both. Powertools' own lines are JSON already and pass as they are.
            logging_format=lambda_.LoggingFormat.JSON,
            memory_size=spec.memory_mb,
            timeout=spec.timeout,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "POWERTOOLS_SERVICE_NAME": f"botfleet-{spec.name}",
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "LOG_LEVEL": "INFO",
                **spec.environment,
            },
        )

        nag.acknowledge(
            self.role,
            "IAM5",
            "X-Ray active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no "
            "resource-level permissions (resource must be *).",
            "Resource::*",
        )
        nag.acknowledge(
            self.function,
            "L1",
            "python3.13 and python3.14 share the same AWS deprecation date (2029-06-30); 3.13 has the more "
            "mature wheel ecosystem for the deps layer (settings.py explains the choice).",
        )

    def add_environment(self, key: str, value: str) -> None:
        self.function.add_environment(key, value)


class FunctionFactory:
    """Creates every function of the app with the same layers and settings (the one factory)."""

    def __init__(self, scope: Construct, *, settings: BuildSettings) -> None:
        self.settings = settings
        self.layers = SharedLayers(scope, "SharedLayers", settings=settings)

    def create(self, scope: Construct, construct_id: str, spec: FunctionSpec) -> BotfleetFunction:
        return BotfleetFunction(scope, construct_id, spec=spec, layers=self.layers, settings=self.settings)
