"""Governance rules at the service level: quorum, proxies, majority, the register, minutes, yearly duties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from governance.bodies import services
from governance.bodies.models import Body, Meeting, MinutesStatus
from governance.bodies.services import AttendanceEntry, MemberData
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.errors import Conflict, ValidationFailed
from vigie.extensions import db

PARIS = ZoneInfo("Europe/Paris")
DAY = datetime(2025, 4, 3, 18, 0, tzinfo=PARIS)


def _body(n: int, **rules: Any) -> Body:
    members = [MemberData(name=f"Membre {i}", since=date(2024, 1, 1)) for i in range(n)]
    body = services.create_body(f"Conseil {n} {rules}", members, **rules)
    db.session.commit()
    return body


def _meeting(body: Body, when: datetime = DAY) -> Meeting:
    meeting = services.create_meeting(
        body, when, place="Hôtel de Ville de Forcalquier", agenda=["Convention"]
    )
    db.session.commit()
    return meeting


def _attend(meeting: Meeting, present: int, represented: int = 0, excused: int = 0) -> services.QuorumResult:
    members = [m.id for m in meeting.body.members]
    entries = [AttendanceEntry(m, "present") for m in members[:present]]
    for i, m in enumerate(members[present : present + represented]):
        entries.append(AttendanceEntry(m, "represented", proxy_holder_id=members[i]))
    for m in members[present + represented : present + represented + excused]:
        entries.append(AttendanceEntry(m, "excused"))
    result = services.set_attendance(meeting, entries)
    db.session.commit()
    return result


def test_the_reference_deliberation(factory: Any) -> None:
    """27 in office, 22 present, 5 proxies, 27 votes cast, 27 for (deliberation n° 2025-37)."""
    meeting = _meeting(_body(27))
    q = _attend(meeting, present=22, represented=5)
    assert (q.in_office, q.required, q.present, q.represented, q.reached) == (27, 14, 22, 5, True)
    vote = services.record_vote(meeting, "Convention de partenariat", 27, 0, 0)
    assert (vote.votes_cast, vote.adopted) == (27, True)


def test_proxies_do_not_count_toward_quorum(factory: Any) -> None:
    meeting = _meeting(_body(27))
    q = _attend(meeting, present=13, represented=13)
    assert (q.required, q.present, q.reached) == (14, 13, False)
    with pytest.raises(ValidationFailed, match="13"):
        services.record_vote(meeting, "x", 20, 0, 0)


def test_a_body_may_count_proxies_toward_quorum(factory: Any) -> None:
    meeting = _meeting(_body(27, quorum_rule="majority_present_or_represented", max_proxies_per_holder=2))
    assert _attend(meeting, present=10, represented=5).reached is True


def test_one_proxy_per_holder_and_only_to_a_member_present(factory: Any) -> None:
    meeting = _meeting(_body(5))
    a, b, c, d, _e = (m.id for m in meeting.body.members)
    with pytest.raises(ValidationFailed) as err:
        services.set_attendance(
            meeting,
            [
                AttendanceEntry(a, "present"),
                AttendanceEntry(b, "represented", a),
                AttendanceEntry(c, "represented", a),
            ],
        )
    assert "entries.2.proxy_holder_id" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        services.set_attendance(meeting, [AttendanceEntry(a, "absent"), AttendanceEntry(b, "represented", a)])
    assert "entries.1.proxy_holder_id" in err.value.fields
    with pytest.raises(ValidationFailed):
        services.set_attendance(meeting, [AttendanceEntry(d, "represented", d)])


def test_abstentions_are_not_votes_cast_and_totals_are_bounded(factory: Any) -> None:
    meeting = _meeting(_body(10))
    _attend(meeting, present=6, represented=2)
    vote = services.record_vote(meeting, "Budget", 3, 2, 3)
    assert (vote.votes_cast, vote.adopted) == (5, True)
    with pytest.raises(ValidationFailed, match="9"):
        services.record_vote(meeting, "Trop", 5, 2, 2)
    assert services.record_vote(meeting, "Rejet", 2, 3, 3).adopted is False


def test_a_tie_is_rejected_unless_the_chair_has_a_casting_vote(factory: Any) -> None:
    plain = _meeting(_body(4))
    _attend(plain, present=4)
    assert services.record_vote(plain, "Égalité", 2, 2, 0).adopted is False
    casting = _meeting(_body(4, chair_casting_vote=True))
    _attend(casting, present=4)
    with pytest.raises(ValidationFailed) as err:
        services.record_vote(casting, "Égalité", 2, 2, 0)
    assert "chair_vote" in err.value.fields
    vote = services.record_vote(casting, "Égalité", 2, 2, 0, chair_vote="for")
    assert (vote.adopted, vote.casting_vote_used) == (True, True)


def test_decisions_are_numbered_per_body_and_year_without_gaps(factory: Any) -> None:
    body = _body(3, code="COPIL")
    meeting = _meeting(body)
    _attend(meeting, present=3)
    vote = services.record_vote(meeting, "x", 3, 0, 0)
    refs = [
        services.record_decision(meeting, f"Décision {i}", vote.id if i == 0 else None).reference
        for i in range(3)
    ]
    assert refs == ["COPIL-2025-001", "COPIL-2025-002", "COPIL-2025-003"]
    next_year = _meeting(body, DAY + timedelta(days=365))
    assert services.record_decision(next_year, "Nouvelle année").reference == "COPIL-2026-001"
    rejected = services.record_vote(meeting, "non", 0, 3, 0)
    with pytest.raises(ValidationFailed):
        services.record_decision(meeting, "Sur un vote rejeté", rejected.id)


def test_membership_dates_decide_who_was_in_office(factory: Any) -> None:
    body = _body(3)
    services.end_membership(body.members[0], date(2025, 3, 31))
    services.add_member(body, MemberData(name="Nouvelle membre", since=date(2025, 5, 1)))
    db.session.commit()
    assert len(services.members_in_office(body, date(2025, 4, 3))) == 2
    assert len(services.members_in_office(body, date(2025, 3, 1))) == 3
    meeting = _meeting(body)
    with pytest.raises(ValidationFailed):
        services.set_attendance(meeting, [AttendanceEntry(body.members[0].id, "present")])


def test_minutes_versions_and_approval_at_a_later_meeting(factory: Any) -> None:
    body = _body(3)
    first, second = _meeting(body), _meeting(body, DAY + timedelta(days=60))
    services.save_minutes(first, "Première version")
    minutes = services.save_minutes(first, "Deuxième version")
    assert [v.number for v in minutes.versions] == [1, 2]
    assert minutes.current is not None and minutes.current.text == "Deuxième version"
    services.submit_minutes(first)
    with pytest.raises(ValidationFailed):
        services.approve_minutes(first, first)
    services.approve_minutes(first, second)
    services.publish_minutes(first)
    db.session.commit()
    assert minutes.status == MinutesStatus.PUBLISHED
    with pytest.raises(Conflict):
        services.save_minutes(first, "Trop tard")


def test_action_items_are_deadlines(factory: Any) -> None:
    factory.org("controller")
    body = _body(3)
    item = services.create_action_item(body, "Former les bibliothécaires", "Médiathèque", date(2030, 6, 30))
    db.session.commit()
    deadline = db.session.scalar(sa.select(Deadline).where(Deadline.subject_id == item.id))
    assert deadline is not None and deadline.due_date == date(2030, 6, 30)
    services.set_action_status(item, "done", "Formation tenue")
    db.session.commit()
    assert deadline.state == DeadlineState.MET
    assert item.notes and "Formation tenue" in item.notes


def test_a_yearly_duty_is_due_on_31_december_and_met_by_its_meeting(factory: Any) -> None:
    factory.org("controller")
    body = _body(3, yearly_duty="yearly_meeting")
    meeting = services.create_meeting(body, DAY, place="Digne", fulfils_duty="yearly_meeting")
    db.session.commit()
    deadline = db.session.scalar(sa.select(Deadline).where(Deadline.kind == "governance.yearly_meeting"))
    assert deadline is not None and deadline.due_date == date(2025, 12, 31)
    assert deadline.due_at.astimezone(PARIS).hour == 23
    _attend(meeting, present=2)
    assert deadline.state == DeadlineState.MET
    services.ensure_yearly_duty("yearly_meeting", 2025)  # idempotent
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Deadline)) == 1


def test_invitation_ics(factory: Any) -> None:
    from icalendar import Calendar

    meeting = _meeting(_body(2))
    cal = Calendar.from_ical(services.invitation_ics(meeting))
    event = next(iter(cal.walk("VEVENT")))
    assert event.decoded("dtstart") == DAY.astimezone(UTC)
    assert str(event["location"]) == "Hôtel de Ville de Forcalquier"
    assert "1. Convention" in str(event["description"])


def test_cli_opens_the_yearly_duties(app: Any, factory: Any) -> None:
    factory.org("controller")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["governance", "duties", "--year", "2026"])
    assert result.exit_code == 0, result.output
    kinds = set(db.session.scalars(sa.select(Deadline.kind).where(Deadline.due_date == date(2026, 12, 31))))
    assert kinds == {"governance.yearly_meeting", "governance.professional_day"}
    assert runner.invoke(args=["governance", "duties", "--year", "2026"]).exit_code == 0  # idempotent
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Deadline)) == 2
    assert runner.invoke(args=["governance", "duties", "--year", "1900"]).exit_code == 2
