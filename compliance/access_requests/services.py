"""The life of a request from a data subject. Views, the API and the CLI call these; they check the
rules, change the records, open and stop the clocks, queue the e-mails, flush — and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from compliance.access_requests.models import AccessRequest, Inquiry, Outcome, RequestStatus, Right
from vigie import storage
from vigie.auth.access import can, reaches_all_organisations
from vigie.auth.models import User, UserRole
from vigie.auth.roles import Permission, Role
from vigie.database import utcnow
from vigie.deadlines.calendar import calendar_for_app, months_deadline, working_days_deadline
from vigie.deadlines.services import meet_deadline, open_deadline, open_deadline_for, reschedule_deadline
from vigie.errors import Conflict, Forbidden, ValidationFailed
from vigie.extensions import db
from vigie.mail.services import queue_mail
from vigie.orgs.models import Organisation, OrganisationKind, Person
from vigie.timeutil import to_paris

SUBJECT_REQUEST = "access_request"
SUBJECT_INQUIRY = "inquiry"
RESPONSE_KIND = "access.response"
INQUIRY_KIND = "access.inquiry"
INQUIRY_WORKING_DAYS = 3  # convention art. 11
RESPONSE_MONTHS = 1  # GDPR 12(3)
EXTENDED_MONTHS = 3  # one month, extended by two further months


@dataclass
class RequestData:
    right: str
    subject_name: str
    received_at: datetime
    received_by: Organisation
    subject_email: str | None = None
    subject_phone: str | None = None
    subject_address: str | None = None
    request_text: str | None = None
    channel: str | None = None


def forward_late_threshold() -> timedelta:
    return timedelta(hours=float(current_app.config.get("ACCESS_FORWARD_LATE_HOURS", 24)))


def forwarding_is_late(request: AccessRequest) -> bool:
    delay = request.forwarding_delay
    return delay is not None and delay > forward_late_threshold().total_seconds()


def _is_controller_side(actor: Any) -> bool:
    return reaches_all_organisations(actor, Permission.COMPLIANCE_CONTROL)


def _paris_text(value: datetime | None) -> str:
    return to_paris(value).strftime("%d/%m/%Y %H:%M") if value else "—"


def _base_url() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")


def _users_with_role(role: Role, organisation_id: int | None = None) -> list[User]:
    stmt = (
        sa.select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == role, User.active.is_(True))
        .order_by(User.id)
    )
    if organisation_id is not None:
        stmt = stmt.where(User.organisation_id == organisation_id)
    return list(db.session.scalars(stmt))


def _next_reference(now: datetime) -> str:
    prefix = f"DEM-{to_paris(now).year}-"
    # The longest, then the greatest: past 999 a year, DEM-2025-1000 sorts before DEM-2025-999 as text.
    last = db.session.scalar(
        sa.select(AccessRequest.reference)
        .where(AccessRequest.reference.startswith(prefix, autoescape=True))
        .order_by(sa.func.length(AccessRequest.reference).desc(), AccessRequest.reference.desc())
        .limit(1)
    )
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:03d}"


def record_request(actor: Any, data: RequestData) -> AccessRequest:
    """Record a request. Received by a partner, it is forwarded to the Département in the same step."""
    organisation = data.received_by
    if not can(actor, Permission.COMPLIANCE_EDIT, organisation.id):
        raise Forbidden(_("You may not record a request for this organisation."))
    errors: dict[str, str] = {}
    try:
        right = Right(data.right)
    except ValueError:
        errors["right"] = _("Choose the right exercised.")
        right = Right.ACCESS
    if not data.subject_name.strip():
        errors["subject_name"] = _("Give the person's name.")
    now = utcnow()
    if data.received_at.tzinfo is None:
        errors["received_at"] = _("Give the time with its offset.")
    elif data.received_at > now + timedelta(minutes=5):
        errors["received_at"] = _("This time is in the future.")
    if organisation.kind == OrganisationKind.OTHER:
        errors["received_by_organisation_id"] = _("A request arrives at the Département or at a partner.")
    if errors:
        raise ValidationFailed(_("The request is incomplete."), errors)
    due_date, due_at = months_deadline(data.received_at, RESPONSE_MONTHS, calendar_for_app())
    request = AccessRequest(
        reference=_next_reference(now),
        right=right,
        subject_name=data.subject_name.strip(),
        subject_email=(data.subject_email or "").strip() or None,
        subject_phone=(data.subject_phone or "").strip() or None,
        subject_address=(data.subject_address or "").strip() or None,
        request_text=(data.request_text or "").strip() or None,
        received_by=organisation,
        received_at=data.received_at,
        channel=(data.channel or "").strip()[:100] or None,
        recorded_by_id=actor.id,
        response_due_date=due_date,
    )
    if organisation.kind == OrganisationKind.PARTNER:
        request.forwarded_at = now  # the partner's record is its forwarding: one step
    db.session.add(request)
    db.session.flush()
    # The month runs from the first receipt, whoever received it: the person asked the controller's
    # processor, and the answer is due to them all the same.
    controller = _controller_of(actor, organisation)
    open_deadline(
        RESPONSE_KIND,
        controller,
        _("%(ref)s: answer the person", ref=request.reference),
        due_at,
        due_date=due_date,
        subject=(SUBJECT_REQUEST, request.id),
        opened_at=data.received_at,
    )
    if request.forwarded_at is not None and not _is_controller_side(actor):
        _mail_dpos_forwarded(request)  # the DPO recording it knows already
    return request


def _controller_of(actor: Any, organisation: Organisation) -> Organisation:
    if organisation.kind == OrganisationKind.CONTROLLER:
        return organisation
    controller = db.session.scalar(
        sa.select(Organisation)
        .where(Organisation.kind == OrganisationKind.CONTROLLER, Organisation.active.is_(True))
        .order_by(Organisation.id)
    )
    return controller or organisation


def _mail_dpos_forwarded(request: AccessRequest) -> None:
    for user in _users_with_role(Role.DPO):
        with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            subject = _(
                "[Vigie] Request %(ref)s forwarded by %(org)s",
                ref=request.reference,
                org=request.received_by.name,
            )
            body = "\n".join(
                [
                    _("A partner received a person's request and forwarded it to the Département."),
                    "",
                    _("Reference: %(ref)s", ref=request.reference),
                    _("Received by the partner: %(at)s (Paris time)", at=_paris_text(request.received_at)),
                    _("Answer due by: %(date)s", date=request.response_due_date.strftime("%d/%m/%Y")),
                    "",
                    f"{_base_url()}/access-requests/{request.id}",
                ]
            )
        queue_mail(user.email, subject, body, dedupe_key=f"access:{request.id}:forwarded:{user.id}")


def _require_control(actor: Any) -> None:
    if not _is_controller_side(actor):
        raise Forbidden(_("Only the Département's DPO may do this."))


def record_identity_check(
    actor: Any,
    request: AccessRequest,
    requested_at: datetime | None,
    received_at: datetime | None,
    method: str | None,
) -> AccessRequest:
    _require_control(actor)
    now = utcnow()
    for name, value in (("identity_requested_at", requested_at), ("identity_received_at", received_at)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(_("Give the time with its offset."), {name: _("Give the offset.")})
        if value is not None and value > now + timedelta(minutes=5):
            raise ValidationFailed(_("This time is in the future."), {name: _("In the future.")})
    if requested_at is not None and received_at is not None and received_at < requested_at:
        raise ValidationFailed(
            _("The proof of identity cannot arrive before it was asked for."),
            {"identity_received_at": _("Before the request.")},
        )
    request.identity_requested_at = requested_at
    request.identity_received_at = received_at
    request.identity_method = (method or "").strip()[:200] or None
    db.session.flush()
    return request


def extend_response(actor: Any, request: AccessRequest, reason: str, notified_at: datetime) -> AccessRequest:
    """Extend the answer by two further months (three from receipt), once, with the reasons, the person
    being informed within the first month (GDPR 12(3))."""
    _require_control(actor)
    if request.extended_at is not None:
        raise Conflict(_("The deadline has been extended already: it can be extended once."))
    if request.status != RequestStatus.OPEN:
        raise Conflict(_("This request has been answered."))
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["extension_reason"] = _("Give the reasons (complexity, number of requests).")
    if notified_at.tzinfo is None:
        errors["extension_notified_at"] = _("Give the time with its offset.")
    elif notified_at < request.received_at:
        errors["extension_notified_at"] = _("The person cannot be informed before the request was received.")
    else:
        first_month = months_deadline(request.received_at, RESPONSE_MONTHS, calendar_for_app())[1]
        if notified_at > first_month:
            errors["extension_notified_at"] = _(
                "The person must be told of the extension within the first month (GDPR art. 12(3))."
            )
    if errors:
        raise ValidationFailed(_("The extension is incomplete."), errors)
    due_date, due_at = months_deadline(request.received_at, EXTENDED_MONTHS, calendar_for_app())
    request.response_due_date = due_date
    request.extended_at = utcnow()
    request.extension_reason = reason.strip()
    request.extension_notified_at = notified_at
    deadline = open_deadline_for(SUBJECT_REQUEST, request.id, RESPONSE_KIND)
    if deadline is not None:
        reschedule_deadline(deadline, due_at, reason.strip(), due_date=due_date)
    db.session.flush()
    return request


def open_inquiry(
    actor: Any,
    request: AccessRequest,
    organisation: Organisation,
    search_details: str,
    requested_at: datetime | None = None,
) -> Inquiry:
    """Ask a partner what it holds about the person: due at the end of the third working day."""
    _require_control(actor)
    errors: dict[str, str] = {}
    if organisation.kind != OrganisationKind.PARTNER:
        errors["organisation_id"] = _("Inquiries go to partners.")
    if request.status != RequestStatus.OPEN:
        raise Conflict(_("This request has been answered."))
    now = utcnow()
    requested_at = requested_at or now
    if requested_at.tzinfo is None:
        errors["requested_at"] = _("Give the time with its offset.")
    elif requested_at > now + timedelta(minutes=5):
        errors["requested_at"] = _("This time is in the future.")
    elif requested_at < request.received_at:
        errors["requested_at"] = _("A partner cannot be asked before the request was received.")
    if not search_details.strip():
        errors["search_details"] = _("Say what the partner needs to find the person (name, card number…).")
    if errors:
        raise ValidationFailed(_("The inquiry is incomplete."), errors)
    existing = db.session.scalar(
        sa.select(Inquiry).where(Inquiry.request_id == request.id, Inquiry.organisation_id == organisation.id)
    )
    if existing is not None:
        raise Conflict(
            _("%(org)s has been asked already for this request.", org=organisation.name),
            {"organisation_id": _("Already asked.")},
        )
    due_date, due_at = working_days_deadline(requested_at, INQUIRY_WORKING_DAYS, calendar_for_app())
    inquiry = Inquiry(
        request=request,
        organisation=organisation,
        requested_at=requested_at,
        due_date=due_date,
        due_at=due_at,
        search_details=search_details.strip(),
        requested_by_id=actor.id,
    )
    db.session.add(inquiry)
    db.session.flush()
    open_deadline(
        INQUIRY_KIND,
        organisation,
        _("%(ref)s: what does the library hold?", ref=request.reference),
        due_at,
        due_date=due_date,
        subject=(SUBJECT_INQUIRY, inquiry.id),
        opened_at=requested_at,
    )
    _mail_partner_inquiry(inquiry)
    return inquiry


def _mail_partner_inquiry(inquiry: Inquiry) -> None:
    """To the partner's users and its digital-services referents (convention art. 3)."""
    recipients: dict[str, str | None] = {
        u.email: u.locale for u in _users_with_role(Role.PARTNER, inquiry.organisation_id)
    }
    referents = db.session.scalars(
        sa.select(Person).where(Person.organisation_id == inquiry.organisation_id, Person.is_digital_referent)
    )
    for person in referents:
        if person.email:
            recipients.setdefault(person.email.strip().lower(), None)
    for email, locale in sorted(recipients.items()):
        with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            subject = _(
                "[Vigie] Request %(ref)s: information needed by %(date)s",
                ref=inquiry.request.reference,
                date=inquiry.due_date.strftime("%d/%m/%Y"),
            )
            body = "\n".join(
                [
                    _("The Département asks your library what it holds about a person exercising a right."),
                    _(
                        "Answer in Vigie by the end of %(date)s (three working days, convention art. 11).",
                        date=inquiry.due_date.strftime("%d/%m/%Y"),
                    ),
                    "",
                    f"{_base_url()}/inquiries/{inquiry.id}",
                    "",
                    _("The details are in Vigie only: this e-mail carries no personal data."),
                ]
            )
        queue_mail(email, subject, body, dedupe_key=f"inquiry:{inquiry.id}:asked:{email}")


def answer_inquiry(
    actor: Any,
    inquiry: Inquiry,
    holds_data: bool,
    details: str | None,
    attachment: tuple[str, bytes] | None = None,
) -> Inquiry:
    """The partner says what it holds (with an export), or that it holds nothing; on time or late."""
    if not can(actor, Permission.COMPLIANCE_EDIT, inquiry.organisation_id) or _is_controller_side(actor):
        raise Forbidden(_("Only the partner asked may answer this inquiry."))
    if inquiry.answered_at is not None:
        raise Conflict(_("This inquiry has been answered already."))
    if holds_data and not (details or "").strip() and attachment is None:
        raise ValidationFailed(
            _("Describe what you hold, or attach an export."), {"details": _("Describe, or attach a file.")}
        )
    stored = storage.store(*attachment) if attachment is not None else None
    now = utcnow()
    inquiry.answered_at = now
    inquiry.answered_by_id = actor.id
    inquiry.holds_data = holds_data
    inquiry.details = (details or "").strip() or None
    if stored is not None:
        inquiry.attachment_key = stored.key
        inquiry.attachment_name = stored.filename
        inquiry.attachment_type = stored.content_type
        inquiry.attachment_size = stored.size
    deadline = open_deadline_for(SUBJECT_INQUIRY, inquiry.id, INQUIRY_KIND)
    if deadline is not None:
        meet_deadline(deadline, met_at=now)
    db.session.flush()
    return inquiry


def answer_request(
    actor: Any,
    request: AccessRequest,
    outcome: str,
    sent_at: datetime,
    channel: str,
    answer_text: str | None = None,
    legal_ground: str | None = None,
) -> AccessRequest:
    """The Département's answer to the person; a refusal or a partial answer states its legal ground."""
    _require_control(actor)
    if request.status != RequestStatus.OPEN:
        raise Conflict(_("This request has been answered already."))
    errors: dict[str, str] = {}
    try:
        parsed = Outcome(outcome)
    except ValueError:
        errors["outcome"] = _("Choose the answer: granted, partial or refused.")
        parsed = Outcome.GRANTED
    if parsed != Outcome.GRANTED and not (legal_ground or "").strip():
        errors["legal_ground"] = _("A refusal or a partial answer states its legal ground.")
    if sent_at.tzinfo is None:
        errors["answered_at"] = _("Give the time with its offset.")
    elif sent_at > utcnow() + timedelta(minutes=5):
        errors["answered_at"] = _("This time is in the future.")
    elif sent_at < request.received_at:
        errors["answered_at"] = _("The answer cannot precede the request.")
    if not channel.strip():
        errors["answer_channel"] = _("Say how the answer was sent (letter, e-mail…).")
    if errors:
        raise ValidationFailed(_("The answer is incomplete."), errors)
    request.status = RequestStatus.ANSWERED
    request.outcome = parsed
    request.legal_ground = (legal_ground or "").strip() or None
    request.answered_at = sent_at
    request.answer_channel = channel.strip()[:100]
    request.answer_text = (answer_text or "").strip() or None
    deadline = open_deadline_for(SUBJECT_REQUEST, request.id, RESPONSE_KIND)
    if deadline is not None:
        meet_deadline(deadline, met_at=sent_at)
    db.session.flush()
    return request


def visible_requests(user: Any) -> sa.Select[AccessRequest]:
    """The DPO and the auditor see every request; a partner, the requests it recorded itself."""
    stmt = sa.select(AccessRequest)
    if reaches_all_organisations(user, Permission.COMPLIANCE_VIEW):
        return stmt
    if can(user, Permission.COMPLIANCE_VIEW):
        return stmt.where(AccessRequest.received_by_organisation_id == user.organisation_id)
    return stmt.where(sa.false())


def visible_inquiries(user: Any) -> sa.Select[Inquiry]:
    """The DPO and the auditor see every inquiry; a partner, its own (never another partner's answer)."""
    stmt = sa.select(Inquiry)
    if reaches_all_organisations(user, Permission.COMPLIANCE_VIEW):
        return stmt
    if can(user, Permission.COMPLIANCE_VIEW):
        return stmt.where(Inquiry.organisation_id == user.organisation_id)
    return stmt.where(sa.false())
