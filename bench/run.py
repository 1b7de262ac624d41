"""Times the pages and endpoints a user opens daily, in one run and on one database, against the floor.

    python -m bench.run --database-url sqlite:////tmp/bench/bench1.sqlite3 --label 1x [--batch]

For each page: the median and 95th percentile of N requests (after a warm-up) through the app (Flask's
test client: the whole request, session or token check included, no network), the number of SQL
statements it sends, and the ratio to its floor. The floor is what the page cannot avoid: a bare
authenticated page of the same app (bench/app.py, same user, same kind of authentication) plus the raw
SQL that fetches the rows the page shows (run through a pooled connection, rows fetched, no ORM).

`--batch` also times the batch work: `vigie deadlines notify` (twice: the catch-up since the database was
generated, then with nothing due), `vigie retention apply --dry-run` (when the command exists),
`vigie audit verify` and `vigie keys rotate` (rows per second), a breach dossier PDF and the register PDF.

Prints a markdown table and writes the figures as JSON to bench/results/ (kept out of git: the README
holds the figures that matter). Accounts: those of bench/generate.py (password BENCH_PASSWORD).
"""

from __future__ import annotations

import argparse
import contextvars
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from bench.app import BARE, BARE_API, create_bench_app
from bench.generate import BENCH_PASSWORD, CONTROLLER_DOMAIN

RESULTS = Path(__file__).resolve().parent / "results"


# --- measuring ------------------------------------------------------------------------------------


class StatementCounter:
    """Counts the SQL statements sent on an engine (SQLAlchemy's before_cursor_execute)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._seen)
        self.engine = engine

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def close(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)


class IsolatedClient(FlaskClient):
    """Each request in a fresh context, as in production (the runner may hold an app context)."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return contextvars.Context().run(super().open, *args, **kwargs)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Timing:
    median_ms: float
    p95_ms: float
    statements: int  # per request (the median; min and max below when they differ)
    statements_min: int
    statements_max: int
    statuses: list[int]
    size: int  # bytes of the last response

    @property
    def ok(self) -> bool:
        return all(s == 200 for s in self.statuses)


def time_request(counter: StatementCounter, call: Callable[[], Any], iterations: int, warmup: int) -> Timing:
    for _n in range(warmup):
        call()
    times, counts, statuses, size = [], [], [], 0
    for _n in range(iterations):
        before = counter.count
        started = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - started) * 1000)
        counts.append(counter.count - before)
        statuses.append(response.status_code)
        size = len(response.get_data())
    return Timing(
        median_ms=statistics.median(times),
        p95_ms=percentile(times, 0.95),
        statements=int(statistics.median(counts)),
        statements_min=min(counts),
        statements_max=max(counts),
        statuses=sorted(set(statuses)),
        size=size,
    )


def time_sql(engine: sa.Engine, statements: list[tuple[str, dict[str, Any]]], iterations: int) -> float:
    """Median milliseconds of the raw statements, run on one pooled connection, every row fetched."""
    prepared = []
    for sql, params in statements:
        stmt = sa.text(sql)
        for name, value in params.items():
            if isinstance(value, list | tuple):  # `IN :kinds`
                stmt = stmt.bindparams(sa.bindparam(name, expanding=True))
        prepared.append((stmt, params))
    times = []
    for n in range(iterations + 2):
        started = time.perf_counter()
        with engine.connect() as conn:
            for stmt, params in prepared:
                conn.execute(stmt, params).fetchall()
        if n >= 2:  # two warm-up rounds
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


# --- the pages ------------------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    who: str  # the account: dpo, partner, committee, legal; "feed" is the DPO's calendar URL
    path: str
    api: bool = False  # bearer token instead of the browser session
    sql: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Row:
    name: str
    who: str
    path: str
    median_ms: float
    p95_ms: float
    floor_ms: float
    bare_ms: float
    sql_ms: float
    ratio: float
    statements: int
    statements_range: str
    kb: float
    ok: bool
    statuses: list[int]


@dataclass
class Fixture:
    """What the pages need from the database: the accounts, their tokens, a busy partner, a breach."""

    emails: dict[str, str]
    tokens: dict[str, str]
    feed_token: str
    partner_org_id: int
    breach_id: int
    year: int
    dpo_kinds: list[str]
    partner_kinds: list[str]


def prepare(app: Flask) -> Fixture:
    """Find the accounts and records to open; create the API tokens and the calendar feed token."""
    from compliance.breaches.models import Breach, BreachAction, BreachNotification
    from vigie.audit.recorder import acting_as
    from vigie.auth.models import User, UserRole
    from vigie.auth.roles import Role
    from vigie.auth.services import create_api_token, user_by_email
    from vigie.deadlines.feed_tokens import create_feed_token
    from vigie.deadlines.kinds import kinds_visible_to
    from vigie.extensions import db
    from vigie.orgs.models import Organisation, OrganisationKind

    with app.app_context(), acting_as(None, "bench"):
        partner_org_id = db.session.scalar(
            sa.select(Organisation.id)
            .where(Organisation.kind == OrganisationKind.PARTNER)
            .order_by(Organisation.id)
        )
        partner = db.session.scalar(
            sa.select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                User.organisation_id == partner_org_id,
                UserRole.role == Role.PARTNER,
                User.password_hash.is_not(None),
            )
            .order_by(User.id)
        )
        if partner is None:
            raise SystemExit(
                "No partner account with a password: was the database made by bench/generate.py?"
            )
        emails = {
            "dpo": f"dpo1@{CONTROLLER_DOMAIN}",
            "partner": partner.email,
            "committee": f"copil@{CONTROLLER_DOMAIN}",
            "legal": f"juridique@{CONTROLLER_DOMAIN}",
        }
        tokens = {}
        for who in ("dpo", "partner"):
            user = user_by_email(emails[who])
            assert user is not None, emails[who]
            tokens[who] = create_api_token(user, name="bench")[1]
        dpo = user_by_email(emails["dpo"])
        assert dpo is not None
        feed = create_feed_token(dpo)[1]
        db.session.commit()
        # The breach a DPO opens: a recent one with its notifications and its action plan.
        breach_id = db.session.scalar(
            sa.select(Breach.id)
            .where(
                sa.exists().where(BreachNotification.breach_id == Breach.id),
                sa.exists().where(BreachAction.breach_id == Breach.id),
            )
            .order_by(Breach.id.desc())
            .limit(1)
        ) or db.session.scalar(sa.select(Breach.id).order_by(Breach.id.desc()).limit(1))
        if breach_id is None:
            raise SystemExit("No breach in the database.")
        year = db.session.scalar(sa.select(Breach.reported_to_controller_at).where(Breach.id == breach_id))
        return Fixture(
            emails=emails,
            tokens=tokens,
            feed_token=feed,
            partner_org_id=int(partner_org_id or 0),
            breach_id=int(breach_id),
            year=(year or datetime.now(UTC)).year,
            dpo_kinds=[k.code for k in kinds_visible_to(frozenset({Role.DPO}))],
            partner_kinds=[k.code for k in kinds_visible_to(frozenset({Role.PARTNER}))],
        )


def pages(fx: Fixture, now: datetime) -> list[Page]:
    """The pages, each with the raw SQL that fetches the rows it shows."""
    open_page = (
        "SELECT d.id, d.kind, d.title, d.state, d.due_at, d.due_date, d.met_at, o.name FROM deadline d "
        "JOIN organisation o ON o.id = d.organisation_id WHERE d.state = 'open' AND d.kind IN :kinds {extra}"
        "ORDER BY d.due_at, d.id LIMIT 50"
    )
    open_count = "SELECT count(*) FROM deadline d WHERE d.state = 'open' AND d.kind IN :kinds {extra}"
    met = (
        "SELECT d.id, d.title, d.met_at, o.name FROM deadline d "
        "JOIN organisation o ON o.id = d.organisation_id "
        "WHERE d.state = 'met' AND d.kind IN :kinds AND d.met_at >= :since {extra}"
        "ORDER BY d.met_at DESC LIMIT 10"
    )
    overview = (
        "SELECT o.id, o.name, sum(CASE WHEN d.state = 'open' AND d.due_at < :now THEN 1 ELSE 0 END), "
        "sum(CASE WHEN d.state = 'open' THEN 1 ELSE 0 END) FROM organisation o "
        "LEFT JOIN deadline d ON d.organisation_id = o.id AND d.kind IN :kinds "
        "AND (d.state = 'open' OR (d.state = 'met' AND d.met_at >= :year_ago)) "
        "WHERE o.kind = 'partner' AND o.active GROUP BY o.id, o.name ORDER BY o.name"
    )
    own = "AND d.organisation_id = :org "
    dpo = {
        "kinds": fx.dpo_kinds,
        "now": now,
        "since": now - timedelta(days=30),
        "year_ago": now - timedelta(days=365),
    }
    mine = {
        "kinds": fx.partner_kinds,
        "now": now,
        "since": now - timedelta(days=30),
        "org": fx.partner_org_id,
    }

    api_page = (
        "SELECT d.id, d.kind, d.title, d.state, d.due_at, d.due_date, d.met_at, d.organisation_id, o.name "
        "FROM deadline d JOIN organisation o ON o.id = d.organisation_id WHERE d.kind IN :kinds {extra}"
        "ORDER BY d.due_at, d.id LIMIT 50"
    )
    api_count = "SELECT count(*) FROM deadline d WHERE d.kind IN :kinds {extra}"
    overdue = (
        "AND d.state = 'open' AND d.due_at < :now AND d.organisation_id = :org AND d.kind = 'access.inquiry' "
    )
    filtered = {**dpo, "org": fx.partner_org_id}
    breach_list = (
        "SELECT b.id, b.reference, b.status, b.summary, b.discovered_at, b.reported_to_controller_at, "
        "b.aware_at, b.risk_level, o.name FROM breach b JOIN organisation o ON o.id = b.organisation_id "
        "WHERE b.status != 'draft' "
        "ORDER BY coalesce(b.reported_to_controller_at, b.created_at) DESC, b.id DESC "
        "LIMIT 50"
    )
    feed = (
        "SELECT d.id, d.kind, d.title, d.state, d.due_at, d.due_date, d.met_at, d.updated_at, o.name "
        "FROM deadline d JOIN organisation o ON o.id = d.organisation_id WHERE d.kind IN :kinds AND "
        "(d.state = 'open' OR (d.state = 'met' AND d.met_at >= :recent)) "
        "ORDER BY CASE WHEN d.state = 'open' THEN 0 ELSE 1 END, d.due_at, d.id LIMIT 500"
    )
    return [
        Page(
            "DPO dashboard",
            "dpo",
            "/",
            sql=[
                (open_page.format(extra=""), dpo),
                (open_count.format(extra=""), dpo),
                (met.format(extra=""), dpo),
                (overview, dpo),
            ],
        ),
        Page(
            "partner home",
            "partner",
            "/",
            sql=[
                (open_page.format(extra=own), mine),
                (open_count.format(extra=own), mine),
                (met.format(extra=own), mine),
            ],
        ),
        Page(
            "deadline API, unfiltered",
            "dpo",
            "/api/v1/deadlines",
            api=True,
            sql=[(api_page.format(extra=""), dpo), (api_count.format(extra=""), dpo)],
        ),
        Page(
            "deadline API, filtered",
            "dpo",
            f"/api/v1/deadlines?status=overdue&kind=access.inquiry&organisation_id={fx.partner_org_id}",
            api=True,
            sql=[(api_page.format(extra=overdue), filtered), (api_count.format(extra=overdue), filtered)],
        ),
        Page(
            "partner deadline API",
            "partner",
            "/api/v1/deadlines",
            api=True,
            sql=[(api_page.format(extra=own), mine), (api_count.format(extra=own), mine)],
        ),
        Page(
            "breach register",
            "dpo",
            "/breaches/",
            sql=[
                (breach_list, {}),
                ("SELECT count(*) FROM breach b WHERE b.status != 'draft'", {}),
            ],
        ),
        Page(
            "one breach",
            "dpo",
            f"/breaches/{fx.breach_id}",
            sql=[
                (
                    "SELECT b.*, o.name FROM breach b JOIN organisation o ON o.id = b.organisation_id "
                    "WHERE b.id = :id",
                    {"id": fx.breach_id},
                ),
                ("SELECT * FROM breach_notification WHERE breach_id = :id", {"id": fx.breach_id}),
                ("SELECT * FROM breach_action WHERE breach_id = :id", {"id": fx.breach_id}),
                (
                    "SELECT * FROM deadline WHERE subject_type = 'breach' AND subject_id = :id",
                    {"id": fx.breach_id},
                ),
            ],
        ),
        Page(
            "access-request list",
            "dpo",
            "/access-requests/",
            sql=[
                (
                    "SELECT r.id, r.reference, r.status, r.subject_name, r.received_at, r.response_due_date, "
                    "r.forwarded_at, o.name FROM access_request r JOIN organisation o "
                    "ON o.id = r.received_by_organisation_id ORDER BY CASE WHEN r.status = 'open' THEN 0 "
                    "ELSE 1 END, r.response_due_date, r.id DESC LIMIT 50",
                    {},
                ),
                ("SELECT count(*) FROM access_request", {}),
            ],
        ),
        Page(
            "governance home",
            "committee",
            "/governance/",
            sql=[
                (
                    "SELECT * FROM meeting WHERE starts_at >= :now AND cancelled_at IS NULL "
                    "ORDER BY starts_at LIMIT 10",
                    {"now": now - timedelta(hours=12)},
                ),
                (
                    "SELECT * FROM meeting WHERE starts_at < :now ORDER BY starts_at DESC LIMIT 5",
                    {"now": now - timedelta(hours=12)},
                ),
                (
                    "SELECT * FROM action_item WHERE status IN ('open', 'in_progress') "
                    "ORDER BY owner, due_date, id",
                    {},
                ),
                (
                    "SELECT * FROM decision WHERE decided_at >= :since ORDER BY decided_at DESC LIMIT 20",
                    {"since": now - timedelta(days=90)},
                ),
                ("SELECT * FROM body", {}),
            ],
        ),
        Page(
            "convention list",
            "legal",
            "/conventions/",
            sql=[
                (
                    "SELECT c.*, o.name FROM convention c LEFT JOIN organisation o ON o.id = c.partner_id "
                    "ORDER BY c.id",
                    {},
                ),
                (
                    "SELECT * FROM deadline WHERE kind = 'convention.evaluation' AND state = 'open' "
                    "ORDER BY due_at, id",
                    {},
                ),
            ],
        ),
        Page(
            "ICS feed",
            "feed",
            f"/calendar/{fx.feed_token}.ics",
            sql=[(feed, {"kinds": fx.dpo_kinds, "recent": now - timedelta(days=90)})],
        ),
    ]


# --- signing in -----------------------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def sign_in(app: Flask, email: str, password: str = BENCH_PASSWORD) -> FlaskClient:
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    page = client.get("/login")
    match = _CSRF.search(page.get_data(as_text=True))
    if match is None:
        raise SystemExit("The sign-in page has no CSRF token.")
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": match.group(1) or match.group(2)}
    )
    if response.status_code != 302 or client.get(BARE).status_code != 200:
        raise SystemExit(f"Could not sign in as {email} (status {response.status_code}).")
    return client


# --- the run --------------------------------------------------------------------------------------


def run_pages(
    app: Flask,
    iterations: int,
    warmup: int = 3,
    only: list[str] | None = None,
    profile_dir: Path | None = None,
) -> tuple[Fixture, list[Row]]:
    from vigie.extensions import db

    with app.app_context():
        engine = db.engine
    fx = prepare(app)
    clients = {who: sign_in(app, email) for who, email in fx.emails.items()}
    anonymous = IsolatedClient(app, app.response_class, use_cookies=False)
    counter = StatementCounter(engine)
    now = datetime.now(UTC)
    rows = []
    bare_cache: dict[tuple[str, bool], Timing] = {}
    try:
        for page in pages(fx, now):
            if only and page.name not in only:
                continue
            if page.who == "feed":
                call = _get(anonymous, page.path, {})
                floor_key = ("dpo", False)
            elif page.api:
                call = _get(anonymous, page.path, {"Authorization": f"Bearer {fx.tokens[page.who]}"})
                floor_key = (page.who, True)
            else:
                call = _get(clients[page.who], page.path, {})
                floor_key = (page.who, False)
            timing = time_request(counter, call, iterations, warmup)
            if floor_key not in bare_cache:
                who, api = floor_key
                bare = (
                    _get(anonymous, BARE_API, {"Authorization": f"Bearer {fx.tokens[who]}"})
                    if api
                    else _get(clients[who], BARE, {})
                )
                bare_cache[floor_key] = time_request(counter, bare, iterations, warmup)
            bare_ms = bare_cache[floor_key].median_ms
            sql_ms = time_sql(engine, page.sql, iterations)
            floor = bare_ms + sql_ms
            rows.append(
                Row(
                    name=page.name,
                    who=page.who,
                    path=page.path if page.who != "feed" else "/calendar/<token>.ics",
                    median_ms=round(timing.median_ms, 2),
                    p95_ms=round(timing.p95_ms, 2),
                    floor_ms=round(floor, 2),
                    bare_ms=round(bare_ms, 2),
                    sql_ms=round(sql_ms, 2),
                    ratio=round(timing.median_ms / floor, 2) if floor else 0.0,
                    statements=timing.statements,
                    statements_range=(
                        str(timing.statements)
                        if timing.statements_min == timing.statements_max
                        else f"{timing.statements_min}-{timing.statements_max}"
                    ),
                    kb=round(timing.size / 1024, 1),
                    ok=timing.ok,
                    statuses=timing.statuses,
                )
            )
            if profile_dir is not None:
                _profile(profile_dir, page.name, call)
        for who, api in sorted(bare_cache):
            timing = bare_cache[(who, api)]
            rows.append(
                Row(
                    name=f"floor: bare {'API' if api else 'page'} ({who})",
                    who=who,
                    path=BARE_API if api else BARE,
                    median_ms=round(timing.median_ms, 2),
                    p95_ms=round(timing.p95_ms, 2),
                    floor_ms=0.0,
                    bare_ms=round(timing.median_ms, 2),
                    sql_ms=0.0,
                    ratio=0.0,
                    statements=timing.statements,
                    statements_range=str(timing.statements),
                    kb=round(timing.size / 1024, 1),
                    ok=timing.ok,
                    statuses=timing.statuses,
                )
            )
    finally:
        counter.close()
    return fx, rows


def _get(client: FlaskClient, path: str, headers: dict[str, str]) -> Callable[[], Any]:
    return lambda: client.get(path, headers=headers)


def _profile(directory: Path, name: str, call: Callable[[], Any], repeat: int = 20) -> None:
    from pyinstrument import Profiler

    directory.mkdir(parents=True, exist_ok=True)
    profiler = Profiler(interval=0.0005)
    with profiler:
        for _n in range(repeat):
            call()
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    (directory / f"{slug}.txt").write_text(profiler.output_text(show_all=False), encoding="utf-8")


# --- batch work -----------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vigie_command(database_url: str, *args: str) -> tuple[float, int, str]:
    """Run `vigie ARGS` as cron would (a process of its own); (seconds, exit code, output)."""
    env = {
        **os.environ,
        "VIGIE_DATABASE_URL": database_url,
        "VIGIE_ENV": os.environ.get("VIGIE_ENV", "development"),
        "VIGIE_SMTP_PORT": str(_closed_port()),  # no e-mail leaves: the reminders stay queued
    }
    vigie = Path(sys.executable).with_name("vigie")
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (our own console script)
        [str(vigie), *args], env=env, capture_output=True, text=True, check=False
    )
    return time.perf_counter() - started, done.returncode, (done.stdout + done.stderr).strip()


def run_batch(app: Flask, database_url: str, fx: Fixture) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []

    startup = 0.0

    def record(name: str, seconds: float, code: int, output: str, **extra: Any) -> None:
        net = max(seconds - startup, 0.0) if name.startswith("vigie ") else seconds
        results.append(
            {
                "name": name,
                "seconds": round(seconds, 3),
                "net_seconds": round(net, 3),
                "exit": code,
                "output": " / ".join(output.splitlines())[-300:],
                **extra,
            }
        )

    # Process start-up (Python, the app factory) is part of what cron pays: measured alone, and taken
    # off each command's time in `net_seconds` (the rates below are per net second).
    startup = statistics.median(vigie_command(database_url, "--help")[0] for _n in range(3))
    record("start-up (vigie --help)", startup, 0, "")
    for label in ("vigie deadlines notify (catch-up)", "vigie deadlines notify (nothing due)"):
        seconds, code, output = vigie_command(database_url, "deadlines", "notify")
        match = re.search(r"(\d+) reminders sent \((\d+) e-mails queued\), (\d+) deadlines examined", output)
        extra = (
            {"reminders": int(match[1]), "emails": int(match[2]), "examined": int(match[3])} if match else {}
        )
        record(label, seconds, code, output, **extra)
    seconds, code, output = vigie_command(database_url, "retention", "apply", "--dry-run")
    if "No such command" in output:
        record("vigie retention apply --dry-run", 0.0, code, "absent: the command does not exist yet")
    else:
        record("vigie retention apply --dry-run", seconds, code, output)
    seconds, code, output = vigie_command(database_url, "audit", "verify")
    match = re.search(r"(\d+) rows verified", output)
    rows = int(match[1]) if match else 0
    net = max(seconds - startup, 1e-3)
    record("vigie audit verify", seconds, code, output, rows=rows, rows_per_s=round(rows / net))
    seconds, code, output = vigie_command(database_url, "keys", "rotate")
    match = re.search(r"(\d+) values re-encrypted in (\d+) tables \(([\d.]+) s", output)
    values = int(match[1]) if match else 0
    inner = float(match[3]) if match else seconds
    record(
        "vigie keys rotate",
        seconds,
        code,
        output,
        values=values,
        values_per_s=round(values / inner) if inner else 0,
    )
    dpo = sign_in(app, fx.emails["dpo"])
    for name, path, repeat in (
        ("breach dossier PDF", f"/breaches/{fx.breach_id}/dossier.pdf", 3),
        ("breach register PDF", f"/breaches/register.pdf?year={fx.year}", 2),
    ):
        times, status, size = [], 0, 0
        for _n in range(repeat):
            started = time.perf_counter()
            response = dpo.get(path)
            times.append(time.perf_counter() - started)
            status, size = response.status_code, len(response.get_data())
        record(name, statistics.median(times), 0 if status == 200 else status, path, kb=round(size / 1024))
    return results


# --- output ---------------------------------------------------------------------------------------


def markdown(rows: list[Row]) -> str:
    lines = [
        "| page | as | median ms | p95 ms | floor ms (bare + SQL) | × floor | SQL statements | KB |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        floor = f"{r.floor_ms} ({r.bare_ms} + {r.sql_ms})" if r.floor_ms else "—"
        ratio = f"{r.ratio}" if r.ratio else "—"
        flag = "" if r.ok else f" **{r.statuses}**"
        lines.append(
            f"| {r.name}{flag} | {r.who} | {r.median_ms} | {r.p95_ms} | {floor} | {ratio} | "
            f"{r.statements_range} | {r.kb} |"
        )
    return "\n".join(lines)


def batch_markdown(results: list[dict[str, Any]]) -> str:
    lines = ["| batch work | seconds | net of start-up | figures |", "|---|--:|--:|---|"]
    for r in results:
        keys = [k for k in r if k not in {"name", "seconds", "net_seconds", "exit", "output"}]
        figures = ", ".join(f"{k} {r[k]}" for k in keys) or r["output"][:100].replace("|", "/")
        if r["exit"]:
            figures += f" (exit {r['exit']})"
        lines.append(f"| {r['name']} | {r['seconds']} | {r['net_seconds']} | {figures} |")
    return "\n".join(lines)


def database_counts(app: Flask) -> dict[str, int]:
    from bench.generate import count_rows

    with app.app_context():
        return count_rows()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("VIGIE_DATABASE_URL"))
    parser.add_argument("--label", default="", help="e.g. 1x or 100x (names the JSON file)")
    parser.add_argument("-n", "--iterations", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--page", action="append", help="time only this page (repeatable)")
    parser.add_argument("--batch", action="store_true", help="also time the batch work")
    parser.add_argument("--profile", action="store_true", help="write a pyinstrument profile of each page")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url (or set VIGIE_DATABASE_URL)")
    app = create_bench_app({"SQLALCHEMY_DATABASE_URI": args.database_url})
    dialect = sa.engine.make_url(args.database_url).get_backend_name()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    profile_dir = RESULTS / f"profiles-{dialect}-{args.label or 'run'}" if args.profile else None
    counts = database_counts(app)
    fx, rows = run_pages(app, args.iterations, args.warmup, args.page, profile_dir)
    print(
        f"\n{dialect} {args.label}: {counts['deadline']} deadlines, {counts['breach']} breaches, "
        f"{counts['access_request']} access requests; {args.iterations} requests a page\n"
    )
    print(markdown(rows))
    batch = run_batch(app, args.database_url, fx) if args.batch else []
    if batch:
        print()
        print(batch_markdown(batch))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{dialect}-{args.label or 'run'}-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "meta": {
                    "date": stamp,
                    "dialect": dialect,
                    "label": args.label,
                    "iterations": args.iterations,
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                    "python": platform.python_version(),
                    "counts": counts,
                },
                "pages": [asdict(r) for r in rows],
                "batch": batch,
            },
            indent=2,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    print(f"\n{out}")
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
