"""Fixtures: one migrated database per run (SQLite file, or PostgreSQL via TEST_DATABASE_URL),
emptied after each test; an app context per test; factories; logged-in clients."""

from __future__ import annotations

import contextvars
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import Factory
from tests.smtp import smtp_server_fixture  # noqa: F401  (the `smtp_server` fixture)

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
ON_POSTGRES = bool(TEST_DATABASE_URL)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests are deselected on SQLite (never skipped: a skip fails the run)."""
    if ON_POSTGRES:
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("postgres_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A skipped test is a failed test here: a missing tool must never pass CI silently."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped tests are not allowed in Vigie's suite: {report.longrepr}"


@contextmanager
def scratch_database(name: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own for a test that needs one (migrations, a live server): a SQLite file, or on
    PostgreSQL a schema of the test database, dropped afterwards. (A schema, not a database: creating and
    dropping databases forces checkpoints, which take minutes on a busy cluster.)"""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / (name + '.sqlite3')}"
        return
    schema = f"scratch_{name}"
    base = sa.engine.make_url(TEST_DATABASE_URL)
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    scoped = base.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def _closed_port() -> int:
    """A loopback port nothing listens on: an accidental SMTP send fails instead of leaving."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_config(data_dir: Path, database_url: str) -> dict[str, Any]:
    return {
        "ENV_NAME": "testing",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
        "RATELIMIT_STORAGE_URI": "memory://",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": _closed_port(),
        "SERVER_NAME": None,
    }


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as in production.

    Flask reuses an app context that is already pushed, and every test pushes one: without this,
    requests would share `g` (the signed-in user, the locale, CSRF tokens) and the test's session.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DATABASE_URL:
        _reset_postgres(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'vigie-test.sqlite3'}"


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    from flask_migrate import upgrade

    from vigie import create_app

    application = create_app(make_config(tmp_path_factory.mktemp("data"), database_url))
    application.test_client_class = IsolatedClient
    with application.app_context():
        upgrade(revision="heads")  # heads: features developed in parallel may add branches
    yield application
    from vigie.extensions import db

    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _context(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that uses the app gets an app context and an empty database afterwards."""
    if "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    from vigie.extensions import db, limiter

    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()
        _empty_database(db.engine)
    limiter.reset()


def _empty_database(engine: sa.Engine) -> None:
    from vigie.extensions import db

    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(sa.text(f'DELETE FROM "{name}"'))


@pytest.fixture
def factory(app: Flask) -> Factory:
    return Factory()


class WebClient:
    """A test client that signs in through the login form and sends CSRF tokens like a browser."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client

    def csrf(self) -> str:
        return csrf_token(self.app, self.client)

    def login(self, email: str, password: str) -> Any:
        return self.client.post(
            "/login", data={"email": email, "password": password, "csrf_token": self.csrf()}
        )

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.client.post(url, data={**(data or {}), "csrf_token": self.csrf()}, **kwargs)


@pytest.fixture
def web(app: Flask) -> WebClient:
    return WebClient(app, app.test_client())


def french(message: str, **values: Any) -> str:
    """A message as the French pages show it (the msgid while it has no translation)."""
    from flask import current_app
    from flask_babel import force_locale, gettext

    with current_app.test_request_context(), force_locale("fr"):
        return str(gettext(message, **values))


@contextmanager
def counting_queries() -> Iterator[list[str]]:
    """The SQL statements sent inside the block (`with counting_queries() as statements: ...`)."""
    from vigie.extensions import db

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def csrf_token(app: Flask, client: FlaskClient) -> str:
    """A valid CSRF token for the client's session, as a page would embed it."""
    from flask import g, session
    from flask_wtf.csrf import generate_csrf

    with client.session_transaction() as stored, app.test_request_context():
        g.pop("csrf_token", None)  # the test's app context may cache another client's token
        session.update(stored)
        token = str(generate_csrf())
        stored.update(session)
    return token


def sign_in(client: FlaskClient, user: Any) -> None:
    """Put the user in the session directly (for tests that are not about logging in)."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


@pytest.fixture
def sign_in_as(app: Flask) -> Any:
    def make(user: Any) -> WebClient:
        client = app.test_client()
        sign_in(client, user)
        return WebClient(app, client)

    return make
