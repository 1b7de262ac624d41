"""Migrations and models agree; every revision goes up, down and up again, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade

from tests.conftest import make_config, scratch_database
from vigie.extensions import db


def _differences(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, db.metadata))


def test_models_match_the_migrated_schema(app: Flask) -> None:
    assert _differences(db.engine) == []


def test_up_down_up(tmp_path: Path) -> None:
    from vigie import create_app

    with scratch_database("migrations", tmp_path) as url:
        scratch = create_app(make_config(tmp_path, url))
        with scratch.app_context():
            upgrade()
            assert _differences(db.engine) == []
            downgrade(revision="base")
            remaining = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
            assert remaining == set()
            upgrade()
            assert _differences(db.engine) == []
            db.engine.dispose()
