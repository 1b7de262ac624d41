"""Processor obligations, partner by partner: staff, DPO contacts, sub-processors, breaches,
access requests, retention. Its features arrive with their issues; the app factory calls init_app."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the compliance deadline kinds (and, as they come, its blueprints)."""
    from compliance import deadline_kinds

    deadline_kinds.register()
