"""Retention (issue #7): each policy changes exactly the records past its limit, a day on either side,
and nothing else; the audit trail has every change; a dry run changes nothing; a second run does nothing;
the command's output and exit codes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from compliance.access_requests import services as requests
from compliance.access_requests.models import AccessRequest, Inquiry
from compliance.access_requests.services import RequestData
from compliance.processor import services as processor
from compliance.processor.models import PartnerDpo, StaffGrant
from compliance.retention import ACCESS_REQUESTS, PARTNER_DPOS, STAFF_GRANTS, STAFF_LISTS
from compliance.staff_lists.models import StaffListSnapshot
from compliance.staff_lists.services import certify_staff_list
from governance.conventions.models import ConventionStatus
from governance.conventions.services import create_convention
from tests.conftest import counting_queries
from vigie import storage
from vigie.audit.models import AuditEvent
from vigie.audit.recorder import acting_as
from vigie.auth.login_log import LoginEvent, LoginOutcome
from vigie.config import ConfigurationError, load_config
from vigie.crypto import count_decryptions
from vigie.database import UTCDateTime
from vigie.extensions import db
from vigie.mail.models import OutboxMessage, OutboxStatus
from vigie.mail.services import queue_mail
from vigie.retention import services
from vigie.retention.models import RetentionRun
from vigie.retention.policies import ANONYMISED, OUTBOX, SIGN_IN_LOG
from vigie.retention.registry import Applied, Period, Policy, Unit, all_policies

PARIS = ZoneInfo("Europe/Paris")
NAME = "Camille Martin"
EMAIL = "camille.martin@example.fr"


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


# --- helpers ---------------------------------------------------------------------------------------


def row_of(model: Any, record_id: int) -> dict[str, Any]:
    """Every column of one row, as the database holds it (decrypted)."""
    table = model.__table__
    return dict(db.session.execute(sa.select(table).where(table.c.id == record_id)).mappings().one())


def exists(model: Any, record_id: int) -> bool:
    return db.session.get(model, record_id) is not None


def dump() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    db.session.expire_all()
    tables = {}
    for table in db.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        tables[table.name] = [tuple(r) for r in db.session.execute(sa.select(table).order_by(*order))]
    return tables


def audit_length() -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) or 0)


def files_on_disk(app: Flask) -> set[str]:
    root = Path(app.config["DATA_DIR"]) / "files"
    return {p.name for p in root.iterdir()} if root.exists() else set()


def due_ids(policy: Policy, now: datetime) -> set[int]:
    return {row.id for row in db.session.execute(policy.due(now))}


def run(policy: Policy, now: datetime, batch: int = 2) -> services.Outcome:
    """What the command does for one policy: apply as the retention actor, commit each batch (small here,
    so that several are needed), delete the files each batch released."""
    commits = []

    def commit(applied: Applied) -> None:
        db.session.commit()
        commits.append(applied)
        for key in applied.files:
            storage.delete(key)

    with acting_as(None, "retention"):
        outcome = services.apply(policy, now, batch=batch, after_batch=commit)
    assert not db.session.new and not db.session.dirty and not db.session.deleted  # all committed
    assert sum(c.count for c in commits) == outcome.count
    db.session.expire_all()
    return outcome


def audit_of(entity: str, record_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(record_id))
            .order_by(AuditEvent.seq)
        )
    )


@pytest.fixture
def cast(factory: Any, app: Flask, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setitem(app.config, "MAIL_SEND_ON_COMMIT", False)  # no SMTP in these tests
    departement = factory.org("controller", name="Département")
    a = factory.org("partner", name="Médiathèque A")
    return {
        "departement": departement,
        "a": a,
        "dpo": factory.user("dpo", org=departement),
        "librarian_a": factory.user("partner", org=a),
    }


def answered_request(
    cast: dict[str, Any], answered_at: datetime | None, name: str = NAME, attachment: bool = True
) -> AccessRequest:
    """A request with every identity field, one inquiry answered with an export, answered at `answered_at`
    (None: still open)."""
    received = (answered_at or paris(2023, 1, 5, 10)) - timedelta(days=2)
    request = requests.record_request(
        cast["dpo"],
        RequestData(
            right="access",
            subject_name=name,
            subject_email=EMAIL,
            subject_phone="06 12 34 56 78",
            subject_address="3 rue des Lilas, 04300 Forcalquier",
            request_text=f"Je suis {name}, je demande mes données.",
            received_at=received,
            received_by=cast["departement"],
        ),
    )
    inquiry = requests.open_inquiry(cast["dpo"], request, cast["a"], f"Nom : {name}", requested_at=received)
    requests.answer_inquiry(
        cast["librarian_a"],
        inquiry,
        True,
        f"{name}, inscrite depuis 2019",
        ("export.csv", f"nom;carte\n{name};123\n".encode()) if attachment else None,
    )
    request.extension_reason = "Demande complexe"
    if answered_at is not None:
        requests.answer_request(
            cast["dpo"], request, "granted", answered_at, "courrier", answer_text=f"Madame {name}, voici…"
        )
    db.session.commit()
    return request


# --- the period arithmetic -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "period",
    [Period(1, Unit.MONTHS), Period(12, Unit.MONTHS), Period(5, Unit.YEARS), Period(90, Unit.DAYS)],
    ids=str,
)
def test_the_limit_is_the_last_day_whose_period_has_run_out(period: Period) -> None:
    """after() is monotonic, so after(limit) <= today < after(limit + 1 day) pins the limit down; every
    day of two years (leap day and month ends included) is checked."""
    today = date(2023, 12, 1)
    while today < date(2026, 3, 1):
        limit = period.limit(today)
        assert period.after(limit) <= today < period.after(limit + timedelta(days=1)), today
        today += timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "months", "due"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),  # no 31 February: the month's last day
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2025, 1, 28), 1, date(2025, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2025, 3, 31), 1, date(2025, 4, 30)),
        (date(2025, 5, 8), 1, date(2025, 6, 8)),  # no roll to a working day: 8 June 2025 is a Sunday
    ],
)
def test_months_are_calendar_months(start: date, months: int, due: date) -> None:
    period = Period(months, Unit.MONTHS)
    assert period.after(start) == due
    assert period.limit(due) >= start
    assert period.limit(due - timedelta(days=1)) < start


def test_a_period_is_at_least_one_unit() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Period(0, Unit.DAYS)


# --- access requests -------------------------------------------------------------------------------


IDENTITY = {
    "subject_name",
    "subject_email",
    "subject_phone",
    "subject_address",
    "request_text",
    "answer_text",
    "anonymised_at",
    "updated_at",
}
INQUIRY_CONTENT = {
    "search_details",
    "details",
    "attachment_key",
    "attachment_name",
    "attachment_type",
    "attachment_size",
}


def test_access_request_identities_are_anonymised_twelve_months_after_the_answer(
    cast: dict[str, Any], app: Flask
) -> None:
    before = answered_request(cast, paris(2024, 3, 14, 18), name="Alice Avant")
    on_limit = answered_request(cast, paris(2024, 3, 15, 23, 59), name="Bruno Limite")
    # 16 March 00:01 in Paris is still 15 March in UTC: the day is the Paris day.
    after = answered_request(cast, paris(2024, 3, 16, 0, 1), name="Chloé Après")
    still_open = answered_request(cast, None, name="Denis Ouvert")

    assert due_ids(ACCESS_REQUESTS, paris(2025, 3, 14, 12)) == {before.id}
    assert due_ids(ACCESS_REQUESTS, paris(2025, 3, 15, 0, 0, 1)) == {before.id, on_limit.id}
    assert due_ids(ACCESS_REQUESTS, paris(2025, 3, 16, 0, 0, 1)) == {before.id, on_limit.id, after.id}

    ids = {r.id: r for r in (before, on_limit, after, still_open)}
    rows = {i: row_of(AccessRequest, i) for i in ids}
    inquiries = {r.id: r.inquiries[0].id for r in ids.values()}
    inquiry_rows = {i: row_of(Inquiry, q) for i, q in inquiries.items()}
    keys = {i: row["attachment_key"] for i, row in inquiry_rows.items()}
    assert all(keys.values()) and set(keys.values()) <= files_on_disk(app)
    audit_before = audit_length()

    now = paris(2025, 3, 15, 10)
    outcome = run(ACCESS_REQUESTS, now)
    assert outcome.count == 2
    assert [c.label for c in outcome.shown] == [before.reference, on_limit.reference]

    for changed in (before.id, on_limit.id):
        row = row_of(AccessRequest, changed)
        assert row["subject_name"] == ANONYMISED
        for name in IDENTITY - {"subject_name", "anonymised_at", "updated_at"}:
            assert row[name] is None, name
        assert row["anonymised_at"] == now
        assert row["extension_reason"] == "Demande complexe"  # kept: it justifies the longer period
        assert {k: v for k, v in row.items() if k not in IDENTITY} == {
            k: v for k, v in rows[changed].items() if k not in IDENTITY
        }
        inquiry = row_of(Inquiry, inquiries[changed])
        assert inquiry["search_details"] == ANONYMISED
        assert all(inquiry[name] is None for name in INQUIRY_CONTENT - {"search_details"})
        assert {k: v for k, v in inquiry.items() if k not in INQUIRY_CONTENT} == {
            k: v for k, v in inquiry_rows[changed].items() if k not in INQUIRY_CONTENT
        }
        assert keys[changed] not in files_on_disk(app)
        [event] = [e for e in audit_of("access_request", changed) if e.actor_label == "retention"]
        assert event.action == "update"
        assert set(event.fields.split(",")) >= {"subject_name", "subject_email", "anonymised_at"}
        [event] = [e for e in audit_of("inquiry", inquiries[changed]) if e.actor_label == "retention"]
        assert set(event.fields.split(",")) >= {"search_details", "attachment_key"}

    for untouched in (after.id, still_open.id):
        assert row_of(AccessRequest, untouched) == rows[untouched]
        assert row_of(Inquiry, inquiries[untouched]) == inquiry_rows[untouched]
        assert keys[untouched] in files_on_disk(app)
        assert not [e for e in audit_of("access_request", untouched) if e.actor_label == "retention"]

    [summary] = db.session.scalars(sa.select(RetentionRun)).all()
    assert (summary.policy, summary.action, summary.affected) == ("access_requests", "anonymise", 2)
    assert (summary.period_amount, summary.period_unit, summary.limit_date) == (
        12,
        "months",
        date(2024, 3, 15),
    )
    # 2 requests + 2 inquiries + the summary row.
    assert audit_length() == audit_before + 5
    assert audit_of("retention_run", summary.id)[0].action == "create"

    # Idempotent: the same run again changes nothing.
    snapshot, length = dump(), audit_length()
    assert run(ACCESS_REQUESTS, now).count == 0
    assert dump() == snapshot and audit_length() == length


@pytest.mark.parametrize(
    ("answered", "not_yet", "due"),
    [
        (paris(2025, 1, 31, 10), paris(2025, 2, 27, 23, 59), paris(2025, 2, 28, 0, 1)),
        (paris(2025, 1, 28, 10), paris(2025, 2, 27, 23, 59), paris(2025, 2, 28, 0, 1)),
        (paris(2024, 1, 31, 10), paris(2024, 2, 28, 23, 59), paris(2024, 2, 29, 0, 1)),
        (paris(2025, 2, 28, 10), paris(2025, 3, 27, 23, 59), paris(2025, 3, 28, 0, 1)),
    ],
)
def test_month_ends_with_a_one_month_period(
    cast: dict[str, Any],
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    answered: datetime,
    not_yet: datetime,
    due: datetime,
) -> None:
    monkeypatch.setitem(app.config, "RETENTION_ACCESS_REQUEST_MONTHS", 1)
    request = answered_request(cast, answered, attachment=False)
    assert due_ids(ACCESS_REQUESTS, not_yet) == set()
    assert due_ids(ACCESS_REQUESTS, due) == {request.id}


def test_pages_still_work_on_an_anonymised_request(cast: dict[str, Any], app: Flask, sign_in_as: Any) -> None:
    request = answered_request(cast, paris(2024, 1, 10, 10))
    inquiry_id = request.inquiries[0].id
    run(ACCESS_REQUESTS, paris(2025, 6, 1, 10))

    dpo = sign_in_as(cast["dpo"])
    librarian = sign_in_as(cast["librarian_a"])
    for client, url in [
        (dpo, f"/access-requests/{request.id}"),
        (dpo, "/access-requests/"),
        (dpo, f"/inquiries/{inquiry_id}"),
        (librarian, f"/inquiries/{inquiry_id}"),
        (dpo, "/access-requests/export.csv"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert NAME not in page and EMAIL not in page, url
    assert ANONYMISED in dpo.get(f"/access-requests/{request.id}").get_data(as_text=True)
    assert dpo.get(f"/inquiries/{inquiry_id}/attachment").status_code == 404


# --- authorised staff and partner DPOs ---------------------------------------------------------------


@pytest.fixture
def processor_file(cast: dict[str, Any], factory: Any) -> dict[str, Any]:
    """A: last convention ended 30 June 2019. B: terminated 1 July 2019 (its term ran to 2028).
    C: no convention. D: renewed, in force until 2028."""
    dpo, departement = cast["dpo"], cast["departement"]
    orgs = {key: factory.org("partner", name=f"Bibliothèque {key.upper()}") for key in "abcd"}

    def convention(org: str, start: date, end: date) -> Any:
        return create_convention(departement, orgs[org], "Convention numérique", start, end)

    def grant(org: str, granted: date, revoked: date | None = None) -> StaffGrant:
        g = processor.grant_staff(
            dpo,
            orgs[org],
            processor.GrantData(name=f"Agent {org}", granted_on=granted, email="agent@example.fr"),
        )
        if revoked is not None:
            processor.revoke_staff(dpo, g, revoked, "départ")
        return g

    def set_dpo(org: str, since: date) -> PartnerDpo:
        return processor.set_dpo(dpo, orgs[org], f"DPO {org}", "dpo@example.fr", since=since)

    convention("a", date(2013, 1, 1), date(2015, 12, 31))
    convention("a", date(2016, 1, 1), date(2019, 6, 30))
    terminated = convention("b", date(2017, 1, 1), date(2028, 12, 31))
    terminated.status = ConventionStatus.TERMINATED  # as governance's terminate() leaves it
    terminated.ended_on = date(2019, 7, 1)
    convention("d", date(2014, 1, 1), date(2019, 6, 30))
    convention("d", date(2019, 7, 1), date(2028, 6, 30))
    file = {
        "grants": {
            "a_active": grant("a", date(2016, 2, 1)),
            "a_revoked": grant("a", date(2016, 2, 1), date(2017, 1, 1)),
            "b_active": grant("b", date(2017, 2, 1)),
            "c_revoked_30_june": grant("c", date(2015, 1, 1), date(2019, 6, 30)),
            "c_revoked_1_july": grant("c", date(2015, 1, 1), date(2019, 7, 1)),
            "c_active": grant("c", date(2010, 1, 1)),
            "d_revoked": grant("d", date(2014, 2, 1), date(2015, 1, 1)),
        },
        "dpos": {
            "a": set_dpo("a", date(2016, 1, 1)),
            "b": set_dpo("b", date(2017, 1, 1)),
            "c_until_30_june": set_dpo("c", date(2010, 1, 1)),
            "c_until_1_july": set_dpo("c", date(2019, 6, 30)),
            "c_current": set_dpo("c", date(2019, 7, 1)),
            "d": set_dpo("d", date(2014, 1, 1)),
        },
    }
    db.session.commit()
    return file


def test_staff_and_dpo_records_are_deleted_five_years_after_the_last_convention(
    processor_file: dict[str, Any],
) -> None:
    grants = {k: g.id for k, g in processor_file["grants"].items()}
    dpos = {k: d.id for k, d in processor_file["dpos"].items()}
    assert db.session.get(PartnerDpo, dpos["c_until_30_june"]).until == date(2019, 6, 30)

    day_before, on_day, day_after = paris(2024, 6, 29, 23, 59), paris(2024, 6, 30, 0, 1), paris(2024, 7, 1, 8)
    assert due_ids(STAFF_GRANTS, day_before) == set()
    assert due_ids(PARTNER_DPOS, day_before) == set()
    first_grants = {grants["a_active"], grants["a_revoked"], grants["c_revoked_30_june"]}
    first_dpos = {dpos["a"], dpos["c_until_30_june"]}
    assert due_ids(STAFF_GRANTS, on_day) == first_grants
    assert due_ids(PARTNER_DPOS, on_day) == first_dpos
    second_grants = {grants["b_active"], grants["c_revoked_1_july"]}
    second_dpos = {dpos["b"], dpos["c_until_1_july"]}
    assert due_ids(STAFF_GRANTS, day_after) == first_grants | second_grants
    assert due_ids(PARTNER_DPOS, day_after) == first_dpos | second_dpos

    grant_rows = {i: row_of(StaffGrant, i) for i in grants.values()}
    dpo_rows = {i: row_of(PartnerDpo, i) for i in dpos.values()}
    outcome = run(STAFF_GRANTS, on_day)
    assert outcome.count == 3
    assert {c.label for c in outcome.shown} == {"Bibliothèque A", "Bibliothèque C"}
    assert run(PARTNER_DPOS, on_day).count == 2

    for model, all_rows, gone in ((StaffGrant, grant_rows, first_grants), (PartnerDpo, dpo_rows, first_dpos)):
        entity = model.__tablename__
        for record_id, before in all_rows.items():
            if record_id in gone:
                assert not exists(model, record_id)
                [event] = [e for e in audit_of(entity, record_id) if e.actor_label == "retention"]
                assert event.action == "delete" and event.organisation_id == before["organisation_id"]
            else:
                assert row_of(model, record_id) == before  # field by field
                assert not [e for e in audit_of(entity, record_id) if e.actor_label == "retention"]

    assert run(STAFF_GRANTS, on_day).count == 0  # idempotent
    assert run(STAFF_GRANTS, day_after).count == 2
    assert run(PARTNER_DPOS, day_after).count == 2
    kept_grants = set(grants.values()) - first_grants - second_grants
    assert (
        set(db.session.scalars(sa.select(StaffGrant.id)))
        == kept_grants
        == {
            grants["c_active"],
            grants["d_revoked"],
        }
    )
    assert set(db.session.scalars(sa.select(PartnerDpo.id))) == {dpos["c_current"], dpos["d"]}
    runs = db.session.execute(sa.select(RetentionRun.policy, RetentionRun.affected).order_by(RetentionRun.id))
    assert [tuple(r) for r in runs] == [
        ("staff_grants", 3),
        ("partner_dpos", 2),
        ("staff_grants", 2),
        ("partner_dpos", 2),
    ]


def test_certified_staff_lists_go_with_the_staff_records(
    processor_file: dict[str, Any], factory: Any
) -> None:
    """A list of partner A (convention ended 30 June 2019) and D (in force) certified in 2019; two of C
    (no convention) certified on 30 June and on 1 July 2019 (Paris): five years later, A's list and C's
    first are due on 30 June 2024, C's second on 1 July; D's is kept."""
    grants = processor_file["grants"]
    orgs = {key: grants[f"{key}_revoked" if key == "d" else f"{key}_active"].organisation for key in "acd"}

    def certified(key: str, at: datetime) -> int:
        snapshot = certify_staff_list(factory.user("partner", org=orgs[key]), orgs[key], confirmed=True)
        db.session.flush()
        # Backdated behind the ORM's back (a certified list is never edited through it).
        table = StaffListSnapshot.__table__
        db.session.execute(sa.update(table).where(table.c.id == snapshot.id).values(certified_at=at))
        return snapshot.id

    lists = {
        "a": certified("a", paris(2019, 3, 1, 10)),
        "c_30_june": certified("c", paris(2019, 6, 30, 23, 30)),
        "c_1_july": certified("c", paris(2019, 7, 1, 0, 30)),
        "d": certified("d", paris(2019, 3, 1, 10)),
    }
    db.session.commit()

    assert due_ids(STAFF_LISTS, paris(2024, 6, 29, 23, 59)) == set()
    assert due_ids(STAFF_LISTS, paris(2024, 6, 30, 0, 1)) == {lists["a"], lists["c_30_june"]}
    assert due_ids(STAFF_LISTS, paris(2024, 6, 30, 23, 59)) == {lists["a"], lists["c_30_june"]}
    assert due_ids(STAFF_LISTS, paris(2024, 7, 1, 0, 1)) == set(lists.values()) - {lists["d"]}

    kept = row_of(StaffListSnapshot, lists["d"])
    assert run(STAFF_LISTS, paris(2024, 6, 30, 12)).count == 2
    remaining = set(db.session.scalars(sa.select(StaffListSnapshot.id)))
    assert remaining == {lists["c_1_july"], lists["d"]}
    assert row_of(StaffListSnapshot, lists["d"]) == kept
    [event] = [e for e in audit_of("staff_list_snapshot", lists["a"]) if e.actor_label == "retention"]
    assert event.action == "delete"


# --- sign-in log and outbox ------------------------------------------------------------------------


def test_sign_in_rows_are_deleted_after_their_period(cast: dict[str, Any]) -> None:
    now = paris(2025, 3, 15, 12)  # 180 days: the rows of 16 September 2024 and before
    times = {
        "old": paris(2024, 9, 15, 12),
        "last_due": paris(2024, 9, 16, 23, 59),
        "first_kept": paris(2024, 9, 17, 0, 1),
        "recent": paris(2025, 3, 14, 12),
    }
    events = {}
    for key, at in times.items():
        event = LoginEvent(
            at=at,
            user_id=cast["dpo"].id,
            email=cast["dpo"].email,
            ip_address="192.0.2.1",
            outcome=LoginOutcome.SUCCESS,
        )
        db.session.add(event)
        db.session.flush()
        events[key] = event.id
    db.session.commit()
    rows = {i: row_of(LoginEvent, i) for i in events.values()}

    assert due_ids(SIGN_IN_LOG, now - timedelta(days=1)) == {events["old"]}
    assert due_ids(SIGN_IN_LOG, now) == {events["old"], events["last_due"]}
    assert run(SIGN_IN_LOG, now).count == 2
    assert not exists(LoginEvent, events["old"]) and not exists(LoginEvent, events["last_due"])
    for key in ("first_kept", "recent"):
        assert row_of(LoginEvent, events[key]) == rows[events[key]]
    [summary] = db.session.scalars(sa.select(RetentionRun)).all()
    assert (summary.policy, summary.affected) == ("sign_in_log", 2)
    assert [e.action for e in audit_of("retention_run", summary.id)] == ["create"]
    assert run(SIGN_IN_LOG, now).count == 0


def _message(n: int, status: OutboxStatus, created: datetime, sent: datetime | None, key: str | None) -> int:
    message = OutboxMessage(
        recipient=f"personne{n}@example.fr",
        subject=f"Sujet {n}",
        body=f"Bonjour personne {n}",
        attachments='[{"filename": "a.ics", "content_type": "text/calendar", "content": ""}]',
        message_id=f"<{n}@vigie.test>",
        status=status,
        attempts=1,
        last_error="refused" if status == OutboxStatus.FAILED else None,
        created_at=created,
        next_attempt_at=created,
        sent_at=sent,
        dedupe_key=key,
    )
    db.session.add(message)
    db.session.flush()
    return message.id


def test_outbox_messages_are_erased_after_ninety_days(cast: dict[str, Any]) -> None:
    now = paris(2025, 3, 15, 12)  # 90 days: what was sent on 15 December 2024 and before
    sent, failed, queued = OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.QUEUED
    ids = {
        "keyed": _message(
            1, sent, paris(2024, 12, 15, 23), paris(2024, 12, 15, 23, 30), "breach:1:receipt:2"
        ),
        "plain": _message(2, sent, paris(2024, 12, 1), paris(2024, 12, 1, 0, 5), None),
        "failed": _message(3, failed, paris(2024, 11, 1), None, None),
        "recent": _message(4, sent, paris(2024, 12, 15, 23), paris(2024, 12, 16, 0, 30), None),
        "queued": _message(5, queued, paris(2024, 11, 1), None, "reminder:9:overdue:1"),
    }
    db.session.commit()
    rows = {k: row_of(OutboxMessage, i) for k, i in ids.items()}

    assert due_ids(OUTBOX, now - timedelta(days=1)) == {ids["plain"], ids["failed"]}
    assert due_ids(OUTBOX, now) == {ids["keyed"], ids["plain"], ids["failed"]}
    assert run(OUTBOX, now).count == 3
    assert not exists(OutboxMessage, ids["plain"]) and not exists(OutboxMessage, ids["failed"])
    keyed = row_of(OutboxMessage, ids["keyed"])
    assert (keyed["recipient"], keyed["subject"], keyed["body"]) == (ANONYMISED, ANONYMISED, "")
    assert keyed["attachments"] is None and keyed["last_error"] is None and keyed["anonymised_at"] == now
    erased = {"recipient", "subject", "body", "attachments", "last_error", "anonymised_at"}
    assert {k: v for k, v in keyed.items() if k not in erased} == {
        k: v for k, v in rows["keyed"].items() if k not in erased
    }
    for key in ("recent", "queued"):
        assert row_of(OutboxMessage, ids[key]) == rows[key]
    # The key still holds: the same e-mail is never queued again.
    assert queue_mail("x@example.fr", "s", "b", dedupe_key="breach:1:receipt:2") is None
    db.session.rollback()
    assert run(OUTBOX, now).count == 0


# --- the command -------------------------------------------------------------------------------------


@pytest.fixture
def cli(app: Flask) -> Any:
    runner = app.test_cli_runner()

    def invoke(*args: str) -> Any:
        result = runner.invoke(args=["retention", *args])
        db.session.expire_all()
        return result

    return invoke


@pytest.fixture
def world(cast: dict[str, Any], factory: Any) -> dict[str, Any]:
    """Records due today under every policy but the DPOs', and records just inside their periods."""
    now = datetime.now(UTC)
    due = answered_request(cast, now - timedelta(days=400), name="Alice Ancienne")
    kept = answered_request(cast, now - timedelta(days=300), name="Bruno Récent")
    c = factory.org("partner", name="Bibliothèque sans convention")
    today = now.astimezone(PARIS).date()
    old_grant = processor.grant_staff(
        cast["dpo"], c, processor.GrantData(name="Agent Ancien", granted_on=today - timedelta(days=8 * 365))
    )
    processor.revoke_staff(cast["dpo"], old_grant, today - timedelta(days=6 * 365), "départ")
    new_grant = processor.grant_staff(
        cast["dpo"], c, processor.GrantData(name="Agent Actuel", granted_on=today - timedelta(days=30))
    )
    processor.set_dpo(cast["dpo"], c, "DPO Actuel", "dpo.actuel@example.fr", since=today - timedelta(days=30))
    for days in (200, 10):
        db.session.add(
            LoginEvent(
                at=now - timedelta(days=days),
                email_digest="f" * 64,
                ip_address="192.0.2.7",
                outcome=LoginOutcome.WRONG_PASSWORD,
            )
        )
    old_mail = _message(10, OutboxStatus.SENT, now - timedelta(days=100), now - timedelta(days=100), None)
    new_mail = _message(11, OutboxStatus.SENT, now - timedelta(days=10), now - timedelta(days=10), None)
    db.session.commit()
    return {
        "due": due,
        "kept": kept,
        "old_grant": old_grant.id,
        "new_grant": new_grant.id,
        "old_mail": old_mail,
        "new_mail": new_mail,
    }


def _headline(output: str, policy: str) -> str:
    [line] = [ln for ln in output.splitlines() if re.match(rf"{policy}\s?:", ln)]
    return line


def _count_in(line: str) -> int | None:
    found = re.match(r"\w+\s?:\s(\d+)\s", line)
    return int(found.group(1)) if found else None


def test_a_dry_run_lists_what_is_due_and_changes_nothing(cli: Any, world: dict[str, Any], app: Flask) -> None:
    before, length, files = dump(), audit_length(), files_on_disk(app)
    result = cli("apply", "--dry-run")
    assert result.exit_code == 0, result.output
    assert dump() == before
    assert audit_length() == length
    assert files_on_disk(app) == files

    out = result.stdout
    assert _count_in(_headline(out, "access_requests")) == 1
    assert _count_in(_headline(out, "staff_grants")) == 1
    assert _count_in(_headline(out, "sign_in_log")) == 1
    assert _count_in(_headline(out, "outbox")) == 1
    assert _count_in(_headline(out, "partner_dpos")) is None
    assert f"#{world['due'].id} {world['due'].reference}" in out
    assert world["kept"].reference not in out
    assert f"#{world['old_grant']} Bibliothèque sans convention" in out
    assert f"#{world['old_mail']}" in out and f"#{world['new_mail']}" not in out
    for personal in ("Alice", "Bruno", "Agent", "@example.fr", "06 12"):
        assert personal not in out


def test_apply_does_what_the_dry_run_said_then_nothing(cli: Any, world: dict[str, Any], app: Flask) -> None:
    dry = cli("apply", "--dry-run").stdout
    due_key = world["due"].inquiries[0].attachment_key
    kept_key = world["kept"].inquiries[0].attachment_key
    kept_row = row_of(AccessRequest, world["kept"].id)

    result = cli("apply")
    assert result.exit_code == 0, result.output
    for policy in ("access_requests", "staff_grants", "sign_in_log", "outbox", "partner_dpos"):
        assert _count_in(_headline(result.stdout, policy)) == _count_in(_headline(dry, policy))
    assert row_of(AccessRequest, world["due"].id)["subject_name"] == ANONYMISED
    assert row_of(AccessRequest, world["kept"].id) == kept_row
    assert due_key not in files_on_disk(app) and kept_key in files_on_disk(app)
    assert not exists(StaffGrant, world["old_grant"]) and exists(StaffGrant, world["new_grant"])
    assert not exists(OutboxMessage, world["old_mail"]) and exists(OutboxMessage, world["new_mail"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginEvent)) == 1
    labels = set(
        db.session.scalars(sa.select(AuditEvent.actor_label).where(AuditEvent.entity == "staff_grant"))
    )
    assert "retention" in labels
    policies = set(db.session.scalars(sa.select(RetentionRun.policy)))
    assert policies == {"access_requests", "staff_grants", "sign_in_log", "outbox"}

    after, length = dump(), audit_length()
    again = cli("apply")
    assert again.exit_code == 0, again.output
    assert dump() == after and audit_length() == length
    for policy in ("access_requests", "staff_grants", "sign_in_log", "outbox", "partner_dpos"):
        assert _count_in(_headline(again.stdout, policy)) is None


def test_the_list_is_cut_unless_all_ids_are_asked(cli: Any, cast: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    ids = [
        _message(100 + n, OutboxStatus.SENT, now - timedelta(days=200), now - timedelta(days=200), None)
        for n in range(25)
    ]
    db.session.commit()
    short = cli("apply", "--dry-run").stdout
    assert f"#{ids[19]}" in short and f"#{ids[20]}" not in short and "5" in short.split(f"#{ids[19]}")[1]
    full = cli("apply", "--dry-run", "--all-ids").stdout
    assert all(f"#{i}" in full for i in ids)


@pytest.mark.parametrize("value", [0, -3, "douze", None])
def test_a_bad_period_stops_everything_with_exit_code_2(
    cli: Any, world: dict[str, Any], app: Flask, monkeypatch: pytest.MonkeyPatch, value: Any
) -> None:
    # staff_grants comes after access_requests: nothing may be applied before the check fails.
    monkeypatch.setitem(app.config, "RETENTION_STAFF_GRANT_YEARS", value)
    before, length = dump(), audit_length()
    for args in (("apply",), ("apply", "--dry-run"), ("policies",)):
        result = cli(*args)
        assert result.exit_code == 2, result.output
        assert "VIGIE_RETENTION_STAFF_GRANT_YEARS" in result.stderr
        assert "staff_grants" in result.stderr
        assert dump() == before and audit_length() == length


def test_policies_lists_every_policy_with_its_period(
    cli: Any, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "RETENTION_ACCESS_REQUEST_MONTHS", 18)
    result = cli("policies")
    assert result.exit_code == 0, result.output
    names = [p.name for p in all_policies()]
    assert names == [
        "access_requests",
        "outbox",
        "partner_dpos",
        "sign_in_log",
        "staff_grants",
        "staff_lists",
    ]
    for policy in all_policies():
        assert f"{policy.env_var}={policy.period().amount}" in result.stdout
    assert "VIGIE_RETENTION_ACCESS_REQUEST_MONTHS=18" in result.stdout
    assert "VIGIE_RETENTION_SIGN_IN_LOG_DAYS=180" in result.stdout


@pytest.mark.parametrize("value", ["0", "-1", "twelve", "1.5"])
def test_the_environment_refuses_a_non_positive_period(tmp_path: Path, value: str) -> None:
    env = {"VIGIE_ENV": "testing", "VIGIE_RETENTION_ACCESS_REQUEST_MONTHS": value}
    with pytest.raises(ConfigurationError, match="VIGIE_RETENTION_ACCESS_REQUEST_MONTHS"):
        load_config(tmp_path, env=env)


def test_the_environment_sets_each_period(tmp_path: Path) -> None:
    env = {
        "VIGIE_ENV": "testing",
        "VIGIE_RETENTION_ACCESS_REQUEST_MONTHS": "24",
        "VIGIE_RETENTION_STAFF_GRANT_YEARS": "10",
        "VIGIE_RETENTION_PARTNER_DPO_YEARS": "6",
        "VIGIE_RETENTION_OUTBOX_DAYS": "30",
        "VIGIE_RETENTION_SIGN_IN_LOG_DAYS": "365",
    }
    cfg = load_config(tmp_path, env=env)
    assert cfg["RETENTION_ACCESS_REQUEST_MONTHS"] == 24
    assert cfg["RETENTION_STAFF_GRANT_YEARS"] == 10
    assert cfg["RETENTION_PARTNER_DPO_YEARS"] == 6
    assert cfg["RETENTION_OUTBOX_DAYS"] == 30
    assert cfg["LOGIN_EVENTS_RETENTION_DAYS"] == 365
    defaults = load_config(tmp_path, env={"VIGIE_ENV": "testing"})
    assert (defaults["RETENTION_ACCESS_REQUEST_MONTHS"], defaults["RETENTION_OUTBOX_DAYS"]) == (12, 90)


def test_the_console_script_exits_2_on_a_bad_period(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")},
        "VIGIE_ENV": "testing",
        "VIGIE_DATA_DIR": str(tmp_path),
        "VIGIE_DATABASE_URL": f"sqlite:///{tmp_path / 'never.sqlite3'}",
        "VIGIE_RETENTION_OUTBOX_DAYS": "0",
    }
    result = subprocess.run(
        [sys.executable, "-c", "from vigie.cli import main; main()", "retention", "apply", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "VIGIE_RETENTION_OUTBOX_DAYS" in result.stderr
    assert result.stdout == ""


# --- scale -------------------------------------------------------------------------------------------


def test_a_dry_run_reads_a_bounded_number_of_statements(cast: dict[str, Any], app: Flask) -> None:
    """Many requests, inserted directly (encrypted once): counting and listing takes the same few
    statements whatever their number, and decrypts nothing (its time at 100x is in bench/README.md)."""
    token = app.extensions["vigie.crypto"].encrypt(NAME)
    now = datetime.now(UTC)
    table = sa.table(
        "access_request",
        sa.column("reference", sa.String()),
        sa.column("right", sa.String()),
        sa.column("status", sa.String()),
        sa.column("subject_name", sa.Text()),
        sa.column("received_by_organisation_id", sa.Integer()),
        sa.column("received_at", UTCDateTime()),
        sa.column("response_due_date", sa.Date()),
        sa.column("answered_at", UTCDateTime()),
        sa.column("outcome", sa.String()),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    rows = [
        {
            "reference": f"DA-BENCH-{n:06d}",
            "right": "access",
            "status": "answered",
            "subject_name": token,
            "received_by_organisation_id": cast["departement"].id,
            "received_at": now - timedelta(days=n % 800 + 2),
            "response_due_date": date(2025, 1, 1),
            "answered_at": now - timedelta(days=n % 800),
            "outcome": "granted",
            "created_at": now,
            "updated_at": now,
        }
        for n in range(5_000)
    ]
    limit = Period(12, Unit.MONTHS).limit(now.astimezone(PARIS).date())

    def planned(count: int) -> tuple[int, int, int]:
        db.session.execute(sa.insert(table), rows[:count])
        db.session.commit()
        with counting_queries() as statements, count_decryptions() as decrypted:
            outcome = services.plan(ACCESS_REQUESTS, now)
        expected = sum(1 for row in rows[:count] if row["answered_at"].astimezone(PARIS).date() <= limit)
        assert outcome.count == expected
        assert len(outcome.shown) == 20
        db.session.execute(sa.delete(table))
        return len(statements), decrypted.count, outcome.count

    few, many = planned(500), planned(5_000)
    assert few[0] == many[0] and few[1] == many[1] == 0, (few, many)
    assert many[2] > few[2]
