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

    from compliance.processor import api as _processor_api  # noqa: F401  (adds its routes to the API)
