"""Requests from data subjects at the service level: the month, the three working days, the rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from compliance.access_requests import services
from compliance.access_requests.models import AccessRequest, RequestStatus
from compliance.access_requests.services import RequestData
from vigie import storage
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.errors import Conflict, Forbidden, ValidationFailed
from vigie.extensions import db
from vigie.mail.models import OutboxMessage

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


@pytest.fixture
def cast(factory: Any) -> dict[str, Any]:
    departement = factory.org("controller", name="Département")
    a = factory.org("partner", name="Médiathèque A")
    b = factory.org("partner", name="Médiathèque B")
    return {
        "departement": departement,
        "a": a,
        "b": b,
        "dpo": factory.user("dpo", org=departement),
        "librarian_a": factory.user("partner", org=a),
        "librarian_b": factory.user("partner", org=b),
        "committee": factory.user("committee", org=departement),
    }


def _request(
    cast: dict[str, Any], received_at: datetime, by: str = "dpo", org: str = "departement"
) -> AccessRequest:
    data = RequestData(
        right="access",
        subject_name="Camille Martin",
        subject_email="camille.martin@example.fr",
        received_at=received_at,
        received_by=cast[org],
    )
    request = services.record_request(cast[by], data)
    db.session.commit()
    return request


def _deadline(kind: str, subject_id: int) -> Deadline:
    deadline = db.session.scalar(
        sa.select(Deadline).where(Deadline.kind == kind, Deadline.subject_id == subject_id)
    )
    assert deadline is not None
    return deadline


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (paris(2025, 1, 31, 10), date(2025, 2, 28)),  # no 31 February: the month's last day
        (paris(2025, 4, 1, 9), date(2025, 5, 2)),  # 1 May is a holiday
        (paris(2025, 4, 30, 9), date(2025, 5, 30)),  # an ordinary Friday
        (paris(2025, 5, 31, 9), date(2025, 6, 30)),  # no 31 June: Monday 30 June
        (paris(2025, 7, 14, 9), date(2025, 8, 14)),
        (paris(2025, 10, 1, 9), date(2025, 11, 3)),  # 1 November is a Saturday, 2 a Sunday
    ],
)
def test_the_answer_is_due_one_month_after_receipt(
    cast: dict[str, Any], received: datetime, due: date
) -> None:
    request = _request(cast, received)
    assert request.response_due_date == due
    deadline = _deadline("access.response", request.id)
    assert deadline.due_date == due
    assert deadline.due_at == datetime.combine(due, datetime.max.time().replace(microsecond=0), PARIS)


def test_extension_to_three_months_once_with_reasons(cast: dict[str, Any]) -> None:
    request = _request(cast, paris(2025, 1, 31, 10))
    with pytest.raises(ValidationFailed):
        services.extend_response(cast["dpo"], request, "  ", datetime.now(UTC))
    services.extend_response(cast["dpo"], request, "Demandes nombreuses", paris(2025, 2, 20, 10))
    db.session.commit()
    assert request.response_due_date == date(2025, 4, 30)
    assert _deadline("access.response", request.id).due_date == date(2025, 4, 30)
    with pytest.raises(Conflict):
        services.extend_response(cast["dpo"], request, "encore", datetime.now(UTC))


@pytest.mark.parametrize(
    ("requested", "due"),
    [
        (paris(2025, 5, 7, 18), date(2025, 5, 13)),  # the evening before the 8 May weekend
        (paris(2025, 4, 18, 17), date(2025, 4, 24)),  # Friday before Easter Monday
        (paris(2025, 5, 10, 11), date(2025, 5, 14)),  # a Saturday
        (paris(2025, 5, 28, 9), date(2025, 6, 3)),  # Ascension Thursday skipped
    ],
)
def test_inquiries_are_due_at_the_end_of_the_third_working_day(
    cast: dict[str, Any], requested: datetime, due: date
) -> None:
    request = _request(cast, requested - timedelta(hours=1))
    inquiry = services.open_inquiry(cast["dpo"], request, cast["a"], "Camille Martin, carte 1234", requested)
    db.session.commit()
    assert inquiry.due_date == due
    assert inquiry.due_at.astimezone(PARIS).replace(tzinfo=None) == datetime.combine(
        due, datetime.min.time()
    ).replace(hour=23, minute=59, second=59)
    assert _deadline("access.inquiry", inquiry.id).organisation_id == cast["a"].id


def test_a_partners_record_is_forwarded_at_once_and_the_dpo_is_told(cast: dict[str, Any]) -> None:
    received = datetime.now(UTC) - timedelta(hours=30)
    request = _request(cast, received, by="librarian_a", org="a")
    assert request.forwarded_at is not None
    assert services.forwarding_is_late(request)  # 30 h > 24 h
    mails = db.session.scalars(sa.select(OutboxMessage)).all()
    assert [m.recipient for m in mails] == [cast["dpo"].email]
    assert "Camille" not in mails[0].body
    # The clock belongs to the Département, from the partner's receipt.
    assert _deadline("access.response", request.id).organisation_id == cast["departement"].id


def test_a_partner_records_only_for_itself(cast: dict[str, Any]) -> None:
    with pytest.raises(Forbidden):
        _request(cast, datetime.now(UTC), by="librarian_a", org="b")
    with pytest.raises(Forbidden):
        _request(cast, datetime.now(UTC), by="committee", org="departement")


def test_inquiry_answers_meet_their_clock_and_stay_with_their_partner(
    cast: dict[str, Any], app: Flask
) -> None:
    request = _request(cast, datetime.now(UTC) - timedelta(hours=2))
    to_a = services.open_inquiry(cast["dpo"], request, cast["a"], "Camille Martin")
    to_b = services.open_inquiry(cast["dpo"], request, cast["b"], "Camille Martin")
    db.session.commit()
    recipients = {m.recipient for m in db.session.scalars(sa.select(OutboxMessage))}
    assert {cast["librarian_a"].email, cast["librarian_b"].email} <= recipients
    with pytest.raises(Conflict):
        services.open_inquiry(cast["dpo"], request, cast["a"], "again")
    db.session.rollback()

    with pytest.raises(Forbidden):
        services.answer_inquiry(cast["librarian_b"], to_a, False, None)
    with pytest.raises(Forbidden):
        services.answer_inquiry(cast["dpo"], to_a, False, None)
    services.answer_inquiry(
        cast["librarian_a"], to_a, True, "Inscription depuis 2019", ("export.csv", b"nom;carte\n")
    )
    services.answer_inquiry(cast["librarian_b"], to_b, False, None)
    db.session.commit()
    assert _deadline("access.inquiry", to_a.id).state == DeadlineState.MET
    assert to_a.attachment_key and storage.read(to_a.attachment_key) == b"nom;carte\n"
    raw = (Path(app.config["DATA_DIR"]) / "files" / to_a.attachment_key).read_bytes()
    assert b"nom;carte" not in raw  # encrypted at rest
    with pytest.raises(Conflict):
        services.answer_inquiry(cast["librarian_b"], to_b, False, None)

    user_a = cast["librarian_a"]
    seen_by_a = db.session.scalars(services.visible_inquiries(user_a)).all()
    assert [i.id for i in seen_by_a] == [to_a.id]
    assert db.session.scalars(services.visible_requests(user_a)).all() == []


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("../../etc/passwd.csv", b"x", "chemin"),
        ("C:\\temp\\x.csv", b"x", "chemin"),
        ("programme.exe", b"MZ", "refusé"),
        ("faux.pdf", b"MZ not a pdf", "ne correspond pas"),
        ("vide.csv", b"", "vide"),
    ],
)
def test_uploads_are_checked(
    cast: dict[str, Any], app: Flask, filename: str, content: bytes, message: str
) -> None:
    request = _request(cast, datetime.now(UTC) - timedelta(hours=2))
    inquiry = services.open_inquiry(cast["dpo"], request, cast["a"], "Camille Martin")
    db.session.commit()
    files = Path(app.config["DATA_DIR"]) / "files"
    before = set(files.iterdir()) if files.exists() else set()
    with pytest.raises(ValidationFailed) as err:
        services.answer_inquiry(cast["librarian_a"], inquiry, True, "x", (filename, content))
    assert "attachment" in err.value.fields
    assert message in err.value.message  # French, the default language
    after = set(files.iterdir()) if files.exists() else set()
    assert after == before


def test_a_too_large_upload_is_refused(
    cast: dict[str, Any], app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024)
    with pytest.raises(ValidationFailed, match="trop volumineux"):
        storage.check_upload("export.csv", b"x" * 2048)


def test_the_answer_states_a_legal_ground_when_refused(cast: dict[str, Any]) -> None:
    request = _request(cast, datetime.now(UTC) - timedelta(days=2))
    with pytest.raises(ValidationFailed) as err:
        services.answer_request(cast["dpo"], request, "refused", datetime.now(UTC), "Courrier")
    assert "legal_ground" in err.value.fields
    db.session.rollback()
    services.answer_request(
        cast["dpo"],
        request,
        "partial",
        datetime.now(UTC),
        "Courrier",
        "Voici vos données",
        legal_ground="Art. 15(4) RGPD : droits des tiers",
    )
    db.session.commit()
    assert request.status == RequestStatus.ANSWERED
    assert _deadline("access.response", request.id).state == DeadlineState.MET
    with pytest.raises(Conflict):
        services.open_inquiry(cast["dpo"], request, cast["a"], "trop tard")


def test_identities_are_encrypted_at_rest(cast: dict[str, Any]) -> None:
    _request(cast, datetime.now(UTC))
    raw = " ".join(str(v) for row in db.session.execute(sa.text("SELECT * FROM access_request")) for v in row)
    assert "Camille" not in raw and "camille.martin" not in raw


def test_references_keep_counting_past_999_in_a_year(cast: dict[str, Any]) -> None:
    # As text, "DEM-2026-1000" sorts before "DEM-2026-999": the next number comes from the longest first.
    now = datetime.now(UTC)
    first = _request(cast, now)
    prefix = first.reference.rsplit("-", 1)[0]
    first.reference = f"{prefix}-999"
    db.session.commit()
    assert _request(cast, now).reference == f"{prefix}-1000"
    assert _request(cast, now).reference == f"{prefix}-1001"
