"""Retention: personal data kept only as long as the convention needs, then anonymised or deleted
(DESIGN.md, "Processor obligations", the row "retention"; issue #7).

Each package declares its policies from its init_app (`register_policy`), so vigie/ never imports the
features; `vigie retention apply [--dry-run]` runs them all (vigie/retention/cli.py).
"""
