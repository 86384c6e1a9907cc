"""docs/websocket.md's nginx configuration, exactly as published (only ports and file paths changed), in front
of the local cloud: Debian's nginx terminates TLS, and a trade arrives over the proxied `wss://` WebSocket
whose URL /api/config handed out."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from botfleet_local.cloud import LocalCloud
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, E2E_CONTEXT, ROOT, decode, fire, move_market

DOC = ROOT / "docs" / "websocket.md"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SERVER_NAME = "botfleet.example.com"
BOT = {"name": "proxied trend", "exchange": "luno", "symbol": "BTC/ZAR", "strategy": "sma_cross",
       "params": {"fast": 2, "slow": 3}, "mode": "paper", "capital": "50000"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


HTTP_PORT, HTTPS_PORT = _free_port(), _free_port()


def published_config() -> str:
    """The nginx block between the doc's markers: the test runs what readers copy."""
    text = DOC.read_text()
    block = re.search(r"<!-- nginx-config:begin -->\s*```nginx\n(.*?)```\s*<!-- nginx-config:end -->", text, re.S)
    assert block, "docs/websocket.md lost its nginx-config block"
    return block.group(1)


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the published configuration no longer has exactly one {old!r}"
    return text.replace(old, new)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for the doc's server name and 127.0.0.1, its own CA: the client verifies it for real."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def cloud():
    with LocalCloud(str(ROOT), port=0, tick_seconds=0, admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD,
                    quiet=True, context=E2E_CONTEXT, public_url=f"https://127.0.0.1:{HTTPS_PORT}") as running:
        yield running


@pytest.fixture(scope="module")
def nginx(cloud, tmp_path_factory):
    assert os.path.exists(NGINX), "nginx is not installed (make test installs Debian's nginx)"
    work = tmp_path_factory.mktemp("nginx")
    cert, key = _self_signed(work)
    site = published_config()
    site = _replace_once(site, "server 127.0.0.1:8000;", f"server 127.0.0.1:{cloud.port};")
    site = _replace_once(site, "listen 80;", f"listen 127.0.0.1:{HTTP_PORT};")
    site = _replace_once(site, "listen 443 ssl http2;", f"listen 127.0.0.1:{HTTPS_PORT} ssl http2;")
    site = _replace_once(site, "/etc/ssl/botfleet/fullchain.pem", str(cert))
    site = _replace_once(site, "/etc/ssl/botfleet/privkey.pem", str(key))
    (work / "botfleet.conf").write_text(site)
    # The parts of nginx.conf a distribution ships, pointed into the test's directory.
    temp = {name: work / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    (work / "nginx.conf").write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {work}/access.log;
    {" ".join(f"{name}_temp_path {path};" for name, path in temp.items())}
    include {work}/botfleet.conf;
}}
""")
    checked = subprocess.run([NGINX, "-t", "-c", str(work / "nginx.conf"), "-p", str(work)], capture_output=True,
                             text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([NGINX, "-c", str(work / "nginx.conf"), "-p", str(work)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", HTTPS_PORT), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, (work / "error.log").read_text()
            time.sleep(0.05)
    trust = ssl.create_default_context(cafile=str(cert))
    yield trust
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def proxied(nginx):
    with httpx.Client(base_url=f"https://127.0.0.1:{HTTPS_PORT}", verify=nginx, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def direct(cloud):
    """The machine's own view (loopback, no proxy): the control plane lives only here."""
    with httpx.Client(base_url=cloud.url, timeout=30) as client:
        yield client


def test_plain_http_is_redirected_to_https(nginx):
    reply = httpx.get(f"http://127.0.0.1:{HTTP_PORT}/api/health")
    assert reply.status_code == 301 and reply.headers["location"] == "https://127.0.0.1/api/health"


def test_the_control_plane_is_not_reachable_through_the_proxy(proxied, direct):
    assert proxied.post("/_local/schedules/tick/fire").status_code == 404
    assert proxied.get("/api/health").json()["status"] == "ok"
    assert "strict-transport-security" in proxied.get("/api/health").headers


def test_a_trade_arrives_over_the_proxied_websocket(proxied, direct, nginx):
    email = "proxied@e2e.test"
    registered = proxied.post("/api/auth/register", json={"email": email, "password": "proxy password 42",
                                                          "name": "Proxied"})
    assert registered.status_code == 201, registered.text
    token = registered.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    created = proxied.post("/api/bots", json=BOT, headers=headers)
    assert created.status_code == 201, created.text
    bot = created.json()

    config = proxied.get("/api/config").json()
    assert config["ws_url"] == f"wss://127.0.0.1:{HTTPS_PORT}/api/ws"  # the public URL, not the loopback port

    async def journey():
        async with websockets.connect(f"{config['ws_url']}?token={token}", ssl=nginx) as connection:
            await connection.send('{"action":"ping"}')
            assert decode(await asyncio.wait_for(connection.recv(), 5))["type"] == "pong"
            move_market(direct, "luno", "BTC/ZAR", 4)  # a rally: the fast SMA crosses above the slow
            await asyncio.to_thread(fire, direct)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                message = decode(await asyncio.wait_for(connection.recv(), deadline - time.monotonic()))
                if message.get("type") == "trade":
                    return message
            raise AssertionError("no trade arrived over the proxied WebSocket")

    trade = asyncio.run(journey())
    assert trade["data"]["bot_id"] == bot["id"] and trade["data"]["side"] == "buy"
    rest = proxied.get(f"/api/bots/{bot['id']}/trades", headers=headers).json()["items"]
    assert [item["id"] for item in rest] == [trade["data"]["id"]]


def test_a_bad_token_is_refused_at_the_proxied_handshake(nginx):
    async def connect():
        async with websockets.connect(f"wss://127.0.0.1:{HTTPS_PORT}/api/ws?token=not-a-token", ssl=nginx):
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        asyncio.run(connect())
    assert refused.value.response.status_code == 401
