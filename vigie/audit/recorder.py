"""Writes one audit row per changed record, in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from vigie.audit.chain import GENESIS, row_hash
from vigie.audit.mixins import Audited
from vigie.audit.models import AuditEvent
from vigie.database import utcnow

# Held for the whole transaction on PostgreSQL, so two writers never take the same place in the chain.
_PG_LOCK_KEY = 0x56494749  # "VIGI"
_cli_actor: ContextVar[tuple[int | None, str] | None] = ContextVar("vigie_audit_actor", default=None)


@contextmanager
def acting_as(actor_id: int | None, label: str) -> Iterator[None]:
    """Attribute the changes made inside the block (CLI commands, background jobs)."""
    token = _cli_actor.set((actor_id, label))
    try:
        yield
    finally:
        _cli_actor.reset(token)


def current_actor() -> tuple[int | None, str]:
    if has_app_context() and g.get("audit_actor"):
        actor: tuple[int | None, str] = g.audit_actor
        return actor
    return _cli_actor.get() or (None, "system")


def _changed_fields(obj: Audited, action: str) -> list[str]:
    state = sa.inspect(obj)
    excluded = type(obj).__audit_exclude__
    names = []
    for attr in state.mapper.column_attrs:
        if attr.key in excluded:
            continue
        if action == "create":
            if getattr(obj, attr.key) is not None:
                names.append(attr.key)
        elif state.attrs[attr.key].history.has_changes():
            names.append(attr.key)
    return sorted(names)


def _organisation_of(obj: Any) -> int | None:
    if type(obj).__tablename__ == "organisation":
        return int(obj.id)
    org = getattr(obj, "organisation_id", None)
    return int(org) if org is not None else None


def _entity_id(obj: Any) -> str | None:
    # From the instance, not its identity key: new objects only get that after the flush ends.
    key = sa.inspect(obj).mapper.primary_key_from_instance(obj)
    if any(part is None for part in key):
        return None
    return ",".join(str(part) for part in key)


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    pending: list[tuple[str, Any, list[str]]] = []
    for obj in session.new:
        if isinstance(obj, Audited):
            pending.append(("create", obj, _changed_fields(obj, "create")))
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(obj, include_collections=False):
            fields = _changed_fields(obj, "update")
            if fields:
                pending.append(("update", obj, fields))
    for obj in session.deleted:
        if isinstance(obj, Audited):
            pending.append(("delete", obj, []))
    if not pending:
        return

    connection = session.connection()
    table: sa.Table = AuditEvent.__table__  # type: ignore[assignment]
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
    last = connection.execute(
        sa.select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq, last.hash) if last else (0, GENESIS)
    actor_id, actor_label = current_actor()
    at = utcnow()
    rows = []
    for action, obj, fields in pending:
        seq += 1
        row = {
            "seq": seq,
            "at": at,
            "actor_id": actor_id,
            "actor_label": actor_label[:254],
            "action": action,
            "entity": type(obj).__tablename__,
            "entity_id": _entity_id(obj),
            "organisation_id": _organisation_of(obj),
            "fields": ",".join(fields),
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = row_hash(row)
        rows.append(row)
    connection.execute(sa.insert(table), rows)


def register(session_class: type[Session]) -> None:
    if not event.contains(session_class, "after_flush", _after_flush):
        event.listen(session_class, "after_flush", _after_flush)
