"""The mail outbox against a real SMTP server (aiosmtpd): every e-mail is a row first, delivered right after
the commit when the server answers, retried with back-off by `vigie mail send-pending` otherwise, never
sent twice, and never the reason an action fails."""

from __future__ import annotations

import threading
from datetime import timedelta
from email.utils import make_msgid
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.smtp import SmtpServer, smtp_server_fixture  # noqa: F401
from vigie.database import utcnow
from vigie.extensions import db
from vigie.mail import init_app
from vigie.mail.cli import mail_cli
from vigie.mail.models import Attachment, OutboxMessage, OutboxStatus
from vigie.mail.services import (
    CLAIM_LEASE,
    DEFAULT_MAX_ATTEMPTS,
    SendReport,
    queue_mail,
    retry_delay,
    send_pending,
)
from vigie.mail.smtp import SmtpConnection, build_message, smtp_settings

DPO = "dpo@departement.example"
SUBJECT = "Violation de données — déclaration reçue"
BODY = (
    "Bonjour,\n\n"
    "La médiathèque de Forcalquier a déclaré une violation de données à 14 h 05.\n"
    "Délai de notification à la CNIL : 72 heures.\n\n"
    "— Vigie\n"
)


@pytest.fixture(autouse=True)
def _mail(app: Flask) -> None:
    # Until create_app and register_commands do it (both are idempotent).
    init_app(app)
    if "mail" not in app.cli.commands:
        app.cli.add_command(mail_cli)


@pytest.fixture
def no_send_on_commit(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "MAIL_SEND_ON_COMMIT", False)


def reload(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    row = db.session.get(OutboxMessage, message_id)
    assert row is not None
    return row


def count_rows() -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) or 0)


def queue(recipient: str = DPO, **kwargs: Any) -> OutboxMessage:
    message = queue_mail(recipient, kwargs.pop("subject", SUBJECT), kwargs.pop("body", BODY), **kwargs)
    assert message is not None
    return message


# --- delivery right after the commit --------------------------------------------------------------------


def test_a_queued_message_is_delivered_right_after_the_commit(app: Flask, smtp_server: SmtpServer) -> None:
    message = queue()
    db.session.flush()
    assert smtp_server.messages == []  # nothing leaves before the commit
    db.session.commit()

    (received,) = smtp_server.messages
    assert received["To"] == DPO
    assert received["From"] == app.config["MAIL_FROM"]
    assert received["Subject"] == SUBJECT
    assert received["Message-ID"] == message.message_id
    assert received["Date"] is not None
    assert received["Auto-Submitted"] == "auto-generated"
    assert received.get_content_type() == "text/plain"
    assert received.get_content_charset() == "utf-8"
    assert received.get_content() == BODY
    assert smtp_server.envelopes[0].rcpt_tos == [DPO]
    assert smtp_server.envelopes[0].mail_from == app.config["MAIL_FROM"]

    row = reload(message.id)
    assert row.status is OutboxStatus.SENT
    assert row.attempts == 1
    assert row.sent_at is not None and row.last_error is None


def test_nothing_is_sent_or_kept_when_the_transaction_rolls_back(smtp_server: SmtpServer) -> None:
    queue()
    db.session.flush()
    db.session.rollback()
    db.session.commit()  # a later commit has nothing to send
    assert smtp_server.messages == []
    assert count_rows() == 0


def test_a_savepoint_does_not_send_before_the_outer_commit(smtp_server: SmtpServer) -> None:
    with db.session.begin_nested():
        queue()
    assert smtp_server.messages == []
    db.session.commit()
    assert len(smtp_server.messages) == 1


def test_send_on_commit_can_be_turned_off(smtp_server: SmtpServer, no_send_on_commit: None) -> None:
    message = queue()
    db.session.commit()
    assert smtp_server.messages == []
    row = reload(message.id)
    assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 0)
    assert send_pending() == SendReport(sent=1)
    assert len(smtp_server.messages) == 1


def test_attachments_are_delivered(smtp_server: SmtpServer) -> None:
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
        "SUMMARY:Comité de pilotage\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    queue(attachments=[Attachment("comite.ics", "text/calendar; method=REQUEST", ics)])
    db.session.commit()

    (received,) = smtp_server.messages
    body = received.get_body(("plain",))
    assert body is not None and body.get_content() == BODY
    (part,) = received.iter_attachments()
    assert part.get_filename() == "comite.ics"
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "REQUEST"
    assert part.get_payload(decode=True) == ics


# --- SMTP down, then back ------------------------------------------------------------------------------


def test_smtp_down_the_action_still_commits_and_the_message_waits(smtp_server: SmtpServer) -> None:
    smtp_server.stop()
    before = utcnow()
    message = queue()
    db.session.commit()  # does not raise

    row = reload(message.id)
    assert row.status is OutboxStatus.QUEUED
    assert row.attempts == 1
    assert row.last_error and "refused" in row.last_error.lower()
    assert DPO not in row.last_error
    assert row.next_attempt_at >= before + timedelta(minutes=1)

    smtp_server.start()
    assert send_pending() == SendReport()  # not due yet
    assert smtp_server.messages == []

    later = row.next_attempt_at + timedelta(seconds=1)
    assert send_pending(now=later) == SendReport(sent=1)
    assert smtp_server.message_ids() == {message.message_id: 1}
    row = reload(message.id)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (OutboxStatus.SENT, 2, later, None)

    assert send_pending(now=later + timedelta(days=1)) == SendReport()
    assert len(smtp_server.messages) == 1


def test_send_pending_touches_nothing_while_the_server_is_unreachable(
    smtp_server: SmtpServer, no_send_on_commit: None
) -> None:
    message = queue()
    db.session.commit()
    smtp_server.stop()
    report = send_pending()
    assert (report.sent, report.retried, report.failed) == (0, 0, 0)
    assert report.smtp_error and "refused" in report.smtp_error.lower()
    row = reload(message.id)
    assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 0)


def test_the_back_off_grows_and_ends_in_failed(
    app: Flask, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 4)
    smtp_server.reject_data = "451 4.3.0 Mailbox busy, try again later"
    message = queue()
    db.session.commit()  # attempt 1, right after the commit

    row = reload(message.id)
    assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 1)
    assert row.last_error is not None and "451" in row.last_error
    waited = row.next_attempt_at - row.created_at
    assert timedelta(minutes=1) <= waited < timedelta(minutes=1, seconds=30)

    for attempt, delay in ((2, timedelta(minutes=5)), (3, timedelta(minutes=30))):
        at = row.next_attempt_at
        assert send_pending(now=at - timedelta(seconds=1)) == SendReport()  # not yet
        assert send_pending(now=at) == SendReport(retried=1)
        row = reload(message.id)
        assert (row.status, row.attempts) == (OutboxStatus.QUEUED, attempt)
        assert row.next_attempt_at - at == delay

    at = row.next_attempt_at
    assert send_pending(now=at) == SendReport(failed=1)
    row = reload(message.id)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 4)
    assert row.last_error is not None and "451" in row.last_error
    assert send_pending(now=at + timedelta(days=30)) == SendReport()
    assert smtp_server.messages == []


def test_the_retry_schedule() -> None:
    delays = [retry_delay(n) for n in range(1, DEFAULT_MAX_ATTEMPTS + 1)]
    minutes = [d / timedelta(minutes=1) for d in delays]
    assert minutes == [1, 5, 30, 120, 720, 720]
    assert DEFAULT_MAX_ATTEMPTS == 6


def test_a_refused_recipient_fails_at_once_without_the_address_in_the_error(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.reject_recipient = f"550 5.1.1 <{DPO}>: Recipient address rejected: User unknown"
    message = queue()
    db.session.commit()
    row = reload(message.id)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    assert row.last_error is not None
    assert "550" in row.last_error and "User unknown" in row.last_error
    assert DPO not in row.last_error and "departement.example" not in row.last_error


def test_a_message_abandoned_by_a_dead_sender_is_sent_again_after_its_lease(
    smtp_server: SmtpServer, no_send_on_commit: None
) -> None:
    message = queue()
    db.session.commit()
    now = utcnow()
    # A sender claimed it, then died before recording anything.
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(status=OutboxStatus.SENDING, attempts=1, next_attempt_at=now + CLAIM_LEASE)
    )
    db.session.commit()

    assert send_pending(now=now) == SendReport()  # still its sender's
    assert send_pending(now=now + CLAIM_LEASE) == SendReport(sent=1)
    row = reload(message.id)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
    assert len(smtp_server.messages) == 1


def test_a_message_abandoned_during_its_last_attempt_fails(
    app: Flask, smtp_server: SmtpServer, no_send_on_commit: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 2)
    message = queue()
    db.session.commit()
    now = utcnow()
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(status=OutboxStatus.SENDING, attempts=2, next_attempt_at=now)
    )
    db.session.commit()
    assert send_pending(now=now) == SendReport(failed=1)
    row = reload(message.id)
    assert row.status is OutboxStatus.FAILED and row.last_error
    assert smtp_server.messages == []


def test_a_broken_mail_configuration_never_fails_the_action(
    app: Flask, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAIL_FROM", "not an address")
    message = queue()
    db.session.commit()  # does not raise
    row = reload(message.id)
    assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 0)
    assert smtp_server.messages == []


# --- the rows ---------------------------------------------------------------------------------------------


def test_a_dedupe_key_queues_one_message_only(smtp_server: SmtpServer) -> None:
    key = "reminder:42:overdue"
    first = queue_mail(DPO, SUBJECT, BODY, dedupe_key=key)
    assert first is not None
    assert queue_mail(DPO, SUBJECT, BODY, dedupe_key=key) is None  # same transaction
    db.session.commit()
    assert queue_mail(DPO, "Autre sujet", BODY, dedupe_key=key) is None  # later, once sent
    db.session.commit()
    assert count_rows() == 1
    assert len(smtp_server.messages) == 1
    assert queue_mail(DPO, SUBJECT, BODY, dedupe_key="reminder:42:due-soon") is not None


@pytest.mark.postgres_only
def test_two_transactions_racing_for_a_dedupe_key_add_one_row(app: Flask, no_send_on_commit: None) -> None:
    key = "reminder:7:overdue"
    first_inserted = threading.Event()
    results: list[bool] = []
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with app.app_context():
                results.append(queue_mail(DPO, SUBJECT, BODY, dedupe_key=key) is not None)
                first_inserted.set()
                threading.Event().wait(0.3)  # the second one waits for this commit
                db.session.commit()
        except BaseException as exc:
            errors.append(exc)
            first_inserted.set()

    def second() -> None:
        try:
            with app.app_context():
                first_inserted.wait(5)
                results.append(queue_mail(DPO, SUBJECT, BODY, dedupe_key=key) is not None)
                db.session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(results) == [False, True]
    assert count_rows() == 1


def test_personal_data_is_encrypted_at_rest(no_send_on_commit: None) -> None:
    ics = b"BEGIN:VCALENDAR\r\nSUMMARY:Reunion a Forcalquier\r\nEND:VCALENDAR\r\n"
    message = queue(attachments=[Attachment("reunion.ics", "text/calendar", ics)])
    db.session.commit()
    raw = db.session.execute(
        sa.text("SELECT recipient, subject, body, attachments FROM outbox_message WHERE id = :id"),
        {"id": message.id},
    ).one()
    for value in raw:
        assert value
        for plain in (DPO, "departement", "Violation", "Forcalquier", "reunion.ics", "CNIL"):
            assert plain not in value
    row = reload(message.id)
    assert (row.recipient, row.subject, row.body) == (DPO, SUBJECT, BODY)
    assert row.attachment_list == [Attachment("reunion.ics", "text/calendar", ics)]


@pytest.mark.parametrize(
    ("recipient", "subject"),
    [
        ("Marie Curie <marie@example.fr>", SUBJECT),
        ("marie@example.fr, paul@example.fr", SUBJECT),
        ("pas-une-adresse", SUBJECT),
        (DPO, "Sujet\r\nBcc: intrus@example.fr"),
    ],
)
def test_queue_mail_refuses_what_cannot_be_a_header(recipient: str, subject: str) -> None:
    with pytest.raises(ValueError):
        queue_mail(recipient, subject, BODY)
    assert count_rows() == 0


# --- the command --------------------------------------------------------------------------------------


@pytest.fixture
def cli(app: Flask) -> Any:
    runner = app.test_cli_runner()

    def invoke(*args: str) -> Any:
        result = runner.invoke(args=list(args))
        db.session.expire_all()
        return result

    return invoke


def test_cli_send_pending_prints_counts(cli: Any, smtp_server: SmtpServer, no_send_on_commit: None) -> None:
    for n in range(3):
        queue(f"bibliotheque{n}@commune.example")
    db.session.commit()
    result = cli("mail", "send-pending")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "3 sent, 0 retried later, 0 failed"
    assert sorted(e.rcpt_tos[0] for e in smtp_server.envelopes) == [
        f"bibliotheque{n}@commune.example" for n in range(3)
    ]
    again = cli("mail", "send-pending")
    assert again.exit_code == 0
    assert again.stdout.strip() == "0 sent, 0 retried later, 0 failed"


def test_cli_send_pending_counts_retries_and_failures(
    cli: Any, smtp_server: SmtpServer, no_send_on_commit: None
) -> None:
    queue()
    db.session.commit()
    smtp_server.reject_data = "451 4.3.0 Try again later"
    result = cli("mail", "send-pending")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "0 sent, 1 retried later, 0 failed"


def test_cli_send_pending_exits_0_when_the_server_is_down(
    cli: Any, smtp_server: SmtpServer, no_send_on_commit: None
) -> None:
    queue()
    db.session.commit()
    smtp_server.stop()
    result = cli("mail", "send-pending")
    assert result.exit_code == 0
    assert result.stdout.strip() == "0 sent, 0 retried later, 0 failed"
    assert "could not be reached" in result.stderr


def test_cli_send_pending_refuses_a_broken_configuration(
    app: Flask, cli: Any, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAIL_FROM", "vigie")
    result = cli("mail", "send-pending")
    assert result.exit_code == 2
    assert "MAIL_FROM" in result.stderr and result.stderr.strip().endswith(".")


def test_cli_send_pending_reports_refused_credentials(
    app: Flask, cli: Any, smtp_server: SmtpServer, no_send_on_commit: None
) -> None:
    smtp_server.credentials = ("vigie", "the right one")
    app.config.update(SMTP_USER="vigie", SMTP_PASSWORD="a wrong one")  # restored by smtp_server
    message = queue()
    db.session.commit()
    result = cli("mail", "send-pending")
    assert result.exit_code == 2
    assert "535" in result.stderr and "VIGIE_SMTP_PASSWORD" in result.stderr
    row = reload(message.id)
    assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 0)  # no attempt was spent

    app.config["SMTP_PASSWORD"] = "the right one"
    result = cli("mail", "send-pending")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "1 sent, 0 retried later, 0 failed"


# --- concurrent senders ------------------------------------------------------------------------------------


@pytest.mark.postgres_only
def test_concurrent_senders_deliver_each_message_exactly_once(
    app: Flask, smtp_server: SmtpServer, no_send_on_commit: None
) -> None:
    messages = [queue(f"agent{n}@commune.example") for n in range(20)]
    db.session.commit()
    expected = {m.message_id for m in messages}
    smtp_server.delay = 0.05  # each send takes a while, so the senders overlap
    start = threading.Barrier(3)
    reports: list[SendReport] = []
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            with app.app_context():
                start.wait(10)
                reports.append(send_pending(limit=100))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    received = smtp_server.message_ids()
    assert set(received) == expected
    assert set(received.values()) == {1}
    assert sum(r.sent for r in reports) == 20
    assert sum(1 for r in reports if r.sent) >= 2  # they did run side by side
    statuses = db.session.scalars(sa.select(OutboxMessage.status)).all()
    assert set(statuses) == {OutboxStatus.SENT}


def test_a_connection_the_server_dropped_is_reopened_for_the_next_message(
    app: Flask, smtp_server: SmtpServer
) -> None:
    settings = smtp_settings(app.config)

    def message(n: int) -> Any:
        return build_message(
            settings,
            recipient=DPO,
            subject=f"Message {n}",
            body="Corps",
            message_id=make_msgid(),
            date=utcnow(),
        )

    with SmtpConnection(settings) as connection:
        connection.open()
        connection.send(message(1), DPO)
        smtp_server.stop()  # the server forgets the session
        smtp_server.start()
        connection.send(message(2), DPO)
    assert [str(m["Subject"]) for m in smtp_server.messages] == ["Message 1", "Message 2"]
