"""Organisations (controller, partners, other bodies) and the people who work there."""
