"""Login throttling, the registration limit and logout closing sockets, on the local cloud over HTTP and WebSocket.

Clients bind different loopback addresses (127.0.0.x): the local gateway passes the TCP peer address as the
event's `requestContext.identity.sourceIp`, as API Gateway does."""

from __future__ import annotations

import asyncio
import itertools
import time
from contextlib import contextmanager

import httpx
import pytest
import websockets

from botfleet.origin import ORIGIN_PROOF_HEADER, VIEWER_ADDRESS_HEADER
from tests.e2e.conftest import ws_url

# The product's default registration limit (20 an hour per address), not the raised one of the other modules.
CDK_CONTEXT: dict = {}
PASSWORD = "e2e password 42"
_ids = itertools.count()


@contextmanager
def client_from(cloud, address):
    with httpx.Client(base_url=cloud.url, timeout=30, transport=httpx.HTTPTransport(local_address=address)) as c:
        yield c


def register(client, name="Trader"):
    email = f"throttle{next(_ids)}@e2e.test"
    reply = client.post("/api/auth/register", json={"email": email, "password": PASSWORD, "name": name})
    assert reply.status_code == 201, reply.text
    return email, reply.json()["access_token"]


def login(client, email, password, **kwargs):
    return client.post("/api/auth/login", json={"email": email, "password": password}, **kwargs)


def retry_after(reply) -> int:
    value = int(reply.headers["Retry-After"])  # an integer number of seconds, as the contract says
    assert value >= 1
    return value


def test_a_stranger_guessing_does_not_lock_the_owner_out(cloud, http):
    email, _ = register(http)
    with client_from(cloud, "127.0.0.2") as stranger:
        # Forged addresses change nothing (X-Forwarded-For, or the headers our CloudFront distribution adds, with a
        # guessed proof): the address is the connection's.
        replies = [login(stranger, email, f"wrong password {n}", headers={
            "X-Forwarded-For": f"10.1.1.{n}", VIEWER_ADDRESS_HEADER: f"10.1.1.{n}", ORIGIN_PROOF_HEADER: f"guess {n}"})
            for n in range(10)]
        statuses = [reply.status_code for reply in replies]
        assert statuses[:5] == [401] * 5
        assert 429 in statuses[5:], statuses
        limited = next(reply for reply in replies if reply.status_code == 429)
        assert limited.json()["error"]["code"] == "too_many_attempts" and retry_after(limited) >= 1
        assert login(stranger, email, PASSWORD).status_code == 429  # the stranger's own pair waits, right or wrong
    with client_from(cloud, "127.0.0.3") as owner:
        reply = login(owner, email, PASSWORD)
        assert reply.status_code == 200, reply.text


def test_one_address_trying_many_accounts_gets_429(cloud, http):
    victims = [register(http)[0] for _ in range(3)]
    with client_from(cloud, "127.0.0.5") as sprayer:
        statuses = []
        for n in range(40):
            email = victims[n % len(victims)] if n % 2 else f"nobody{n}@e2e.test"
            reply = login(sprayer, email, f"guess number {n}")
            statuses.append(reply.status_code)
            if reply.status_code == 429:
                assert reply.json()["error"]["code"] == "too_many_attempts" and retry_after(reply) >= 1
                break
        assert statuses[-1] == 429, statuses
        assert 20 <= statuses.count(401) < 40  # 20 free failures across accounts, then the address is slowed
    with client_from(cloud, "127.0.0.6") as elsewhere:  # the same accounts from another address: not slowed
        assert login(elsewhere, victims[0], "guess number 99").status_code == 401


def test_registrations_beyond_the_per_address_limit_get_429(cloud):
    with client_from(cloud, "127.0.0.4") as registrar:
        window = int(time.time()) // 3600
        created, limited = 0, None
        for n in range(45):
            reply = registrar.post("/api/auth/register",
                                   json={"email": f"bulk{n}.{next(_ids)}@e2e.test", "password": PASSWORD, "name": "B"})
            if reply.status_code == 429:
                limited = reply
                break
            assert reply.status_code == 201, reply.text
            created += 1
        assert limited is not None, f"{created} registrations from one address and no 429"
        assert limited.json()["error"]["code"] == "too_many_registrations"
        assert 1 <= retry_after(limited) <= 3600
        # Exactly the default 20, unless the test ran across the hour's edge (a fixed window).
        assert created == 20 if int(time.time()) // 3600 == window else 20 <= created <= 40


def test_logout_closes_the_open_websocket(cloud, http):
    _, token = register(http)

    async def logged_out_while_connected():
        async with websockets.connect(ws_url(http, token)) as socket:
            await socket.send('{"action":"ping"}')
            assert "pong" in await asyncio.wait_for(socket.recv(), 5)
            reply = await asyncio.to_thread(http.post, "/api/auth/logout",
                                            headers={"Authorization": f"Bearer {token}"})
            assert reply.status_code == 204
            with pytest.raises(websockets.exceptions.ConnectionClosed):
                while True:  # the server closes the socket
                    await asyncio.wait_for(socket.recv(), 5)
        with pytest.raises(websockets.exceptions.InvalidStatus):  # and the revoked token cannot reconnect
            async with websockets.connect(ws_url(http, token)):
                pass

    asyncio.run(logged_out_while_connected())
