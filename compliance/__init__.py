"""Processor obligations, partner by partner: staff, DPO contacts, sub-processors, breaches,
access requests, retention. Its features arrive with their issues; the app factory calls init_app."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the compliance deadline kinds, models, pages and API routes."""
    from compliance import deadline_kinds
    from compliance.access_requests import models as _request_models  # noqa: F401  (tables for Alembic)
    from compliance.breaches import models as _breach_models  # noqa: F401
    from compliance.processor import models as _processor_models  # noqa: F401
    from compliance.records import models as _records_models  # noqa: F401
    from compliance.staff_lists import models as _staff_list_models  # noqa: F401

    deadline_kinds.register()

    from compliance import people_fields

    people_fields.register()  # its name and e-mail columns, for the person search (vigie.people)

    from compliance import retention

    retention.register()  # its retention policies (`vigie retention apply`)

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

    from compliance.staff_lists.views import bp as staff_lists_bp

    app.register_blueprint(staff_lists_bp)

    from compliance.scorecard import api as _scorecard_api  # noqa: F401
    from compliance.scorecard.views import bp as scorecard_bp

    app.register_blueprint(scorecard_bp)

    from compliance.processor.views import bp as processor_bp

    app.register_blueprint(processor_bp)

    from compliance.records.reference import load_reference_records
    from compliance.records.views import bp as records_bp
    from vigie.demo import register_demo_loader

    app.register_blueprint(records_bp)
    register_demo_loader(load_reference_records)  # `vigie demo`: the records of processing (art. 11)
