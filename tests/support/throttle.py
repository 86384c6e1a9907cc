"""In-memory fakes for the auth service: a ThrottleStore with the DynamoDB adapter's semantics (compare-and-set
on the revision, all-or-nothing claims, a window counter refusing past its limit) and a cheap password hasher."""

from __future__ import annotations

from dataclasses import replace

from botfleet.domain.throttle import Counter


class InMemoryThrottleStore:
    def __init__(self):
        self.counters: dict[tuple[str, str], Counter] = {}
        self.windows: dict[tuple[str, str, int], int] = {}
        self.expiry: dict[tuple[str, str], int] = {}
        self.claims = 0

    def read(self, scope, key):
        return self.counters.get((scope, key))

    def claim(self, writes):
        for write in writes:
            current = self.counters.get((write.scope, write.key))
            if (current.revision if current else None) != (write.seen.revision if write.seen else None):
                return False
        for write in writes:
            self._store(write.scope, write.key, write.new, write.expires_at)
        self.claims += 1
        return True

    def succeed(self, scope, key, counter, expires_at):
        self._store(scope, key, counter, expires_at)

    def give_back(self, scope, key):
        current = self.counters.get((scope, key))
        if current and current.score >= 1:
            self.counters[(scope, key)] = replace(current, score=current.score - 1, revision=current.revision + 1)

    def count_in_window(self, scope, key, window_start, limit, expires_at):
        counted = self.windows.get((scope, key, window_start), 0)
        if counted >= limit:
            return False
        self.windows[(scope, key, window_start)] = counted + 1
        return True

    def _store(self, scope, key, counter, expires_at):
        current = self.counters.get((scope, key))
        self.counters[(scope, key)] = replace(counter, revision=(current.revision if current else 0) + 1)
        self.expiry[(scope, key)] = expires_at


class PlainHasher:
    """Not a password hash: lets policy tests run thousands of attempts. Counts verifications."""

    def __init__(self):
        self.verified = 0

    def hash(self, password):
        return f"plain:{password}"

    def verify(self, stored_hash, password):
        self.verified += 1
        return stored_hash is not None and stored_hash == f"plain:{password}"
