import os

# Never reach real AWS from tests, whatever the developer's shell has configured.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1", AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_NAMESPACE="botfleet", POWERTOOLS_DEV="false",
    POWERTOOLS_LOG_LEVEL="WARNING",
)
