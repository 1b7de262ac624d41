"""Governance pages: a whole meeting of the steering committee held through the web forms (members,
agenda, the invitation received by the SMTP test server with its calendar file, attendance with proxies,
quorum reached and not, votes adopted, rejected and tied, the decision register, an action item and its
deadline, minutes drafted, submitted, approved at the next meeting and published); the reference
deliberation's own figures; what partners read (and do not); sanitised minutes; the other pages."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, url_for
from flask_babel import force_locale, gettext
from icalendar import Calendar
from markupsafe import escape

from governance.bodies import services
from governance.bodies.forms import NonexistentLocalTime, paris_to_utc
from governance.bodies.models import (
    ActionItem,
    ActionStatus,
    Attendance,
    Body,
    BodyMember,
    Circulation,
    Decision,
    Meeting,
    MeetingDocument,
    MemberRole,
    Minutes,
    MinutesStatus,
    MinutesVersion,
    Vote,
)
from tests.smtp import SmtpServer, smtp_server_fixture  # noqa: F401  (the smtp_server fixture)
from vigie.database import utcnow
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.extensions import db
from vigie.timeutil import to_paris

# --- helpers ---------------------------------------------------------------------------------------


def t(app: Flask, message: str, **values: Any) -> str:
    """A message as the French pages show it, HTML-escaped (the msgid while it has no translation)."""
    with app.test_request_context(), force_locale("fr"):
        return str(escape(gettext(message, **values)))


def tr(app: Flask, message: str, **values: Any) -> str:
    """A message of a template as the French pages show it (Jinja's gettext output is not escaped)."""
    with app.test_request_context(), force_locale("fr"):
        return str(gettext(message, **values))


def text_of(response: Any) -> str:
    return str(response.get_data(as_text=True))


def ok(response: Any) -> Any:
    """A form accepted: the redirection after the commit (the page's errors shown otherwise)."""
    assert response.status_code == 302, _errors(text_of(response))
    return response


def _errors(page: str) -> str:
    found = re.findall(r'class="(?:error|error-summary|flash flash-error)"[^>]*>(.*?)</', page, re.S)
    return " | ".join(s.strip() for s in found) or page[:3000]


def body_named(name: str) -> Body:
    db.session.expire_all()
    body = db.session.scalar(sa.select(Body).where(Body.name == name))
    assert body is not None
    return body


def member_named(body: Body, name: str) -> BodyMember:
    """Names are encrypted at rest (no equality in SQL): found among the body's members."""
    db.session.expire_all()
    members = db.session.scalars(sa.select(BodyMember).where(BodyMember.body_id == body.id)).all()
    (member,) = [m for m in members if m.name == name]
    return member


def meetings_of(body: Body) -> list[Meeting]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(Meeting).where(Meeting.body_id == body.id).order_by(Meeting.starts_at))
    )


def create_body(client: Any, name: str, **rules: Any) -> Body:
    data = {
        "name": name,
        "code": "",
        "missions": "",
        "quorum_rule": "majority_present",
        "majority_rule": "absolute_of_cast",
        "max_proxies_per_holder": "1",
        "yearly_duty": "",
        **rules,
    }
    ok(client.post("/governance/bodies/new", data))
    return body_named(name)


def add_member(
    client: Any,
    body: Body,
    name: str,
    organisation: Any = None,
    email: str | None = None,
    role: str = "member",
    statutory: bool = False,
    since: str = "2025-01-01",
) -> BodyMember:
    data = {
        "member-name": name,
        "member-email": email or "",
        "member-organisation_id": str(organisation.id) if organisation is not None else "",
        "member-role": role,
        "member-since": since,
    }
    if statutory:
        data["member-statutory"] = "y"
    ok(client.post(f"/governance/bodies/{body.id}/members", data))
    return member_named(body, name)


def create_meeting(client: Any, body: Body, starts: str, agenda: str = "", **fields: Any) -> Meeting:
    before = {m.id for m in meetings_of(body)}
    data = {"starts_at": starts, "place": "Hôtel du Département, Digne-les-Bains", "agenda": agenda, **fields}
    response = ok(client.post(f"/governance/bodies/{body.id}/meetings/new", data))
    (meeting,) = [m for m in meetings_of(body) if m.id not in before]
    assert response.headers["Location"].endswith(f"/governance/meetings/{meeting.id}")
    return meeting


def attendance(client: Any, meeting: Meeting, rows: dict[BodyMember, tuple[str, BodyMember | None]]) -> Any:
    data = {}
    for member, (status, holder) in rows.items():
        data[f"status-{member.id}"] = status
        data[f"proxy-{member.id}"] = str(holder.id) if holder is not None else ""
    return client.post(f"/governance/meetings/{meeting.id}/attendance", data)


def vote(client: Any, meeting: Meeting, subject: str, f: int, a: int, ab: int, chair: str = "") -> Any:
    return client.post(
        f"/governance/meetings/{meeting.id}/votes",
        {
            "vote-subject": subject,
            "vote-agenda_item_id": "",
            "vote-votes_for": str(f),
            "vote-votes_against": str(a),
            "vote-abstentions": str(ab),
            "vote-chair_vote": chair,
        },
    )


def votes_of(meeting: Meeting) -> list[Vote]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Vote).where(Vote.meeting_id == meeting.id).order_by(Vote.id)))


def decide(client: Any, meeting: Meeting, text: str, vote_id: int | None = None) -> Any:
    return client.post(
        f"/governance/meetings/{meeting.id}/decisions",
        {"decision-text": text, "decision-vote_id": str(vote_id) if vote_id else ""},
    )


def references(body: Body) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Decision.reference).where(Decision.body_id == body.id).order_by(Decision.id)
        )
    )


def quorum_shown(page: str) -> dict[str, int]:
    """The figures of the quorum box of a meeting's page."""
    box = page[page.index('id="quorum"') :]
    return {
        key: int(re.search(rf'class="q-{key}">(\d+)<', box).group(1))  # type: ignore[union-attr]
        for key in ("in-office", "required", "present", "represented")
    }


@pytest.fixture
def people(factory: Any) -> dict[str, Any]:
    controller = factory.org("controller", name="Département des Alpes de Haute-Provence")
    forcalquier = factory.org("partner", name="Communauté de communes Pays de Forcalquier-Montagne de Lure")
    bdp = factory.org("other", name="Bibliothèque départementale")
    manosque = factory.org("partner", name="Médiathèque de Manosque")
    return {
        "controller": controller,
        "forcalquier": forcalquier,
        "bdp": bdp,
        "manosque": manosque,
        "committee": factory.user("committee", org=controller),
        "auditor": factory.user("auditor", org=controller),
        "legal": factory.user("legal", org=controller),
        "dpo": factory.user("dpo", org=controller),
        "partner": factory.user("partner", org=forcalquier),
        "outsider": factory.user("partner", org=manosque),
    }


@pytest.fixture
def copil(people: dict[str, Any], sign_in_as: Any) -> dict[str, Any]:
    """The steering committee (art. 7) with its three statutory members, created through the forms."""
    web = sign_in_as(people["committee"])
    body = create_body(
        web,
        "Comité de pilotage",
        code="COPIL",
        missions="Suivre la convention\nArbitrer les demandes des groupes de travail",
        yearly_duty="yearly_meeting",
    )
    chair = add_member(
        web, body, "Eliane Barreille", people["controller"], "presidence@example.fr", "chair", statutory=True
    )
    gehant = add_member(
        web, body, "David Gehant", people["forcalquier"], "president@example.fr", statutory=True
    )
    bdp = add_member(web, body, "Directrice de la BDP", people["bdp"], "bdp@example.fr", statutory=True)
    return {"web": web, "body": body, "chair": chair, "gehant": gehant, "bdp": bdp}


# --- a whole meeting through the forms ---------------------------------------------------------------


def test_a_whole_meeting_of_the_steering_committee_through_the_forms(
    app: Flask, people: dict[str, Any], copil: dict[str, Any], sign_in_as: Any
) -> None:
    web, body = copil["web"], copil["body"]
    chair, gehant, bdp = copil["chair"], copil["gehant"], copil["bdp"]

    page = text_of(web.get(f"/governance/bodies/{body.id}"))
    for name in ("Eliane Barreille", "David Gehant", "Directrice de la BDP", "COPIL"):
        assert name in page
    assert page.count(f'<span class="badge">{tr(app, "statutory")}</span>') == 3

    meeting = create_meeting(
        web, body, "2025-03-28T10:00", agenda="Bilan des ressources en ligne\nBudget 2025\nQuestions diverses"
    )
    assert meeting.starts_at == datetime(2025, 3, 28, 9, 0, tzinfo=UTC)  # 10:00 in Paris, winter time
    assert [i.title for i in meeting.agenda] == [
        "Bilan des ressources en ligne",
        "Budget 2025",
        "Questions diverses",
    ]

    # No attendance yet: no quorum, and the vote is refused with the reason.
    refused = vote(web, meeting, "Approbation du budget", 1, 0, 0)
    assert refused.status_code == 422
    assert t(
        app,
        "Quorum not reached (%(present)d present, %(required)d required): no vote can be recorded.",
        present=0,
        required=2,
    ) in text_of(refused)
    assert votes_of(meeting) == []

    # Quorum not reached: one member present out of three (a proxy does not count toward it).
    response = ok(
        attendance(
            web, meeting, {chair: ("present", None), gehant: ("represented", chair), bdp: ("absent", None)}
        )
    )
    page = text_of(web.get(response.headers["Location"]))
    assert quorum_shown(page) == {"in-office": 3, "required": 2, "present": 1, "represented": 1}
    assert tr(app, "Quorum not reached") in page
    refused = vote(web, meeting, "Approbation du budget", 2, 0, 0)
    assert refused.status_code == 422
    assert t(
        app,
        "Quorum not reached (%(present)d present, %(required)d required): no vote can be recorded.",
        present=1,
        required=2,
    ) in text_of(refused)
    assert 'value="Approbation du budget"' in text_of(refused)  # what was typed is kept
    # The refusal is shown in the votes' section, where the form sent brings the browser back.
    votes_section = text_of(refused).split('id="votes-title"')[1].split('id="decisions-title"')[0]
    assert 'class="error-summary"' in votes_section
    assert f'<form method="post" action="/governance/meetings/{meeting.id}/votes#votes"' in text_of(refused)

    # Quorum reached: two present, one represented.
    ok(
        attendance(
            web, meeting, {chair: ("present", None), gehant: ("represented", chair), bdp: ("present", None)}
        )
    )
    page = text_of(web.get(f"/governance/meetings/{meeting.id}"))
    assert quorum_shown(page) == {"in-office": 3, "required": 2, "present": 2, "represented": 1}
    assert tr(app, "Quorum reached") in page

    # More votes than members present and represented: refused.
    too_many = vote(web, meeting, "Approbation du budget", 3, 1, 0)
    assert too_many.status_code == 422
    assert votes_of(meeting) == []

    ok(vote(web, meeting, "Approbation du budget", 2, 1, 0))
    ok(vote(web, meeting, "Extension aux liseuses", 1, 2, 0))
    adopted, rejected = votes_of(meeting)
    assert (adopted.adopted, adopted.votes_cast) == (True, 3)
    assert (rejected.adopted, rejected.votes_cast) == (False, 3)
    page = text_of(web.get(f"/governance/meetings/{meeting.id}"))
    assert tr(app, "adopted") in page and tr(app, "rejected") in page

    # Decisions: numbered in the body's register for the year, without gaps.
    ok(decide(web, meeting, "Le budget 2025 est approuvé.", adopted.id))
    # A rejected vote makes no decision (not offered, and refused if sent anyway): no number is used.
    assert decide(web, meeting, "Les liseuses sont ajoutées.", rejected.id).status_code == 422
    ok(decide(web, meeting, "Le bilan des ressources en ligne est présenté au prochain comité."))
    assert references(body) == ["COPIL-2025-001", "COPIL-2025-002"]
    first = db.session.scalar(sa.select(Decision).where(Decision.reference == "COPIL-2025-001"))
    assert first is not None and first.vote_id == adopted.id

    # An action item opens a deadline; done, the deadline is met.
    ok(
        web.post(
            f"/governance/meetings/{meeting.id}/actions",
            {
                "action-title": "Diffuser le bilan aux bibliothèques",
                "action-owner": "David Gehant",
                "action-owner_organisation_id": str(people["forcalquier"].id),
                "action-due_date": "2025-05-15",
                "action-decision_id": str(first.id),
            },
        )
    )
    item = db.session.scalar(sa.select(ActionItem).where(ActionItem.body_id == body.id))
    assert item is not None and item.decision_id == first.id
    deadline = db.session.scalar(
        sa.select(Deadline).where(Deadline.subject_type == "action_item", Deadline.subject_id == item.id)
    )
    assert deadline is not None
    assert (deadline.kind, deadline.state, deadline.due_date) == (
        "governance.action_item",
        DeadlineState.OPEN,
        date(2025, 5, 15),
    )
    assert deadline.organisation_id == people["forcalquier"].id
    ok(
        web.post(
            f"/governance/actions/{item.id}/status?meeting_id={meeting.id}",
            {f"action-{item.id}-status": "done", f"action-{item.id}-notes": "Envoyé par courriel"},
        )
    )
    db.session.expire_all()
    assert db.session.get(ActionItem, item.id).status == ActionStatus.DONE  # type: ignore[union-attr]
    assert db.session.get(Deadline, deadline.id).state == DeadlineState.MET  # type: ignore[union-attr]

    # Minutes: two versions kept, submitted, approved at the next meeting, published.
    draft = "# Procès-verbal\n\nLe comité approuve le budget.\n\n<script>alert('pv')</script>"
    ok(web.post(f"/governance/meetings/{meeting.id}/minutes", {"minutes-text": draft}))
    ok(
        web.post(
            f"/governance/meetings/{meeting.id}/minutes",
            {"minutes-text": draft + "\n\n**Séance levée à 12 h.**"},
        )
    )
    minutes = db.session.scalar(sa.select(Minutes).where(Minutes.meeting_id == meeting.id))
    assert minutes is not None
    versions = db.session.scalars(
        sa.select(MinutesVersion)
        .where(MinutesVersion.minutes_id == minutes.id)
        .order_by(MinutesVersion.number)
    ).all()
    assert [v.number for v in versions] == [1, 2]
    assert "Séance levée" not in versions[0].text and "Séance levée" in versions[1].text
    page = text_of(web.get(f"/governance/meetings/{meeting.id}"))
    assert tr(app, "Version %(n)d", n=1) in page and tr(app, "Version %(n)d", n=2) in page
    assert "<strong>Séance levée à 12 h.</strong>" in page
    v1 = text_of(web.get(f"/governance/meetings/{meeting.id}/minutes?version=1"))
    assert "Séance levée" not in v1 and "Le comité approuve le budget." in v1

    ok(web.post(f"/governance/meetings/{meeting.id}/minutes/submit", {}))
    # Approval needs a later meeting of the body.
    refused = web.post(f"/governance/meetings/{meeting.id}/minutes/approve", {"approve-at_meeting_id": ""})
    assert refused.status_code == 422
    next_meeting = create_meeting(web, body, "2025-06-12T14:30", agenda="Approbation du procès-verbal")
    page = text_of(web.get(f"/governance/meetings/{meeting.id}"))
    assert f'<option value="{next_meeting.id}"' in page
    assert (
        f'<option value="{meeting.id}"'
        not in page.split('name="approve-at_meeting_id"')[1].split("</select>")[0]
    )
    ok(
        web.post(
            f"/governance/meetings/{meeting.id}/minutes/approve",
            {"approve-at_meeting_id": str(next_meeting.id)},
        )
    )
    # Approved minutes cannot change any more.
    assert (
        web.post(f"/governance/meetings/{meeting.id}/minutes", {"minutes-text": "autre"}).status_code == 409
    )
    ok(web.post(f"/governance/meetings/{meeting.id}/minutes/publish", {}))
    db.session.expire_all()
    minutes = db.session.get(Minutes, minutes.id)
    assert minutes is not None
    assert minutes.status == MinutesStatus.PUBLISHED
    assert minutes.approved_at_meeting_id == next_meeting.id
    assert minutes.approved_at == next_meeting.starts_at
    assert len(minutes.versions) == 2

    # The partner whose organisation sits in the committee reads the published minutes and decisions.
    partner = sign_in_as(people["partner"])
    response = partner.get(f"/governance/meetings/{meeting.id}/minutes")
    assert response.status_code == 200
    page = text_of(response)
    assert "Le comité approuve le budget." in page
    assert "<script>alert" not in page and "&lt;script&gt;alert('pv')&lt;/script&gt;" in page
    assert "COPIL-2025-001" in page
    register = text_of(partner.get("/governance/decisions"))
    assert "COPIL-2025-001" in register and "COPIL-2025-002" in register
    assert partner.get(f"/governance/decisions/{first.id}").status_code == 200
    # ... but not an earlier version, nor the committee's pages.
    assert "Séance levée" in text_of(partner.get(f"/governance/meetings/{meeting.id}/minutes?version=1"))
    assert partner.get(f"/governance/meetings/{meeting.id}").status_code == 403
    assert partner.get("/governance/").status_code == 403
    # The minutes of the next meeting are not published: absent for the partner.
    assert partner.get(f"/governance/meetings/{next_meeting.id}/minutes").status_code == 404

    # Another partner, whose organisation sits in no body, reads nothing of it.
    outsider = sign_in_as(people["outsider"])
    assert outsider.get(f"/governance/meetings/{meeting.id}/minutes").status_code == 404
    assert outsider.get(f"/governance/decisions/{first.id}").status_code == 404
    register = outsider.get("/governance/decisions")
    assert register.status_code == 200 and "COPIL-2025" not in text_of(register)
    assert outsider.get(f"/governance/decisions?body_id={body.id}").status_code == 200
    assert "COPIL-2025" not in text_of(outsider.get(f"/governance/decisions?body_id={body.id}&q=COPIL"))


def test_a_partner_reads_no_decision_before_the_minutes_are_published(
    app: Flask, people: dict[str, Any], copil: dict[str, Any], sign_in_as: Any
) -> None:
    web, body = copil["web"], copil["body"]
    meeting = create_meeting(web, body, "2025-03-28T10:00")
    ok(decide(web, meeting, "Décision encore confidentielle."))
    (decision,) = db.session.scalars(sa.select(Decision).where(Decision.body_id == body.id)).all()
    partner = sign_in_as(people["partner"])
    assert "Décision encore confidentielle" not in text_of(partner.get("/governance/decisions"))
    assert partner.get(f"/governance/decisions/{decision.id}").status_code == 404
    assert partner.get(f"/governance/meetings/{meeting.id}/minutes").status_code == 404
    # The committee's readers see it at once.
    for role in ("committee", "auditor", "legal"):
        reader = sign_in_as(people[role])
        assert "Décision encore confidentielle" in text_of(reader.get("/governance/decisions"))
        assert reader.get(f"/governance/decisions/{decision.id}").status_code == 200
    # Roles without governance rights read nothing.
    dpo = sign_in_as(people["dpo"])
    assert dpo.get("/governance/decisions").status_code == 403
    assert dpo.get(f"/governance/decisions/{decision.id}").status_code == 404
    assert dpo.get(f"/governance/meetings/{meeting.id}/minutes").status_code == 404


# --- the invitation ----------------------------------------------------------------------------------


def test_the_invitation_reaches_the_members_with_a_calendar_file(
    app: Flask, people: dict[str, Any], copil: dict[str, Any], smtp_server: SmtpServer
) -> None:
    web, body = copil["web"], copil["body"]
    add_member(web, body, "Sans adresse", people["bdp"])  # no e-mail: not invited
    meeting = create_meeting(
        web, body, "2025-06-12T14:30", agenda="Bilan\nBudget", title="Comité de juin", place="Forcalquier"
    )
    response = ok(web.post(f"/governance/meetings/{meeting.id}/invitation", {}))
    assert t(app, "Invitation sent to %(count)d member(s), with the calendar file.", count=3) in text_of(
        web.get(response.headers["Location"])
    )
    assert sorted(m["To"] for m in smtp_server.messages) == [
        "bdp@example.fr",
        "presidence@example.fr",
        "president@example.fr",
    ]
    message = smtp_server.messages[0]
    assert "12/06/2025 14:30" in message["Subject"]
    (ics,) = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    content = ics.get_content()
    calendar = Calendar.from_ical(content.encode() if isinstance(content, str) else content)
    (event,) = calendar.walk("VEVENT")
    # 14:30 in Paris in June (summer time) is 12:30 UTC.
    assert event.decoded("dtstart") == datetime(2025, 6, 12, 12, 30, tzinfo=UTC)
    assert str(event["location"]) == "Forcalquier"
    assert "1. Bilan" in str(event["description"])
    assert str(calendar["method"]) == "REQUEST"
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).invitation_sent_at is not None  # type: ignore[union-attr]

    # Sent again: nobody is invited twice.
    ok(web.post(f"/governance/meetings/{meeting.id}/invitation", {}))
    assert len(smtp_server.messages) == 3


# --- attendance, proxies and quorum -------------------------------------------------------------------


def test_proxies_break_no_rule_of_the_body(app: Flask, copil: dict[str, Any]) -> None:
    web, body = copil["web"], copil["body"]
    chair, gehant, bdp = copil["chair"], copil["gehant"], copil["bdp"]
    fourth = add_member(web, body, "Quatrième membre")
    meeting = create_meeting(web, body, "2025-03-28T10:00")

    # A second proxy to the same holder, when the body allows one.
    refused = attendance(
        web,
        meeting,
        {
            chair: ("present", None),
            gehant: ("represented", chair),
            bdp: ("represented", chair),
            fourth: ("present", None),
        },
    )
    assert refused.status_code == 422
    page = text_of(refused)
    expected = t(app, "%(name)s already holds %(n)d proxy (the body's limit).", name="Eliane Barreille", n=1)
    assert expected in page
    assert f'id="proxy-{bdp.id}-error"' in page  # next to the row that broke the rule
    assert f'<option value="{chair.id}" selected>' in page.split(f'name="proxy-{bdp.id}"')[1]  # kept as typed
    db.session.expire_all()
    assert db.session.scalars(sa.select(Attendance).where(Attendance.meeting_id == meeting.id)).all() == []

    # A proxy to a member who is absent.
    refused = attendance(
        web,
        meeting,
        {
            chair: ("present", None),
            gehant: ("represented", bdp),
            bdp: ("absent", None),
            fourth: ("present", None),
        },
    )
    assert refused.status_code == 422
    assert t(app, "The proxy holder must be a member present at the meeting.") in text_of(refused)

    # A represented member without a holder.
    refused = attendance(web, meeting, {chair: ("present", None), gehant: ("represented", None)})
    assert refused.status_code == 422
    assert t(app, "Name the member who holds the proxy.") in text_of(refused)

    # The body's rules allow two proxies a holder: accepted.
    ok(
        web.post(
            f"/governance/bodies/{body.id}/rules",
            {
                "quorum_rule": "majority_present",
                "majority_rule": "absolute_of_cast",
                "max_proxies_per_holder": "2",
            },
        )
    )
    ok(
        attendance(
            web,
            meeting,
            {
                chair: ("present", None),
                gehant: ("represented", chair),
                bdp: ("represented", chair),
                fourth: ("present", None),
            },
        )
    )
    page = text_of(web.get(f"/governance/meetings/{meeting.id}"))
    assert quorum_shown(page) == {"in-office": 4, "required": 3, "present": 2, "represented": 2}
    assert tr(app, "Quorum not reached") in page  # proxies do not count toward the quorum (CGCT L2121-17)


def test_a_body_counting_proxies_for_its_quorum(app: Flask, people: dict[str, Any], sign_in_as: Any) -> None:
    web = sign_in_as(people["committee"])
    body = create_body(web, "Groupe consultatif", quorum_rule="majority_present_or_represented")
    a, b, c = (add_member(web, body, name) for name in ("Alice", "Bruno", "Chloé"))
    meeting = create_meeting(web, body, "2025-04-10T09:00")
    ok(attendance(web, meeting, {a: ("present", None), b: ("represented", a), c: ("excused", None)}))
    page = text_of(web.get(f"/governance/meetings/{meeting.id}"))
    assert quorum_shown(page) == {"in-office": 3, "required": 2, "present": 1, "represented": 1}
    assert tr(app, "Quorum reached") in page


def test_a_past_meeting_shows_who_was_a_member_then(app: Flask, copil: dict[str, Any]) -> None:
    web, body, bdp = copil["web"], copil["body"], copil["bdp"]
    newcomer = add_member(web, body, "Nouvelle élue", since="2025-09-01")
    ok(web.post(f"/governance/bodies/{body.id}/members/{bdp.id}/end", {f"end-{bdp.id}-until": "2025-06-30"}))
    march = create_meeting(web, body, "2025-03-28T10:00")
    october = create_meeting(web, body, "2025-10-02T10:00")
    march_page, october_page = (text_of(web.get(f"/governance/meetings/{m.id}")) for m in (march, october))
    assert f'name="status-{bdp.id}"' in march_page and f'name="status-{newcomer.id}"' not in march_page
    assert f'name="status-{bdp.id}"' not in october_page and f'name="status-{newcomer.id}"' in october_page
    # A membership cannot end before it starts; the date typed is kept.
    refused = web.post(
        f"/governance/bodies/{body.id}/members/{newcomer.id}/end", {f"end-{newcomer.id}-until": "2025-01-01"}
    )
    assert refused.status_code == 422
    assert t(app, "A membership cannot end before it starts.") in text_of(refused)
    assert 'value="2025-01-01"' in text_of(refused)


# --- votes ---------------------------------------------------------------------------------------------


def test_a_tie_without_and_with_the_chairs_casting_vote(app: Flask, copil: dict[str, Any]) -> None:
    web, body = copil["web"], copil["body"]
    chair, gehant, bdp = copil["chair"], copil["gehant"], copil["bdp"]
    meeting = create_meeting(web, body, "2025-03-28T10:00")
    ok(
        attendance(
            web, meeting, {chair: ("present", None), gehant: ("present", None), bdp: ("present", None)}
        )
    )

    # The rules give no casting vote: a tie is rejected (no absolute majority of the votes cast).
    ok(vote(web, meeting, "Partage égal", 1, 1, 1))
    (tie,) = votes_of(meeting)
    assert (tie.adopted, tie.casting_vote_used, tie.votes_cast) == (False, False, 2)

    ok(
        web.post(
            f"/governance/bodies/{body.id}/rules",
            {
                "quorum_rule": "majority_present",
                "majority_rule": "absolute_of_cast",
                "max_proxies_per_holder": "1",
                "chair_casting_vote": "y",
            },
        )
    )
    rules = text_of(web.get(f"/governance/bodies/{body.id}/rules"))
    assert (
        '<input checked id="chair_casting_vote" name="chair_casting_vote" type="checkbox" value="y">' in rules
    )
    assert '<option selected value="absolute_of_cast">' in rules
    page = text_of(web.get(f"/governance/meetings/{meeting.id}"))
    assert 'name="vote-chair_vote"' in page
    refused = vote(web, meeting, "Deuxième partage", 1, 1, 1)
    assert refused.status_code == 422
    assert t(app, "The vote is tied: say how the chair voted (casting vote).") in text_of(refused)
    ok(vote(web, meeting, "Deuxième partage", 1, 1, 1, chair="for"))
    ok(vote(web, meeting, "Troisième partage", 1, 1, 0, chair="against"))
    _, casting_for, casting_against = votes_of(meeting)
    assert (casting_for.adopted, casting_for.casting_vote_used) == (True, True)
    assert (casting_against.adopted, casting_against.casting_vote_used) == (False, True)
    assert tr(app, "chair's casting vote") in text_of(web.get(f"/governance/meetings/{meeting.id}"))


def test_invalid_vote_figures_are_shown_next_to_their_fields(app: Flask, copil: dict[str, Any]) -> None:
    web = copil["web"]
    meeting = create_meeting(web, copil["body"], "2025-03-28T10:00")
    response = web.post(
        f"/governance/meetings/{meeting.id}/votes",
        {"vote-subject": "", "vote-votes_for": "-1", "vote-votes_against": "deux", "vote-abstentions": "0"},
    )
    assert response.status_code == 422
    page = text_of(response)
    assert 'id="vote-subject-error"' in page and 'id="vote-votes_for-error"' in page
    assert 'id="vote-votes_against-error"' in page
    assert 'value="deux"' in page


# --- the reference deliberation ----------------------------------------------------------------------

REFERENCE_PRESENT = [
    "Gilbert BOYER", "David GEHANT", "Michel DALMASSO", "Thomas CHERBAKOW", "Sylvie SAMBAIN",
    "Caroline MASPER", "Karima COEURET", "Sandrine LEBRE", "Aurélie ANNEQUIN", "Camille FELLER",
    "Danièle KLINGLER", "Geoffroy GONZALEZ", "Lisa MARCEL", "François PREVOST", "Didier DERUPTY",
    "Maryse BLANC", "Robert USSEGLIO", "Christian CHIAPELLA", "Christophe LOPEZ", "Patricia PAUL",
    "François BERGNA", "Philippe VUILQUE",
]  # fmt: skip
REFERENCE_PROXIES = {
    "Emmanuel LUTHRINGER": "Michel DALMASSO",
    "Michel CHAPUIS": "Thomas CHERBAKOW",
    "Antoine DE RUFFRAY": "Danièle KLINGLER",
    "Nadine CURNIER": "Camille FELLER",
    "Stéphane DERRIVES": "Christian CHIAPELLA",
}


def test_the_reference_deliberation_comes_out_with_its_own_figures(
    app: Flask, people: dict[str, Any], sign_in_as: Any
) -> None:
    """Délibération n°2025-37 of the Conseil communautaire (3 April 2025): 27 in office, 22 present,
    5 proxies, 27 votes cast, 27 for."""
    web = sign_in_as(people["committee"])
    body = create_body(web, "Conseil communautaire Pays de Forcalquier-Montagne de Lure", code="CCPFML")
    # Members entered through the services (27 forms would only slow the test): the meeting is held
    # through the forms.
    for name in [*REFERENCE_PRESENT, *REFERENCE_PROXIES]:
        services.add_member(
            body,
            services.MemberData(name=name, organisation_id=people["forcalquier"].id, since=date(2020, 7, 15)),
        )
    db.session.commit()
    members = {m.name: m for m in body_named(body.name).members}
    assert len(members) == 27
    meeting = create_meeting(
        web,
        body,
        "2025-04-03T18:00",
        agenda="Convention de partenariat pour l'accès aux services numériques de la BD 04",
        place="Hôtel de Ville de Forcalquier",
    )
    rows: dict[BodyMember, tuple[str, BodyMember | None]] = {
        members[n]: ("present", None) for n in REFERENCE_PRESENT
    }
    rows |= {members[n]: ("represented", members[h]) for n, h in REFERENCE_PROXIES.items()}
    ok(attendance(web, meeting, rows))
    page = text_of(web.get(f"/governance/meetings/{meeting.id}"))
    assert quorum_shown(page) == {"in-office": 27, "required": 14, "present": 22, "represented": 5}

    ok(vote(web, meeting, "Approbation de la convention de partenariat", 27, 0, 0))
    (deliberation,) = votes_of(meeting)
    assert (deliberation.votes_for, deliberation.votes_against, deliberation.abstentions) == (27, 0, 0)
    assert deliberation.votes_cast == 27 and deliberation.adopted
    page = text_of(web.get(f"/governance/meetings/{meeting.id}"))
    assert '<td class="num votes-cast">27</td>' in page
    ok(
        decide(
            web,
            meeting,
            "Approuve les termes de la convention et autorise le Président à la signer.",
            deliberation.id,
        )
    )
    assert references(body) == ["CCPFML-2025-001"]

    minutes = text_of(web.get(f"/governance/meetings/{meeting.id}/minutes"))
    assert '<dd class="m-in-office">27</dd>' in minutes
    assert '<dd class="m-present">22</dd>' in minutes
    assert '<dd class="m-represented">5</dd>' in minutes
    assert '<td class="num votes-cast">27</td>' in minutes
    assert (
        tr(
            app,
            "%(member)s gives a proxy to %(holder)s",
            member="Emmanuel LUTHRINGER",
            holder="Michel DALMASSO",
        )
        in minutes
    )


# --- bodies, meetings, documents, circulation ---------------------------------------------------------


def test_a_working_group_with_its_pilot_and_rapporteur_records_the_circulation(
    app: Flask, people: dict[str, Any], sign_in_as: Any
) -> None:
    web = sign_in_as(people["committee"])
    group = create_body(
        web, "Ressources en ligne", code="GTRL", quorum_rule="none", yearly_duty="professional_day"
    )
    add_member(web, group, "Pilote BDP", people["bdp"], role="pilot")
    rapporteur = add_member(web, group, "Rapporteuse Forcalquier", people["forcalquier"], role="rapporteur")
    add_member(web, group, "Bibliothécaire de Manosque", people["manosque"])
    page = text_of(web.get(f"/governance/bodies/{group.id}"))
    assert t(app, "pilot") in page and t(app, "rapporteur") in page
    assert t(app, "No quorum (an advisory group)") in page

    meeting = create_meeting(
        web,
        group,
        "2025-11-20T09:30",
        fulfils_duty="professional_day",
        video_link="https://visio.example.fr/gtrl",
    )
    # The year's professional day: a deadline opened, met once somebody attends.
    duty = db.session.scalar(
        sa.select(Deadline).where(Deadline.kind == "governance.professional_day", Deadline.subject_id == 2025)
    )
    assert duty is not None and duty.state == DeadlineState.OPEN
    ok(attendance(web, meeting, {rapporteur: ("present", None)}))
    db.session.expire_all()
    assert db.session.get(Deadline, duty.id).state == DeadlineState.MET  # type: ignore[union-attr]

    ok(
        web.post(
            f"/governance/meetings/{meeting.id}/circulations",
            {
                "circulation-circulated_at": "2025-11-24T17:00",
                "circulation-recipients": "Toutes les bibliothèques partenaires",
                "circulation-summary": "Fiches pratiques sur le prêt de liseuses",
            },
        )
    )
    (circulation,) = db.session.scalars(sa.select(Circulation).where(Circulation.body_id == group.id)).all()
    assert circulation.by_member_id == rapporteur.id
    assert circulation.circulated_at == datetime(2025, 11, 24, 16, 0, tzinfo=UTC)
    page = text_of(web.get(f"/governance/meetings/{meeting.id}"))
    assert "Toutes les bibliothèques partenaires" in page
    assert tr(app, "by %(name)s", name="Rapporteuse Forcalquier") in page


def test_a_meeting_time_the_clocks_skipped_is_refused_and_what_was_typed_is_kept(
    app: Flask, copil: dict[str, Any]
) -> None:
    web, body = copil["web"], copil["body"]
    response = web.post(
        f"/governance/bodies/{body.id}/meetings/new",
        {"starts_at": "2025-03-30T02:30", "place": "Digne", "agenda": "Point unique"},
    )
    assert response.status_code == 422
    page = text_of(response)
    assert (
        t(
            app,
            "This time does not exist in Paris: the clocks went forward from 2:00 to 3:00 that night. "
            "Give a time before 2:00 or from 3:00.",
        )
        in page
    )
    assert 'value="2025-03-30T02:30"' in page and "Point unique" in page
    assert meetings_of(body) == []
    # Neither a place nor a link: the service's rule, next to the field.
    response = web.post(f"/governance/bodies/{body.id}/meetings/new", {"starts_at": "2025-03-30T03:30"})
    assert response.status_code == 422
    assert t(app, "Give a place or a video link.") in text_of(response)
    # The hour repeated in autumn: the first one (summer time).
    meeting = create_meeting(web, body, "2025-10-26T02:30")
    assert meeting.starts_at == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)


def test_paris_wall_clock_times() -> None:
    assert paris_to_utc(datetime(2025, 1, 15, 10, 0)) == datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
    assert paris_to_utc(datetime(2025, 7, 15, 10, 0)) == datetime(2025, 7, 15, 8, 0, tzinfo=UTC)
    with pytest.raises(NonexistentLocalTime):
        paris_to_utc(datetime(2025, 3, 30, 2, 15))


def test_a_body_name_used_twice_is_refused_with_what_was_typed(app: Flask, copil: dict[str, Any]) -> None:
    web = copil["web"]
    response = web.post(
        "/governance/bodies/new",
        {
            "name": "Comité de pilotage",
            "code": "COPIL2",
            "missions": "Mission tapée",
            "quorum_rule": "majority_present",
            "majority_rule": "absolute_of_cast",
            "max_proxies_per_holder": "1",
        },
    )
    assert response.status_code == 409
    page = text_of(response)
    assert t(app, "A body with this name exists already.") in page
    assert "Mission tapée" in page and 'value="COPIL2"' in page
    response = web.post(
        "/governance/bodies/new",
        {
            "name": "Autre",
            "code": "x!",
            "quorum_rule": "majority_present",
            "majority_rule": "absolute_of_cast",
            "max_proxies_per_holder": "1",
        },
    )
    assert response.status_code == 422
    assert t(app, "A register prefix is 2 to 12 capital letters or digits.") in text_of(response)
    assert db.session.scalar(sa.select(sa.func.count(Body.id))) == 1


def test_documents_are_attached_and_downloaded(app: Flask, copil: dict[str, Any]) -> None:
    web = copil["web"]
    meeting = create_meeting(web, copil["body"], "2025-03-28T10:00")
    pdf = b"%PDF-1.4\n% ordre du jour\n"
    ok(
        web.post(
            f"/governance/meetings/{meeting.id}/documents",
            {"document-document": (io.BytesIO(pdf), "ordre-du-jour.pdf")},
            content_type="multipart/form-data",
        )
    )
    (doc,) = db.session.scalars(
        sa.select(MeetingDocument).where(MeetingDocument.meeting_id == meeting.id)
    ).all()
    assert (doc.filename, doc.content_type, doc.size) == ("ordre-du-jour.pdf", "application/pdf", len(pdf))
    assert "ordre-du-jour.pdf" in text_of(web.get(f"/governance/meetings/{meeting.id}"))
    download = web.get(f"/governance/meetings/{meeting.id}/documents/{doc.id}")
    assert download.status_code == 200 and download.data == pdf
    assert "attachment" in download.headers["Content-Disposition"]
    assert web.get(f"/governance/meetings/{meeting.id + 1}/documents/{doc.id}").status_code == 404
    # A renamed executable is refused.
    refused = web.post(
        f"/governance/meetings/{meeting.id}/documents",
        {"document-document": (io.BytesIO(b"MZ\x90\x00"), "budget.pdf")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert t(app, "The file's content does not match its extension %(suffix)s.", suffix=".pdf") in text_of(
        refused
    )
    assert len(db.session.scalars(sa.select(MeetingDocument)).all()) == 1


# --- minutes are sanitised -----------------------------------------------------------------------------


def test_html_and_script_typed_in_the_minutes_are_shown_as_text(app: Flask, copil: dict[str, Any]) -> None:
    web = copil["web"]
    meeting = create_meeting(web, copil["body"], "2025-03-28T10:00")
    typed = (
        "## Délibérations\n\n"
        '<script>alert("x")</script>\n\n'
        "<img src=x onerror=alert(1)>\n\n"
        '<a href="javascript:alert(2)">clic</a> [lien](javascript:alert(3)) [site](https://example.fr)\n\n'
        "| Pour | Contre |\n|---|---|\n| 27 | 0 |\n"
    )
    ok(web.post(f"/governance/meetings/{meeting.id}/minutes", {"minutes-text": typed}))
    for url in (f"/governance/meetings/{meeting.id}", f"/governance/meetings/{meeting.id}/minutes"):
        page = text_of(web.get(url))
        rendered = page.split('<div class="minutes-text">')[1].split("</div>")[0]
        assert "<h4>Délibérations</h4>" in rendered  # "##" under the page's own h1 and h2
        assert "<script" not in rendered and "<img" not in rendered
        assert "javascript:" not in rendered.replace("&lt;a href=&#34;javascript:", "").replace(
            '&lt;a href="javascript:', ""
        )
        assert "&lt;script&gt;" in rendered
        assert '<a href="https://example.fr" rel="noopener noreferrer nofollow">site</a>' in rendered
        assert "<td>27</td>" in rendered


# --- the register, the home page, the roles -------------------------------------------------------------


def test_the_decision_register_is_searchable_and_paginated(
    app: Flask, people: dict[str, Any], copil: dict[str, Any], sign_in_as: Any
) -> None:
    web, body = copil["web"], copil["body"]
    group = create_body(web, "Prêt numérique en bibliothèque", code="GTPN")
    meeting = create_meeting(web, body, "2025-03-28T10:00")
    other = create_meeting(web, group, "2025-03-29T10:00")
    for n in range(30):
        services.record_decision(db.session.get(Meeting, meeting.id), f"Décision numéro {n + 1} du comité")  # type: ignore[arg-type]
    services.record_decision(db.session.get(Meeting, other.id), "Choix du fournisseur de livres numériques")  # type: ignore[arg-type]
    db.session.commit()

    first = text_of(web.get("/governance/decisions"))
    assert first.count('href="/governance/decisions/') == 25
    assert tr(app, "Page %(page)d of %(pages)d", page=1, pages=2) in first
    second = text_of(web.get("/governance/decisions?page=2"))
    assert second.count('href="/governance/decisions/') == 6
    found = text_of(web.get("/governance/decisions?q=COPIL-2025-017"))
    assert found.count('href="/governance/decisions/') == 1 and "Décision numéro 17 du comité" in found
    found = text_of(web.get("/governance/decisions?q=fournisseur"))
    assert "GTPN-2025-001" in found and "COPIL-2025" not in found
    found = text_of(web.get(f"/governance/decisions?body_id={group.id}"))
    assert found.count('href="/governance/decisions/') == 1
    assert text_of(web.get("/governance/decisions?q=%25")).count('href="/governance/decisions/') == 0


def test_the_governance_home_shows_meetings_actions_decisions_and_duties(
    app: Flask, people: dict[str, Any], copil: dict[str, Any], sign_in_as: Any
) -> None:
    web, body = copil["web"], copil["body"]
    now = utcnow()
    soon = (now + timedelta(days=10)).astimezone(UTC)
    upcoming = create_meeting(
        web,
        body,
        to_paris(soon).strftime("%Y-%m-%dT%H:%M"),
        title="Comité de la rentrée",
    )
    recent = create_meeting(web, body, to_paris(now - timedelta(days=20)).strftime("%Y-%m-%dT%H:%M"))
    ok(decide(web, recent, "Décision récente du comité."))
    for title, owner, due in (
        ("Relancer les partenaires", "Zoé", None),
        ("Préparer le bilan", "Alain", "2020-01-31"),
    ):
        ok(
            web.post(
                f"/governance/meetings/{recent.id}/actions",
                {"action-title": title, "action-owner": owner, "action-due_date": due or ""},
            )
        )
    page = text_of(web.get("/governance/"))
    assert "Comité de la rentrée" in page
    assert "Décision récente du comité." in page
    assert page.index(">Alain<") < page.index(">Zoé<")  # grouped by owner
    assert tr(app, "late") in page  # the action due in 2020
    assert f"/governance/meetings/{upcoming.id}" in page

    # The yearly duties (art. 8): this year's meeting of all partners is open; last year's was never
    # held, so it is overdue; nothing opened the professional day yet.
    year = to_paris(now).year
    services.ensure_yearly_duty("yearly_meeting", year)
    services.ensure_yearly_duty("yearly_meeting", year - 1)
    db.session.commit()
    page = text_of(web.get("/governance/"))
    assert tr(app, "Duties of the year %(year)d", year=year) in page
    rows = {
        cls: page.split(f'class="{cls}"')[1].split("</tr>")[0]
        for cls in (
            "duty duty-yearly_meeting duty-earlier",
            "duty duty-yearly_meeting",
            "duty duty-professional_day",
        )
    }
    assert f"({year - 1})" in rows["duty duty-yearly_meeting duty-earlier"]
    assert "status-overdue" in rows["duty duty-yearly_meeting duty-earlier"]
    assert (
        "status-overdue" not in rows["duty duty-yearly_meeting"]
        and "status-" in rows["duty duty-yearly_meeting"]
    )
    assert tr(app, "no meeting planned yet") in rows["duty duty-professional_day"]

    for role in ("auditor", "legal"):
        reader = sign_in_as(people[role])
        page = text_of(reader.get("/governance/"))
        assert "Comité de la rentrée" in page
        assert 'href="/governance/bodies/new"' not in page


def test_readers_see_the_meeting_without_its_forms(
    app: Flask, people: dict[str, Any], copil: dict[str, Any], sign_in_as: Any
) -> None:
    web, body = copil["web"], copil["body"]
    chair, gehant = copil["chair"], copil["gehant"]
    meeting = create_meeting(web, body, "2025-03-28T10:00")
    ok(attendance(web, meeting, {chair: ("present", None), gehant: ("represented", chair)}))
    for role in ("auditor", "legal"):
        reader = sign_in_as(people[role])
        response = reader.get(f"/governance/meetings/{meeting.id}")
        assert response.status_code == 200
        page = text_of(response)
        assert "<form" not in page.split('<main id="main">')[1]
        assert quorum_shown(page)["represented"] == 1
        assert reader.post(f"/governance/meetings/{meeting.id}/attendance", {}).status_code == 403
        assert reader.get(f"/governance/bodies/{body.id}").status_code == 200
    dpo = sign_in_as(people["dpo"])
    assert dpo.get(f"/governance/meetings/{meeting.id}").status_code == 403


def test_the_meeting_page_links_to_the_pdf_and_the_calendar_file(app: Flask, copil: dict[str, Any]) -> None:
    """Linked by endpoint name (governance_exports.minutes_pdf and .meeting_ics)."""
    web = copil["web"]
    meeting = create_meeting(web, copil["body"], "2025-03-28T10:00")
    page = text_of(web.get(f"/governance/meetings/{meeting.id}"))
    with app.test_request_context():
        pdf = url_for("governance_exports.minutes_pdf", meeting_id=meeting.id)
        ics = url_for("governance_exports.meeting_ics", meeting_id=meeting.id)
    assert f'href="{pdf}"' in page and f'href="{ics}"' in page
    assert web.get(ics).status_code == 200


def test_member_roles_and_organisations_are_kept(
    app: Flask, people: dict[str, Any], copil: dict[str, Any]
) -> None:
    chair = copil["chair"]
    assert chair.role == MemberRole.CHAIR and chair.statutory
    assert chair.organisation_id == people["controller"].id
    assert chair.since == date(2025, 1, 1) and chair.until is None
    refused = copil["web"].post(
        f"/governance/bodies/{copil['body'].id}/members",
        {"member-name": "", "member-organisation_id": "999999", "member-role": "member"},
    )
    assert refused.status_code == 422
