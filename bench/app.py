"""The application the benchmarks time: Vigie's own factory, plus the floor's bare pages.

The bare pages exist only here (never in the product): `/_bench/bare` for a browser session and
`/api/v1/_bench/bare` for a bearer token. Each goes through everything a real page goes through
(the session or token check, the access check, the session limits, the security headers) and does
nothing else: a page's time above theirs is its own work.

    gunicorn -w 2 'bench.app:create_bench_app()'     # the production-like run (bench/wrk.sh)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask
from flask_login import current_user

from vigie.auth.access import requires
from vigie.auth.roles import Permission

BARE = "/_bench/bare"
BARE_API = "/api/v1/_bench/bare"

bp = Blueprint("bench", __name__)


@bp.route(BARE)
@requires(Permission.SELF)
def bare() -> str:
    return f"ok {current_user.id}"


@bp.route(BARE_API)
@requires(Permission.SELF)
def bare_api() -> dict[str, Any]:
    return {"ok": current_user.id}


def add_bare_pages(app: Flask) -> Flask:
    """Register the bare pages on an app that has served no request yet."""
    if "bench" not in app.blueprints:
        app.register_blueprint(bp)
    return app


def create_bench_app(config: Mapping[str, Any] | None = None) -> Flask:
    from vigie import create_app

    return add_bare_pages(create_app(config))
