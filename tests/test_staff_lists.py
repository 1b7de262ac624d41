"""Staff lists, at the service level: the DPO's requests (the default three working days at their edges, a
date the DPO chooses), certification (it freezes the list, answers the request, is the periodic review),
the seal (a list or hash changed after certification is detected), the changes between two lists, the
periodic review's deadline, and who may do what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask

from compliance.processor import services as processor
from compliance.processor.services import GrantData
from compliance.staff_lists import integrity, review, services
from compliance.staff_lists.models import StaffListRequest, StaffListSnapshot, StaffRequestStatus
from vigie.config import ConfigurationError, load_config
from vigie.crypto import EXTENSION_KEY, Keyring, keyring, rotate_keys
from vigie.database import UTCDateTime
from vigie.deadlines.calendar import calendar_for_app, months_deadline
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.errors import Conflict, Forbidden, ValidationFailed
from vigie.extensions import db
from vigie.mail.models import OutboxMessage
from vigie.timeutil import PARIS


def paris(text: str) -> datetime:
    """A Paris wall-clock time, as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).astimezone(UTC)


@pytest.fixture
def cast(factory: Any) -> dict[str, Any]:
    controller = factory.org("controller", name="Département des Hautes-Alpes")
    library = factory.org("partner", name="Médiathèque de Briançon")
    other = factory.org("partner", name="Bibliothèque d'Embrun")
    return {
        "controller": controller,
        "library": library,
        "other": other,
        "dpo": factory.user("dpo", org=controller),
        "auditor": factory.user("auditor", org=controller),
        "librarian": factory.user("partner", org=library),
        "assistant": factory.user("partner", org=library),
        "neighbour": factory.user("partner", org=other),
    }


def grant(cast: dict[str, Any], name: str, granted: date = date(2025, 1, 6), **kw: Any) -> Any:
    made = processor.grant_staff(
        cast["librarian"], cast["library"], GrantData(name=name, granted_on=granted, **kw)
    )
    db.session.commit()
    return made


def certify(cast: dict[str, Any], who: str = "librarian") -> StaffListSnapshot:
    snapshot = services.certify_staff_list(cast[who], cast["library"], confirmed=True)
    db.session.commit()
    return snapshot


def deadlines(kind: str, org: Any) -> list[Deadline]:
    return list(
        db.session.scalars(
            sa.select(Deadline)
            .where(Deadline.kind == kind, Deadline.organisation_id == org.id)
            .order_by(Deadline.id)
        )
    )


# --- the default due date: three working days, at its edges ------------------------------------------


@pytest.mark.parametrize(
    ("requested", "due"),
    [
        ("2026-01-09T10:00", date(2026, 1, 14)),  # a Friday: the weekend does not count
        ("2026-01-10T10:00", date(2026, 1, 14)),  # a Saturday: counted from Monday, the day itself never
        ("2026-05-13T16:00", date(2026, 5, 19)),  # the eve of Ascension (Thu 14 May 2026)
        ("2026-04-30T09:00", date(2026, 5, 6)),  # before 1 May (a Friday in 2026)
        ("2026-05-06T09:00", date(2026, 5, 12)),  # around 8 May (a Friday in 2026)
        ("2026-05-22T09:00", date(2026, 5, 28)),  # Friday before Whit Monday (25 May 2026)
        ("2026-11-10T09:00", date(2026, 11, 16)),  # before 11 November (a Wednesday)
        ("2026-03-27T23:30", date(2026, 4, 1)),  # Friday night before the clocks go forward (29 March)
        ("2026-10-23T23:30", date(2026, 10, 28)),  # Friday night before the clocks go back (25 October)
    ],
)
def test_default_due_date_counts_three_working_days(app: Flask, requested: str, due: date) -> None:
    assert services.default_due_date(paris(requested)) == due


def test_the_paris_date_counts_not_the_utc_one(app: Flask) -> None:
    # 23:30 UTC on Thursday 26 March is already Friday 27 March in Paris.
    assert services.default_due_date(datetime(2026, 3, 26, 23, 30, tzinfo=UTC)) == date(2026, 4, 1)


def test_closure_days_do_not_count(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "CLOSURE_DAYS", ("2026-01-12",))
    assert services.default_due_date(paris("2026-01-09T10:00")) == date(2026, 1, 15)


@pytest.mark.parametrize(
    ("requested", "due_date", "due_at"),
    [
        # Due at 23:59:59 Paris time: summer time (UTC+2) after the change of 29 March 2026 ...
        ("2026-03-27T10:00", date(2026, 4, 1), datetime(2026, 4, 1, 21, 59, 59, tzinfo=UTC)),
        # ... winter time (UTC+1) after the change of 25 October 2026.
        ("2026-10-23T10:00", date(2026, 10, 28), datetime(2026, 10, 28, 22, 59, 59, tzinfo=UTC)),
    ],
)
def test_a_request_opens_its_deadline_at_the_end_of_the_day_in_paris(
    cast: dict[str, Any], requested: str, due_date: date, due_at: datetime
) -> None:
    staff_request = services.request_staff_list(cast["dpo"], cast["library"], requested_at=paris(requested))
    db.session.commit()
    assert (staff_request.due_date, staff_request.due_at) == (due_date, due_at)
    (deadline,) = deadlines(services.REQUEST_KIND, cast["library"])
    assert (deadline.due_date, deadline.due_at, deadline.state) == (due_date, due_at, DeadlineState.OPEN)
    assert (deadline.subject_type, deadline.subject_id) == (services.SUBJECT_REQUEST, staff_request.id)
    assert deadline.opened_at == paris(requested)


def test_the_dpo_chooses_another_date(cast: dict[str, Any]) -> None:
    asked = paris("2026-11-20T09:00")
    staff_request = services.request_staff_list(
        cast["dpo"], cast["library"], due_date=date(2026, 12, 4), note="Pour le comité", requested_at=asked
    )
    db.session.commit()
    assert staff_request.due_date == date(2026, 12, 4)
    assert staff_request.due_at == datetime(2026, 12, 4, 22, 59, 59, tzinfo=UTC)
    assert staff_request.note == "Pour le comité" and staff_request.requested_by_id == cast["dpo"].id
    (deadline,) = deadlines(services.REQUEST_KIND, cast["library"])
    assert deadline.due_date == date(2026, 12, 4)
    # The same day is allowed (today, before midnight), not the day before nor beyond a year.
    for bad in (date(2026, 11, 19), date(2027, 11, 22)):
        with pytest.raises(ValidationFailed) as err:
            services.request_staff_list(cast["dpo"], cast["other"], due_date=bad, requested_at=asked)
        assert "due_date" in err.value.fields
    services.request_staff_list(cast["dpo"], cast["other"], due_date=date(2026, 11, 20), requested_at=asked)


def test_who_may_ask_and_for_whom(cast: dict[str, Any]) -> None:
    for who in ("librarian", "auditor"):
        with pytest.raises(Forbidden):
            services.request_staff_list(cast[who], cast["library"])
    with pytest.raises(ValidationFailed) as err:
        services.request_staff_list(cast["dpo"], cast["controller"])
    assert "organisation_id" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        services.request_staff_list(
            cast["dpo"], cast["library"], requested_at=datetime.now(UTC) + timedelta(hours=1)
        )
    assert "requested_at" in err.value.fields


def test_one_pending_request_at_a_time(cast: dict[str, Any]) -> None:
    services.request_staff_list(cast["dpo"], cast["library"])
    db.session.commit()
    with pytest.raises(Conflict):
        services.request_staff_list(cast["dpo"], cast["library"])
    db.session.rollback()
    assert len(deadlines(services.REQUEST_KIND, cast["library"])) == 1


def test_the_partners_users_are_emailed(cast: dict[str, Any], factory: Any) -> None:
    factory.user("dpo", org=cast["library"])  # not a partner user: not e-mailed
    staff_request = services.request_staff_list(
        cast["dpo"], cast["library"], requested_at=paris("2026-11-20T09:00")
    )
    db.session.commit()
    mails = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert sorted(m.recipient for m in mails) == sorted([cast["librarian"].email, cast["assistant"].email])
    assert all("25/11/2026" in m.subject and "/staff-lists/certify" in m.body for m in mails)
    assert staff_request.organisation.name in mails[0].body


def test_a_request_is_withdrawn_with_a_reason(cast: dict[str, Any]) -> None:
    staff_request = services.request_staff_list(cast["dpo"], cast["library"])
    db.session.commit()
    with pytest.raises(ValidationFailed):
        services.cancel_request(cast["dpo"], staff_request, "  ")
    with pytest.raises(Forbidden):
        services.cancel_request(cast["librarian"], staff_request, "Non")
    services.cancel_request(cast["dpo"], staff_request, "Demande en double")
    db.session.commit()
    assert staff_request.status == StaffRequestStatus.CANCELLED
    (deadline,) = deadlines(services.REQUEST_KIND, cast["library"])
    assert deadline.state == DeadlineState.CANCELLED and deadline.closed_reason == "Demande en double"
    with pytest.raises(Conflict):
        services.cancel_request(cast["dpo"], staff_request, "Encore")
    services.request_staff_list(cast["dpo"], cast["library"])  # a new one may be asked


# --- certification ------------------------------------------------------------------------------------


def test_certification_freezes_the_list_and_meets_the_deadlines(cast: dict[str, Any]) -> None:
    alice = grant(
        cast, "Alice Martin", email="alice@briancon.example", function="Directrice", scope=["administration"]
    )
    grant(cast, "Bruno Durand", date(2025, 3, 3), function="Agent d'accueil")
    staff_request = services.request_staff_list(cast["dpo"], cast["library"])
    db.session.commit()

    snapshot = certify(cast)
    assert services.verify_snapshot(snapshot).valid
    rows = services.snapshot_rows(snapshot)
    assert [(r["name"], r["email"], r["function"], r["scope"], r["granted_on"]) for r in rows] == [
        ("Alice Martin", "alice@briancon.example", "Directrice", ["administration"], "2025-01-06"),
        ("Bruno Durand", None, "Agent d'accueil", ["registrations"], "2025-03-03"),
    ]
    assert all(r["granted_by"] for r in rows)
    assert snapshot.certified_by_id == cast["librarian"].id
    assert snapshot.certified_by_name == cast["librarian"].name
    assert snapshot.organisation_name == "Médiathèque de Briançon"
    assert snapshot.certified_at.microsecond == 0 and snapshot.key_id == integrity.key_id()

    # It answers the request: fulfilled, its deadline met at the certification.
    assert staff_request.status == StaffRequestStatus.FULFILLED and snapshot.request_id == staff_request.id
    (request_deadline,) = deadlines(services.REQUEST_KIND, cast["library"])
    assert request_deadline.state == DeadlineState.MET and request_deadline.met_at == snapshot.certified_at
    # It is the periodic review: the one opened by the first grant is met, the next one opens.
    first, following = deadlines(review.REVIEW_KIND, cast["library"])
    assert first.state == DeadlineState.MET and first.met_at == snapshot.certified_at
    assert following.state == DeadlineState.OPEN
    # The DPO who asked is told.
    mails = db.session.scalars(sa.select(OutboxMessage)).all()
    assert any(
        m.recipient == cast["dpo"].email and f"/staff-lists/snapshots/{snapshot.id}" in m.body for m in mails
    )

    # Later grants and revocations change today's list, never the certified one.
    processor.revoke_staff(cast["librarian"], alice, date(2025, 6, 1), "Mutation")
    grant(cast, "Chloé Petit", date(2025, 7, 1))
    db.session.commit()
    db.session.expire_all()
    again = db.session.get(StaffListSnapshot, snapshot.id)
    assert again is not None and services.snapshot_rows(again) == rows
    assert services.verify_snapshot(again).valid
    today = services.current_rows(cast["library"].id, date(2025, 7, 1))
    assert [r["name"] for r in today] == ["Bruno Durand", "Chloé Petit"]


def test_a_spontaneous_certification_answers_no_request(cast: dict[str, Any]) -> None:
    snapshot = certify(cast)  # nobody authorised: the partner certifies an empty list
    assert snapshot.request_id is None and services.snapshot_rows(snapshot) == []
    assert services.verify_snapshot(snapshot).valid
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffListRequest)) == 0


def test_who_may_certify(cast: dict[str, Any]) -> None:
    for who in ("dpo", "auditor", "neighbour"):
        with pytest.raises(Forbidden):
            services.certify_staff_list(cast[who], cast["library"], confirmed=True)
    with pytest.raises(ValidationFailed) as err:
        services.certify_staff_list(cast["librarian"], cast["library"], confirmed=False)
    assert "confirm" in err.value.fields
    assert services.may_certify(cast["librarian"], cast["library"].id)
    assert not services.may_certify(cast["dpo"], cast["library"].id)
    assert not services.may_certify(cast["neighbour"], cast["library"].id)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffListSnapshot)) == 0


def test_a_partner_sees_only_its_own_lists(cast: dict[str, Any]) -> None:
    own = certify(cast)
    theirs = services.certify_staff_list(cast["neighbour"], cast["other"], confirmed=True)
    db.session.commit()

    def seen(who: str) -> set[int]:
        return set(
            db.session.scalars(services.visible_snapshots(cast[who]).with_only_columns(StaffListSnapshot.id))
        )

    assert seen("librarian") == {own.id}
    assert seen("neighbour") == {theirs.id}
    assert seen("dpo") == seen("auditor") == {own.id, theirs.id}


def test_personal_data_is_encrypted_at_rest(cast: dict[str, Any]) -> None:
    grant(cast, "Alice Confidentielle", email="alice@briancon.example")
    certify(cast)
    raw = " ".join(
        str(v) for row in db.session.execute(sa.text("SELECT * FROM staff_list_snapshot")) for v in row
    )
    assert "Confidentielle" not in raw and "briancon" not in raw and cast["librarian"].name not in raw


# --- the seal -----------------------------------------------------------------------------------------


def _raw_update(snapshot_id: int, **values: Any) -> StaffListSnapshot:
    """Change a stored snapshot behind the application's back, as someone with database access could."""
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    db.session.execute(
        sa.text(f"UPDATE staff_list_snapshot SET {assignments} WHERE id = :id"),
        {**values, "id": snapshot_id},
    )
    db.session.commit()
    db.session.expire_all()
    found = db.session.get(StaffListSnapshot, snapshot_id)
    assert found is not None
    return found


def _document_of(snapshot: StaffListSnapshot, rows: list[dict[str, Any]]) -> str:
    return integrity.document(
        snapshot.organisation_id,
        snapshot.organisation_name,
        snapshot.request_id,
        snapshot.certified_at,
        snapshot.certified_by_id,
        snapshot.certified_by_name,
        rows,
    )


def test_changed_rows_are_detected(cast: dict[str, Any]) -> None:
    grant(cast, "Alice Martin", function="Agent d'accueil")
    grant(cast, "Bruno Durand")
    snapshot = certify(cast)
    rows = services.snapshot_rows(snapshot)
    rows[0]["function"] = "Directrice"  # a promotion written into the certified list afterwards
    forged = keyring().encrypt(integrity.canonical_json(rows))
    tampered = _raw_update(snapshot.id, staff_rows=forged)
    assert services.snapshot_rows(tampered)[0]["function"] == "Directrice"
    result = services.verify_snapshot(tampered)
    assert not result and result.reason == integrity.CONTENT_CHANGED and result.tampered

    # Removing a person is a change too.
    tampered = _raw_update(snapshot.id, staff_rows=keyring().encrypt(integrity.canonical_json(rows[1:])))
    assert services.verify_snapshot(tampered).reason == integrity.CONTENT_CHANGED


def test_rows_and_hash_changed_together_are_detected(cast: dict[str, Any]) -> None:
    grant(cast, "Alice Martin")
    snapshot = certify(cast)
    rows = [*services.snapshot_rows(snapshot), {**services.snapshot_rows(snapshot)[0], "name": "Eve Intruse"}]
    new_hash = integrity.content_hash(_document_of(snapshot, rows))
    tampered = _raw_update(
        snapshot.id, staff_rows=keyring().encrypt(integrity.canonical_json(rows)), content_hash=new_hash
    )
    result = services.verify_snapshot(tampered)
    assert result.reason == integrity.SIGNATURE_MISMATCH and result.tampered
    # A signature computed without the server's key does not help either.
    tampered = _raw_update(snapshot.id, signature=integrity.sign(new_hash, b"a guessed key"))
    assert services.verify_snapshot(tampered).reason == integrity.SIGNATURE_MISMATCH
    # The hash alone changed: no longer the content's.
    tampered = _raw_update(
        snapshot.id, staff_rows=keyring().encrypt(integrity.canonical_json(rows[:1])), content_hash="0" * 64
    )
    assert services.verify_snapshot(tampered).reason == integrity.CONTENT_CHANGED


def test_other_certified_facts_are_sealed_too(cast: dict[str, Any]) -> None:
    snapshot = certify(cast)
    later = snapshot.certified_at + timedelta(days=3)
    moment = sa.table("staff_list_snapshot", sa.column("id"), sa.column("certified_at", UTCDateTime()))
    db.session.execute(sa.update(moment).where(moment.c.id == snapshot.id).values(certified_at=later))
    db.session.commit()
    db.session.expire_all()
    tampered = db.session.get(StaffListSnapshot, snapshot.id)
    assert tampered is not None and tampered.certified_at == later
    assert services.verify_snapshot(tampered).reason == integrity.CONTENT_CHANGED


def test_an_unreadable_list_is_tampered(cast: dict[str, Any]) -> None:
    snapshot = certify(cast)
    tampered = _raw_update(snapshot.id, staff_rows="pas un jeton Fernet")
    result = services.verify_snapshot(tampered)
    assert result.reason == integrity.UNREADABLE and result.tampered
    assert services.snapshot_rows(tampered) == []


def test_another_server_key_is_not_verifiable_rather_than_tampered(
    app: Flask, cast: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = certify(cast)
    monkeypatch.setitem(app.config, "SECRET_KEY", "another-secret-key-" + "y" * 32)
    result = services.verify_snapshot(snapshot)
    assert result.reason == integrity.UNKNOWN_KEY and not result.valid and not result.tampered
    monkeypatch.undo()
    assert services.verify_snapshot(snapshot).valid


def test_rotating_the_encryption_keys_keeps_the_seal(
    app: Flask, cast: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    grant(cast, "Alice Martin", email="alice@briancon.example")
    snapshot = certify(cast)
    before = db.session.scalar(sa.text("SELECT staff_rows FROM staff_list_snapshot"))
    monkeypatch.setitem(
        app.extensions,
        EXTENSION_KEY,
        Keyring([Fernet.generate_key().decode(), *app.config["ENCRYPTION_KEYS"]]),
    )
    with db.engine.begin() as connection:
        rotate_keys(connection, db.metadata)
    assert db.session.scalar(sa.text("SELECT staff_rows FROM staff_list_snapshot")) != before
    db.session.expire_all()
    rotated = db.session.get(StaffListSnapshot, snapshot.id)
    assert rotated is not None and services.verify_snapshot(rotated).valid


def test_a_snapshot_is_never_edited_through_the_application(cast: dict[str, Any]) -> None:
    snapshot = certify(cast)
    snapshot.rows_json = "[]"
    with pytest.raises(RuntimeError, match="never edited"):
        db.session.flush()
    db.session.rollback()


# --- what changed between two lists -------------------------------------------------------------------


def row(
    name: str,
    email: str | None = None,
    function: str | None = None,
    scope: tuple[str, ...] = ("registrations",),
) -> dict[str, Any]:
    return {
        "name": name,
        "email": email,
        "function": function,
        "scope": list(scope),
        "granted_on": "2025-01-06",
    }


def test_diff_of_rows() -> None:
    before = [
        row("Alice Martin", "alice@example.fr", "Agent d'accueil"),
        row("Bruno Durand", None, "Bibliothécaire"),
        row("Chloé Petit", "chloe@example.fr", "Médiatrice"),
        row("Denis Roux", None, "Stagiaire"),
    ]
    after = [
        row("Alice Martin", "ALICE@example.fr", "Directrice", ("administration",)),  # same person (e-mail)
        row("bruno  durand", None, "Bibliothécaire"),  # same person (name), unchanged
        row("Chloé Petit", "chloe@example.fr", "Médiatrice", ("registrations", "statistics")),  # wider scope
        row("Emma Blanc", "emma@example.fr", "Agent d'accueil"),  # new
    ]
    diff = services.diff_rows(before, after)
    assert [p.name for p in diff.added] == ["Emma Blanc"]
    assert [p.name for p in diff.removed] == ["Denis Roux"]
    assert [(b.functions, a.functions, a.scopes) for b, a in diff.changed] == [
        (("Agent d'accueil",), ("Directrice",), ("administration",)),
        (("Médiatrice",), ("Médiatrice",), ("registrations", "statistics")),
    ]
    assert [p.name for p in diff.unchanged] == ["bruno  durand"] and not diff.empty
    assert services.diff_rows(after, after).empty


def test_a_person_with_two_grants_is_one_person() -> None:
    before = [row("Alice Martin", "alice@example.fr", "Agent d'accueil")]
    after = [
        row("Alice Martin", "alice@example.fr", "Agent d'accueil"),
        row("Alice Martin", "alice@example.fr", None, ("statistics",)),
    ]
    diff = services.diff_rows(before, after)
    assert not diff.added and not diff.removed
    ((old, new),) = diff.changed
    assert old.scopes == ("registrations",) and new.scopes == ("registrations", "statistics")


def test_diff_between_two_certified_lists(cast: dict[str, Any]) -> None:
    alice = grant(cast, "Alice Martin", email="alice@briancon.example", function="Agent d'accueil")
    bruno = grant(cast, "Bruno Durand", function="Bibliothécaire")
    first = certify(cast)
    processor.revoke_staff(cast["librarian"], bruno, date(2025, 9, 1), "Départ")
    processor.revoke_staff(cast["librarian"], alice, date(2025, 9, 1), "Promotion")
    grant(cast, "Alice Martin", date(2025, 9, 1), email="alice@briancon.example", function="Directrice")
    grant(cast, "Chloé Petit", date(2025, 9, 1))
    second = certify(cast)
    assert services.previous_snapshot(second) == first and services.previous_snapshot(first) is None
    for diff in (services.diff_snapshots(first, second), services.diff_snapshots(second, first)):
        assert [p.name for p in diff.added] == ["Chloé Petit"]
        assert [p.name for p in diff.removed] == ["Bruno Durand"]
        assert [(b.functions, a.functions) for b, a in diff.changed] == [
            (("Agent d'accueil",), ("Directrice",))
        ]
    theirs = services.certify_staff_list(cast["neighbour"], cast["other"], confirmed=True)
    with pytest.raises(ValueError):
        services.diff_snapshots(first, theirs)


# --- the periodic review ------------------------------------------------------------------------------


def test_the_first_grant_opens_the_review(app: Flask, cast: dict[str, Any]) -> None:
    assert deadlines(review.REVIEW_KIND, cast["library"]) == []
    alice = grant(cast, "Alice Martin")
    (opened,) = deadlines(review.REVIEW_KIND, cast["library"])
    due_date, due_at = months_deadline(alice.recorded_at, 12, calendar_for_app())
    assert (opened.due_date, opened.due_at, opened.state) == (due_date, due_at, DeadlineState.OPEN)
    assert (opened.subject_type, opened.subject_id) == ("organisation", cast["library"].id)
    grant(cast, "Bruno Durand")  # not a first grant any more
    assert len(deadlines(review.REVIEW_KIND, cast["library"])) == 1
    assert deadlines(review.REVIEW_KIND, cast["other"]) == []


def test_each_certification_moves_the_review_forward(
    app: Flask, cast: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    grant(cast, "Alice Martin")
    first = certify(cast)
    met, current = deadlines(review.REVIEW_KIND, cast["library"])
    assert met.state == DeadlineState.MET and current.state == DeadlineState.OPEN
    assert current.due_date == months_deadline(first.certified_at, 12, calendar_for_app())[0]
    assert review.next_review(cast["library"].id) == current

    monkeypatch.setitem(app.config, "STAFF_REVIEW_MONTHS", 6)
    second = certify(cast)
    states = [d.state for d in deadlines(review.REVIEW_KIND, cast["library"])]
    assert states == [DeadlineState.MET, DeadlineState.MET, DeadlineState.OPEN]
    following = review.next_review(cast["library"].id)
    assert following is not None
    assert following.due_date == months_deadline(second.certified_at, 6, calendar_for_app())[0]
    assert following.due_date < current.due_date  # six months after, sooner than the earlier twelve


def test_review_months_follow_regulation_1182_71(app: Flask, cast: dict[str, Any]) -> None:
    # Recorded on Friday 31 January 2025: twelve months later is Saturday 31 January 2026, so the review
    # is due on the next working day, Monday 2 February 2026 (at 23:59:59 Paris time, winter time).
    opened = review.open_first_review(cast["library"], paris("2025-01-31T10:00"))
    assert opened is not None and opened.due_date == date(2026, 2, 2)
    assert opened.due_at == datetime(2026, 2, 2, 22, 59, 59, tzinfo=UTC)
    assert review.open_first_review(cast["library"], paris("2025-02-01T10:00")) is None


def test_the_review_interval_is_configurable(tmp_path: Path) -> None:
    env = {"VIGIE_ENV": "testing", "VIGIE_DATA_DIR": str(tmp_path)}
    assert load_config(tmp_path, env=env)["STAFF_REVIEW_MONTHS"] == 12
    assert load_config(tmp_path, env=env | {"VIGIE_STAFF_REVIEW_MONTHS": "6"})["STAFF_REVIEW_MONTHS"] == 6
    for bad in ("0", "-3", "douze"):
        with pytest.raises(ConfigurationError, match="VIGIE_STAFF_REVIEW_MONTHS"):
            load_config(tmp_path, env=env | {"VIGIE_STAFF_REVIEW_MONTHS": bad})
