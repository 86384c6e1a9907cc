"""Each function's configuration, validated once at cold start (docs/internals.md, "Environment variables").

`Settings` names every variable any function reads, with its default where one is safe. Each function has its
own model (`settings_model`, from REQUIRED) that makes what it cannot work without required; its handler calls
`runtime.configure("<name>")` at import, so a function deployed without, say, TICK_SHARDS fails its cold start
with a message naming the variable, instead of writing bots into a shard no tick reads.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

# Shards run in parallel, one engine invocation each; more than 256 would be more Lambda calls than bots per shard
# for any fleet we can foresee.
ShardCount = Annotated[int, Field(ge=1, le=256)]


class ConfigurationError(RuntimeError):
    """A function's environment is missing or has a wrong value: a deployment mistake, found at cold start."""


class Settings(BaseModel):
    """Everything a function may read; defaults where a missing value is harmless."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    table_name: str = Field("", alias="TABLE_NAME")
    jwt_secret_arn: str = Field("", alias="JWT_SECRET_ARN")
    # The CloudFront distribution's origin proof (botfleet.origin, http.app.source_ip); empty: none in front.
    origin_proof_secret_arn: str = Field("", alias="ORIGIN_PROOF_SECRET_ARN")
    ws_url: str = Field("", alias="WS_URL")
    ws_callback_url: str = Field("", alias="WS_CALLBACK_URL")  # empty: no WebSocket API (nothing to send to)
    engine_function_name: str = Field("", alias="ENGINE_FUNCTION_NAME")
    tick_shards: ShardCount | None = Field(None, alias="TICK_SHARDS")  # required wherever bots are written
    # The tick's target of bots per engine run (services.trading.BOTS_PER_RUN, docs/scaling.md).
    bots_per_run: int = Field(1000, alias="BOTS_PER_RUN", ge=10, le=100_000)
    # The broadcaster's fan-out (docs/websocket.md, "Fan-out at scale"): posts in flight, and this instance's share
    # of the account's @connections throughput (10,000/s; 2,500/s in af-south-1).
    ws_post_concurrency: int = Field(32, alias="WS_POST_CONCURRENCY", ge=1, le=256)
    ws_posts_per_second: float = Field(10_000, alias="WS_POSTS_PER_SECOND", gt=0, le=10_000)
    market_seed: str = Field("botfleet", alias="MARKET_SEED")
    market_data: str = Field("simulator", alias="MARKET_DATA", pattern="^(simulator|live|replay)$")
    replay_csv_dir: str = Field("", alias="REPLAY_CSV_DIR")
    time_scale: float = Field(1.0, alias="BOTFLEET_TIME_SCALE", gt=0)
    registrations_per_address_per_hour: int = Field(20, alias="REGISTRATIONS_PER_ADDRESS_PER_HOUR", ge=1)
    keys_kms_key_id: str = Field("", alias="KEYS_KMS_KEY_ID")  # empty: this function has no key vault
    training_state_machine_arn: str = Field("", alias="TRAINING_STATE_MACHINE_ARN")
    quarantine_state_machine_arn: str = Field("", alias="QUARANTINE_STATE_MACHINE_ARN")
    provider_urls: str = Field("", alias="BOTFLEET_PROVIDER_URLS")  # tests aim providers at mock servers
    keys_test_timeout_s: float = Field(5.0, alias="KEYS_TEST_TIMEOUT_S", gt=0, le=25)
    exchange_timeout_s: float = Field(5.0, alias="EXCHANGE_TIMEOUT_S", gt=0, le=25)
    openai_model: str = Field("gpt-4o-mini", alias="OPENAI_MODEL", min_length=1)
    assistant_model_timeout_s: float = Field(7.0, alias="ASSISTANT_MODEL_TIMEOUT_S", gt=0, le=9)
    assistant_confirmation_seconds: int = Field(120, alias="ASSISTANT_CONFIRMATION_SECONDS", ge=1, le=120)

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Settings:
        """Empty strings count as unset (CloudFormation cannot delete a variable, only blank it)."""
        try:
            return cls.model_validate({key: value for key, value in env.items() if value != ""})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                                 for error in exc.errors())
            raise ConfigurationError(f"{cls.__name__}: {problems}") from None


# What a function cannot work without, as required fields of its own model. The models are built on first use,
# one per process: defining all fifteen at import cost every cold start ~40 ms (pydantic builds a validator per
# model), and a function only ever needs its own.
_REQUIRED_FIELDS: dict[str, Any] = {
    "table_name": Annotated[str, Field(alias="TABLE_NAME", min_length=1)],
    "jwt_secret_arn": Annotated[str, Field(alias="JWT_SECRET_ARN", min_length=1)],
    "tick_shards": Annotated[int, Field(alias="TICK_SHARDS", ge=1, le=256)],
    "ws_callback_url": Annotated[str, Field(alias="WS_CALLBACK_URL", min_length=1)],
    "engine_function_name": Annotated[str, Field(alias="ENGINE_FUNCTION_NAME", min_length=1)],
    "keys_kms_key_id": Annotated[str, Field(alias="KEYS_KMS_KEY_ID", min_length=1)],
    "training_state_machine_arn": Annotated[str, Field(alias="TRAINING_STATE_MACHINE_ARN", min_length=1)],
}

#: function -> the settings it cannot start without. TICK_SHARDS wherever bots are written (provision seeds the
#: demo fleet, training applies a model, the quarantiner redeploys and regenerates, the assistant pauses bots).
REQUIRED: dict[str, tuple[str, ...]] = {
    "auth": ("table_name", "jwt_secret_arn"),
    "bots": ("table_name", "jwt_secret_arn", "tick_shards"),
    "ops": ("table_name", "jwt_secret_arn"),
    "ws": ("table_name", "jwt_secret_arn", "ws_callback_url"),
    "broadcaster": ("table_name", "ws_callback_url"),
    "tick": ("table_name", "engine_function_name", "tick_shards"),
    "engine": ("table_name", "tick_shards"),
    "provision": ("table_name", "jwt_secret_arn", "tick_shards"),
    "admin": ("table_name", "jwt_secret_arn", "tick_shards"),
    "keys": ("table_name", "jwt_secret_arn", "keys_kms_key_id"),
    "training": ("table_name", "jwt_secret_arn", "tick_shards", "training_state_machine_arn"),
    "trainer": ("table_name",),
    "quarantine": ("table_name", "jwt_secret_arn"),
    "quarantiner": ("table_name", "tick_shards"),
    "assistant": ("table_name", "jwt_secret_arn", "tick_shards"),
}


@functools.cache
def settings_model(function: str) -> type[Settings]:
    """`Settings` with what `function` cannot work without made required (e.g. `TickSettings`)."""
    try:
        required = REQUIRED[function]
    except KeyError:
        raise ConfigurationError(f"no settings model for function {function!r}") from None
    fields = {name: (_REQUIRED_FIELDS[name], ...) for name in required}
    return create_model(f"{function.title()}Settings", __base__=Settings, **fields)


def settings_for(function: str, env: dict[str, Any]) -> Settings:
    """The function's validated settings; ConfigurationError naming what is missing or wrong."""
    return settings_model(function).from_env(env)
