class Audited:
    """Models inheriting this get an audit row for every insert, update and delete."""

    __audit_exclude__: frozenset[str] = frozenset({"updated_at", "created_at"})
