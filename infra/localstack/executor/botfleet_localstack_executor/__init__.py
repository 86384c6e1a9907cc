"""LocalStack plugin: run Lambda functions as host processes instead of Docker containers.

LocalStack's community edition runs functions only in Docker, and this machine has no Docker engine. LocalStack
picks its runtime executor from the entry point group `localstack.lambda.runtime_executor` by the name in
LAMBDA_RUNTIME_EXECUTOR; this package registers `botfleet-host` there (see pyproject.toml). The executor itself
(host.py) is imported lazily, as LocalStack's own docker plugin does, so merely listing plugins stays cheap.
"""

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin

#: The value of LAMBDA_RUNTIME_EXECUTOR that selects this executor.
EXECUTOR_NAME = "botfleet-host"


class HostRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = EXECUTOR_NAME

    def load(self, *args, **kwargs):
        from botfleet_localstack_executor.host import HostRuntimeExecutor

        return HostRuntimeExecutor
