"""A deadline's status, derived one way in Python (for display) and in SQL (for filters and counts)."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from vigie.deadlines.kinds import all_kinds, get_kind
from vigie.deadlines.models import Deadline, DeadlineState


class DeadlineStatus(enum.StrEnum):
    OPEN = "open"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    MET_ON_TIME = "met_on_time"
    MET_LATE = "met_late"
    CANCELLED = "cancelled"


STATUS_LABELS = {
    DeadlineStatus.OPEN: _l("open"),
    DeadlineStatus.DUE_SOON: _l("due soon"),
    DeadlineStatus.OVERDUE: _l("overdue"),
    DeadlineStatus.MET_ON_TIME: _l("met on time"),
    DeadlineStatus.MET_LATE: _l("met late"),
    DeadlineStatus.CANCELLED: _l("cancelled"),
}

# The filter words of the public contract (CLI, API): overdue|due|open|met, and the exact statuses.
FILTERS = ("overdue", "due", "open", "met", *(s.value for s in DeadlineStatus))


def status_of(deadline: Deadline, now: datetime) -> DeadlineStatus:
    if deadline.state == DeadlineState.CANCELLED:
        return DeadlineStatus.CANCELLED
    if deadline.state == DeadlineState.MET:
        met = deadline.met_at
        return (
            DeadlineStatus.MET_ON_TIME
            if met is not None and met <= deadline.due_at
            else DeadlineStatus.MET_LATE
        )
    if now > deadline.due_at:
        return DeadlineStatus.OVERDUE
    if now >= deadline.due_at - get_kind(deadline.kind).due_soon:
        return DeadlineStatus.DUE_SOON
    return DeadlineStatus.OPEN


def _due_soon_clause(now: datetime) -> sa.ColumnElement[bool]:
    # One horizon per kind: grouped by horizon, so the clause grows with the kinds, never with the data.
    by_horizon: dict[timedelta, list[str]] = {}
    for kind in all_kinds():
        by_horizon.setdefault(kind.due_soon, []).append(kind.code)
    parts = [
        sa.and_(Deadline.kind.in_(codes), Deadline.due_at <= now + horizon)
        for horizon, codes in sorted(by_horizon.items())
    ]
    return sa.and_(Deadline.state == DeadlineState.OPEN, Deadline.due_at >= now, sa.or_(sa.false(), *parts))


def status_clause(word: str, now: datetime) -> sa.ColumnElement[bool]:
    """The SQL condition for a filter word; ValueError for an unknown one."""
    running = Deadline.state == DeadlineState.OPEN
    clauses: dict[str, Any] = {
        "open": running,
        "met": Deadline.state == DeadlineState.MET,
        "overdue": sa.and_(running, Deadline.due_at < now),
        "due": _due_soon_clause(now),
        DeadlineStatus.DUE_SOON.value: _due_soon_clause(now),
        DeadlineStatus.MET_ON_TIME.value: sa.and_(
            Deadline.state == DeadlineState.MET, Deadline.met_at <= Deadline.due_at
        ),
        DeadlineStatus.MET_LATE.value: sa.and_(
            Deadline.state == DeadlineState.MET, Deadline.met_at > Deadline.due_at
        ),
        DeadlineStatus.CANCELLED.value: Deadline.state == DeadlineState.CANCELLED,
    }
    if word not in clauses:
        raise ValueError(word)
    return sa.and_(clauses[word])


def remaining_text(delta: timedelta) -> str:
    """'2 j 5 h' (French), '3 h 20 min', '12 min'; a negative delta gives the time since it was due."""
    seconds = abs(int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(days)d d %(hours)d h", days=days, hours=hours)
    if hours:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    return _("%(minutes)d min", minutes=minutes)
