"""e2e tier: the whole stack on the local cloud, started once per session; tests speak HTTP and WebSocket
to it exactly as a client of the deployed stack would."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import httpx
import pytest

from botfleet_local.cloud import LocalCloud

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@botfleet.test", "admin pass 12345"
_emails = itertools.count()


@pytest.fixture(scope="session")
def cloud():
    with LocalCloud(str(ROOT), port=0, tick_seconds=0, admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD,
                    quiet=True) as running:
        yield running


@pytest.fixture(scope="session")
def http(cloud):
    with httpx.Client(base_url=cloud.url, timeout=30) as client:
        yield client


class User:
    def __init__(self, http: httpx.Client, email: str, password: str, token: str, user: dict):
        self.http, self.email, self.password, self.token, self.user = http, email, password, token, user

    @property
    def headers(self):
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path, **kwargs):
        return self.http.get(path, headers=self.headers, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.http.post(path, headers=self.headers, json=body, **kwargs)

    def patch(self, path, body=None):
        return self.http.patch(path, headers=self.headers, json=body)

    def delete(self, path):
        return self.http.delete(path, headers=self.headers)


@pytest.fixture
def new_user(http):
    def make(name="Trader"):
        email = f"user{next(_emails)}@e2e.test"
        password = "e2e password 42"
        reply = http.post("/api/auth/register", json={"email": email, "password": password, "name": name})
        assert reply.status_code == 201, reply.text
        body = reply.json()
        return User(http, email, password, body["access_token"], body["user"])

    return make


def fire(http, schedule="tick"):
    reply = http.post(f"/_local/schedules/{schedule}/fire")
    assert reply.status_code == 200, reply.text
    return reply.json()


def move_market(http, exchange, symbol, pct):
    reply = http.post(f"/_local/market/{exchange}/{symbol.replace('/', '-')}", json={"move_pct": pct})
    assert reply.status_code == 200, reply.text
    return reply.json()


def ws_url(http, token):
    config = http.get("/api/config").json()
    return f"{config['ws_url']}?token={token}"


def decode(message: str | bytes) -> dict:
    return json.loads(message)
