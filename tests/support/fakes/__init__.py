"""In-memory fakes of the ports in botfleet.ports (and of the few collaborators services take that have no Protocol
there yet), for unit tests of the services. No boto3, no moto, no network.

Each fake mirrors one adapter and keeps its semantics, not its storage: a conditional write becomes a check that
raises the domain error the adapter raises (`WriteConflict`, `AlreadyExists`) or returns False exactly where the
adapter does. Everything that goes in or comes out is copied, as a round trip through a table would. Listings
page with an opaque cursor bound to their partition (a foreign or made-up cursor is a 400 `invalid_cursor`, as
`decode_cursor` answers), in the adapter's order; unlike DynamoDB they hand out a cursor only when more is left.

The clock is botfleet.clock.FixedClock; ThrottleStore and a cheap PasswordHasher are in tests/support/throttle.py
(re-exported here).
"""

from botfleet.clock import FixedClock
from tests.support.fakes.bots import FakeBotRepository, FakeInjections, FakeTradeRepository, a_bot
from tests.support.fakes.keys import FakeKeyTester, FakeStoredKeys, FakeVault
from tests.support.fakes.people import FakeAssistantModel, FakeAssistantStore, FakeAuditLog, FakeUsers
from tests.support.fakes.workflows import FakeExecutions, FakeMarket, FakeQuarantineLog, FakeTrainingRuns
from tests.support.throttle import InMemoryThrottleStore, PlainHasher

__all__ = [
    "FakeAssistantModel", "FakeAssistantStore", "FakeAuditLog", "FakeBotRepository", "FakeExecutions",
    "FakeInjections", "FakeKeyTester", "FakeMarket", "FakeQuarantineLog", "FakeStoredKeys", "FakeTradeRepository",
    "FakeTrainingRuns", "FakeUsers", "FakeVault", "FixedClock", "InMemoryThrottleStore", "PlainHasher", "a_bot",
]

