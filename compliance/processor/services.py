"""The processor file's rules. Views and the API call these; they flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from compliance.processor.models import PartnerDpo, StaffGrant, SubProcessor
from vigie.audit.recorder import current_actor
from vigie.auth.access import can
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.deadlines.calendar import end_of_day
from vigie.deadlines.services import meet_deadline, open_deadline, open_deadline_for
from vigie.errors import Conflict, Forbidden, ValidationFailed
from vigie.extensions import db
from vigie.orgs.models import Organisation, OrganisationKind
from vigie.timeutil import to_paris

SCOPES = ("registrations", "user_support", "statistics", "administration")
DPO_KIND = "processor.dpo_contact"


def today() -> date:
    return to_paris(utcnow()).date()


def _require_edit(actor: Any, organisation: Organisation) -> None:
    if not can(actor, Permission.COMPLIANCE_EDIT, organisation.id):
        raise Forbidden(_("You may not change this partner's file."))
    if organisation.kind != OrganisationKind.PARTNER:
        raise ValidationFailed(
            _("A processor file belongs to a partner."), {"organisation_id": _("Not a partner.")}
        )


def _email(value: str | None, field: str, required: bool) -> str | None:
    if not (value or "").strip():
        if required:
            raise ValidationFailed(_("Give an e-mail address."), {field: _("Required.")})
        return None
    try:
        return validate_email(str(value).strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationFailed(
            _("This e-mail address is not valid: %(address)s", address=str(value).strip()),
            {field: _("Invalid address.")},
        ) from exc


# --- the partner's DPO ----------------------------------------------------------------------------


def current_dpo(organisation_id: int) -> PartnerDpo | None:
    return db.session.scalar(
        sa.select(PartnerDpo)
        .where(PartnerDpo.organisation_id == organisation_id, PartnerDpo.until.is_(None))
        .order_by(PartnerDpo.id.desc())
    )


def set_dpo(
    actor: Any,
    organisation: Organisation,
    name: str,
    email: str,
    phone: str | None = None,
    address: str | None = None,
    cnil_designation: str | None = None,
    since: date | None = None,
) -> PartnerDpo:
    """Record (or replace) the partner's DPO; the previous one is kept with its end date. Meets the
    "DPO contact due at signature" deadline when one is open."""
    _require_edit(actor, organisation)
    if not name.strip():
        raise ValidationFailed(_("Give the DPO's name."), {"name": _("Required.")})
    address_email = _email(email, "email", required=True)
    start = since or today()
    previous = current_dpo(organisation.id)
    if previous is not None:
        previous.until = max(start, previous.since)
    dpo = PartnerDpo(
        organisation_id=organisation.id,
        name=name.strip(),
        email=address_email or "",
        phone=(phone or "").strip() or None,
        address=(address or "").strip() or None,
        cnil_designation=(cnil_designation or "").strip() or None,
        since=start,
    )
    db.session.add(dpo)
    deadline = open_deadline_for("organisation", organisation.id, DPO_KIND)
    if deadline is not None:
        meet_deadline(deadline)
    db.session.flush()
    return dpo


def require_dpo_at_signature(organisation: Organisation, signed_on: date) -> bool:
    """Called when a convention with this partner becomes signed: without the partner's DPO contact, an
    (already overdue) deadline is opened. Returns True when one was opened."""
    if current_dpo(organisation.id) is not None or open_deadline_for(
        "organisation", organisation.id, DPO_KIND
    ):
        return False
    open_deadline(
        DPO_KIND,
        organisation,
        _("DPO contact of %(org)s, due at signature", org=organisation.name),
        end_of_day(signed_on),
        due_date=signed_on,
        subject=("organisation", organisation.id),
    )
    return True


# --- authorised staff -----------------------------------------------------------------------------


@dataclass
class GrantData:
    name: str
    granted_on: date
    email: str | None = None
    function: str | None = None
    scope: list[str] | None = None


def grant_staff(actor: Any, organisation: Organisation, data: GrantData) -> StaffGrant:
    _require_edit(actor, organisation)
    errors: dict[str, str] = {}
    if not data.name.strip():
        errors["name"] = _("Give the person's name.")
    scopes = data.scope or ["registrations"]
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        errors["scope"] = _("Unknown scope: %(scopes)s.", scopes=", ".join(unknown))
    if data.granted_on > today():
        errors["granted_on"] = _("An authorisation is recorded once granted, not in advance.")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors)
    grant = StaffGrant(
        organisation_id=organisation.id,
        name=data.name.strip(),
        email=_email(data.email, "email", required=False),
        function=(data.function or "").strip()[:200] or None,
        scope=",".join(scopes),
        granted_on=data.granted_on,
        granted_by=current_actor()[1][:254],
        recorded_at=utcnow(),
    )
    db.session.add(grant)
    db.session.flush()
    # The first grant opens the partner's periodic staff review (compliance.staff_lists.review).
    from compliance.staff_lists.review import open_first_review

    open_first_review(organisation, grant.recorded_at)
    return grant


def revoke_staff(actor: Any, grant: StaffGrant, revoked_on: date, reason: str) -> StaffGrant:
    _require_edit(actor, grant.organisation)
    if grant.revoked_on is not None:
        raise Conflict(_("This authorisation is revoked already."))
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["reason"] = _("Say why the authorisation ends.")
    if revoked_on < grant.granted_on:
        errors["revoked_on"] = _("An authorisation cannot end before it was granted.")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors)
    grant.revoked_on = revoked_on
    grant.revoked_by = current_actor()[1][:254]
    grant.revocation_reason = reason.strip()
    db.session.flush()
    return grant


def staff_on(organisation_id: int, day: date) -> list[StaffGrant]:
    """The people authorised on that day (granted on or before it, not revoked by then)."""
    rows = db.session.scalars(
        sa.select(StaffGrant)
        .where(
            StaffGrant.organisation_id == organisation_id,
            StaffGrant.granted_on <= day,
            sa.or_(StaffGrant.revoked_on.is_(None), StaffGrant.revoked_on > day),
        )
        .order_by(StaffGrant.granted_on, StaffGrant.id)
    )
    return list(rows)


# --- sub-processors -------------------------------------------------------------------------------


@dataclass
class SubProcessorData:
    company: str
    service: str
    data_concerned: str | None = None
    clauses_in_place: bool = False
    clauses_signed_on: date | None = None
    data_outside_eu: bool = False
    location: str | None = None


def add_sub_processor(actor: Any, organisation: Organisation, data: SubProcessorData) -> SubProcessor:
    _require_edit(actor, organisation)
    _check_sub_processor(data)
    sub = SubProcessor(organisation_id=organisation.id)
    _write_sub_processor(sub, data)
    db.session.add(sub)
    db.session.flush()
    return sub


def sub_processors_of(organisation_id: int) -> list[SubProcessor]:
    return list(
        db.session.scalars(
            sa.select(SubProcessor)
            .where(SubProcessor.organisation_id == organisation_id, SubProcessor.ended_on.is_(None))
            .order_by(SubProcessor.company)
        )
    )


def _check_sub_processor(data: SubProcessorData) -> None:
    """The rules of a sub-processor's entry, when added and when corrected."""
    errors: dict[str, str] = {}
    if not data.company.strip():
        errors["company"] = _("Give the company's name.")
    if not data.service.strip():
        errors["service"] = _("Say what service it provides.")
    if data.clauses_in_place and data.clauses_signed_on is None:
        errors["clauses_signed_on"] = _("Give the date the clauses were signed.")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors)


def _write_sub_processor(sub: SubProcessor, data: SubProcessorData) -> None:
    sub.company = data.company.strip()[:200]
    sub.service = data.service.strip()[:300]
    sub.data_concerned = (data.data_concerned or "").strip() or None
    sub.clauses_in_place = data.clauses_in_place
    sub.clauses_signed_on = data.clauses_signed_on
    sub.data_outside_eu = data.data_outside_eu
    sub.location = (data.location or "").strip()[:200] or None


def update_sub_processor(actor: Any, sub: SubProcessor, data: SubProcessorData) -> SubProcessor:
    """Correct or complete a current sub-processor (the audit trail keeps the former values)."""
    _require_edit(actor, sub.organisation)
    if sub.ended_on is not None:
        raise Conflict(_("This sub-processor has ended: it can no longer be changed."))
    _check_sub_processor(data)
    _write_sub_processor(sub, data)
    db.session.flush()
    return sub


def end_sub_processor(actor: Any, sub: SubProcessor, ended_on: date) -> SubProcessor:
    """The partner no longer relies on this company: kept in the file with its end date."""
    _require_edit(actor, sub.organisation)
    if sub.ended_on is not None:
        raise Conflict(_("This sub-processor has ended already."))
    if ended_on > today():
        raise ValidationFailed(
            _("An end is recorded once it has happened, not in advance."),
            {"ended_on": _("The date is in the future.")},
        )
    sub.ended_on = ended_on
    db.session.flush()
    return sub


def ended_sub_processors_of(organisation_id: int) -> list[SubProcessor]:
    return list(
        db.session.scalars(
            sa.select(SubProcessor)
            .where(SubProcessor.organisation_id == organisation_id, SubProcessor.ended_on.is_not(None))
            .order_by(SubProcessor.ended_on.desc(), SubProcessor.company)
        )
    )
