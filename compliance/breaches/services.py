"""The life of a breach. Views, the API and the CLI call these; they check the rules, change the
records, open or stop the clocks, queue the e-mails, flush — and never commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import flag_modified

from compliance.breaches.models import (
    ActionStatus,
    Breach,
    BreachAction,
    BreachNotification,
    BreachStatus,
    NotificationKind,
    RiskLevel,
)
from vigie.auth.access import can
from vigie.auth.models import User, UserRole
from vigie.auth.roles import Permission, Role
from vigie.database import utcnow
from vigie.deadlines.calendar import end_of_day
from vigie.deadlines.services import (
    cancel_deadline,
    meet_deadline,
    open_deadline,
    open_deadline_for,
    reschedule_deadline,
)
from vigie.errors import Conflict, Forbidden, ValidationFailed
from vigie.extensions import db
from vigie.mail.services import queue_mail
from vigie.orgs.models import Organisation
from vigie.timeutil import to_paris

SUBJECT = "breach"
CNIL_KIND = "breach.cnil_notification"
COMMUNICATION_KIND = "breach.subject_communication"
TEXT_FIELDS = (
    "summary",
    "circumstances",
    "cause",
    "data_categories",
    "subject_categories",
    "consequences",
    "measures_taken",
    "measures_proposed",
    "contact_name",
    "contact_email",
    "contact_phone",
)
NATURES = ("confidentiality", "integrity", "availability")


@dataclass
class BreachData:
    """What a partner writes about a breach (every field optional until submission)."""

    summary: str = ""
    circumstances: str | None = None
    cause: str | None = None
    natures: list[str] = field(default_factory=list)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    discovered_at: datetime | None = None
    data_categories: str | None = None
    subject_categories: str | None = None
    subjects_count: int | None = None
    records_count: int | None = None
    consequences: str | None = None
    measures_taken: str | None = None
    measures_proposed: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None


def late_report_threshold() -> timedelta:
    return timedelta(hours=float(current_app.config.get("BREACH_REPORT_LATE_HOURS", 24)))


def report_is_late(breach: Breach) -> bool:
    delay = breach.report_delay
    return delay is not None and delay > late_report_threshold()


def _require(actor: Any, permission: Permission, breach_or_org: Breach | Organisation) -> None:
    org_id = breach_or_org.organisation_id if isinstance(breach_or_org, Breach) else breach_or_org.id
    if not can(actor, permission, org_id):
        raise Forbidden(_("You may not do this for this organisation."))


def _check_times(data: BreachData, now: datetime) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name in ("started_at", "ended_at", "discovered_at"):
        value = getattr(data, name)
        if value is not None and value.tzinfo is None:
            errors[name] = _("Give the time with its offset.")
        elif value is not None and value > now + timedelta(minutes=5):
            errors[name] = _("This time is in the future.")
    if not errors and data.started_at and data.ended_at and data.ended_at < data.started_at:
        errors["ended_at"] = _("The end comes before the start.")
    if not errors and data.started_at and data.discovered_at and data.discovered_at < data.started_at:
        errors["discovered_at"] = _("The discovery comes before the start.")
    for name in ("subjects_count", "records_count"):
        value = getattr(data, name)
        if value is not None and value < 0:
            errors[name] = _("A number of people or records cannot be negative.")
    unknown = [n for n in data.natures if n not in NATURES]
    if unknown:
        errors["natures"] = _("Unknown nature: %(natures)s.", natures=", ".join(unknown))
    return errors


def _apply(breach: Breach, data: BreachData) -> None:
    for name in TEXT_FIELDS:
        value = getattr(data, name)
        setattr(breach, name, value.strip() if isinstance(value, str) and value.strip() else None)
    breach.summary = (data.summary or "").strip()
    for name in ("started_at", "ended_at", "discovered_at", "subjects_count", "records_count"):
        setattr(breach, name, getattr(data, name))
    breach.nature_confidentiality = "confidentiality" in data.natures
    breach.nature_integrity = "integrity" in data.natures
    breach.nature_availability = "availability" in data.natures


def create_breach(actor: Any, organisation: Organisation, data: BreachData, submit: bool) -> Breach:
    """Declare a breach in a partner's name (its own users, or the DPO on its behalf)."""
    _require(actor, Permission.COMPLIANCE_EDIT, organisation)
    if organisation.kind.value != "partner":
        raise ValidationFailed(
            _("A breach is declared by a partner organisation."), {"organisation_id": _("Not a partner.")}
        )
    now = utcnow()
    errors = _check_times(data, now)
    if errors:
        raise ValidationFailed(_("Some information is invalid."), errors)
    breach = Breach(organisation=organisation, declared_by_id=actor.id, status=BreachStatus.DRAFT, summary="")
    _apply(breach, data)
    db.session.add(breach)
    db.session.flush()
    if submit:
        submit_breach(actor, breach)
    return breach


def update_draft(actor: Any, breach: Breach, data: BreachData) -> Breach:
    _require(actor, Permission.COMPLIANCE_EDIT, breach)
    if breach.status != BreachStatus.DRAFT:
        raise Conflict(_("This breach has been reported already: it can no longer be edited as a draft."))
    errors = _check_times(data, utcnow())
    if errors:
        raise ValidationFailed(_("Some information is invalid."), errors)
    _apply(breach, data)
    db.session.flush()
    return breach


def _next_reference(now: datetime) -> str:
    year = to_paris(now).year
    prefix = f"VIO-{year}-"
    # The longest, then the greatest: past 999 a year, VIO-2025-1000 sorts before VIO-2025-999 as text.
    last = db.session.scalar(
        sa.select(Breach.reference)
        .where(Breach.reference.startswith(prefix, autoescape=True))
        .order_by(sa.func.length(Breach.reference).desc(), Breach.reference.desc())
        .limit(1)
    )
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:03d}"


def submit_breach(actor: Any, breach: Breach) -> Breach:
    """Report the breach to the Département: it records the time and e-mails the DPO at once."""
    _require(actor, Permission.COMPLIANCE_EDIT, breach)
    if breach.status != BreachStatus.DRAFT:
        raise Conflict(_("This breach has been reported already."))
    missing: dict[str, str] = {}
    if not (breach.summary or "").strip():
        missing["summary"] = _("Say what happened.")
    if breach.discovered_at is None:
        missing["discovered_at"] = _("Say when the breach was discovered.")
    if not breach.natures:
        missing["natures"] = _("Choose at least one nature (confidentiality, integrity, availability).")
    if missing:
        raise ValidationFailed(_("The declaration is incomplete: it was kept as a draft."), missing)
    now = utcnow()
    breach.reported_to_controller_at = now
    breach.status = BreachStatus.SUBMITTED
    # The register number is unique: two submissions racing for it make one of them fail and retry.
    breach.reference = _next_reference(now)
    db.session.flush()
    _mail_dpos_about_submission(breach)
    return breach


def _dpo_users() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.DPO, User.active.is_(True))
            .order_by(User.id)
        )
    )


def _partner_users(breach: Breach) -> list[User]:
    users = db.session.scalars(
        sa.select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            UserRole.role == Role.PARTNER,
            User.active.is_(True),
            User.organisation_id == breach.organisation_id,
        )
        .order_by(User.id)
    ).all()
    return list(users)


def breach_url(breach: Breach, suffix: str = "") -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/breaches/{breach.id}{suffix}"


def _paris_text(value: datetime | None) -> str:
    return to_paris(value).strftime("%d/%m/%Y %H:%M") if value else "—"


def _mail_dpos_about_submission(breach: Breach) -> None:
    from flask_babel import force_locale

    for user in _dpo_users():
        with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            subject = _(
                "[Vigie] Personal-data breach reported by %(org)s (%(ref)s)",
                org=breach.organisation.name,
                ref=breach.reference,
            )
            body = "\n".join(
                [
                    _("A personal-data breach has been reported to the Département."),
                    "",
                    _("Reference: %(ref)s", ref=breach.reference),
                    _("Partner: %(org)s", org=breach.organisation.name),
                    _("Discovered: %(at)s (Paris time)", at=_paris_text(breach.discovered_at)),
                    _("Reported: %(at)s (Paris time)", at=_paris_text(breach.reported_to_controller_at)),
                    "",
                    _("Acknowledge receipt (this starts the 72-hour clock for the CNIL):"),
                    breach_url(breach, "/acknowledge"),
                    "",
                    _("The details are in Vigie only: this e-mail carries no personal data."),
                ]
            )
        queue_mail(user.email, subject, body, dedupe_key=f"breach:{breach.id}:submitted:{user.id}")


def acknowledge_breach(
    actor: Any, breach: Breach, aware_at: datetime | None = None, reason: str | None = None
) -> bool:
    """Record the acknowledgement of receipt; True if this call recorded it, False if it was already.

    Two clicks or two tabs record one acknowledgement: the update only applies while none exists.
    The awareness time (start of the 72 h clock) is now, unless the DPO gives an earlier one with a reason.
    """
    _require(actor, Permission.COMPLIANCE_CONTROL, breach)
    if breach.status == BreachStatus.DRAFT:
        raise Conflict(_("A draft has not been reported yet."))
    now = utcnow()
    aware = _check_awareness(breach, aware_at, reason, now)
    result = db.session.execute(
        sa.update(Breach)
        .where(Breach.id == breach.id, Breach.acknowledged_at.is_(None))
        .values(
            acknowledged_at=now,
            acknowledged_by_id=actor.id,
            aware_at=aware,
            status=BreachStatus.ACKNOWLEDGED,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(breach)
    if result.rowcount == 0:  # type: ignore[attr-defined]
        return False
    if aware_at is not None:
        breach.aware_reason = (reason or "").strip()
    db.session.add(breach)
    _audit_acknowledgement(breach)
    open_deadline(
        CNIL_KIND,
        breach.organisation,
        _("%(ref)s: notify the CNIL", ref=breach.reference),
        breach.cnil_deadline_at or now,
        subject=(SUBJECT, breach.id),
        opened_at=aware,
    )
    _mail_receipt(breach)
    db.session.flush()
    return True


def _audit_acknowledgement(breach: Breach) -> None:
    # The conditional UPDATE above bypasses the ORM's change tracking: flag the fields so the audit
    # trail records the acknowledgement like any other change.
    flag_modified(breach, "acknowledged_at")
    flag_modified(breach, "aware_at")


def _check_awareness(
    breach: Breach, aware_at: datetime | None, reason: str | None, now: datetime
) -> datetime:
    if aware_at is None:
        return now
    errors: dict[str, str] = {}
    if aware_at.tzinfo is None:
        errors["aware_at"] = _("Give the time with its offset.")
    elif aware_at > now:
        errors["aware_at"] = _("The Département cannot have become aware in the future.")
    elif breach.discovered_at and aware_at < breach.discovered_at:
        errors["aware_at"] = _("The Département cannot have become aware before the partner discovered it.")
    if not (reason or "").strip():
        errors["reason"] = _("Say how the Département learnt of it earlier (a phone call, an e-mail…).")
    if errors:
        raise ValidationFailed(_("The awareness time is invalid."), errors)
    return aware_at


def record_awareness(actor: Any, breach: Breach, aware_at: datetime, reason: str) -> Breach:
    """Correct the awareness time after the acknowledgement: the CNIL clock moves with it."""
    _require(actor, Permission.COMPLIANCE_CONTROL, breach)
    if breach.acknowledged_at is None:
        raise Conflict(_("Acknowledge receipt first."))
    breach.aware_at = _check_awareness(breach, aware_at, reason, utcnow())
    breach.aware_reason = reason.strip()
    deadline = open_deadline_for(SUBJECT, breach.id, CNIL_KIND)
    if deadline is not None and breach.cnil_deadline_at:
        reschedule_deadline(deadline, breach.cnil_deadline_at, reason.strip())
    db.session.flush()
    return breach


def _mail_receipt(breach: Breach) -> None:
    from flask_babel import force_locale

    recipients = {u.id: u for u in _partner_users(breach)}
    if breach.declared_by is not None and breach.declared_by.active:
        recipients[breach.declared_by.id] = breach.declared_by
    for user in recipients.values():
        with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            subject = _("[Vigie] Acknowledgement of receipt: breach %(ref)s", ref=breach.reference)
            body = "\n".join(
                [
                    _("The Département has received your breach report %(ref)s.", ref=breach.reference),
                    _("Received: %(at)s (Paris time)", at=_paris_text(breach.acknowledged_at)),
                    "",
                    _("Follow it in Vigie: %(url)s", url=breach_url(breach)),
                ]
            )
        queue_mail(user.email, subject, body, dedupe_key=f"breach:{breach.id}:receipt:{user.id}")


def assess_risk(
    actor: Any,
    breach: Breach,
    level: str,
    reasoning: str,
    communication_due: date | None = None,
) -> Breach:
    """Risk for the people: none (documented only), risk (CNIL within 72 h), high (CNIL and the people)."""
    _require(actor, Permission.COMPLIANCE_CONTROL, breach)
    if breach.acknowledged_at is None:
        raise Conflict(_("Acknowledge receipt before assessing the risk."))
    if breach.status == BreachStatus.CLOSED:
        raise Conflict(_("This breach is closed."))
    try:
        risk = RiskLevel(level)
    except ValueError as exc:
        raise ValidationFailed(
            _("Choose the risk: none, risk or high."), {"risk_level": _("Unknown level.")}
        ) from exc
    errors: dict[str, str] = {}
    if not reasoning.strip():
        errors["risk_reasoning"] = _("Give the reasoning: it is kept in the register.")
    if risk == RiskLevel.HIGH and communication_due is None:
        errors["communication_due"] = _("Set the date by which the people affected will be informed.")
    if errors:
        raise ValidationFailed(_("The assessment is incomplete."), errors)
    now = utcnow()
    breach.risk_level = risk
    breach.risk_reasoning = reasoning.strip()
    breach.assessed_at = now
    breach.assessed_by_id = actor.id
    breach.status = BreachStatus.ASSESSED

    cnil = open_deadline_for(SUBJECT, breach.id, CNIL_KIND)
    if risk == RiskLevel.NONE and cnil is not None:
        cancel_deadline(cnil, _("Assessed without risk for the people: documented, not notified."))
    elif risk != RiskLevel.NONE and cnil is None and not _initial_notification(breach):
        # Reassessed upwards after a "no risk": the clock counts from awareness all the same.
        open_deadline(
            CNIL_KIND,
            breach.organisation,
            _("%(ref)s: notify the CNIL", ref=breach.reference),
            breach.cnil_deadline_at or now,
            subject=(SUBJECT, breach.id),
            opened_at=breach.aware_at,
        )
    communication = open_deadline_for(SUBJECT, breach.id, COMMUNICATION_KIND)
    if risk == RiskLevel.HIGH and communication_due is not None:
        if communication is None and breach.subjects_informed_at is None:
            open_deadline(
                COMMUNICATION_KIND,
                breach.organisation,
                _("%(ref)s: inform the people affected", ref=breach.reference),
                end_of_day(communication_due),
                due_date=communication_due,
                subject=(SUBJECT, breach.id),
            )
        elif communication is not None and communication.due_date != communication_due:
            reschedule_deadline(
                communication,
                end_of_day(communication_due),
                _("Risk reassessed."),
                due_date=communication_due,
            )
    elif risk != RiskLevel.HIGH and communication is not None:
        cancel_deadline(communication, _("Risk no longer assessed as high."))
    db.session.flush()
    return breach


def _initial_notification(breach: Breach) -> BreachNotification | None:
    return next((n for n in breach.notifications if n.kind == NotificationKind.INITIAL), None)


def add_notification(
    actor: Any,
    breach: Breach,
    kind: str,
    notified_at: datetime,
    cnil_reference: str | None = None,
    summary: str | None = None,
    late_reasons: str | None = None,
) -> BreachNotification:
    """Record a notification made to the CNIL. The initial one stops the 72 h clock; made late, it must
    carry the reasons for the delay (GDPR 33(1))."""
    _require(actor, Permission.COMPLIANCE_CONTROL, breach)
    if breach.aware_at is None:
        raise Conflict(_("Acknowledge receipt before recording a notification."))
    try:
        parsed = NotificationKind(kind)
    except ValueError as exc:
        raise ValidationFailed(
            _("A notification is initial or complementary."), {"kind": _("Unknown kind.")}
        ) from exc
    errors: dict[str, str] = {}
    now = utcnow()
    if notified_at.tzinfo is None:
        errors["notified_at"] = _("Give the time with its offset.")
    elif notified_at > now + timedelta(minutes=5):
        errors["notified_at"] = _("This time is in the future.")
    elif notified_at < breach.aware_at:
        errors["notified_at"] = _("The CNIL cannot have been notified before the Département was aware.")
    initial = _initial_notification(breach)
    if parsed == NotificationKind.INITIAL and initial is not None:
        errors["kind"] = _("The initial notification is recorded already: add a complementary one.")
    if parsed == NotificationKind.COMPLEMENTARY and initial is None:
        errors["kind"] = _("Record the initial notification first.")
    deadline_at = breach.cnil_deadline_at
    late = (
        parsed == NotificationKind.INITIAL
        and "notified_at" not in errors
        and deadline_at is not None
        and notified_at > deadline_at
    )
    if late and not (late_reasons or "").strip():
        errors["late_reasons"] = _(
            "This notification comes more than 72 hours after the Département became aware: "
            "give the reasons for the delay (GDPR art. 33(1))."
        )
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors)
    notification = BreachNotification(
        breach=breach,
        kind=parsed,
        notified_at=notified_at,
        cnil_reference=(cnil_reference or "").strip() or None,
        summary=(summary or "").strip() or None,
        late_reasons=(late_reasons or "").strip() or None,
        recorded_by_id=actor.id,
    )
    db.session.add(notification)
    if parsed == NotificationKind.INITIAL:
        deadline = open_deadline_for(SUBJECT, breach.id, CNIL_KIND)
        if deadline is not None:
            meet_deadline(deadline, met_at=notified_at)
    db.session.flush()
    return notification


def record_communication(
    actor: Any, breach: Breach, informed_at: datetime, channel: str, reached: int
) -> Breach:
    """The people affected were informed (GDPR 34): when, how, how many."""
    _require(actor, Permission.COMPLIANCE_CONTROL, breach)
    errors: dict[str, str] = {}
    if informed_at.tzinfo is None:
        errors["informed_at"] = _("Give the time with its offset.")
    elif informed_at > utcnow() + timedelta(minutes=5):
        errors["informed_at"] = _("This time is in the future.")
    if not channel.strip():
        errors["channel"] = _("Say how they were informed (letter, e-mail, notice…).")
    if reached < 0:
        errors["reached"] = _("A number of people cannot be negative.")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors)
    breach.subjects_informed_at = informed_at
    breach.subjects_channel = channel.strip()[:200]
    breach.subjects_reached = reached
    deadline = open_deadline_for(SUBJECT, breach.id, COMMUNICATION_KIND)
    if deadline is not None:
        meet_deadline(deadline, met_at=informed_at)
    db.session.flush()
    return breach


def add_action(
    actor: Any, breach: Breach, description: str, owner: str, due_date: date | None
) -> BreachAction:
    """An action of the joint plan: the DPO and the partner both write it."""
    _require(actor, Permission.COMPLIANCE_EDIT, breach)
    errors: dict[str, str] = {}
    if not description.strip():
        errors["description"] = _("Describe the action.")
    if not owner.strip():
        errors["owner"] = _("Say who carries it out.")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors)
    action = BreachAction(
        breach=breach, description=description.strip(), owner=owner.strip()[:200], due_date=due_date
    )
    db.session.add(action)
    db.session.flush()
    return action


def set_action_status(actor: Any, action: BreachAction, status: str) -> BreachAction:
    _require(actor, Permission.COMPLIANCE_EDIT, action.breach)
    try:
        action.status = ActionStatus(status)
    except ValueError as exc:
        raise ValidationFailed(_("Unknown status."), {"status": _("Unknown status.")}) from exc
    db.session.flush()
    return action


def close_breach(actor: Any, breach: Breach, summary: str) -> Breach:
    _require(actor, Permission.COMPLIANCE_CONTROL, breach)
    if breach.status != BreachStatus.ASSESSED:
        raise Conflict(_("Assess the risk before closing the breach."))
    if not summary.strip():
        raise ValidationFailed(_("Write the closing summary."), {"closure_summary": _("Required.")})
    if open_deadline_for(SUBJECT, breach.id, CNIL_KIND) is not None:
        raise Conflict(_("The CNIL notification is still due: record it before closing."))
    breach.status = BreachStatus.CLOSED
    breach.closed_at = utcnow()
    breach.closure_summary = summary.strip()
    db.session.flush()
    return breach
