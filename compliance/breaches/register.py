"""Who sees which breaches, and what of them; the one way a breach list is filtered from the outside
(the API list, the register's CSV and PDF exports, and the web list if it wants them).

- A partner sees its own organisation's breaches, drafts included; the DPO and the auditor see every
  partner's reported breaches. A draft is not a report yet: besides its organisation's partner users,
  only its author sees it (the DPO may write one on a partner's behalf). Were the DPO to see drafts, the
  Département could be said to have become aware of a breach before it was reported to it.
- Personal data in a breach (its free text, the contact point, the names in the action plan) is shown to
  those who act on it: the partner (its own) and the DPO. The auditor reads the register without it.
- The register (GDPR 33(5)) holds every reported breach, notified or not; drafts are not in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from compliance.breaches.models import (
    ActionStatus,
    Breach,
    BreachNotification,
    BreachStatus,
    NotificationKind,
    RiskLevel,
)
from compliance.breaches.services import COMMUNICATION_KIND, SUBJECT
from vigie.api.params import positive_int as _positive_int
from vigie.api.params import refuse_invalid
from vigie.auth.access import can, scope_to_user
from vigie.auth.roles import TENANT_SCOPED_ROLES, Permission
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.extensions import db
from vigie.timeutil import PARIS

FILTER_PARAMS = ("status", "organisation_id", "risk", "year")
RISK_PENDING: Literal["pending"] = "pending"  # the risk filter's value for breaches not assessed yet

STATUS_LABELS = {
    BreachStatus.DRAFT: _l("draft"),
    BreachStatus.SUBMITTED: _l("reported, awaiting acknowledgement"),
    BreachStatus.ACKNOWLEDGED: _l("acknowledged"),
    BreachStatus.ASSESSED: _l("risk assessed"),
    BreachStatus.CLOSED: _l("closed"),
}
NATURE_LABELS = {
    "confidentiality": _l("confidentiality"),
    "integrity": _l("integrity"),
    "availability": _l("availability"),
}
RISK_LABELS = {
    RiskLevel.NONE: _l("no risk (documented, not notified)"),
    RiskLevel.RISK: _l("risk (the CNIL is notified)"),
    RiskLevel.HIGH: _l("high risk (the CNIL and the people affected are informed)"),
}
RISK_SHORT_LABELS = {  # in a table's narrow column
    RiskLevel.NONE: _l("no risk"),
    RiskLevel.RISK: _l("risk"),
    RiskLevel.HIGH: _l("high risk"),
}
NOTIFICATION_KIND_LABELS = {
    NotificationKind.INITIAL: _l("initial"),
    NotificationKind.COMPLEMENTARY: _l("complementary"),
}
ACTION_STATUS_LABELS = {
    ActionStatus.PLANNED: _l("planned"),
    ActionStatus.IN_PROGRESS: _l("in progress"),
    ActionStatus.DONE: _l("done"),
}


# --- Who sees what ---


def visible_breaches(user: Any) -> sa.Select[Any]:
    """The breaches a user may see (see the module's docstring): a select to narrow and order."""
    stmt = scope_to_user(sa.select(Breach), Breach.organisation_id, Permission.COMPLIANCE_VIEW, user)
    drafts_of_own_org = any(
        role in TENANT_SCOPED_ROLES and can(user, Permission.COMPLIANCE_EDIT, user.organisation_id)
        for role in user.roles
    )
    draft_clauses: list[sa.ColumnElement[bool]] = [
        Breach.status != BreachStatus.DRAFT,
        Breach.declared_by_id == user.id,
    ]
    if drafts_of_own_org:
        draft_clauses.append(Breach.organisation_id == user.organisation_id)
    return stmt.where(sa.or_(*draft_clauses))


def visible_breach(user: Any, breach_id: int) -> Breach | None:
    return db.session.scalar(visible_breaches(user).where(Breach.id == breach_id))


def sees_personal_data(user: Any, breach: Breach) -> bool:
    """Whether the user reads the breach's personal data: those who act on it (the partner, its own; the
    DPO), not those who only review (the auditor)."""
    return can(user, Permission.COMPLIANCE_EDIT, breach.organisation_id) or can(
        user, Permission.COMPLIANCE_CONTROL, breach.organisation_id
    )


# --- Filters ---


def reported_or_created() -> sa.ColumnElement[datetime]:
    """When a breach was reported, or for a draft, written: the order and the year of a list."""
    return sa.func.coalesce(Breach.reported_to_controller_at, Breach.created_at)


@dataclass(frozen=True)
class BreachFilters:
    status: BreachStatus | None = None
    organisation_id: int | None = None
    risk: RiskLevel | Literal["pending"] | None = None
    # The year (Europe/Paris) the breach was reported, as in its reference (a draft: created).
    year: int | None = None

    def apply(self, stmt: sa.Select[Any]) -> sa.Select[Any]:
        if self.status is not None:
            stmt = stmt.where(Breach.status == self.status)
        if self.organisation_id is not None:
            stmt = stmt.where(Breach.organisation_id == self.organisation_id)
        if self.risk == RISK_PENDING:
            stmt = stmt.where(Breach.risk_level.is_(None))
        elif self.risk is not None:
            stmt = stmt.where(Breach.risk_level == self.risk)
        if self.year is not None:
            start = datetime(self.year, 1, 1, tzinfo=PARIS).astimezone(UTC)
            end = datetime(self.year + 1, 1, 1, tzinfo=PARIS).astimezone(UTC)
            stmt = stmt.where(reported_or_created() >= start, reported_or_created() < end)
        return stmt

    def as_args(self) -> dict[str, str]:
        """The filters as query arguments (for links to the exports of the same list)."""
        values = {
            "status": self.status.value if self.status else None,
            "organisation_id": str(self.organisation_id) if self.organisation_id else None,
            "risk": str(self.risk) if self.risk else None,
            "year": str(self.year) if self.year else None,
        }
        return {k: v for k, v in values.items() if v is not None}


def parse_filters(args: Any, extra: Sequence[str] = (), drafts: bool = True) -> BreachFilters:
    """Read status, organisation_id, risk and year from query arguments (a werkzeug MultiDict or a plain
    mapping). An empty value means no filter; an unknown value, a repeated or an unknown parameter is
    refused with its field named, so a misspelt filter never widens a list silently. `extra` names other
    parameters the caller reads; without `drafts` (the register), status=draft is refused."""
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

    statuses = [s for s in BreachStatus if drafts or s != BreachStatus.DRAFT]
    status = None
    if "status" in values:
        status = next((s for s in statuses if s.value == values["status"]), None)
        if status is None:
            fields["status"] = _(
                "Unknown status %(value)s: choose among %(choices)s.",
                value=repr(values["status"]),
                choices=", ".join(s.value for s in statuses),
            )
    risk: RiskLevel | Literal["pending"] | None = None
    if "risk" in values:
        if values["risk"] == RISK_PENDING:
            risk = RISK_PENDING
        else:
            risk = next((r for r in RiskLevel if r.value == values["risk"]), None)
        if risk is None:
            fields["risk"] = _(
                "Unknown risk level %(value)s: choose among %(choices)s.",
                value=repr(values["risk"]),
                choices=", ".join([*(r.value for r in RiskLevel), RISK_PENDING]),
            )
    organisation_id = None
    if "organisation_id" in values:
        organisation_id = _positive_int(values["organisation_id"])
        if organisation_id is None:
            fields["organisation_id"] = _("An organisation is named by its id, a positive whole number.")
    year = None
    if "year" in values:
        year = _positive_int(values["year"], 9998)
        if year is None or year < 2000:
            fields["year"] = _("A year has four digits, such as 2025.")
    refuse_invalid(fields)
    return BreachFilters(status=status, organisation_id=organisation_id, risk=risk, year=year)


# --- The register ---


def with_details(stmt: sa.Select[Any]) -> sa.Select[Any]:
    """Load what a breach's JSON, row or dossier shows, in a fixed number of queries whatever the rows."""
    return stmt.options(
        selectinload(Breach.notifications),
        selectinload(Breach.actions),
        selectinload(Breach.declared_by),
        selectinload(Breach.acknowledged_by),
        selectinload(Breach.assessed_by),
    )


def register_breaches(user: Any, filters: BreachFilters) -> list[Breach]:
    """The register as the user may see it: every reported breach, notified or not, in the order they
    were reported."""
    stmt = filters.apply(visible_breaches(user).where(Breach.status != BreachStatus.DRAFT))
    stmt = with_details(stmt).order_by(Breach.reported_to_controller_at, Breach.id)
    return list(db.session.scalars(stmt))


def communication_due_dates(breach_ids: Iterable[int]) -> dict[int, date]:
    """The day by which the people affected are to be informed, per breach (the latest clock the DPO set
    that was not cancelled), in one query."""
    ids = list(breach_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Deadline.subject_id, Deadline.due_date, Deadline.due_at)
        .where(
            Deadline.subject_type == SUBJECT,
            Deadline.subject_id.in_(ids),
            Deadline.kind == COMMUNICATION_KIND,
            Deadline.state != DeadlineState.CANCELLED,
        )
        .order_by(Deadline.id)
    )
    found: dict[int, date] = {}
    for subject_id, due_date, due_at in rows:
        if subject_id is not None:
            found[subject_id] = due_date or due_at.astimezone(PARIS).date()
    return found


def initial_notification(breach: Breach) -> BreachNotification | None:
    return next((n for n in breach.notifications if n.kind == NotificationKind.INITIAL), None)


def notification_is_late(breach: Breach, notification: BreachNotification) -> bool:
    """An initial notification made after the 72 hours (complementary ones follow it: never late)."""
    deadline = breach.cnil_deadline_at
    return (
        notification.kind == NotificationKind.INITIAL
        and deadline is not None
        and notification.notified_at > deadline
    )
