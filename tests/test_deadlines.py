"""The deadline service: open, meet, reschedule, cancel; status derived alike in Python and SQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from vigie.deadlines import services
from vigie.deadlines.kinds import DeadlineKind, get_kind, register_kind
from vigie.deadlines.models import Deadline, DeadlineEvent
from vigie.deadlines.status import DeadlineStatus, remaining_text, status_clause, status_of
from vigie.errors import Conflict, ValidationFailed
from vigie.extensions import db

NOW = datetime(2025, 3, 28, 9, 0, tzinfo=UTC)


def _open(
    factory: Any, kind: str = "access.inquiry", due_in: timedelta = timedelta(days=5), **kw: Any
) -> Deadline:
    org = kw.pop("org", None) or factory.org("partner")
    d = services.open_deadline(kind, org, kw.pop("title", "Demande d'accès n° 1"), NOW + due_in, **kw)
    db.session.commit()
    return d


@pytest.mark.parametrize(
    ("kind", "due_in", "expected"),
    [
        ("access.inquiry", timedelta(days=5), DeadlineStatus.OPEN),
        ("access.inquiry", timedelta(hours=23), DeadlineStatus.DUE_SOON),  # horizon: 1 day
        ("processor.staff_review", timedelta(days=20), DeadlineStatus.DUE_SOON),  # horizon: 30 days
        ("breach.cnil_notification", timedelta(hours=25), DeadlineStatus.OPEN),  # horizon: 24 h
        ("breach.cnil_notification", timedelta(hours=23), DeadlineStatus.DUE_SOON),
        ("breach.cnil_notification", timedelta(seconds=-1), DeadlineStatus.OVERDUE),
    ],
)
def test_status_is_derived_the_same_way_in_python_and_sql(
    factory: Any, kind: str, due_in: timedelta, expected: DeadlineStatus
) -> None:
    d = _open(factory, kind, due_in)
    assert status_of(d, NOW) == expected
    word = {"open": "open", "due_soon": "due", "overdue": "overdue"}[expected.value]
    found = db.session.scalars(sa.select(Deadline.id).where(status_clause(word, NOW))).all()
    assert d.id in found
    if expected != DeadlineStatus.OPEN:
        # The exact status word excludes the others.
        others = {"due", "overdue"} - {word}
        for other in others:
            assert (
                d.id not in db.session.scalars(sa.select(Deadline.id).where(status_clause(other, NOW))).all()
            )


def test_met_on_time_and_late(factory: Any) -> None:
    on_time = _open(factory, due_in=timedelta(days=1))
    late = _open(factory, due_in=timedelta(days=1))
    services.meet_deadline(on_time, met_at=on_time.due_at)  # the due second itself is on time
    services.meet_deadline(late, met_at=late.due_at + timedelta(seconds=1))
    db.session.commit()
    assert status_of(on_time, NOW) == DeadlineStatus.MET_ON_TIME
    assert status_of(late, NOW) == DeadlineStatus.MET_LATE
    ids = lambda word: set(db.session.scalars(sa.select(Deadline.id).where(status_clause(word, NOW))))  # noqa: E731
    assert ids("met") == {on_time.id, late.id}
    assert ids("met_on_time") == {on_time.id}
    assert ids("met_late") == {late.id}
    assert ids("open") == set()
    with pytest.raises(Conflict):
        services.meet_deadline(on_time)


def test_reschedule_and_cancel_keep_their_reasons(factory: Any) -> None:
    d = _open(factory, due_date=date(2025, 4, 2))
    old_due = d.due_at
    with pytest.raises(ValidationFailed):
        services.reschedule_deadline(d, NOW + timedelta(days=9), reason="  ")
    services.reschedule_deadline(
        d, NOW + timedelta(days=9), reason="Pont de l'Ascension", due_date=date(2025, 4, 6)
    )
    services.cancel_deadline(d, reason="Demande retirée par la personne")
    db.session.commit()
    assert status_of(d, NOW) == DeadlineStatus.CANCELLED
    assert d.closed_reason == "Demande retirée par la personne"
    events = db.session.scalars(
        sa.select(DeadlineEvent).where(DeadlineEvent.deadline_id == d.id).order_by(DeadlineEvent.id)
    ).all()
    assert [e.action for e in events] == ["opened", "rescheduled", "cancelled"]
    assert events[1].old_due_at == old_due
    assert events[1].new_due_at == NOW + timedelta(days=9)
    assert events[1].reason == "Pont de l'Ascension"
    with pytest.raises(Conflict):
        services.reschedule_deadline(d, NOW, reason="trop tard")


def test_naive_times_are_refused(factory: Any) -> None:
    org = factory.org("partner")
    with pytest.raises(ValidationFailed):
        services.open_deadline("access.inquiry", org, "x", datetime(2025, 4, 1, 12, 0))


def test_deadline_is_written_in_the_callers_transaction(factory: Any) -> None:
    """A rollback of the domain record's transaction takes its deadline with it."""
    org = factory.org("partner")
    services.open_deadline("access.inquiry", org, "x", NOW)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Deadline)) == 0


def test_unknown_kind_is_refused(factory: Any) -> None:
    org = factory.org("partner")
    with pytest.raises(KeyError, match="register it"):
        services.open_deadline("nothing.such", org, "x", NOW)


def test_a_kind_cannot_be_registered_twice_differently() -> None:
    kind = get_kind("access.inquiry")
    register_kind(kind)  # the same declaration again is harmless (a second app instance)
    with pytest.raises(ValueError, match="already registered"):
        register_kind(DeadlineKind(kind.code, kind.label, kind.actor, kind.visible_to, timedelta(days=9)))


def test_visibility_by_role_and_tenant(factory: Any) -> None:
    mine = factory.org("partner")
    theirs = factory.org("partner")
    a = _open(factory, "access.inquiry", org=mine, title="mine")
    b = _open(factory, "access.inquiry", org=theirs, title="theirs")
    c = _open(factory, "access.response", org=mine, title="controller only")
    e = _open(factory, "convention.evaluation", org=mine, title="convention")

    def visible(*roles: str, org: Any = None) -> set[int]:
        user = factory.user(*roles, org=org)
        return set(db.session.scalars(services.visible_deadlines(user).with_only_columns(Deadline.id)))

    assert visible("partner", org=mine) == {a.id}
    assert visible("dpo") == {a.id, b.id, c.id}
    assert visible("legal") == {e.id}
    assert visible("auditor") == {a.id, b.id, c.id, e.id}
    assert visible("admin") == set()


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(days=2, hours=5, minutes=59), "2 d 5 h"),
        (timedelta(hours=3, minutes=20), "3 h 20 min"),
        (timedelta(minutes=12, seconds=30), "12 min"),
        (-timedelta(hours=1, minutes=5), "1 h 5 min"),
    ],
)
def test_remaining_text(app: Any, delta: timedelta, text: str) -> None:
    from flask_babel import force_locale

    with force_locale("en"):
        assert remaining_text(delta) == text
