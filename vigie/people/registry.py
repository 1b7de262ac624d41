"""Which columns hold a person's name or e-mail address: features register them from their init_app.

    register_people(Model, _l("Record type"), {"name": NAME, "email": EMAIL},
                    endpoint="feature.show", args=lambda found: {"record_id": found.id},
                    organisation="organisation_id")

Only `model`, `label` and `fields` are required: without an endpoint the record is listed without a link.
A column holding several people (a JSON list of rows) takes an extractor instead of a kind:
`{"rows_json": json_rows(name=NAME, email=EMAIL)}`.

The blind index (vigie.people.index) keeps a keyed hash of every registered value; the search
(vigie.people.services) shows each record found under its label, with a link when the searcher may
open it. Registering again the same model replaces its entry (each app of the process registers).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import format_date

from vigie.people.models import IndexKind

EMAIL = IndexKind.EMAIL
NAME = IndexKind.NAME

# What a registered column holds: one name or one address, or (an extractor) the values found in it.
Extractor = Callable[[Any], Iterable[tuple[IndexKind, str]]]
FieldSpec = IndexKind | Extractor


def json_rows(**keys: IndexKind) -> Extractor:
    """For a column holding a JSON list of objects: `json_rows(name=NAME, email=EMAIL)` indexes each
    object's "name" as a name and its "email" as an address."""

    def extract(value: Any) -> Iterator[tuple[IndexKind, str]]:
        rows = json.loads(value) if isinstance(value, str) else value
        for row in rows or ():
            if isinstance(row, Mapping):
                for key, kind in keys.items():
                    if isinstance(row.get(key), str):
                        yield kind, row[key]

    return extract


def field_values(spec: FieldSpec, value: Any) -> list[tuple[IndexKind, str]]:
    """(kind, value) of what one stored value holds."""
    if value is None:
        return []
    if isinstance(spec, IndexKind):
        return [(spec, str(value))]
    return list(spec(value))


@dataclass(frozen=True)
class Found:
    """A record found, as the search loads it: its id, its tenant, and only the registered fields and the
    extra clear columns the source asked for (so only the matching rows' person fields are decrypted)."""

    id: int
    organisation_id: int | None
    values: Mapping[str, Any]


@dataclass(frozen=True)
class PersonSource:
    model: type[Any]
    label: Any  # the record type, shown as the heading of its group (a lazy string)
    fields: Mapping[str, FieldSpec]
    # The page that shows the record: an endpoint, or several tried in order (the first registered wins).
    endpoint: str | tuple[str, ...] | None = None
    link_args: Callable[[Found], dict[str, Any]] | None = None
    # The attribute of the object that names its organisation (a column or a property), if any.
    organisation: str | None = None
    # Clear columns loaded with a match, for link_args and describe (e.g. "breach_id", "reference").
    columns: tuple[str, ...] = ()
    # The line shown for a record; by default its registered values, joined.
    describe: Callable[[Found], str] | None = None
    # What a field means, shown beside a record found through it ("authorised by"); the column name else.
    field_labels: Mapping[str, Any] = field(default_factory=dict)
    order: int = field(default=0, compare=False)

    @property
    def entity(self) -> str:
        return str(self.model.__tablename__)

    @property
    def endpoints(self) -> tuple[str, ...]:
        if self.endpoint is None:
            return ()
        return (self.endpoint,) if isinstance(self.endpoint, str) else self.endpoint


_SOURCES: dict[type[Any], PersonSource] = {}


def register_people(
    model: type[Any],
    label: Any,
    fields: Mapping[str, FieldSpec],
    *,
    endpoint: str | tuple[str, ...] | None = None,
    args: Callable[[Found], dict[str, Any]] | None = None,
    organisation: str | None = None,
    columns: tuple[str, ...] = (),
    describe: Callable[[Found], str] | None = None,
    field_labels: Mapping[str, Any] | None = None,
) -> PersonSource:
    """Declare the columns of `model` that hold a person's e-mail address or name."""
    mapper = sa.inspect(model)
    if [c.key for c in mapper.primary_key] != ["id"]:
        raise ValueError(f"{model.__name__}: the people index needs a single primary key named id")
    names = set(mapper.column_attrs.keys())
    unknown = [f for f in (*fields, *columns) if f not in names]
    if unknown or not fields:
        raise ValueError(f"{model.__name__}: no column named {', '.join(unknown) or '(none given)'}")
    if endpoint is not None and args is None:
        raise ValueError(f"{model.__name__}: a link needs its URL arguments (args=lambda found: {{...}})")
    previous = _SOURCES.get(model)
    source = PersonSource(
        model=model,
        label=label,
        fields=dict(fields),
        endpoint=endpoint,
        link_args=args,
        organisation=organisation,
        columns=tuple(columns),
        describe=describe,
        field_labels=dict(field_labels or {}),
        order=previous.order if previous else len(_SOURCES),
    )
    _SOURCES[model] = source
    return source


def joined(*values: Any) -> str:
    """A record's line from its values: the empty ones left out, dates in the reader's language."""
    shown = [
        format_date(v) if isinstance(v, date) and not isinstance(v, datetime) else str(v) for v in values if v
    ]
    return " · ".join(shown)


def source_for(model: type[Any]) -> PersonSource | None:
    return _SOURCES.get(model)


def sources() -> list[PersonSource]:
    """Every registered source, in the order they were first registered."""
    return sorted(_SOURCES.values(), key=lambda s: s.order)


def source_by_entity(entity: str) -> PersonSource | None:
    return next((s for s in _SOURCES.values() if s.entity == entity), None)
