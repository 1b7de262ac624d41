"""Opening, meeting, rescheduling and cancelling deadlines. Called by the domain services that start
or stop a clock, in their transaction: these functions flush, never commit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from vigie.audit.recorder import current_actor
from vigie.auth.access import reaches_all_organisations
from vigie.auth.roles import TENANT_SCOPED_ROLES, Permission
from vigie.database import utcnow
from vigie.deadlines.kinds import get_kind, kinds_visible_to
from vigie.deadlines.models import Deadline, DeadlineEvent, DeadlineState
from vigie.errors import Conflict, ValidationFailed
from vigie.extensions import db
from vigie.orgs.models import Organisation


def _event(deadline: Deadline, action: str, reason: str | None = None, old: datetime | None = None) -> None:
    db.session.add(
        DeadlineEvent(
            deadline_id=deadline.id,
            at=utcnow(),
            actor_label=current_actor()[1],
            action=action,
            old_due_at=old,
            new_due_at=deadline.due_at,
            reason=reason,
        )
    )


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise ValidationFailed(
            _("A time without its UTC offset is ambiguous."), {field: _("Give the offset.")}
        )
    return value


def open_deadline(
    kind: str,
    organisation: Organisation,
    title: str,
    due_at: datetime,
    due_date: date | None = None,
    subject: tuple[str, int] | None = None,
    opened_at: datetime | None = None,
) -> Deadline:
    get_kind(kind)  # an unregistered kind is a programming error: fail loudly
    deadline = Deadline(
        kind=kind,
        organisation=organisation,
        title=title[:300],
        due_at=_aware(due_at, "due_at"),
        due_date=due_date,
        opened_at=opened_at or utcnow(),
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        state=DeadlineState.OPEN,
    )
    db.session.add(deadline)
    db.session.flush()
    _event(deadline, "opened")
    return deadline


def meet_deadline(deadline: Deadline, met_at: datetime | None = None) -> Deadline:
    """Stop the clock: met on time or late, as the met time compares with the due time."""
    if deadline.state != DeadlineState.OPEN:
        raise Conflict(_("This deadline is already closed."))
    deadline.state = DeadlineState.MET
    deadline.met_at = _aware(met_at, "met_at") if met_at else utcnow()
    _event(deadline, "met")
    db.session.flush()
    return deadline


def cancel_deadline(deadline: Deadline, reason: str) -> Deadline:
    if not reason.strip():
        raise ValidationFailed(
            _("Say why the deadline is cancelled."), {"reason": _("A reason is required.")}
        )
    if deadline.state != DeadlineState.OPEN:
        raise Conflict(_("This deadline is already closed."))
    deadline.state = DeadlineState.CANCELLED
    deadline.closed_reason = reason.strip()
    _event(deadline, "cancelled", reason.strip())
    db.session.flush()
    return deadline


def reschedule_deadline(
    deadline: Deadline, due_at: datetime, reason: str, due_date: date | None = None
) -> Deadline:
    if not reason.strip():
        raise ValidationFailed(_("Say why the deadline moves."), {"reason": _("A reason is required.")})
    if deadline.state != DeadlineState.OPEN:
        raise Conflict(_("This deadline is already closed."))
    old = deadline.due_at
    deadline.due_at = _aware(due_at, "due_at")
    deadline.due_date = due_date
    _event(deadline, "rescheduled", reason.strip(), old=old)
    db.session.flush()
    return deadline


def open_deadline_for(subject_type: str, subject_id: int, kind: str) -> Deadline | None:
    return db.session.scalar(
        sa.select(Deadline).where(
            Deadline.subject_type == subject_type,
            Deadline.subject_id == subject_id,
            Deadline.kind == kind,
            Deadline.state == DeadlineState.OPEN,
        )
    )


def visible_deadlines(user: Any) -> sa.Select[Deadline]:
    """The deadlines a user may see: the kinds their roles see, and for a partner its own organisation's."""
    clauses: list[sa.ColumnElement[bool]] = []
    for role in user.roles:
        codes = [k.code for k in kinds_visible_to(frozenset({role}))]
        if not codes:
            continue
        clause: sa.ColumnElement[bool] = Deadline.kind.in_(codes)
        if role in TENANT_SCOPED_ROLES:
            clause = sa.and_(clause, Deadline.organisation_id == user.organisation_id)
        clauses.append(clause)
    stmt = sa.select(Deadline)
    if not clauses:
        return stmt.where(sa.false())
    return stmt.where(sa.or_(*clauses))


def can_see_all_partners(user: Any) -> bool:
    return reaches_all_organisations(user, Permission.COMPLIANCE_VIEW) or reaches_all_organisations(
        user, Permission.GOVERNANCE_VIEW
    )
