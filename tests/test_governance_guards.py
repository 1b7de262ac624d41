"""Guards of the bodies' records, through the service, the meeting page and the API:

- the secretary of the session (CGCT L2121-15: named at the start of each session among the members
  present) is recorded with the attendance, refused when not present (422, nothing saved), kept when an
  API client does not send it, and shown on the meeting page, the minutes page and the minutes PDF;
- a decision number another request took at the same moment (possible on SQLite, which has no
  transaction lock per register) is a 409 Conflict with nothing recorded, not a 500; the API accepts no
  number from the client (422), so a duplicate cannot come from there."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from governance.bodies import services
from governance.bodies.models import Attendance, AttendanceStatus, Body, Decision, Meeting
from governance.bodies.services import KEEP, AttendanceEntry, MemberData
from tests.conftest import french
from tests.test_governance_exports import pdf_text
from vigie.errors import Conflict, ValidationFailed
from vigie.extensions import db

PARIS = ZoneInfo("Europe/Paris")
DAY = datetime(2025, 4, 3, 18, 0, tzinfo=PARIS)
NAMES = ("Eliane BARREILLE", "David GEHANT", "Aurélie ANNEQUIN", "Gilbert BOYER")


def page_text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def council(factory: Any) -> dict[str, Any]:
    """A body of four members (the first chairs), and a meeting on the reference day."""
    controller = factory.org("controller", name="Département des Alpes de Haute-Provence")
    body = services.create_body(
        "Conseil communautaire",
        [
            MemberData(
                name,
                organisation_id=controller.id,
                since=date(2020, 7, 15),
                role="chair" if i == 0 else "member",
            )
            for i, name in enumerate(NAMES)
        ],
        code="CCPFML",
    )
    meeting = services.create_meeting(body, DAY, place="Hôtel de Ville de Forcalquier", agenda=["Convention"])
    db.session.commit()
    members = {m.name: m for m in body.members}
    return {
        "controller": controller,
        "body": body,
        "meeting": meeting,
        "members": members,
        "committee": factory.user("committee", org=controller),
        "auditor": factory.user("auditor", org=controller),
    }


def roll(members: dict[str, Any], excused: str | None = None) -> list[AttendanceEntry]:
    return [AttendanceEntry(m.id, "excused" if name == excused else "present") for name, m in members.items()]


def fresh_meeting(meeting_id: int) -> Meeting:
    db.session.expire_all()
    found = db.session.get(Meeting, meeting_id)
    assert found is not None
    return found


def statuses(meeting_id: int) -> dict[int, AttendanceStatus]:
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Attendance).where(Attendance.meeting_id == meeting_id))
    return {a.member_id: a.status for a in rows}


# --- the secretary of the session: the service --------------------------------------------------------


def test_the_secretary_is_a_member_present_named_with_the_attendance(council: dict[str, Any]) -> None:
    meeting, members = council["meeting"], council["members"]
    annequin = members["Aurélie ANNEQUIN"]
    services.set_attendance(meeting, roll(members), annequin.id)
    db.session.commit()
    assert fresh_meeting(meeting.id).secretary_id == annequin.id
    assert fresh_meeting(meeting.id).secretary.name == "Aurélie ANNEQUIN"  # type: ignore[union-attr]

    # Excused that day: not the secretary; nothing of the new attendance is saved.
    with pytest.raises(ValidationFailed) as err:
        services.set_attendance(meeting, roll(members, excused="Aurélie ANNEQUIN"), annequin.id)
    assert set(err.value.fields) == {"secretary_id"}
    db.session.rollback()
    assert fresh_meeting(meeting.id).secretary_id == annequin.id
    assert set(statuses(meeting.id).values()) == {AttendanceStatus.PRESENT}


def test_a_represented_member_or_a_stranger_is_not_the_secretary(
    council: dict[str, Any], factory: Any
) -> None:
    meeting, members = council["meeting"], council["members"]
    boyer, gehant = members["Gilbert BOYER"], members["David GEHANT"]
    entries = [
        *(AttendanceEntry(m.id, "present") for name, m in members.items() if name != "Gilbert BOYER"),
        AttendanceEntry(boyer.id, "represented", proxy_holder_id=gehant.id),
    ]
    with pytest.raises(ValidationFailed) as err:
        services.set_attendance(meeting, entries, boyer.id)  # represented: not at the session
    assert set(err.value.fields) == {"secretary_id"}
    db.session.rollback()
    other = services.create_body(
        "Ressources en ligne", [MemberData("Sylvie SAMBAIN", since=date(2020, 1, 1))]
    )
    db.session.commit()
    with pytest.raises(ValidationFailed) as err:
        services.set_attendance(fresh_meeting(meeting.id), roll(members), other.members[0].id)
    assert set(err.value.fields) == {"secretary_id"}
    db.session.rollback()
    assert fresh_meeting(meeting.id).secretary_id is None and statuses(meeting.id) == {}


def test_the_secretary_is_kept_only_while_present_and_cleared_on_request(council: dict[str, Any]) -> None:
    meeting, members = council["meeting"], council["members"]
    annequin = members["Aurélie ANNEQUIN"]
    services.set_attendance(meeting, roll(members), annequin.id)
    db.session.commit()
    services.set_attendance(fresh_meeting(meeting.id), roll(members), KEEP)  # not said: kept
    db.session.commit()
    assert fresh_meeting(meeting.id).secretary_id == annequin.id
    with pytest.raises(ValidationFailed) as err:  # kept, but now excused: the attendance says otherwise
        services.set_attendance(fresh_meeting(meeting.id), roll(members, excused="Aurélie ANNEQUIN"), KEEP)
    assert set(err.value.fields) == {"secretary_id"}
    db.session.rollback()
    services.set_attendance(fresh_meeting(meeting.id), roll(members, excused="Aurélie ANNEQUIN"), None)
    db.session.commit()
    assert fresh_meeting(meeting.id).secretary_id is None


# --- the secretary of the session: the meeting page -----------------------------------------------


def attendance_form(members: dict[str, Any], excused: str | None = None, **extra: str) -> dict[str, str]:
    data = {f"status-{m.id}": "excused" if name == excused else "present" for name, m in members.items()}
    data |= {f"proxy-{m.id}": "" for m in members.values()}
    return data | extra


def test_the_meeting_page_names_the_secretary_with_the_attendance(
    app: Flask, council: dict[str, Any], sign_in_as: Any
) -> None:
    meeting, members = council["meeting"], council["members"]
    annequin = members["Aurélie ANNEQUIN"]
    web = sign_in_as(council["committee"])
    url = f"/governance/meetings/{meeting.id}/attendance"
    page = web.get(f"/governance/meetings/{meeting.id}").get_data(as_text=True)
    assert '<select id="secretary" name="secretary"' in page
    assert french(
        "Named at the start of the meeting among the members present (CGCT L2121-15)."
    ) in html.unescape(page)

    response = web.post(url, attendance_form(members, secretary=str(annequin.id)))
    assert response.status_code == 302, page_text(response)[:2000]
    assert fresh_meeting(meeting.id).secretary_id == annequin.id
    page = page_text(web.get(f"/governance/meetings/{meeting.id}"))
    assert re.search(r'<dd id="secretary-name">Aurélie ANNEQUIN</dd>', page)
    assert re.search(rf'<option value="{annequin.id}" selected>Aurélie ANNEQUIN</option>', page)

    # The secretary excused in the same form: 422, the error next to the field, what was typed kept,
    # nothing saved.
    refused = web.post(url, attendance_form(members, excused="Aurélie ANNEQUIN", secretary=str(annequin.id)))
    assert refused.status_code == 422
    text = page_text(refused)
    error = re.search(r'<p class="error" id="secretary-error">(.*?)</p>', text)
    assert error is not None
    assert error.group(1) == french("The secretary of the meeting is one of the members present.")
    assert 'aria-invalid="true"' in text[text.index('<select id="secretary"') :][:300]
    assert re.search(r'<option value="excused" selected>', text[text.index(f'id="status-{annequin.id}"') :])
    assert fresh_meeting(meeting.id).secretary_id == annequin.id
    assert set(statuses(meeting.id).values()) == {AttendanceStatus.PRESENT}

    # A value that names no member is refused the same way.
    assert web.post(url, attendance_form(members, secretary="x")).status_code == 422
    # A form without the field (an older page) keeps the secretary; an empty choice clears it.
    assert web.post(url, attendance_form(members)).status_code == 302
    assert fresh_meeting(meeting.id).secretary_id == annequin.id
    assert web.post(url, attendance_form(members, secretary="")).status_code == 302
    assert fresh_meeting(meeting.id).secretary_id is None


def test_readers_see_the_secretary_without_the_form(
    app: Flask, council: dict[str, Any], sign_in_as: Any
) -> None:
    meeting, members = council["meeting"], council["members"]
    services.set_attendance(meeting, roll(members), members["Gilbert BOYER"].id)
    db.session.commit()
    page = page_text(sign_in_as(council["auditor"]).get(f"/governance/meetings/{meeting.id}"))
    assert '<dd id="secretary-name">Gilbert BOYER</dd>' in page and 'name="secretary"' not in page
    minutes = page_text(sign_in_as(council["auditor"]).get(f"/governance/meetings/{meeting.id}/minutes"))
    assert '<dd class="m-secretary">Gilbert BOYER</dd>' in minutes


def test_the_minutes_pdf_names_the_secretary(app: Flask, council: dict[str, Any], sign_in_as: Any) -> None:
    meeting, members = council["meeting"], council["members"]
    url = f"/governance/meetings/{meeting.id}/minutes.pdf"
    web = sign_in_as(council["committee"])
    before = web.get(url)
    assert before.status_code == 200 and before.mimetype == "application/pdf"
    # pdf_text folds white space (the catalog's no-break spaces too): so is the line looked for.
    line = " ".join(french("Secretary of the meeting: %(name)s.", name="Aurélie ANNEQUIN").split())
    assert line not in pdf_text(before.data)

    services.set_attendance(meeting, roll(members), members["Aurélie ANNEQUIN"].id)
    db.session.commit()
    response = web.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert line in text
    assert line in ("Secrétaire de séance : Aurélie ANNEQUIN.", "Secretary of the meeting: Aurélie ANNEQUIN.")
    signatures = text[text.index(" ".join(french("The secretary of the meeting").split())) :]
    assert "Aurélie ANNEQUIN" in signatures


# --- the secretary of the session: the API ------------------------------------------------------------


@pytest.fixture
def api(app: Flask, council: dict[str, Any], factory: Any) -> Any:
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {factory.token(council['committee'])}"
    return client


def api_entries(members: dict[str, Any], excused: str | None = None) -> list[dict[str, Any]]:
    return [
        {"member_id": m.id, "status": "excused" if name == excused else "present"}
        for name, m in members.items()
    ]


def test_the_api_names_keeps_refuses_and_clears_the_secretary(council: dict[str, Any], api: Any) -> None:
    meeting, members = council["meeting"], council["members"]
    annequin = members["Aurélie ANNEQUIN"]
    url = f"/api/v1/meetings/{meeting.id}/attendance"
    response = api.put(url, json={"entries": api_entries(members), "secretary_id": annequin.id})
    assert response.status_code == 200, response.json
    assert (response.json["secretary_id"], response.json["secretary_name"]) == (
        annequin.id,
        "Aurélie ANNEQUIN",
    )
    shown = api.get(f"/api/v1/meetings/{meeting.id}").json
    assert (shown["secretary_id"], shown["secretary_name"]) == (annequin.id, "Aurélie ANNEQUIN")

    # Not sent: kept (a client written before the field does not erase it).
    kept = api.put(url, json={"entries": api_entries(members)})
    assert kept.status_code == 200 and kept.json["secretary_id"] == annequin.id
    # Kept but excused now, or named while excused: 422 naming the field, nothing saved.
    for payload in (
        {"entries": api_entries(members, excused="Aurélie ANNEQUIN")},
        {"entries": api_entries(members, excused="Aurélie ANNEQUIN"), "secretary_id": annequin.id},
        {"entries": api_entries(members), "secretary_id": 999999},
    ):
        refused = api.put(url, json=payload)
        assert refused.status_code == 422, refused.json
        assert set(refused.json["error"]["fields"]) == {"secretary_id"}
    assert set(statuses(meeting.id).values()) == {AttendanceStatus.PRESENT}
    assert fresh_meeting(meeting.id).secretary_id == annequin.id
    # null: no secretary.
    cleared = api.put(
        url, json={"entries": api_entries(members, excused="Aurélie ANNEQUIN"), "secretary_id": None}
    )
    assert cleared.status_code == 200 and (cleared.json["secretary_id"], cleared.json["secretary_name"]) == (
        None,
        None,
    )


def test_the_openapi_document_describes_the_secretary(api: Any) -> None:
    document = api.get("/api/v1/openapi.json").json
    text = str(document)
    assert "secretary_id" in text and "CGCT L2121-15" in text


# --- a decision number taken at the same moment ------------------------------------------------------


@contextmanager
def number_taken_meanwhile(meeting: Meeting) -> Iterator[list[str]]:
    """After record_decision has read the register's last number and before its next statement writes
    the decision, another connection records (and commits) a decision with that next number: what two
    requests recording at once do on SQLite. Yields the references the other one took."""
    taken: list[str] = []
    state = {"read": False, "done": False}
    body_id, code, year, starts_at = meeting.body_id, meeting.body.code, DAY.year, meeting.starts_at

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not state["done"] and "max(decision.number)" in statement.lower():
            state["read"] = True

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not state["read"] or state["done"]:
            return
        state["done"] = True  # once, and not for the other connection's own statements
        with db.engine.connect() as other:
            last = other.scalar(
                sa.select(sa.func.max(Decision.number)).where(
                    Decision.body_id == body_id, Decision.year == year
                )
            )
            number = (last or 0) + 1
            reference = f"{code}-{year}-{number:03d}"
            other.execute(
                sa.insert(Decision).values(
                    body_id=body_id,
                    meeting_id=meeting.id,
                    year=year,
                    number=number,
                    reference=reference,
                    text="Décision enregistrée au même instant",
                    decided_at=starts_at,
                )
            )
            other.commit()
        taken.append(reference)

    sa.event.listen(db.engine, "after_cursor_execute", after)
    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield taken
    finally:
        sa.event.remove(db.engine, "after_cursor_execute", after)
        sa.event.remove(db.engine, "before_cursor_execute", before)


def register(body: Body) -> list[tuple[int, str]]:
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(Decision.number, Decision.text).where(Decision.body_id == body.id).order_by(Decision.number)
    )
    return [(n, t) for n, t in rows]


def test_the_service_refuses_a_number_taken_meanwhile_with_a_conflict(council: dict[str, Any]) -> None:
    meeting, body = council["meeting"], council["body"]
    services.record_decision(meeting, "Première décision")
    db.session.commit()
    with number_taken_meanwhile(meeting) as taken, pytest.raises(Conflict) as err:
        services.record_decision(fresh_meeting(meeting.id), "Deuxième décision")
    assert taken == ["CCPFML-2025-002"] and "CCPFML-2025-002" in err.value.message
    db.session.rollback()
    assert register(body) == [(1, "Première décision"), (2, "Décision enregistrée au même instant")]
    # Recorded again, it takes the next number.
    assert services.record_decision(fresh_meeting(meeting.id), "Deuxième décision").number == 3


def test_the_decision_form_answers_409_and_saves_nothing(
    app: Flask, council: dict[str, Any], sign_in_as: Any
) -> None:
    meeting, body = council["meeting"], council["body"]
    web = sign_in_as(council["committee"])
    url = f"/governance/meetings/{meeting.id}/decisions"
    with number_taken_meanwhile(meeting) as taken:
        response = web.post(url, {"decision-text": "Approuver la convention", "decision-vote_id": ""})
    assert taken == ["CCPFML-2025-001"]
    assert response.status_code == 409
    expected = french(
        "Another decision took number %(reference)s at the same moment: nothing was recorded. "
        "Record it again.",
        reference="CCPFML-2025-001",
    )
    text = page_text(response)
    assert expected in text
    assert "Approuver la convention" in text  # what was typed is kept
    assert register(body) == [(1, "Décision enregistrée au même instant")]
    again = web.post(url, {"decision-text": "Approuver la convention", "decision-vote_id": ""})
    assert again.status_code == 302
    assert register(body)[-1] == (2, "Approuver la convention")


def test_the_api_answers_409_and_accepts_no_number_from_the_client(
    app: Flask, council: dict[str, Any], api: Any
) -> None:
    meeting, body = council["meeting"], council["body"]
    url = f"/api/v1/meetings/{meeting.id}/decisions"
    with number_taken_meanwhile(meeting) as taken:
        response = api.post(url, json={"text": "Approuver la convention"})
    assert taken == ["CCPFML-2025-001"]
    assert response.status_code == 409, response.json
    error = response.json["error"]
    assert error["code"] == "conflict" and "CCPFML-2025-001" in error["message"]
    assert register(body) == [(1, "Décision enregistrée au même instant")]
    retried = api.post(url, json={"text": "Approuver la convention"})
    assert retried.status_code == 201 and retried.json["reference"] == "CCPFML-2025-002"

    # The number is the register's, never the client's: a body that gives one is refused.
    given = api.post(url, json={"text": "Un doublon", "number": 1})
    assert given.status_code == 422 and "number" in given.json["error"]["fields"]
    given = api.post(url, json={"text": "Un doublon", "reference": "CCPFML-2025-001"})
    assert given.status_code == 422 and "reference" in given.json["error"]["fields"]
    assert len(register(body)) == 2
