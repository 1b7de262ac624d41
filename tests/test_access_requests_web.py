"""Rights requests through the pages: intake (by the DPO, by a partner that forwards it at once), the
inquiries to the partners (three working days, e-mailed through the real SMTP test server), their answers
with an attached export, the extension and the DPO's answer; uploads refused; every record scoped (a
partner gets 404 for another partner's request or inquiry)."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask, url_for

from compliance.access_requests.models import AccessRequest, Inquiry, RequestStatus
from tests.conftest import french
from tests.smtp import SmtpServer
from vigie.deadlines.calendar import calendar_for_app, months_deadline
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.extensions import db
from vigie.orgs.services import add_person

PARIS = ZoneInfo("Europe/Paris")
CSV_EXPORT = b"carte;nom;inscrit le\n0412345;Durand Jeanne;2019-09-02\n"


@pytest.fixture(autouse=True)
def _pages_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compare messages with the text a reader sees: Jinja leaves quotes of translations unescaped but
    escapes those of values, so pages are unescaped before they are searched."""
    from werkzeug.test import TestResponse

    original = TestResponse.get_data

    def get_data(self: TestResponse, as_text: bool = False) -> Any:
        data = original(self, as_text=as_text)
        return html.unescape(data) if as_text else data

    monkeypatch.setattr(TestResponse, "get_data", get_data)


def local(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=PARIS)


def form_time(moment: datetime) -> str:
    """An instant as a datetime-local field sends it (Paris time, to the minute)."""
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def cast(factory: Any, app: Flask) -> dict[str, Any]:
    dept = factory.org("controller", name="Département des Alpes de Haute-Provence")
    forcalquier = factory.org("partner", name="Médiathèque de Forcalquier")
    manosque = factory.org("partner", name="Médiathèque de Manosque")
    add_person(
        forcalquier,
        "Directrice de la médiathèque",
        email="direction@forcalquier.example",
        is_digital_referent=True,
    )
    db.session.commit()
    return {
        "dept": dept,
        "forcalquier": forcalquier,
        "manosque": manosque,
        "dpo": factory.user("dpo", org=dept, email="dpo@cd04.example"),
        "auditor": factory.user("auditor", org=dept),
        "committee": factory.user("committee", org=dept),
        "legal": factory.user("legal", org=dept),
        "librarian_a": factory.user("partner", org=forcalquier, email="pret@forcalquier.example"),
        "librarian_b": factory.user("partner", org=manosque, email="pret@manosque.example"),
    }


def intake(**overrides: Any) -> dict[str, Any]:
    data = {
        "right": "access",
        "subject_name": "Jeanne Durand",
        "subject_email": "jeanne.durand@example.org",
        "subject_phone": "06 12 34 56 78",
        "subject_address": "3 rue des Cordeliers, 04300 Forcalquier",
        "request_text": "Je souhaite savoir quelles données vous détenez sur moi.",
        "received_at": form_time(datetime.now(UTC) - timedelta(hours=1)),
        "channel": "courrier",
    }
    data.update(overrides)
    return data


def record(client: Any, **overrides: Any) -> AccessRequest:
    response = client.post("/access-requests/new", data=intake(**overrides))
    assert response.status_code == 302, response.get_data(as_text=True)
    request_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    found = db.session.get(AccessRequest, request_id)
    assert found is not None
    return found


def ask(client: Any, request_id: int, *orgs: Any, requested_at: str = "", details: str = "") -> Any:
    return client.post(
        f"/access-requests/{request_id}/inquiries",
        data={
            "organisation_ids": [str(o.id) for o in orgs],
            "search_details": details or "Nom : Jeanne Durand ; carte 0412345",
            "requested_at": requested_at,
        },
    )


def inquiry_of(request_id: int, org: Any) -> Inquiry:
    found = db.session.scalar(
        sa.select(Inquiry).where(Inquiry.request_id == request_id, Inquiry.organisation_id == org.id)
    )
    assert found is not None
    return found


def reply(client: Any, inquiry: Inquiry, holds: str, details: str = "", file: Any = None) -> Any:
    data: dict[str, Any] = {"holds_data": holds, "details": details}
    if file is not None:
        data["attachment"] = file
    return client.post(f"/inquiries/{inquiry.id}/answer", data=data, content_type="multipart/form-data")


def fresh(obj: Any) -> Any:
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# --- intake -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        ("2025-04-01T10:00", date(2025, 5, 2)),  # 1 May is a public holiday: the next working day
        ("2025-01-31T09:00", date(2025, 2, 28)),  # February has no 31st: its last day
        ("2025-05-14T16:30", date(2025, 6, 16)),  # 14 June 2025 is a Saturday: Monday
        ("2025-10-11T11:00", date(2025, 11, 12)),  # 11 November (Armistice): the 12th
    ],
)
def test_the_dpo_records_a_request_due_one_month_later(
    sign_in_as: Any, cast: dict[str, Any], smtp_server: SmtpServer, received: str, due: date
) -> None:
    dpo = sign_in_as(cast["dpo"])
    form = dpo.get("/access-requests/new").get_data(as_text=True)
    # Received at the Département by default; the partners are the other choices.
    assert re.search(rf'<option selected value="{cast["dept"].id}"', form) or re.search(
        rf'<option value="{cast["dept"].id}" selected', form
    )
    assert cast["forcalquier"].name in form and 'type="datetime-local"' in form

    created = record(dpo, received_at=received)
    assert created.response_due_date == due
    assert created.received_at == local(received).astimezone(UTC)
    assert created.received_by_organisation_id == cast["dept"].id
    assert created.forwarded_at is None
    deadline = db.session.scalar(
        sa.select(Deadline).where(Deadline.subject_id == created.id, Deadline.kind == "access.response")
    )
    assert deadline is not None and deadline.due_date == due
    assert smtp_server.messages == []  # the Département received it: nobody to warn

    page = dpo.get(f"/access-requests/{created.id}").get_data(as_text=True)
    assert created.reference in page and f'datetime="{due.isoformat()}"' in page
    assert "jeanne.durand@example.org" in page and "06 12 34 56 78" in page
    listing = dpo.get("/access-requests/").get_data(as_text=True)
    assert created.reference in listing and f'datetime="{due.isoformat()}"' in listing


def test_a_partner_records_a_request_forwarded_at_once_and_the_dpo_is_emailed(
    sign_in_as: Any, cast: dict[str, Any], smtp_server: SmtpServer
) -> None:
    librarian = sign_in_as(cast["librarian_a"])
    form = librarian.get("/access-requests/new").get_data(as_text=True)
    assert 'name="received_by_organisation_id"' not in form  # its own organisation, no choice
    assert cast["forcalquier"].name in form
    assert french("Record and forward to the Département") in form

    # Received at the desk two days ago: forwarded now, so late (above the 24-hour threshold).
    received = datetime.now(UTC) - timedelta(days=2)
    created = record(librarian, received_at=form_time(received))
    assert created.received_by_organisation_id == cast["forcalquier"].id
    assert created.forwarded_at is not None
    assert [m["To"] for m in smtp_server.messages] == [cast["dpo"].email]
    mail = smtp_server.messages[0]
    assert created.reference in mail["Subject"] and cast["forcalquier"].name in mail["Subject"]
    assert f"/access-requests/{created.id}" in mail.get_content()
    assert "Jeanne Durand" not in mail.get_content()

    # The partner sees its record (the person's details it typed itself)...
    page = librarian.get(f"/access-requests/{created.id}").get_data(as_text=True)
    assert "jeanne.durand@example.org" in page
    assert librarian.get("/access-requests/").get_data(as_text=True).count(created.reference) == 1
    # ...and the DPO's list flags the late forwarding.
    dpo = sign_in_as(cast["dpo"])
    listing = dpo.get("/access-requests/").get_data(as_text=True)
    row = re.search(rf'data-request-id="{created.id}".*?</tr>', listing, re.S)
    assert row is not None and french("late") in row.group(0)


def test_a_partner_cannot_record_a_request_for_another_organisation(
    sign_in_as: Any, cast: dict[str, Any]
) -> None:
    librarian = sign_in_as(cast["librarian_a"])
    for forged in (cast["manosque"].id, cast["dept"].id):
        response = librarian.post(
            "/access-requests/new", data=intake(received_by_organisation_id=str(forged))
        )
        assert response.status_code == 422
        assert 'class="error-summary"' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessRequest)) == 0


def test_a_time_that_does_not_exist_in_paris_is_refused_and_the_typing_kept(
    sign_in_as: Any, cast: dict[str, Any]
) -> None:
    dpo = sign_in_as(cast["dpo"])
    # 30 March 2025: the clocks went from 02:00 to 03:00, so 02:30 never happened in Paris.
    response = dpo.post("/access-requests/new", data=intake(received_at="2025-03-30T02:30"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="received_at-error"' in page
    assert (
        french(
            "This time does not exist in Paris: the clocks went forward by an hour that night. "
            "Give the time as the clock showed it."
        )
        in page
    )
    assert 'value="Jeanne Durand"' in page and 'value="2025-03-30T02:30"' in page
    assert "Je souhaite savoir quelles données vous détenez sur moi." in page
    # 03:30 that morning exists (summer time, UTC+2).
    created = record(dpo, received_at="2025-03-30T03:30")
    assert created.received_at == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)


def test_a_missing_name_comes_back_on_its_field(sign_in_as: Any, cast: dict[str, Any]) -> None:
    dpo = sign_in_as(cast["dpo"])
    response = dpo.post("/access-requests/new", data=intake(subject_name="  "))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="subject_name-error"' in page and french("Give the person's name.") in page
    assert 'value="jeanne.durand@example.org"' in page


# --- inquiries ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "due"),
    [
        # The evening before a long weekend: Thursday 8 May (Victory Day), Friday, the weekend; the day
        # of the request never counts: Friday 9, Monday 12, Tuesday 13.
        ("2025-05-07T18:00", date(2025, 5, 13)),
        # A Friday evening before Easter Monday: Tuesday 22, Wednesday 23, Thursday 24.
        ("2025-04-18T18:00", date(2025, 4, 24)),
        # Late at night in Paris is already the next day in Paris (and still the day before in UTC).
        ("2025-05-06T23:30", date(2025, 5, 12)),
    ],
)
def test_an_inquiry_is_due_at_the_end_of_the_third_working_day(
    sign_in_as: Any, cast: dict[str, Any], smtp_server: SmtpServer, requested: str, due: date
) -> None:
    dpo = sign_in_as(cast["dpo"])
    created = record(dpo, received_at="2025-05-02T09:00" if requested > "2025-05" else "2025-04-15T09:00")
    response = ask(dpo, created.id, cast["forcalquier"], requested_at=requested)
    assert response.status_code == 302, response.get_data(as_text=True)
    inquiry = inquiry_of(created.id, cast["forcalquier"])
    assert inquiry.requested_at == local(requested).astimezone(UTC)
    assert inquiry.due_date == due
    assert inquiry.due_at == datetime.combine(due, datetime.max.time(), tzinfo=PARIS).replace(
        microsecond=0
    ).astimezone(UTC)
    assert due.strftime("%d/%m/%Y") in smtp_server.messages[0]["Subject"]


def test_an_inquiry_answered_after_its_day_is_late(
    sign_in_as: Any, cast: dict[str, Any], smtp_server: SmtpServer
) -> None:
    dpo = sign_in_as(cast["dpo"])
    created = record(dpo, received_at="2025-05-02T09:00")
    ask(dpo, created.id, cast["forcalquier"], requested_at="2025-05-07T18:00")
    inquiry = inquiry_of(created.id, cast["forcalquier"])
    librarian = sign_in_as(cast["librarian_a"])
    page = librarian.get(f"/inquiries/{inquiry.id}").get_data(as_text=True)
    assert french("overdue") in page and french("Overdue by:") in page
    overdue = dpo.get("/inquiries/?overdue=1").get_data(as_text=True)
    assert created.reference in overdue
    assert created.reference in dpo.get("/access-requests/?overdue=1").get_data(as_text=True)
    assert reply(librarian, inquiry, "no").status_code == 302
    assert french("answered late") in librarian.get(f"/inquiries/{inquiry.id}").get_data(as_text=True)
    assert created.reference not in dpo.get("/inquiries/?overdue=1").get_data(as_text=True)
    deadline = db.session.scalar(
        sa.select(Deadline).where(Deadline.subject_id == inquiry.id, Deadline.kind == "access.inquiry")
    )
    assert deadline is not None and deadline.state == DeadlineState.MET
    assert deadline.met_at is not None and deadline.met_at > deadline.due_at


def test_the_life_of_a_request(
    app: Flask, sign_in_as: Any, cast: dict[str, Any], smtp_server: SmtpServer
) -> None:
    dpo = sign_in_as(cast["dpo"])
    librarian_a = sign_in_as(cast["librarian_a"])
    librarian_b = sign_in_as(cast["librarian_b"])
    created = record(dpo)
    request_id = created.id
    today = datetime.now(UTC)
    expected_due, _at = months_deadline(created.received_at, 1, calendar_for_app())
    assert created.response_due_date == expected_due

    # The DPO asks both partners at once: one inquiry each, each partner e-mailed (users and referents).
    page = dpo.get(f"/access-requests/{request_id}").get_data(as_text=True)
    assert 'name="organisation_ids"' in page and 'type="checkbox"' in page
    response = ask(
        dpo, request_id, cast["forcalquier"], cast["manosque"], details="Jeanne Durand, née en 1980"
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    inquiry_a = inquiry_of(request_id, cast["forcalquier"])
    inquiry_b = inquiry_of(request_id, cast["manosque"])
    recipients = sorted(m["To"] for m in smtp_server.messages)
    assert recipients == [
        "direction@forcalquier.example",
        "pret@forcalquier.example",
        "pret@manosque.example",
    ]
    for mail in smtp_server.messages:
        assert created.reference in mail["Subject"]
        assert inquiry_a.due_date.strftime("%d/%m/%Y") in mail["Subject"]
        assert "Jeanne" not in mail.get_content()  # the details are in Vigie only
    body_a = next(m for m in smtp_server.messages if m["To"] == "pret@forcalquier.example").get_content()
    assert f"/inquiries/{inquiry_a.id}" in body_a
    # Three working days from today (the day of the request does not count).
    assert inquiry_a.due_date == calendar_for_app().add_working_days(today.astimezone(PARIS).date(), 3)
    # Asking the same partner again is refused, with the reason on the checkbox group.
    again = ask(dpo, request_id, cast["forcalquier"])
    assert again.status_code == 422  # no longer a choice: the form refuses it
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 2

    # Partner A sees what it is asked, not the person's contact details, nor partner B's inquiry.
    page_a = librarian_a.get(f"/inquiries/{inquiry_a.id}").get_data(as_text=True)
    assert "Jeanne Durand, née en 1980" in page_a and created.reference in page_a
    assert french("Access to their data (art. 15)") in page_a
    assert 'enctype="multipart/form-data"' in page_a and 'name="csrf_token"' in page_a
    for secret in ("jeanne.durand@example.org", "06 12 34 56 78", "Cordeliers", "quelles données"):
        assert secret not in page_a
    assert librarian_a.get(f"/inquiries/{inquiry_b.id}").status_code == 404
    assert librarian_a.get(f"/access-requests/{request_id}").status_code == 404  # recorded by the DPO
    assert cast["manosque"].name not in librarian_a.get("/inquiries/").get_data(as_text=True)

    # A answers with a CSV export; B holds nothing.
    assert (
        reply(
            librarian_a, inquiry_a, "yes", "Carte active, 12 prêts", (io.BytesIO(CSV_EXPORT), "export.csv")
        ).status_code
        == 302
    )
    assert reply(librarian_b, inquiry_b, "no", "Aucune inscription à ce nom").status_code == 302
    inquiry_a, inquiry_b = fresh(inquiry_a), fresh(inquiry_b)
    assert inquiry_a.holds_data is True and inquiry_a.attachment_name == "export.csv"
    assert inquiry_a.attachment_type == "text/csv" and inquiry_a.attachment_size == len(CSV_EXPORT)
    assert inquiry_b.holds_data is False and inquiry_b.attachment_key is None
    answered_a = librarian_a.get(f"/inquiries/{inquiry_a.id}").get_data(as_text=True)
    assert french("answered on time") in answered_a and "export.csv" in answered_a
    assert 'name="holds_data"' not in answered_a  # answered once
    assert reply(librarian_a, inquiry_a, "no").status_code == 409
    # Neither partner sees the other's answer, by any route.
    assert librarian_a.get(f"/inquiries/{inquiry_b.id}").status_code == 404
    assert librarian_b.get(f"/inquiries/{inquiry_a.id}/attachment").status_code == 404
    assert "Aucune inscription" not in librarian_a.get("/inquiries/").get_data(as_text=True)
    assert "Aucune inscription" not in librarian_a.get("/access-requests/").get_data(as_text=True)

    # The DPO sees both answers and downloads the export.
    page = dpo.get(f"/access-requests/{request_id}").get_data(as_text=True)
    assert "Carte active, 12 prêts" in page and "Aucune inscription à ce nom" in page
    assert f"/inquiries/{inquiry_a.id}/attachment" in page
    download = dpo.get(f"/inquiries/{inquiry_a.id}/attachment")
    assert download.status_code == 200 and download.data == CSV_EXPORT
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "export.csv" in download.headers["Content-Disposition"]
    assert download.mimetype == "text/csv"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "no-store"
    assert sign_in_as(cast["auditor"]).get(f"/inquiries/{inquiry_a.id}/attachment").data == CSV_EXPORT
    assert librarian_a.get(f"/inquiries/{inquiry_a.id}/attachment").data == CSV_EXPORT
    listing = dpo.get("/access-requests/").get_data(as_text=True)
    row = re.search(rf'data-request-id="{request_id}".*?</tr>', listing, re.S)
    assert row is not None and french("%(answered)d of %(asked)d", answered=2, asked=2) in row.group(0)
    # The answer letter (compliance/access_requests/exports.py) is offered to the DPO, not to a partner.
    with app.test_request_context():
        letter = url_for("request_exports.letter_pdf", request_id=request_id)
    assert f'href="{letter}"' in page
    # The auditor reads everything, and acts on nothing.
    audited = sign_in_as(cast["auditor"]).get(f"/access-requests/{request_id}").get_data(as_text=True)
    assert "jeanne.durand@example.org" in audited and "Aucune inscription à ce nom" in audited
    assert '<form method="post" action="/access-requests/' not in audited

    # The DPO extends once; a second extension is refused with the reason.
    extended = dpo.post(
        f"/access-requests/{request_id}/extension",
        data={"extension_reason": "Demande complexe", "extension_notified_at": form_time(today)},
    )
    assert extended.status_code == 302
    assert fresh(created).response_due_date == months_deadline(created.received_at, 3, calendar_for_app())[0]
    # The form is gone from the page; posted anyway, the service refuses it.
    assert f'action="/access-requests/{request_id}/extension"' not in dpo.get(
        f"/access-requests/{request_id}"
    ).get_data(as_text=True)
    twice = dpo.post(
        f"/access-requests/{request_id}/extension",
        data={"extension_reason": "Encore", "extension_notified_at": form_time(today)},
    )
    assert twice.status_code == 409
    assert french("The deadline has been extended already: it can be extended once.") in twice.get_data(
        as_text=True
    )

    # A refusal without its legal ground is refused, with the message on the field; the typing is kept.
    sent = form_time(today)
    refused = dpo.post(
        f"/access-requests/{request_id}/answer",
        data={
            "outcome": "refused",
            "answer_channel": "courrier",
            "answered_at": sent,
            "answer_text": "Refus",
        },
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="legal_ground-error"' in page
    assert french("A refusal or a partial answer states its legal ground.") in page
    assert 'value="courrier"' in page and re.search(r">\s*Refus</textarea>", page)
    assert fresh(created).status == RequestStatus.OPEN
    # Granted: the request is closed and its clock met.
    answered = dpo.post(
        f"/access-requests/{request_id}/answer",
        data={
            "outcome": "granted",
            "answer_channel": "courrier",
            "answered_at": sent,
            "answer_text": "Voici",
        },
    )
    assert answered.status_code == 302
    closed = fresh(created)
    assert closed.status == RequestStatus.ANSWERED and closed.outcome is not None
    deadline = db.session.scalar(
        sa.select(Deadline).where(Deadline.subject_id == request_id, Deadline.kind == "access.response")
    )
    assert deadline is not None and deadline.state == DeadlineState.MET
    page = dpo.get(f"/access-requests/{request_id}").get_data(as_text=True)
    assert 'name="outcome"' not in page and french("on time") in page


def test_an_extension_gives_three_months_from_receipt(sign_in_as: Any, cast: dict[str, Any]) -> None:
    dpo = sign_in_as(cast["dpo"])
    created = record(dpo, received_at="2025-01-31T09:00")
    assert created.response_due_date == date(2025, 2, 28)
    response = dpo.post(
        f"/access-requests/{created.id}/extension",
        data={
            "extension_reason": "Douze bibliothèques à interroger",
            "extension_notified_at": "2025-02-20T10:00",
        },
    )
    assert response.status_code == 302
    extended = fresh(created)
    assert extended.response_due_date == date(2025, 4, 30)
    assert extended.extension_notified_at == datetime(2025, 2, 20, 9, 0, tzinfo=UTC)
    page = dpo.get(f"/access-requests/{created.id}").get_data(as_text=True)
    assert 'datetime="2025-04-30"' in page and "Douze bibliothèques à interroger" in page
    # Without reasons: refused on the field.
    other = record(dpo, received_at="2025-01-31T09:00")
    response = dpo.post(
        f"/access-requests/{other.id}/extension", data={"extension_reason": " ", "extension_notified_at": ""}
    )
    assert response.status_code == 422
    assert 'id="extension_notified_at-error"' in response.get_data(as_text=True)


def test_a_partial_answer_needs_its_legal_ground(sign_in_as: Any, cast: dict[str, Any]) -> None:
    dpo = sign_in_as(cast["dpo"])
    created = record(dpo)
    data = {"outcome": "partial", "answer_channel": "e-mail", "answered_at": form_time(datetime.now(UTC))}
    response = dpo.post(f"/access-requests/{created.id}/answer", data=data)
    assert response.status_code == 422
    assert french("A refusal or a partial answer states its legal ground.") in response.get_data(as_text=True)
    no_outcome = dpo.post(f"/access-requests/{created.id}/answer", data={**data, "outcome": ""})
    assert no_outcome.status_code == 422
    assert french("Choose the answer: granted, partial or refused.") in no_outcome.get_data(as_text=True)
    data["legal_ground"] = "Art. 15(4) RGPD : droits d'autrui"
    assert dpo.post(f"/access-requests/{created.id}/answer", data=data).status_code == 302
    assert fresh(created).legal_ground == "Art. 15(4) RGPD : droits d'autrui"


def test_the_identity_check_is_recorded(sign_in_as: Any, cast: dict[str, Any]) -> None:
    dpo = sign_in_as(cast["dpo"])
    created = record(dpo, received_at="2025-04-01T10:00")
    response = dpo.post(
        f"/access-requests/{created.id}/identity",
        data={
            "identity_requested_at": "2025-04-02T09:00",
            "identity_received_at": "2025-04-04T15:00",
            "identity_method": "Copie de la carte d'identité",
        },
    )
    assert response.status_code == 302
    checked = fresh(created)
    assert checked.identity_received_at == datetime(2025, 4, 4, 13, 0, tzinfo=UTC)
    assert "Copie de la carte d" in dpo.get(f"/access-requests/{created.id}").get_data(as_text=True)


def test_asking_nobody_is_refused(sign_in_as: Any, cast: dict[str, Any], smtp_server: SmtpServer) -> None:
    dpo = sign_in_as(cast["dpo"])
    created = record(dpo)
    response = ask(dpo, created.id)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="organisation_ids-error"' in page and french("Choose at least one partner.") in page
    assert "Nom : Jeanne Durand ; carte 0412345" in page  # the details typed are kept
    assert smtp_server.messages == []


# --- uploads ------------------------------------------------------------------------------------------


def test_uploads_too_large_of_a_refused_type_or_with_a_path_are_refused(
    app: Flask, sign_in_as: Any, cast: dict[str, Any], smtp_server: SmtpServer
) -> None:
    dpo = sign_in_as(cast["dpo"])
    created = record(dpo)
    assert ask(dpo, created.id, cast["forcalquier"]).status_code == 302
    inquiry = inquiry_of(created.id, cast["forcalquier"])
    librarian = sign_in_as(cast["librarian_a"])
    data_dir = Path(app.config["DATA_DIR"])
    outside = data_dir.parent  # where "../x.csv" from DATA_DIR/files would land
    before, before_outside = tree(data_dir), set(p.name for p in outside.iterdir())

    saved = app.config.get("UPLOAD_MAX_BYTES")
    # 100 KB: a body above 500 KB would go through a temporary file that werkzeug's test client
    # never closes (a ResourceWarning, an error here).
    app.config["UPLOAD_MAX_BYTES"] = 100 * 1024
    try:
        too_large = reply(
            librarian, inquiry, "yes", "Export complet", (io.BytesIO(b"x" * (100 * 1024 + 1)), "big.csv")
        )
    finally:
        if saved is None:
            app.config.pop("UPLOAD_MAX_BYTES")
        else:
            app.config["UPLOAD_MAX_BYTES"] = saved
    cases = [
        (too_large, french("Too large.")),
        (
            reply(librarian, inquiry, "yes", "Export complet", (io.BytesIO(b"MZ\x90\x00"), "export.exe")),
            french(
                "This type of file is refused: send %(types)s.",
                types=".csv, .docx, .json, .ods, .odt, .pdf, .txt, .xlsx, .xml, .zip",
            ),
        ),
        (
            reply(librarian, inquiry, "yes", "Export complet", (io.BytesIO(CSV_EXPORT), "../../etc/x.csv")),
            french("A file name cannot contain a path: give the file alone."),
        ),
        (
            reply(librarian, inquiry, "yes", "Export complet", (io.BytesIO(b"MZ\x90\x00"), "export.pdf")),
            french("The file's content does not match its extension %(suffix)s.", suffix=".pdf"),
        ),
    ]
    for response, message in cases:
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert message in page and 'id="attachment-error"' in page
        # What was typed is kept (not the file: it must be chosen again).
        assert re.search(r">\s*Export complet</textarea>", page) and re.search(
            r'checked[^>]*value="yes"|value="yes"[^>]*checked', page
        )
        assert french("For your safety, the file was not kept: choose it again.") in page
    assert tree(data_dir) == before and {p.name for p in outside.iterdir()} == before_outside
    assert not (outside / "etc").exists() and not (data_dir / "etc").exists()
    assert fresh(inquiry).answered_at is None

    # An accepted file adds exactly one file, in DATA_DIR/files, encrypted.
    assert reply(librarian, inquiry, "yes", "", (io.BytesIO(CSV_EXPORT), "x.csv")).status_code == 302
    added = tree(data_dir) - before
    assert {str(Path(p).parent) for p in added} <= {"files", "."}
    stored = [data_dir / p for p in added if (data_dir / p).is_file()]
    assert len(stored) == 1 and stored[0].parent == data_dir / "files"
    assert CSV_EXPORT not in stored[0].read_bytes()
    assert {p.name for p in outside.iterdir()} == before_outside


def test_an_answer_that_holds_data_says_what(
    sign_in_as: Any, cast: dict[str, Any], smtp_server: SmtpServer
) -> None:
    dpo = sign_in_as(cast["dpo"])
    created = record(dpo)
    ask(dpo, created.id, cast["forcalquier"])
    inquiry = inquiry_of(created.id, cast["forcalquier"])
    librarian = sign_in_as(cast["librarian_a"])
    response = reply(librarian, inquiry, "yes", "")
    assert response.status_code == 422
    assert 'id="details-error"' in response.get_data(as_text=True)
    nothing = reply(librarian, inquiry, "")
    assert nothing.status_code == 422
    assert french("Say whether your library holds data about the person.") in nothing.get_data(as_text=True)
    # The DPO reads the inquiry but does not answer for the partner.
    assert 'name="holds_data"' not in dpo.get(f"/inquiries/{inquiry.id}").get_data(as_text=True)
    assert reply(dpo, inquiry, "no").status_code == 403
    assert fresh(inquiry).answered_at is None


# --- scope --------------------------------------------------------------------------------------------


def _routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, URL argument) of every request and inquiry route that names a record."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in {"access_requests", "inquiries"}:
            continue
        for arg in ("request_id", "inquiry_id"):
            if arg in rule.arguments:
                for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                    found.append((rule.endpoint, method, arg))
    return found


def test_a_partner_gets_404_for_another_partners_existing_records(
    app: Flask, sign_in_as: Any, cast: dict[str, Any], smtp_server: SmtpServer
) -> None:
    # Manosque records a request at its desk; the DPO asks Manosque; Manosque answers with an export.
    manosque = sign_in_as(cast["librarian_b"])
    theirs = record(manosque)
    dpo = sign_in_as(cast["dpo"])
    assert ask(dpo, theirs.id, cast["manosque"]).status_code == 302
    inquiry = inquiry_of(theirs.id, cast["manosque"])
    assert reply(manosque, inquiry, "yes", "Inscrite", (io.BytesIO(CSV_EXPORT), "m.csv")).status_code == 302
    ids = {"request_id": theirs.id, "inquiry_id": inquiry.id}
    missing = {"request_id": 999999, "inquiry_id": 999999}

    forcalquier = sign_in_as(cast["librarian_a"])
    routes = _routes(app)
    assert len(routes) >= 8
    for endpoint, method, arg in routes:
        with app.test_request_context():
            url = url_for(endpoint, **{arg: ids[arg]})
            absent = url_for(endpoint, **{arg: missing[arg]})
        call = forcalquier.get if method == "GET" else forcalquier.post
        status = call(url).status_code
        # 404 where a partner may act, 403 on the DPO's own actions: the same as for a missing record,
        # so nothing tells Forcalquier that Manosque's record exists.
        assert status in (403, 404), (endpoint, method, status)
        assert status == call(absent).status_code, (endpoint, method)
        if method == "GET":
            assert dpo.get(url).status_code == 200, endpoint
            assert manosque.get(url).status_code == 200, endpoint
    assert theirs.reference not in forcalquier.get("/access-requests/").get_data(as_text=True)
    assert theirs.reference not in forcalquier.get("/inquiries/").get_data(as_text=True)
    assert fresh(inquiry).details == "Inscrite"


def test_a_partner_that_recorded_a_request_does_not_see_the_other_partners_answers(
    sign_in_as: Any, cast: dict[str, Any], smtp_server: SmtpServer
) -> None:
    librarian_a = sign_in_as(cast["librarian_a"])
    created = record(librarian_a)
    dpo = sign_in_as(cast["dpo"])
    ask(dpo, created.id, cast["forcalquier"], cast["manosque"])
    reply(
        sign_in_as(cast["librarian_b"]),
        inquiry_of(created.id, cast["manosque"]),
        "yes",
        "Inscrite à Manosque",
    )
    page = librarian_a.get(f"/access-requests/{created.id}").get_data(as_text=True)
    assert "Inscrite à Manosque" not in page and cast["manosque"].name not in page
    assert f"/inquiries/{inquiry_of(created.id, cast['forcalquier']).id}" in page
    # Nor the DPO's forms.
    assert 'name="organisation_ids"' not in page and 'name="outcome"' not in page


@pytest.mark.parametrize("role", ["committee", "legal"])
def test_committee_and_legal_users_are_refused(
    app: Flask, sign_in_as: Any, cast: dict[str, Any], smtp_server: SmtpServer, role: str
) -> None:
    dpo = sign_in_as(cast["dpo"])
    created = record(dpo)
    ask(dpo, created.id, cast["forcalquier"])
    ids = {"request_id": created.id, "inquiry_id": inquiry_of(created.id, cast["forcalquier"]).id}
    client = sign_in_as(cast[role])
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in {"access_requests", "inquiries"}:
            continue
        with app.test_request_context():
            url = url_for(rule.endpoint, **{a: ids[a] for a in rule.arguments})
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            call = client.get if method == "GET" else client.post
            assert call(url).status_code == 403, (rule.endpoint, method)


# --- lists --------------------------------------------------------------------------------------------


def test_the_dpo_filters_the_requests(sign_in_as: Any, cast: dict[str, Any], smtp_server: SmtpServer) -> None:
    dpo = sign_in_as(cast["dpo"])
    old = record(dpo, received_at="2025-01-31T09:00", subject_name="Ancienne demande")  # overdue
    recent = record(dpo)
    asked_a = record(dpo)
    ask(dpo, asked_a.id, cast["forcalquier"])
    answered = record(dpo, received_at="2025-02-03T09:00")
    dpo.post(
        f"/access-requests/{answered.id}/answer",
        data={"outcome": "granted", "answer_channel": "courrier", "answered_at": "2025-02-20T10:00"},
    )

    def refs(query: str) -> set[str]:
        page = dpo.get(f"/access-requests/{query}").get_data(as_text=True)
        return set(re.findall(r"DEM-\d{4}-\d{3}", page))

    everything = {old.reference, recent.reference, asked_a.reference, answered.reference}
    assert refs("") == everything
    assert refs("?overdue=1") == {old.reference}
    assert refs("?status=answered") == {answered.reference}
    assert refs("?status=open") == everything - {answered.reference}
    assert refs(f"?organisation_id={cast['forcalquier'].id}") == {asked_a.reference}
    assert refs(f"?organisation_id={cast['manosque'].id}") == set()
    for bad in ("?status=lost", "?organisation_id=abc", "?overdue=maybe"):
        assert dpo.get(f"/access-requests/{bad}").status_code == 400
    page = dpo.get("/access-requests/?overdue=1").get_data(as_text=True)
    assert "status-row-overdue" in page

    inquiries = dpo.get(f"/inquiries/?organisation_id={cast['forcalquier'].id}").get_data(as_text=True)
    assert asked_a.reference in inquiries
    assert dpo.get(f"/inquiries/?organisation_id={cast['manosque'].id}&state=waiting").status_code == 200
    assert asked_a.reference not in dpo.get("/inquiries/?overdue=1").get_data(as_text=True)
    assert dpo.get("/inquiries/?state=nowhere").status_code == 400


def test_a_partner_lists_its_own_requests_and_inquiries(
    sign_in_as: Any, cast: dict[str, Any], smtp_server: SmtpServer
) -> None:
    librarian_a = sign_in_as(cast["librarian_a"])
    own = record(librarian_a)
    dpo = sign_in_as(cast["dpo"])
    departement = record(dpo)
    other = record(sign_in_as(cast["librarian_b"]))
    ask(dpo, departement.id, cast["forcalquier"], cast["manosque"])
    ask(dpo, other.id, cast["manosque"])
    page = librarian_a.get("/access-requests/").get_data(as_text=True)
    assert own.reference in page  # recorded by it
    assert departement.reference in page  # asked of it
    assert other.reference not in page
    assert f"/inquiries/{inquiry_of(departement.id, cast['forcalquier']).id}" in page
    assert f'/access-requests/{departement.id}"' not in page
    inquiries = librarian_a.get("/inquiries/").get_data(as_text=True)
    assert departement.reference in inquiries and other.reference not in inquiries
    assert cast["manosque"].name not in inquiries
    # The partner filter is the DPO's: ignored for a partner, who sees its own anyway.
    assert other.reference not in librarian_a.get(
        f"/inquiries/?organisation_id={cast['manosque'].id}"
    ).get_data(as_text=True)
