"""A smoke run of the benchmarks (bench/): the generator at a tiny scale, through the services, then every
page of the runner once. The figures themselves are never part of the suite's verdict (bench/README.md
holds them); here, only that the tools work: the data holds every invariant and every page answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import make_config
from vigie.extensions import db


@pytest.fixture
def bench_app(app: Flask, database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """A second app on the suite's database, with the bench's bare pages (the suite's own app must not
    grow routes: the authorisation table covers exactly the product's)."""
    from bench.app import create_bench_app

    application = create_bench_app(make_config(tmp_path / "data", database_url))
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_generator_then_every_page(bench_app: Flask) -> None:
    from bench.generate import generate
    from bench.run import run_pages
    from vigie.audit.services import verify_chain
    from vigie.deadlines.models import Deadline, DeadlineEvent

    end = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)  # fourteen months of a tiny network
    with bench_app.app_context():
        summary = generate(0.02, seed=7, end=end, notify_every=timedelta(days=7))
        counts = summary.counts
        assert counts["breach"] >= 3 and counts["access_request"] >= 5 and counts["meeting"] >= 2
        assert counts["deadline"] > counts["access_request"]  # responses, inquiries, CNIL, actions
        # Through the services: each clock has its history, the audit chain holds, no e-mail is pending.
        events = db.session.scalar(sa.select(sa.func.count()).select_from(DeadlineEvent))
        assert events is not None and events >= counts["deadline"]
        assert verify_chain().ok
        opened = db.session.scalar(sa.select(sa.func.max(Deadline.opened_at)))
        assert opened is not None and opened <= end
        assert counts["outbox_message"] > 0
        assert _second_run_refused(end)

    fixture, rows = run_pages(bench_app, iterations=1, warmup=0)
    assert fixture.breach_id
    pages = [r for r in rows if not r.name.startswith("floor")]
    assert len(pages) == 11
    for row in rows:
        assert row.ok, (row.name, row.statuses)
        assert row.statements > 0, row.name
        assert row.median_ms > 0
    assert all(r.floor_ms > 0 for r in pages)


def _second_run_refused(end: datetime) -> bool:
    """The generator fills an empty database only: a second run stops at once, touching nothing."""
    from bench.generate import generate

    with pytest.raises(SystemExit, match="not empty"):
        generate(0.02, seed=7, end=end)
    return True
