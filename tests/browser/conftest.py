"""Browser tier: the built dashboard (web/dist) in Debian's chromium, driven by Playwright's Python API, against the
real local cloud (started like the e2e tier's: port 0, ticks only when fired). Nothing is mocked: the page speaks
HTTP and WebSocket to the cloud, and the tests move the market and fire ticks through its control plane.

Playwright's own browser download cannot work here, so chromium is Debian's (`make system-packages`), launched
with the flags a locked-down machine needs (no background networking). axe-core comes from web/'s npm lock and is
injected into each page. Screenshots go to tests/browser/artifacts/ (git-ignored)."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from botfleet_local.cloud import LocalCloud
from tests.e2e.conftest import User, fire, move_market  # noqa: F401 - the same client helpers as the e2e tier; fire and move_market are re-exported to the tests

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
ADMIN_EMAIL, ADMIN_PASSWORD = "root@botfleet.test", "browser admin passphrase 7"
PASSWORD = "browser password 42"
CONTEXT = {"botfleet:registrations_per_address_per_hour": 10000}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
# The user's zone is not UTC, so "times in the user's zone" is exercised.
TIMEZONE = "Africa/Johannesburg"
_emails = itertools.count()


@pytest.fixture(scope="session")
def built_dashboard():
    """web/dist, built by `make web` (a no-op when up to date; npm ci only when node_modules is missing)."""
    if shutil.which("npm") is None and not (DIST / "index.html").exists():
        pytest.fail("npm is needed to build the dashboard (apt-get install nodejs npm), or build web/dist first")
    if shutil.which("npm") is not None:
        subprocess.run(["make", "-s", "web"], cwd=ROOT, check=True)
    assert (DIST / "index.html").exists()
    return DIST


@pytest.fixture(scope="module")
def cloud(built_dashboard):
    with LocalCloud(str(ROOT), port=0, tick_seconds=0, time_scale=1, admin_email=ADMIN_EMAIL,
                    admin_password=ADMIN_PASSWORD, quiet=True, context=CONTEXT) as running:
        yield running


@pytest.fixture(scope="module")
def http(cloud):
    with httpx.Client(base_url=cloud.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def playwright_driver():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system-packages` installs Debian's chromium")
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


class Page:
    """A Playwright page plus what the tests check on every view: no uncaught errors, axe, screenshots."""

    def __init__(self, page, base_url: str):
        self.page, self.base_url = page, base_url
        self.errors: list[str] = []
        # Nothing may come from another origin at run time (no CDN fonts or scripts).
        origin = base_url.split("://", 1)[1]
        page.on("request", lambda request: None if request.url.split("://", 1)[-1].startswith(origin)
                or request.url.startswith(("data:", "blob:")) else self.errors.append(f"foreign request {request.url}"))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda message: self.errors.append(message.text)
                if message.type == "error" and not _expected_console_error(message.text) else None)

    def __getattr__(self, name):
        return getattr(self.page, name)

    def open(self, route: str = "/"):
        self.page.goto(f"{self.base_url}/#{route}")
        self.page.locator("#page-title, .auth-card h1").first.wait_for()

    def go(self, route: str):
        """Navigate inside the app (a hash change: the socket and the session stay)."""
        self.page.evaluate("route => { location.hash = route }", route)
        self.page.wait_for_function("route => location.hash === '#' + route", arg=route)
        self.page.locator("#page-title").wait_for()

    def settle(self):
        """Let the view finish loading: no spinner left."""
        self.page.wait_for_function("() => !document.querySelector('.loading')", timeout=15000)

    def screenshot(self, name: str, full_page: bool = True):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)

    def axe(self, name: str):
        """axe-core on the page as it is now: no serious or critical violation."""
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(path=str(AXE))
        result = self.page.evaluate("""async () => {
            const r = await axe.run(document, { resultTypes: ['violations'] });
            return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary) }));
        }""")
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(result, indent=2))
        assert not bad, f"axe on {name}: " + json.dumps(bad, indent=2)

    def check(self, name: str):
        """What every view gets: settle, axe, screenshot."""
        self.settle()
        self.axe(name)
        self.screenshot(name)


def _expected_console_error(text: str) -> bool:
    # The browser logs every non-2xx fetch as a console error; the app handles those (404 on a missing chart, the
    # 401 of a revoked token) and the tests assert on what the page shows instead.
    return "Failed to load resource" in text or "WebSocket connection" in text


@pytest.fixture
def make_page(browser, cloud):
    """New pages, each in its own browser context (its own session storage: its own signed-in user). At teardown,
    no page may have thrown an uncaught error or logged one."""
    made: list[tuple[object, Page]] = []

    def make(viewport=DESKTOP, color_scheme="dark", **options):
        context = browser.new_context(viewport=viewport, color_scheme=color_scheme, locale="en-ZA",
                                      timezone_id=TIMEZONE, accept_downloads=True, **options)
        context.set_default_timeout(15000)
        created = Page(context.new_page(), cloud.url)
        made.append((context, created))
        return created

    yield make
    errors = [error for _, created in made for error in created.errors]
    for context, _ in made:
        context.close()
    assert not errors, errors


@pytest.fixture
def page(make_page):
    return make_page()


def new_email(prefix="trader") -> str:
    return f"{prefix}{next(_emails)}@browser.test"


@pytest.fixture
def new_user(http):
    def make(name="Trader"):
        email = new_email()
        reply = http.post("/api/auth/register", json={"email": email, "password": PASSWORD, "name": name})
        assert reply.status_code == 201, reply.text
        body = reply.json()
        return User(http, email, PASSWORD, body["access_token"], body["user"])

    return make


def sign_in(page: Page, email: str, password: str = PASSWORD):
    page.open("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.locator("header.topbar").wait_for()
    page.locator("[data-testid=connection][data-state=live]").wait_for()
