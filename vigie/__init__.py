"""Vigie: GDPR compliance and governance for a public library network."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy.orm as sa_orm
from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, hooks (in that order)."""
    from vigie import crypto, mail, web
    from vigie.audit import recorder
    from vigie.config import load_config
    from vigie.database import render_migration_type
    from vigie.extensions import babel, csrf, db, limiter, login_manager, migrate

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.update(load_config(Path(app.instance_path), overrides=config))
    Path(app.config["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(ROOT / "migrations"),
        render_as_batch=True,
        compare_type=True,
        render_item=render_migration_type,
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale, default_timezone="Europe/Paris")
    limiter.init_app(app)
    crypto.init_app(app)
    mail.init_app(app)
    recorder.register(sa_orm.Session)

    _register_models()
    from vigie.admin.views import bp as admin_bp
    from vigie.api.views import bp as api_bp
    from vigie.audit.views import bp as audit_bp
    from vigie.auth import loaders  # noqa: F401  (registers the user loaders)
    from vigie.auth.account_views import bp as account_bp
    from vigie.auth.views import bp as auth_bp
    from vigie.deadlines import api as _deadlines_api  # noqa: F401  (adds its routes to the API)
    from vigie.deadlines.feeds import bp as feeds_bp
    from vigie.deadlines.views import bp as deadlines_bp
    from vigie.orgs.views import bp as orgs_bp

    web.register(app)
    for bp in (auth_bp, account_bp, admin_bp, orgs_bp, audit_bp, deadlines_bp, feeds_bp):
        app.register_blueprint(bp)

    from vigie import people

    people.init_app(app)  # the person search; features register their people fields in their init_app

    import compliance
    import governance

    # The features register their pages, their deadline kinds and their API routes; the API
    # blueprint is registered after them, once it holds every route.
    compliance.init_app(app)
    governance.init_app(app)
    app.register_blueprint(api_bp)

    from vigie.auth.access import undeclared_endpoints

    missing = undeclared_endpoints(app)
    if missing:
        raise RuntimeError(
            "every view declares who may open it (@requires or @public); missing: " + ", ".join(missing)
        )
    from vigie.cli import register_commands

    register_commands(app)
    return app


def _register_models() -> None:
    """Import every model module so metadata (and Alembic) sees all tables."""
    from vigie.audit import models as _audit  # noqa: F401
    from vigie.auth import account_tokens as _account_tokens  # noqa: F401
    from vigie.auth import login_log as _login_log  # noqa: F401
    from vigie.auth import models as _auth  # noqa: F401
    from vigie.auth import twofactor as _twofactor  # noqa: F401
    from vigie.deadlines import feed_tokens as _feed_tokens  # noqa: F401
    from vigie.deadlines import models as _deadlines  # noqa: F401
    from vigie.mail import models as _mail  # noqa: F401
    from vigie.orgs import models as _orgs  # noqa: F401
    from vigie.people import models as _people  # noqa: F401
