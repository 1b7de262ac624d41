"""Find everything the system holds about one person (the DPO answering a request about Vigie's own data).

The query is normalised and hashed like the stored values (vigie.people.index); the index gives the
matching rows; only those rows are read, and of them only the person fields and the columns the link
needs, so the search decrypts as many values as it finds, not as many as the tables hold.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from vigie.auth.access import access_of, can, reaches_all_organisations
from vigie.auth.roles import Permission
from vigie.errors import Forbidden, ValidationFailed
from vigie.extensions import db
from vigie.orgs.models import Organisation
from vigie.people.index import index_key, token
from vigie.people.models import IndexKind, PersonIndexEntry, PersonSearch
from vigie.people.normalise import MIN_WORD_LENGTH, name_terms, normalise_email
from vigie.people.registry import Found, PersonSource, joined, sources

MAX_QUERY_LENGTH = 254
# A name shared by very many records ("Martin") is not one person: past this, the list is cut and says so.
MAX_RESULTS = 200
KIND_LABELS = {IndexKind.EMAIL: _l("e-mail address"), IndexKind.NAME: _l("name")}


@dataclass(frozen=True)
class PersonRecord:
    id: int
    description: str
    organisation: str | None
    url: str | None
    fields: tuple[str, ...]  # what the fields that matched are ("authorised by", "e-mail address")


@dataclass(frozen=True)
class PersonGroup:
    entity: str
    label: Any
    records: list[PersonRecord]


@dataclass
class PersonSearchResult:
    kind: IndexKind
    groups: list[PersonGroup] = field(default_factory=list)
    truncated: bool = False

    @property
    def total(self) -> int:
        return sum(len(g.records) for g in self.groups)


@dataclass(frozen=True)
class _Query:
    kind: IndexKind
    tokens: frozenset[str]  # what to look up in the index
    whole: str  # the token of the whole query (an address, or the whole name)
    words: frozenset[str]  # the tokens of the name's words: a row matches when it has them all


def parse_query(text: str) -> _Query:
    """The tokens of a query: an e-mail address when it holds '@', otherwise a name."""
    text = (text or "").strip()
    if len(text) > MAX_QUERY_LENGTH:
        raise ValidationFailed(
            _("The search is too long."),
            {"q": _("Type at most %(count)d characters.", count=MAX_QUERY_LENGTH)},
        )
    key = index_key()
    if "@" in text:
        address = normalise_email(text)
        if address is None:
            raise ValidationFailed(
                _("%(value)s is not an e-mail address.", value=text),
                {"q": _("Enter a whole address such as name@example.fr, or a name without '@'.")},
            )
        whole = token(key, IndexKind.EMAIL, address)
        return _Query(IndexKind.EMAIL, frozenset({whole}), whole, frozenset())
    full, words = name_terms(text)
    if full is None or not words:
        raise ValidationFailed(
            _("Type a name or an e-mail address."),
            {"q": _("Type at least one word of %(count)d letters or more.", count=MIN_WORD_LENGTH)},
        )
    whole = token(key, IndexKind.NAME, full)
    word_tokens = frozenset(token(key, IndexKind.NAME, w) for w in words)
    return _Query(IndexKind.NAME, word_tokens | {whole}, whole, word_tokens)


def find_person(actor: Any, query: str) -> PersonSearchResult:
    """Every registered record that names the person, grouped by record type, with a link to each record
    the actor may open. The search itself is logged (PersonSearch, hence the audit trail)."""
    if not can(actor, Permission.PEOPLE_SEARCH):
        raise Forbidden(_("You may not search for people."))
    parsed = parse_query(query)
    registered = {s.entity: s for s in sources()}
    t = PersonIndexEntry
    stmt = sa.select(t.entity, t.row_id, t.field, t.token, t.organisation_id).where(
        t.kind == parsed.kind, t.token.in_(parsed.tokens), t.entity.in_(list(registered))
    )
    if not reaches_all_organisations(actor, Permission.PEOPLE_SEARCH):
        stmt = stmt.where(t.organisation_id == actor.organisation_id)

    fields: dict[tuple[str, int], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    tenant: dict[tuple[str, int], int | None] = {}
    for entity, row_id, field_name, tok, organisation_id in db.session.execute(stmt):
        fields[(entity, row_id)][field_name].add(tok)
        tenant[(entity, row_id)] = organisation_id

    def matches(found: set[str]) -> bool:
        return parsed.whole in found or (bool(parsed.words) and parsed.words <= found)

    def matched_fields(source: PersonSource, row: tuple[str, int]) -> tuple[str, ...]:
        names = [f for f in source.fields if (found := fields[row].get(f)) and matches(found)]
        return tuple(str(source.field_labels.get(f) or _kind_label(source.fields[f], f)) for f in names)

    # Every word in one field: a convention signed by Jean Martin and Paul Dupont is not "Jean Dupont".
    hits = sorted(
        (row for row, by_field in fields.items() if any(matches(found) for found in by_field.values())),
        key=lambda row: (registered[row[0]].order, -row[1]),
    )
    result = PersonSearchResult(kind=parsed.kind, truncated=len(hits) > MAX_RESULTS)
    hits = hits[:MAX_RESULTS]

    by_entity: dict[str, list[int]] = defaultdict(list)
    for entity, row_id in hits:
        by_entity[entity].append(row_id)
    organisation_ids = {tenant[row] for row in hits} - {None}
    names = dict(
        db.session.execute(
            sa.select(Organisation.id, Organisation.name).where(Organisation.id.in_(organisation_ids))
        ).all()
    )
    for entity, ids in sorted(by_entity.items(), key=lambda item: registered[item[0]].order):
        source = registered[entity]
        loaded = _load(source, ids, {row_id: tenant[(entity, row_id)] for row_id in ids})
        records = [
            PersonRecord(
                id=found.id,
                description=_describe(source, found),
                organisation=names.get(found.organisation_id) if found.organisation_id else None,
                url=_url(actor, source, found),
                fields=matched_fields(source, (entity, found.id)),
            )
            for found in (loaded[row_id] for row_id in ids if row_id in loaded)
        ]
        if records:
            result.groups.append(PersonGroup(entity=entity, label=source.label, records=records))

    db.session.add(
        PersonSearch(
            searched_by_id=getattr(actor, "id", None),
            kind=parsed.kind,
            query_token=parsed.whole,
            results=result.total,
        )
    )
    db.session.flush()
    return result


def _load(source: PersonSource, ids: list[int], tenants: dict[int, int | None]) -> dict[int, Found]:
    """The matching rows only, and of them only the registered fields and the extra columns."""
    model = source.model
    names = [*source.fields, *(c for c in source.columns if c not in source.fields)]
    stmt = sa.select(model.id.label("_id"), *(getattr(model, n).label(n) for n in names)).where(
        model.id.in_(ids)
    )
    return {
        row._id: Found(id=row._id, organisation_id=tenants.get(row._id), values=dict(row._mapping))
        for row in db.session.execute(stmt)
    }


def _kind_label(spec: Any, name: str) -> str:
    return str(KIND_LABELS[spec]) if isinstance(spec, IndexKind) else name


def _describe(source: PersonSource, found: Found) -> str:
    if source.describe is not None:
        return source.describe(found)
    # The single values only: a column read by an extractor (a JSON list) is not shown whole.
    return joined(*(found.values[n] for n, spec in source.fields.items() if isinstance(spec, IndexKind)))


def _url(actor: Any, source: PersonSource, found: Found) -> str | None:
    """A link to the record's page, when the actor may open that page (the check its view declares)."""
    for endpoint in source.endpoints:
        view = current_app.view_functions.get(endpoint)
        if view is None:
            continue  # that feature's page is not installed: try the next one
        access = access_of(view)
        if access is None or source.link_args is None:
            return None
        if access.permission is not None and not can(actor, access.permission, found.organisation_id):
            return None
        return url_for(endpoint, **source.link_args(found))
    return None
