"""The blind index: keyed hashes of people's e-mail addresses and names, kept in step with the records.

Kept up to date by two session events, in the transaction of the change:
- after every flush, the registered rows inserted, changed or deleted through the ORM get their index
  rows inserted, replaced (only the fields that changed) or deleted. The values are read from the objects,
  where they already are in clear: nothing is decrypted for the index.
- ORM-enabled statements on a registered model: an INSERT ... RETURNING the entity (the outbox's
  `queue_mail`) indexes the rows it returns; an UPDATE that sets a registered column re-indexes the rows
  it matched (reading their new values back); a DELETE unindexes them (the retention's bulk erasure).
Not seen: statements on the bare table (`sa.update(Model.__table__)`, `connection.execute(...)`), raw
SQL, a bulk INSERT without RETURNING, a migration that copies data. `vigie people reindex` rebuilds the
whole index: run it after such a write of a registered column, after a change of VIGIE_BLIND_INDEX_KEY,
and once after installing the index on a database that already holds records.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, load_only, scoped_session

from vigie.people.models import IndexKind, PersonIndexEntry
from vigie.people.normalise import name_terms, normalise_email
from vigie.people.registry import PersonSource, field_values, source_for, sources

_table: sa.Table = PersonIndexEntry.__table__  # type: ignore[assignment]


def index_key() -> bytes:
    key = current_app.config.get("BLIND_INDEX_KEY")
    if not key:
        raise RuntimeError("VIGIE_BLIND_INDEX_KEY is not configured: the people index cannot be written")
    return str(key).encode("utf-8")


def token(key: bytes, kind: IndexKind, normalised: str) -> str:
    """HMAC-SHA256 of the kind and the normalised value (the kind keeps a name from matching an address)."""
    return hmac.new(key, f"{kind.value}:{normalised}".encode(), hashlib.sha256).hexdigest()


def value_tokens(key: bytes, kind: IndexKind, value: str | None) -> set[str]:
    """The tokens one stored value is indexed under."""
    if kind is IndexKind.EMAIL:
        address = normalise_email(value)
        return {token(key, kind, address)} if address else set()
    whole, words = name_terms(value)
    terms = ({whole} if whole else set()) | words
    return {token(key, kind, term) for term in terms}


def index_entries(
    key: bytes, source: PersonSource, row_id: int, organisation_id: int | None, values: dict[str, Any]
) -> list[dict[str, Any]]:
    """The person_index rows of one record, from the values of its registered fields (those given)."""
    found = {
        (name, kind, tok)
        for name, spec in source.fields.items()
        if name in values
        for kind, value in field_values(spec, values[name])
        for tok in value_tokens(key, kind, value)
    }
    return [
        {
            "token": tok,
            "kind": kind.value,
            "entity": source.entity,
            "row_id": row_id,
            "field": name,
            "organisation_id": organisation_id,
        }
        for name, kind, tok in sorted(found)
    ]


def _organisation_of(source: PersonSource, obj: Any) -> int | None:
    if source.organisation is None:
        return None
    value = getattr(obj, source.organisation)
    return int(value) if value is not None else None


def _changed(obj: Any, name: str) -> bool:
    return bool(sa.inspect(obj).attrs[name].history.has_changes())


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    inserts: list[dict[str, Any]] = []
    removed: dict[str, set[int]] = {}  # entity -> ids whose index rows all go
    replaced: list[tuple[str, int, list[str]]] = []  # (entity, id, fields) whose index rows go
    moved: list[tuple[str, int, int | None]] = []  # (entity, id, organisation) now in another tenant
    key: bytes | None = None

    for obj in session.deleted:
        source = source_for(type(obj))
        if source is not None and obj.id is not None:
            removed.setdefault(source.entity, set()).add(int(obj.id))
    for obj in session.new:
        source = source_for(type(obj))
        if source is not None:
            key = key or index_key()
            values = {name: getattr(obj, name) for name in source.fields}
            inserts += index_entries(key, source, int(obj.id), _organisation_of(source, obj), values)
    for obj in session.dirty:
        source = source_for(type(obj))
        if source is None or obj in session.deleted:
            continue
        fields = [name for name in source.fields if _changed(obj, name)]
        org_column = source.organisation in sa.inspect(type(obj)).column_attrs
        org_moved = org_column and _changed(obj, str(source.organisation))
        if not fields and not org_moved:
            continue
        organisation_id = _organisation_of(source, obj)
        if fields:
            key = key or index_key()
            replaced.append((source.entity, int(obj.id), fields))
            inserts += index_entries(
                key, source, int(obj.id), organisation_id, {name: getattr(obj, name) for name in fields}
            )
        if org_moved:
            moved.append((source.entity, int(obj.id), organisation_id))

    if not (inserts or removed or replaced or moved):
        return
    connection = session.connection()
    for entity, ids in removed.items():
        connection.execute(sa.delete(_table).where(_table.c.entity == entity, _table.c.row_id.in_(ids)))
    for entity, row_id, fields in replaced:
        connection.execute(
            sa.delete(_table).where(
                _table.c.entity == entity, _table.c.row_id == row_id, _table.c.field.in_(fields)
            )
        )
    if inserts:
        connection.execute(sa.insert(_table), inserts)
    for entity, row_id, organisation_id in moved:
        connection.execute(
            sa.update(_table)
            .where(_table.c.entity == entity, _table.c.row_id == row_id)
            .values(organisation_id=organisation_id)
        )


def _on_orm_execute(state: ORMExecuteState) -> Any:
    """ORM-enabled INSERT ... RETURNING, UPDATE and DELETE statements on a registered model (the outbox's
    queue_mail, the retention's bulk erasure): their rows are indexed, re-indexed or unindexed too."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    mapper = state.bind_mapper
    source = source_for(mapper.class_) if mapper is not None else None
    if source is None:
        return None
    if state.is_insert:
        return _indexed_insert(state, source)
    if state.is_update and not _touches(state, source):
        return None
    ids = _target_ids(state, source)
    literal = _literal_values(state, source) if state.is_update else None
    result = state.invoke_statement()
    if not ids:
        return result
    connection = state.session.connection()
    rows = _table.c.entity == source.entity, _table.c.row_id.in_(ids)
    if state.is_delete:
        connection.execute(sa.delete(_table).where(*rows))
    elif literal is not None:
        # Values given in the statement (the retention's "[anonymisé]"): indexed as given, nothing decrypted.
        _replace_with_literals(state, source, ids, literal)
    else:
        # Values computed in SQL: read back from the rows (their person fields only), then indexed.
        connection.execute(sa.delete(_table).where(*rows))
        key = index_key()
        for chunk in _batches(state.session, source, 500, ids=ids):
            entries = [e for row in chunk for e in index_entries(key, source, *row)]
            if entries:
                connection.execute(sa.insert(_table), entries)
    return result


def _literal_values(state: ORMExecuteState, source: PersonSource) -> dict[str, Any] | None:
    """The registered columns (and tenant) an UPDATE sets to plain values, or None when one of them is
    set by an SQL expression, by execute() parameters, or when the tenant is not a column."""
    tenant_is_column = (
        source.organisation is None or source.organisation in sa.inspect(source.model).column_attrs
    )
    if state.parameters or not tenant_is_column:
        return None
    found: dict[str, Any] = {}
    for name, value in _set_values(state, source).items():
        if name in source.fields or name == source.organisation:
            if not isinstance(value, sa.BindParameter) or value.callable is not None:
                return None
            found[name] = value.value
    return found


def _replace_with_literals(
    state: ORMExecuteState, source: PersonSource, ids: list[int], literal: dict[str, Any]
) -> None:
    connection = state.session.connection()
    rows = _table.c.entity == source.entity, _table.c.row_id.in_(ids)
    tenants: dict[int, int | None] = dict.fromkeys(ids)
    if source.organisation in literal:
        tenant = literal[source.organisation]
        tenants = dict.fromkeys(ids, int(tenant) if tenant is not None else None)
        connection.execute(sa.update(_table).where(*rows).values(organisation_id=tenants[ids[0]]))
    elif source.organisation is not None:
        column = getattr(source.model, source.organisation)
        tenants = dict(
            state.session.execute(sa.select(source.model.id, column).where(source.model.id.in_(ids))).all()
        )
    touched = [name for name in source.fields if name in literal]
    if not touched:
        return
    connection.execute(sa.delete(_table).where(*rows, _table.c.field.in_(touched)))
    key = index_key()
    values = {name: literal[name] for name in touched}
    entries = [e for row_id in ids for e in index_entries(key, source, row_id, tenants.get(row_id), values)]
    if entries:
        connection.execute(sa.insert(_table), entries)


def _indexed_insert(state: ORMExecuteState, source: PersonSource) -> Any:
    # `_returning`: what the statement returns (SQLAlchemy has no public name for an entity returned).
    if not getattr(state.statement, "_returning", ()):
        return None  # no objects to read: `vigie people reindex` covers a bulk insert
    frozen = state.invoke_statement().freeze()
    objects = [item for row in frozen() for item in row if isinstance(item, source.model)]
    if objects:
        key = index_key()
        entries = [
            entry
            for obj in objects
            for entry in index_entries(
                key,
                source,
                int(obj.id),
                _organisation_of(source, obj),
                {name: getattr(obj, name) for name in source.fields},
            )
        ]
        if entries:
            state.session.connection().execute(sa.insert(_table), entries)
    return frozen()


def _set_values(state: ORMExecuteState, source: PersonSource) -> dict[str, Any]:
    """What an UPDATE's `.values(...)` sets, by attribute name (SQLAlchemy keeps them in `_values`)."""
    by_column = {c.key: prop.key for prop in sa.inspect(source.model).column_attrs for c in prop.columns}
    found = {}
    for target, value in (getattr(state.statement, "_values", None) or {}).items():
        name = target if isinstance(target, str) else str(getattr(target, "key", target))
        found[by_column.get(name, name)] = value
    return found


def _touches(state: ORMExecuteState, source: PersonSource) -> bool:
    """Whether an UPDATE sets a registered column or the tenant's (True when it cannot be told)."""
    watched = {*source.fields, source.organisation}
    if isinstance(state.parameters, list):  # executemany: rows of values keyed by attribute name
        return any(watched & set(params) for params in state.parameters)
    values = _set_values(state, source)
    return not values or bool(watched & set(values))


def _target_ids(state: ORMExecuteState, source: PersonSource) -> list[int]:
    """The rows an UPDATE or DELETE will change, read before it runs (its WHERE may stop matching)."""
    model = source.model
    if isinstance(state.parameters, list):  # a bulk UPDATE by primary key
        return [int(p["id"]) for p in state.parameters if p.get("id") is not None]
    stmt = sa.select(model.id)
    where = getattr(state.statement, "whereclause", None)
    if where is not None:
        stmt = stmt.where(where)
    return [int(i) for i in state.session.scalars(stmt, state.parameters or {})]


def register(session_class: type[Session]) -> None:
    if not event.contains(session_class, "after_flush", _after_flush):
        event.listen(session_class, "after_flush", _after_flush)
    if not event.contains(session_class, "do_orm_execute", _on_orm_execute):
        event.listen(session_class, "do_orm_execute", _on_orm_execute)


# --- rebuilding ------------------------------------------------------------------------------------


@dataclass
class ReindexReport:
    sources: int
    rows: int
    entries: int
    seconds: float


def _batches(
    session: Session | scoped_session[Any], source: PersonSource, batch: int, ids: list[int] | None = None
) -> Iterator[list[tuple[int, int | None, dict[str, Any]]]]:
    """(id, organisation, registered values) of every row, `batch` rows at a time. Only the registered
    columns (and the tenant's) are read: the row's other encrypted columns are not decrypted."""
    model = source.model
    org_is_column = source.organisation in sa.inspect(model).column_attrs
    columns = [model.id.label("_id"), *(getattr(model, name).label(name) for name in source.fields)]
    if org_is_column:
        columns.append(getattr(model, str(source.organisation)).label("_organisation"))
    last = None
    while True:
        stmt = sa.select(*columns).order_by(model.id).limit(batch)
        if last is not None:
            stmt = stmt.where(model.id > last)
        if ids is not None:
            stmt = stmt.where(model.id.in_(ids))
        rows = session.execute(stmt).all()
        if not rows:
            return
        organisations: dict[int, int | None] = {}
        if source.organisation is not None and not org_is_column:
            # A tenant given by a property (a breach action's is its breach's): read it on the objects.
            found = [row._id for row in rows]
            objects = session.scalars(
                sa.select(model).options(load_only(model.id)).where(model.id.in_(found))
            )
            organisations = {obj.id: _organisation_of(source, obj) for obj in objects}
        yield [
            (
                int(row._id),
                row._organisation if org_is_column else organisations.get(row._id),
                {name: row._mapping[name] for name in source.fields},
            )
            for row in rows
        ]
        last = rows[-1]._id


def reindex(
    session: Session | scoped_session[Any], batch: int = 500, only: Iterable[PersonSource] | None = None
) -> ReindexReport:
    """Rebuild the index from the records, in batches, in the caller's transaction (a reader sees the old
    index until the commit). Reads every registered value: the one operation that decrypts them all."""
    started = time.perf_counter()
    key = index_key()
    chosen = list(only) if only is not None else sources()
    connection = session.connection()
    rows = entries = 0
    for source in chosen:
        connection.execute(sa.delete(_table).where(_table.c.entity == source.entity))
        for chunk in _batches(session, source, batch):
            found = [
                entry
                for row_id, organisation_id, values in chunk
                for entry in index_entries(key, source, row_id, organisation_id, values)
            ]
            if found:
                connection.execute(sa.insert(_table), found)
            rows += len(chunk)
            entries += len(found)
    return ReindexReport(
        sources=len(chosen), rows=rows, entries=entries, seconds=time.perf_counter() - started
    )
