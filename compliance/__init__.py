"""Processor obligations, partner by partner: staff, DPO contacts, sub-processors, breaches,
access requests, retention. Its features arrive with their issues; the app factory calls init_app."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the compliance deadline kinds, models, pages and API routes."""
    from compliance import deadline_kinds
    from compliance.access_requests import models as _request_models  # noqa: F401  (tables for Alembic)
    from compliance.breaches import models as _breach_models  # noqa: F401
    from compliance.processor import models as _processor_models  # noqa: F401

    deadline_kinds.register()

    from compliance.processor.services import require_dpo_at_signature
    from vigie import hooks

    hooks.register(hooks.CONVENTION_SIGNED, require_dpo_at_signature)

    from compliance.breaches import api as _breach_api  # noqa: F401  (adds its routes to the API)
    from compliance.breaches.exports import bp as breach_exports_bp
    from compliance.breaches.views import bp as breaches_bp

    app.register_blueprint(breaches_bp)
    app.register_blueprint(breach_exports_bp)

    from compliance.breaches.panels import awaiting_acknowledgement
    from vigie.panels import register_panel

    register_panel(awaiting_acknowledgement)  # the home page's "awaiting acknowledgement" panel

    from compliance.access_requests import api as _request_api  # noqa: F401
    from compliance.access_requests.exports import bp as request_exports_bp
    from compliance.access_requests.inquiry_views import bp as inquiries_bp
    from compliance.access_requests.views import bp as requests_bp
    from compliance.processor import api as _processor_api  # noqa: F401

    app.register_blueprint(requests_bp)
    app.register_blueprint(inquiries_bp)
    app.register_blueprint(request_exports_bp)
