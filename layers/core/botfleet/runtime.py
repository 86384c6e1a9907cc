"""The composition root: builds each function's services from its environment, once per cold start.

Handlers ask for what they need (`runtime.auth()`, ...); tests call `runtime.reset()` between cases or
inject their own services through the handlers' dependency overrides.
"""

from __future__ import annotations

import functools
import os

from botfleet.clock import SystemClock
from botfleet.settings import Settings, settings_for


def configure(function: str) -> Settings:
    """Called by each handler at import (Lambda's init): validates the environment against the function's own
    settings model, so a missing or wrong value fails the cold start with a message naming it. (Once is enough:
    a function's environment does not change while it runs.)"""
    return settings_for(function, dict(os.environ))


_BUILT: list = []


def _component(build):
    """Build once per execution environment; remembered so tests can reset them all."""
    cached = functools.cache(build)
    _BUILT.append(cached)
    return cached


@_component
def settings() -> Settings:
    """The values, parsed and bounded; which of them a function requires was checked by configure()."""
    return Settings.from_env(dict(os.environ))


@_component
def clock() -> SystemClock:
    return SystemClock()


@_component
def origin_proof() -> str:
    """The secret our CloudFront distribution adds to the requests it forwards (http.app.source_ip); "" where the
    function was given none (no CloudFront in front: the emulators, a stack without the dashboard)."""
    arn = settings().origin_proof_secret_arn
    if not arn:
        return ""
    from botfleet.adapters.security import secret_string

    return secret_string(arn)


@_component
def table():
    from botfleet.adapters.aws import client
    from botfleet.adapters.dynamo import Table

    return Table(settings().table_name, client("dynamodb"))


@_component
def users():
    from botfleet.adapters.dynamo.users import DynamoUserRepository

    return DynamoUserRepository(table())


@_component
def bots():
    from botfleet.adapters.dynamo.bots import DynamoBotRepository

    return DynamoBotRepository(table(), settings().tick_shards)


@_component
def trades():
    from botfleet.adapters.dynamo.bots import DynamoTradeRepository

    return DynamoTradeRepository(table())


@_component
def markets():
    from botfleet.adapters.dynamo.markets import DynamoMarketRepository

    return DynamoMarketRepository(table(), settings().market_seed)


@_component
def connections():
    from botfleet.adapters.dynamo.connections import DynamoConnectionRepository

    return DynamoConnectionRepository(table())


@_component
def throttles():
    from botfleet.adapters.dynamo.throttle import DynamoThrottleStore

    return DynamoThrottleStore(table())


@_component
def auth():
    from botfleet.adapters.security import Argon2PasswordHasher, JwtTokens, jwt_secret_from_env
    from botfleet.domain.throttle import RegistrationPolicy
    from botfleet.services.auth import AuthService

    # Only a function given the @connections endpoint (auth, for logout) can close sockets. Built on first use:
    # every other function asks auth() only to authenticate and should not pay for a management-API client.
    close = (lambda user_id: connection_closer().close_all(user_id)) if settings().ws_callback_url else None
    return AuthService(users(), Argon2PasswordHasher(), JwtTokens(jwt_secret_from_env()), clock(), throttles(),
                       registration_policy=RegistrationPolicy(limit=settings().registrations_per_address_per_hour),
                       close_connections=close)


@_component
def accounts():
    """The owner's own account (the auth function's DELETE /api/auth/me). It stops bots but never starts one, so
    it needs no TICK_SHARDS; it closes sockets where this function has the @connections endpoint."""
    from botfleet.services.accounts import AccountRemoval, AccountService

    close = connection_closer().close_all if settings().ws_callback_url else None
    return AccountService(auth(), users(), AccountRemoval(users(), bots(), clock(), close), audit().record)


@_component
def bot_service():
    from botfleet.services.bots import BotService

    return BotService(bots(), trades(), clock(), keys=keys(), audit=audit(), quarantine=quarantine(),
                      market_data=market_data())


@_component
def market_data():
    """MARKET_DATA=simulator (default) | live | replay (REPLAY_CSV_DIR): where ticks get their market."""
    from botfleet.adapters.dynamo.markets import SimulatedMarketData

    simulator = SimulatedMarketData(markets())
    kind = settings().market_data
    if kind == "simulator":
        return simulator
    from botfleet.adapters.market_data import make_market_data

    return make_market_data(kind, simulator=simulator, csv_dir=settings().replay_csv_dir)


@_component
def live_trader():
    """Live trading for the engine: the owner's keys from the vault, the exchange client for them."""
    if keys() is None:
        return None
    from botfleet.adapters.exchanges import make_client
    from botfleet.adapters.providers import provider_urls_from_env
    from botfleet.domain.orders import ExchangeAuthError
    from botfleet.services.live import LiveTrader, journal_to

    urls = provider_urls_from_env(settings().provider_urls)
    clients: dict[tuple[str, str], object] = {}

    def client_for(bot):
        key = (bot.owner_id, bot.exchange)
        if key not in clients:  # one client per owner and exchange for the life of this environment
            if not keys().is_configured(bot.owner_id, bot.exchange):
                raise ExchangeAuthError(bot.exchange, "no API key is stored for this exchange")
            credentials = dict(keys().credentials_for(bot.owner_id, bot.exchange))
            clients[key] = make_client(bot.exchange, credentials, base_url=urls.get(bot.exchange),
                                       timeout_s=settings().exchange_timeout_s)  # well inside the engine's limit
        return clients[key]

    return LiveTrader(client_for, journal_to(bots(), clock()))


@_component
def engine():
    from botfleet.services.trading import TradingEngine

    return TradingEngine(bots(), market_data(), live_trader(), quarantine(), tick_log())


@_component
def tick_log():
    from botfleet.adapters.dynamo.ticks import DynamoTickLog

    return DynamoTickLog(table())


@_component
def charts():
    from botfleet.adapters.dynamo.injections import DynamoInjections
    from botfleet.services.charts import ChartService

    return ChartService(bots(), trades(), DynamoInjections(table()), markets())


@_component
def capital():
    from botfleet.adapters.dynamo.injections import DynamoInjections
    from botfleet.services.capital import CapitalService

    return CapitalService(bots(), DynamoInjections(table()), market_data(), clock())


@_component
def publisher():
    from botfleet.adapters.websocket import ApiGatewayPublisher

    return ApiGatewayPublisher(settings().ws_callback_url, pool_size=settings().ws_post_concurrency)


@_component
def connection_closer():
    from botfleet.services.realtime import ConnectionCloser

    return ConnectionCloser(connections(), publisher())


@_component
def sessions():
    from botfleet.services.realtime import WebSocketSessions

    return WebSocketSessions(auth(), connections(), publisher(), clock())


@_component
def broadcaster():
    from botfleet.adapters.dynamo.stream import table_changes
    from botfleet.services.realtime import Broadcaster, FanOutPolicy

    policy = FanOutPolicy(concurrency=settings().ws_post_concurrency, posts_per_second=settings().ws_posts_per_second)
    return Broadcaster(connections(), publisher(), clock(), table_changes, policy=policy)


@_component
def audit():
    from botfleet.adapters.dynamo.audit import DynamoAuditLog
    from botfleet.services.admin import AuditTrail

    return AuditTrail(DynamoAuditLog(table()), clock())


@_component
def admin():
    from botfleet.adapters.security import Argon2PasswordHasher
    from botfleet.services.admin import AdminService

    closer = connection_closer() if settings().ws_callback_url else None
    return AdminService(users(), bots(), closer, Argon2PasswordHasher(), audit(), clock(),
                        keys=keys(), quarantine=quarantine())


@_component
def training():
    from botfleet.adapters.stepfunctions import StepFunctionsExecutions
    from botfleet.services.training import TrainingService

    arn = settings().training_state_machine_arn
    executions = StepFunctionsExecutions(arn) if arn else None
    from botfleet.adapters.dynamo.training import DynamoTrainingRuns

    return TrainingService(DynamoTrainingRuns(table()), bots(), markets(), executions, clock(), settings().market_seed)


@_component
def quarantine():
    """The quarantine flow, where this function is wired to its state machine (QUARANTINE_STATE_MACHINE_ARN);
    the config and status API work without it."""
    from botfleet.adapters.stepfunctions import StepFunctionsExecutions
    from botfleet.services.quarantine import QuarantineService

    arn = settings().quarantine_state_machine_arn
    from botfleet.adapters.dynamo.quarantine import DynamoQuarantineLog

    executions = StepFunctionsExecutions(arn) if arn else None
    return QuarantineService(DynamoQuarantineLog(table()), bots(), markets(), executions, clock(),
                             time_scale=settings().time_scale, audit=audit(), market_seed=settings().market_seed)


@_component
def metrics():
    from botfleet.adapters.dynamo.counters import DynamoCounters
    from botfleet.services.metrics import MetricsService

    return MetricsService(bots(), DynamoCounters(table()), clock())


@_component
def keys():
    """The API-key vault service, when this function is configured for it (KEYS_KMS_KEY_ID)."""
    if not settings().keys_kms_key_id:
        return None
    return keys_service()


@_component
def keys_service():
    """The keys function's service: TABLE_NAME, KEYS_KMS_KEY_ID, optional BOTFLEET_PROVIDER_URLS (tests aim
    providers at mock servers) and KEYS_TEST_TIMEOUT_S (default 5)."""
    from botfleet.adapters.aws import client
    from botfleet.adapters.dynamo.api_keys import DynamoStoredKeys
    from botfleet.adapters.providers import ProviderTester, provider_urls_from_env
    from botfleet.adapters.vault import KeyVault
    from botfleet.services.keys import KeyService

    tester = ProviderTester(provider_urls_from_env(settings().provider_urls), timeout_s=settings().keys_test_timeout_s)
    vault = KeyVault(client("kms"), settings().keys_kms_key_id)
    return KeyService(DynamoStoredKeys(table()), vault, clock(), tester, audit=audit().record)


@_component
def assistant():
    """The assistant: the rules always; the caller's openai key through the model where this function can open it
    (KEYS_KMS_KEY_ID). OPENAI_MODEL picks the model; BOTFLEET_PROVIDER_URLS may aim openai at a mock."""
    from botfleet.adapters.dynamo.assistant import DynamoAssistantStore
    from botfleet.adapters.llm import OpenAIAssistantModel
    from botfleet.adapters.providers import provider_urls_from_env
    from botfleet.services.assistant import AssistantService

    urls = provider_urls_from_env(settings().provider_urls)
    # Three model rounds of at most 7 s, inside API Gateway's 29 s integration limit with room to spare.
    model = OpenAIAssistantModel(base_url=urls.get("openai"), model=settings().openai_model,
                                 timeout_s=settings().assistant_model_timeout_s, max_rounds=3)
    return AssistantService(DynamoAssistantStore(table()), bots(), clock(), bot_service=bot_service(), admin=admin(),
                            capital=capital(), quarantine=quarantine(), training=training(), auth=auth(),
                            audit=audit(), keys=keys(), model=model,
                            confirmation_seconds=settings().assistant_confirmation_seconds)


def reset() -> None:
    """Forget everything built so far (tests change the environment between cases)."""
    for built in _BUILT:
        built.cache_clear()
    from botfleet.adapters import aws, security

    aws.client.cache_clear()
    security.jwt_secret_from_env.cache_clear()
