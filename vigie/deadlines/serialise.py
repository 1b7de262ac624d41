"""One JSON shape for a deadline (API and `vigie deadlines list --json`), and the one way a deadline
list is filtered from the outside (API, CSV export, CLI): status, kind, organisation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from pydantic import BaseModel, Field, field_serializer

from vigie.api.params import positive_int as _positive_int
from vigie.api.params import refuse_invalid
from vigie.deadlines.kinds import all_kinds, get_kind
from vigie.deadlines.models import Deadline
from vigie.deadlines.status import FILTERS, DeadlineStatus, status_clause, status_of

FILTER_PARAMS = ("status", "kind", "organisation_id")


class DeadlineOut(BaseModel):
    id: int
    kind: str
    kind_label: str
    title: str
    organisation_id: int
    organisation_name: str
    subject_type: str | None
    subject_id: int | None
    status: DeadlineStatus
    due_at: datetime = Field(description="ISO 8601, UTC, with its offset")
    due_date: date | None = Field(
        description="Day-based deadlines: the last day allowed (Europe/Paris); due_at is 23:59:59 that day"
    )
    met_at: datetime | None
    opened_at: datetime

    @field_serializer("due_at", "met_at", "opened_at")
    def _iso_utc(self, value: datetime | None) -> str | None:
        # `+00:00` rather than pydantic's `Z`: the offset spelled out, as the contract says.
        return None if value is None else value.astimezone(UTC).isoformat()


class DeadlinePageOut(BaseModel):
    items: list[DeadlineOut]
    page: int
    per_page: int
    total: int = Field(description="How many deadlines match, on every page")


def kind_label(code: str) -> str:
    try:
        return str(get_kind(code).label)
    except KeyError:
        return code  # a kind no package registers any more: its code still says what it was


def deadline_out(deadline: Deadline, now: datetime) -> DeadlineOut:
    return DeadlineOut(
        id=deadline.id,
        kind=deadline.kind,
        kind_label=kind_label(deadline.kind),
        title=deadline.title,
        organisation_id=deadline.organisation_id,
        organisation_name=deadline.organisation.name,
        subject_type=deadline.subject_type,
        subject_id=deadline.subject_id,
        status=status_of(deadline, now),
        due_at=deadline.due_at,
        due_date=deadline.due_date,
        met_at=deadline.met_at,
        opened_at=deadline.opened_at,
    )


def deadline_json(deadline: Deadline, now: datetime) -> dict[str, Any]:
    return deadline_out(deadline, now).model_dump(mode="json")


@dataclass(frozen=True)
class DeadlineFilters:
    status: str | None = None
    kind: str | None = None
    organisation_id: int | None = None

    def apply(self, stmt: sa.Select[Any], now: datetime) -> sa.Select[Any]:
        if self.status is not None:
            stmt = stmt.where(status_clause(self.status, now))
        if self.kind is not None:
            stmt = stmt.where(Deadline.kind == self.kind)
        if self.organisation_id is not None:
            stmt = stmt.where(Deadline.organisation_id == self.organisation_id)
        return stmt


def status_problem(value: str) -> str | None:
    if value in FILTERS:
        return None
    return _(
        "Unknown status %(value)s: choose among %(choices)s.",
        value=repr(value),
        choices=", ".join(dict.fromkeys(FILTERS)),
    )


def parse_filters(args: Any, extra: Sequence[str] = ()) -> DeadlineFilters:
    """Read status, kind and organisation_id from query arguments (a werkzeug MultiDict, or a plain
    mapping). An empty value means no filter (`?status=&kind=` is the contract's own example); an
    unknown value, a repeated parameter or an unknown parameter is refused with its field named, so a
    misspelt filter never widens a list silently. `extra` names other parameters the caller reads."""
    fields: dict[str, str] = {}
    values: dict[str, str] = {}
    allowed = (*FILTER_PARAMS, *extra)
    for name in args:
        given = args.getlist(name) if hasattr(args, "getlist") else [args[name]]
        if name not in allowed:
            fields[name] = _(
                "Unknown parameter %(name)s: the filters are %(allowed)s.",
                name=repr(name),
                allowed=", ".join(allowed),
            )
        elif len(given) > 1:
            fields[name] = _("Give this parameter once.")
        elif name in FILTER_PARAMS and given[0].strip():
            values[name] = given[0].strip()
    status = values.get("status")
    if status is not None and (problem := status_problem(status)):
        fields["status"] = problem
    kind = values.get("kind")
    if kind is not None and kind not in {k.code for k in all_kinds()}:
        fields["kind"] = _("Unknown deadline kind %(value)s.", value=repr(kind))
    organisation_id = None
    if "organisation_id" in values:
        organisation_id = _positive_int(values["organisation_id"])
        if organisation_id is None:
            fields["organisation_id"] = _("An organisation is named by its id, a positive whole number.")
    refuse_invalid(fields)
    return DeadlineFilters(status=status, kind=kind, organisation_id=organisation_id)
