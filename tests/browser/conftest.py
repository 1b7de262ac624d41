"""Browser fixtures: a live Vigie server on a database of its own, filled with the demo data, and
Debian's chromium driven by Playwright.

Reuse in a later browser test:

    pytestmark = pytest.mark.browser

    def test_something(page, live_server, log_in, page_watch):
        log_in("dpo@vigie.example")           # through the login form, demo password
        page.goto("/organisations")            # relative to the live server (context base_url)
        ...
        assert page_watch.foreign_requests() == []
        assert page_watch.csp_violations() == []

- `live_server` (session): `.url`, `.app`; `with live_server.app.app_context(): ...` reads or changes
  its database directly (it is NOT emptied between tests: leave it as you found it).
- `page` (function): a fresh browser context per test (fr-FR, Europe/Paris); a failed test leaves
  `test-artifacts/<test name>.png` at the repository root.
- `page_watch` (function): every request, console message and page error of that page.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Request, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from tests.conftest import make_config, scratch_database

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HOST = "127.0.0.1"
TIMEOUT_MS = 10_000

ANSI_STYLE = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours its request lines

log = logging.getLogger("vigie.tests.live_server")


# --- failure screenshots -------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item (item.rep_setup, rep_call, rep_teardown) for fixtures."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _artifact_name(nodename: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodename).strip("_") or "test"


# --- live server ---------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """Request lines go to a logger (shown by pytest on failure), not straight to stderr."""

    def log(self, type: str, message: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), ANSI_STYLE.sub("", message % args))


@dataclass
class LiveServer:
    app: Flask
    url: str


@pytest.fixture(scope="session")
def live_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database for the live server only: the main suite's one is emptied after each test."""
    with scratch_database("live", tmp_path_factory.mktemp("live-db")) as url:
        yield url


@pytest.fixture(scope="session")
def live_server(live_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from flask_migrate import upgrade

    from vigie import create_app
    from vigie.demo import load_demo
    from vigie.extensions import db

    app = create_app(make_config(tmp_path_factory.mktemp("live-data"), live_database_url))
    with app.app_context():
        upgrade()
        load_demo()
        db.session.commit()
        db.session.remove()

    server: BaseWSGIServer = make_server(HOST, 0, app, threaded=True, request_handler=_QuietHandler)
    url = f"http://{HOST}:{server.server_port}"
    app.config["BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="vigie-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()  # closes the pooled connections (and lets PostgreSQL drop the database)


# --- browser -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"browser tests need Debian's chromium at {CHROMIUM}: install it with "
            "`apt-get install chromium` (never `playwright install`), or deselect them with -m 'not browser'",
            pytrace=False,
        )
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@dataclass
class PageWatch:
    """What a page did: requests it sent, console messages, uncaught script errors."""

    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)  # (type, text)
    page_errors: list[str] = field(default_factory=list)

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def on_console(self, message: ConsoleMessage) -> None:
        self.console.append((message.type, message.text))

    def foreign_requests(self) -> list[str]:
        """Requests that left 127.0.0.1 (data: and blob: URLs never leave the browser)."""
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in {"data", "blob", "about"} and urlsplit(url).hostname != HOST
        ]

    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind == "error"]

    def csp_violations(self) -> list[str]:
        pattern = re.compile(r"content[ -]security[ -]policy", re.IGNORECASE)
        return [text for kind, text in self.console if kind == "error" and pattern.search(text)]


@pytest.fixture
def page_watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(
    browser: Browser, live_server: LiveServer, page_watch: PageWatch, request: pytest.FixtureRequest
) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", timezone_id="Europe/Paris")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("request", page_watch.on_request)
    page.on("console", page_watch.on_console)
    page.on("pageerror", lambda error: page_watch.page_errors.append(str(error)))
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            target = ARTIFACTS / f"{_artifact_name(request.node.name)}.png"
            try:
                page.screenshot(path=str(target), full_page=True)
            except PlaywrightError as exc:  # a crashed page must not hide the test's own failure
                print(f"no screenshot for {request.node.nodeid}: {exc}")
            else:
                print(f"screenshot: {target}")
        context.close()


@pytest.fixture
def log_in(page: Page) -> Callable[..., None]:
    """Sign in through the login form (label-independent, for tests that are not about signing in)."""
    from vigie.demo import DEMO_PASSWORD

    def sign_in(email: str, password: str = DEMO_PASSWORD) -> None:
        page.goto("/login")
        page.locator("input[name=email]").fill(email)
        page.locator("input[name=password]").fill(password)
        with page.expect_navigation():
            page.locator("form[action$='/login'] button[type=submit]").click()
        if urlsplit(page.url).path == "/login":
            raise AssertionError(f"could not sign in as {email}")

    return sign_in
