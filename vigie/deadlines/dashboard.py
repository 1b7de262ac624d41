"""The dashboard's queries: the deadlines a user sees, most urgent first, and each partner's obligation
status at a glance. Plain functions of the user and the time, each a fixed number of SQL queries
whatever the size of the `deadline` table (the list is paginated; the counts are grouped in SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination

from vigie.auth.access import scope_to_user
from vigie.auth.roles import Permission
from vigie.deadlines.kinds import DeadlineKind, all_kinds, kinds_visible_to
from vigie.deadlines.models import Deadline
from vigie.deadlines.services import visible_deadlines
from vigie.deadlines.status import status_clause
from vigie.errors import DomainError
from vigie.extensions import db
from vigie.orgs.models import Organisation, OrganisationKind

PAGE_SIZE = 50
RECENTLY_MET_DAYS = 30
RECENTLY_MET_LIMIT = 10


class InvalidFilter(DomainError):
    """A filter of the query string that names nothing Vigie knows (mapped to 400 by the view)."""

    code = "bad_filter"
    status = 400


@dataclass(frozen=True)
class DeadlineFilter:
    kind: str | None = None  # a registered kind code
    organisation_id: int | None = None

    @property
    def active(self) -> bool:
        return self.kind is not None or self.organisation_id is not None

    def as_args(self) -> dict[str, Any]:
        """The query-string arguments that give this filter back (for pager links)."""
        args: dict[str, Any] = {}
        if self.kind is not None:
            args["kind"] = self.kind
        if self.organisation_id is not None:
            args["organisation_id"] = self.organisation_id
        return args


def parse_filter(kind: str | None, organisation_id: str | None) -> DeadlineFilter:
    """The filter from raw query-string values; empty means "all". InvalidFilter names the bad field."""
    errors: dict[str, str] = {}
    kind = (kind or "").strip() or None
    if kind is not None and kind not in {k.code for k in all_kinds()}:
        errors["kind"] = _("There is no deadline kind %(kind)s.", kind=kind[:64])
    org_id: int | None = None
    raw_org = (organisation_id or "").strip()
    if raw_org:
        if raw_org.isascii() and raw_org.isdigit() and len(raw_org) <= 18:
            org_id = int(raw_org)
        else:
            errors["organisation_id"] = _("An organisation is named by its number.")
    if errors:
        raise InvalidFilter(_("These filters are not valid."), errors)
    return DeadlineFilter(kind=kind, organisation_id=org_id)


def _filtered(user: Any, flt: DeadlineFilter) -> sa.Select[Any]:
    # visible_deadlines() scopes by kind and, for a partner, by its organisation: another
    # organisation's id in the filter then simply finds nothing.
    stmt = visible_deadlines(user)
    if flt.kind is not None:
        stmt = stmt.where(Deadline.kind == flt.kind)
    if flt.organisation_id is not None:
        stmt = stmt.where(Deadline.organisation_id == flt.organisation_id)
    return stmt


def urgency(now: datetime) -> sa.ColumnElement[int]:
    """0 overdue, 1 due soon, 2 the rest (for ordering open deadlines)."""
    return sa.case(
        (status_clause("overdue", now), 0),
        (status_clause("due_soon", now), 1),
        else_=2,
    )


def open_deadlines(
    user: Any,
    now: datetime,
    flt: DeadlineFilter | None = None,
    page: int = 1,
    per_page: int = PAGE_SIZE,
) -> Pagination:
    """The open deadlines the user sees: overdue first (the oldest due first), then due soon, then the
    rest, each by due time. Two queries (the page and the count)."""
    stmt = (
        _filtered(user, flt or DeadlineFilter())
        .where(status_clause("open", now))
        .order_by(urgency(now), Deadline.due_at, Deadline.id)
    )
    return db.paginate(
        stmt, page=max(page, 1), per_page=per_page, max_per_page=PAGE_SIZE, error_out=False, count=True
    )


def recently_met(
    user: Any,
    now: datetime,
    flt: DeadlineFilter | None = None,
    days: int = RECENTLY_MET_DAYS,
    limit: int = RECENTLY_MET_LIMIT,
) -> list[Deadline]:
    """The deadlines met in the last `days` days, the latest first (one query, at most `limit` rows)."""
    stmt = (
        _filtered(user, flt or DeadlineFilter())
        .where(status_clause("met", now), Deadline.met_at >= now - timedelta(days=days))
        .order_by(Deadline.met_at.desc(), Deadline.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt).unique())


@dataclass(frozen=True)
class StatusCounts:
    overdue: int = 0
    due_soon: int = 0
    open: int = 0  # every running deadline, the overdue and due-soon ones included
    met_late: int = 0  # met after their due time, in the last twelve months


@dataclass(frozen=True)
class PartnerStatus:
    organisation_id: int
    name: str
    counts: StatusCounts


def twelve_months_before(now: datetime) -> datetime:
    try:
        return now.replace(year=now.year - 1)
    except ValueError:  # 29 February
        return now.replace(year=now.year - 1, day=28)


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _count_columns(now: datetime) -> list[sa.ColumnElement[int]]:
    met_late_this_year = sa.and_(status_clause("met_late", now), Deadline.met_at >= twelve_months_before(now))
    return [
        _count(status_clause("overdue", now)).label("overdue"),
        _count(status_clause("due_soon", now)).label("due_soon"),
        _count(status_clause("open", now)).label("open"),
        _count(met_late_this_year).label("met_late"),
    ]


def partner_overview(user: Any, now: datetime) -> list[PartnerStatus]:
    """One row per active partner organisation the user may see (every one for the DPO and the
    auditor, its own for a partner) with its counts, in ONE grouped query: a partner without any
    deadline still has its row of zeros."""
    visible = visible_deadlines(user).whereclause
    # Only the rows a count can take (the running ones, those met in the last twelve months): the
    # query then reads one year of history, not all of it (bench/README.md).
    counted = sa.or_(
        status_clause("open", now),
        sa.and_(status_clause("met", now), Deadline.met_at >= twelve_months_before(now)),
    )
    on = sa.and_(Deadline.organisation_id == Organisation.id, counted)
    if visible is not None:
        on = sa.and_(on, visible)
    stmt = cast(
        "sa.Select[Any]",
        sa.select(Organisation.id, Organisation.name, *_count_columns(now))
        .select_from(Organisation)
        .outerjoin(Deadline, on)
        .where(Organisation.kind == OrganisationKind.PARTNER, Organisation.active.is_(True))
        .group_by(Organisation.id, Organisation.name)
        .order_by(Organisation.name, Organisation.id),
    )
    stmt = scope_to_user(stmt, Organisation.id, Permission.COMPLIANCE_VIEW, user)
    return [
        PartnerStatus(
            organisation_id=row.id,
            name=row.name,
            counts=StatusCounts(
                overdue=int(row.overdue),
                due_soon=int(row.due_soon),
                open=int(row.open),
                met_late=int(row.met_late),
            ),
        )
        for row in db.session.execute(stmt)
    ]


def status_counts(user: Any, now: datetime, flt: DeadlineFilter | None = None) -> StatusCounts:
    """The counts over every deadline the user sees (one query)."""
    sub = _filtered(user, flt or DeadlineFilter())
    stmt = sa.select(*_count_columns(now)).select_from(Deadline)
    if sub.whereclause is not None:
        stmt = stmt.where(sub.whereclause)
    row = db.session.execute(stmt).one()
    return StatusCounts(
        overdue=int(row.overdue), due_soon=int(row.due_soon), open=int(row.open), met_late=int(row.met_late)
    )


def filter_kinds(user: Any) -> list[DeadlineKind]:
    """The kinds offered in the filter: those the user's roles see."""
    return kinds_visible_to(frozenset(user.roles))


def filter_organisations(user: Any) -> list[Organisation]:
    """The organisations offered in the filter: the active ones the user may see (a partner: its own)."""
    stmt = scope_to_user(
        sa.select(Organisation)
        .where(Organisation.active.is_(True))
        .order_by(Organisation.kind, Organisation.name, Organisation.id),
        Organisation.id,
        Permission.ORGS_VIEW,
        user,
    )
    return list(db.session.scalars(stmt))
