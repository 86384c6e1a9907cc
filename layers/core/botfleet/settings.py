"""Each function's configuration, validated once at cold start (docs/internals.md, "Environment variables").

`Settings` names every variable any function reads, with its default where one is safe. Each function has its
own model (FUNCTION_SETTINGS) that makes what it cannot work without required; its handler calls
`runtime.configure("<name>")` at import, so a function deployed without, say, TICK_SHARDS fails its cold start
with a message naming the variable, instead of writing bots into a shard no tick reads.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
    ws_url: str = Field("", alias="WS_URL")
    ws_callback_url: str = Field("", alias="WS_CALLBACK_URL")  # empty: no WebSocket API (nothing to send to)
    engine_function_name: str = Field("", alias="ENGINE_FUNCTION_NAME")
    tick_shards: ShardCount | None = Field(None, alias="TICK_SHARDS")  # required wherever bots are written
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


# What a function cannot work without, as required fields of its own model (single inheritance from Settings:
# pydantic merges multiple bases' fields in MRO order, where an optional inherited field can win).
Table = Annotated[str, Field(alias="TABLE_NAME", min_length=1)]
JwtSecret = Annotated[str, Field(alias="JWT_SECRET_ARN", min_length=1)]
Shards = Annotated[int, Field(alias="TICK_SHARDS", ge=1, le=256)]
CallbackUrl = Annotated[str, Field(alias="WS_CALLBACK_URL", min_length=1)]


class AuthSettings(Settings):
    table_name: Table
    jwt_secret_arn: JwtSecret


class BotsSettings(Settings):
    table_name: Table
    jwt_secret_arn: JwtSecret
    tick_shards: Shards


class OpsSettings(Settings):
    table_name: Table
    jwt_secret_arn: JwtSecret


class WsSettings(Settings):
    table_name: Table
    jwt_secret_arn: JwtSecret
    ws_callback_url: CallbackUrl


class BroadcasterSettings(Settings):
    table_name: Table
    ws_callback_url: CallbackUrl


class TickSettings(Settings):
    engine_function_name: Annotated[str, Field(alias="ENGINE_FUNCTION_NAME", min_length=1)]
    tick_shards: Shards


class EngineSettings(Settings):
    table_name: Table
    tick_shards: Shards


class ProvisionSettings(Settings):  # seeds the demo fleet
    table_name: Table
    jwt_secret_arn: JwtSecret
    tick_shards: Shards


class AdminSettings(Settings):
    table_name: Table
    jwt_secret_arn: JwtSecret
    tick_shards: Shards


class KeysSettings(Settings):
    table_name: Table
    jwt_secret_arn: JwtSecret
    keys_kms_key_id: Annotated[str, Field(alias="KEYS_KMS_KEY_ID", min_length=1)]


class TrainingSettings(Settings):  # applying a trained model writes the bot
    table_name: Table
    jwt_secret_arn: JwtSecret
    tick_shards: Shards
    training_state_machine_arn: Annotated[str, Field(alias="TRAINING_STATE_MACHINE_ARN", min_length=1)]


class TrainerSettings(Settings):
    table_name: Table


class QuarantineSettings(Settings):
    table_name: Table
    jwt_secret_arn: JwtSecret


class QuarantinerSettings(Settings):  # redeploys and regenerates bots
    table_name: Table
    tick_shards: Shards


class AssistantSettings(Settings):  # pauses, resumes and stops bots
    table_name: Table
    jwt_secret_arn: JwtSecret
    tick_shards: Shards


FUNCTION_SETTINGS: dict[str, type[Settings]] = {
    "auth": AuthSettings, "bots": BotsSettings, "ops": OpsSettings, "ws": WsSettings,
    "broadcaster": BroadcasterSettings, "tick": TickSettings, "engine": EngineSettings,
    "provision": ProvisionSettings, "admin": AdminSettings, "keys": KeysSettings, "training": TrainingSettings,
    "trainer": TrainerSettings, "quarantine": QuarantineSettings, "quarantiner": QuarantinerSettings,
    "assistant": AssistantSettings,
}


def settings_for(function: str, env: dict[str, Any]) -> Settings:
    """The function's validated settings; ConfigurationError naming what is missing or wrong."""
    try:
        model = FUNCTION_SETTINGS[function]
    except KeyError:
        raise ConfigurationError(f"no settings model for function {function!r}") from None
    return model.from_env(env)
