"""REST: /api/keys — the caller's API keys for exchanges and OpenAI: list, read (masked), save, delete, test.

Bodies carry secrets, so their fields are SecretStr: a validation error, a repr or a log line shows `**********`,
never the value. The service (botfleet.services.keys) does the rest.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from botfleet import runtime
from botfleet.http import Caller, json_response, make_resolver, page_view

runtime.configure("keys")  # a missing or wrong setting fails the cold start, naming it
logger, metrics = Logger(), Metrics()
app = make_resolver()


# The longest credential any provider issues is a ~200-character secret; 1,024 leaves room without inviting a
# megabyte "key" into the vault.
Secret = Annotated[SecretStr, Field(min_length=1, max_length=1024)]
ProviderInPath = Annotated[str, Path(max_length=32, description="openai, luno, binance, kucoin, valr or ovex")]


class CredentialsBody(BaseModel):
    """What a provider needs (see GET /api/keys → required_fields); the rest may be absent or null."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    api_key: Secret | None = None
    api_secret: Secret | None = None
    passphrase: Secret | None = None

    def secrets(self) -> dict[str, str]:
        """The plaintext fields that were sent, for the service only."""
        return {name: value.get_secret_value() for name in ("api_key", "api_secret", "passphrase")
                if (value := getattr(self, name)) is not None}


class KeyTestBody(CredentialsBody):
    """`{provider}` tests the stored key; `{provider, api_key, ...}` tests those credentials without saving."""

    provider: str = Field(max_length=32)


@app.get("/api/keys")
def list_keys(caller: Caller):
    """Every provider: `{provider, configured, masked_key, updated_at, last_test, required_fields}`."""
    return page_view(runtime.keys_service().list(caller.user_id), None)


@app.post("/api/keys/test")
def test_key(caller: Caller, body: Annotated[KeyTestBody, Body()]):
    """Calls the provider for real (short timeout); a rejecting or unreachable provider is `ok: false`."""
    result = runtime.keys_service().test(caller.user_id, body.provider, body.secrets() or None)
    metrics.add_metric(name="KeyTests" if result["ok"] else "KeyTestsFailed", unit="Count", value=1)
    return result


@app.get("/api/keys/<provider>")
def get_key(caller: Caller, provider: ProviderInPath):
    """The masked record; `configured: false` when no key is saved; 404 for an unknown provider."""
    return runtime.keys_service().get(caller.user_id, provider)


@app.put("/api/keys/<provider>")
def put_key(caller: Caller, provider: ProviderInPath, body: Annotated[CredentialsBody, Body()]):
    record = runtime.keys_service().put(caller.user_id, provider, body.secrets())
    metrics.add_metric(name="KeysSaved", unit="Count", value=1)
    return record


@app.delete("/api/keys/<provider>", responses={204: {"description": "key deleted (or there was none)"}})
def delete_key(caller: Caller, provider: ProviderInPath):
    runtime.keys_service().delete(caller.user_id, provider)
    return json_response(204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True)
@metrics.log_metrics
def handler(event, context):
    return app.resolve(event, context)
