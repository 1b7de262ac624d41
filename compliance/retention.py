"""Retention policies of the processor obligations (issue #7), registered from compliance.init_app.

Defaults, and why (each set by its environment variable, in vigie/config.py):

- **Access requests** (`VIGIE_RETENTION_ACCESS_REQUEST_MONTHS`, 12): the identity of the person who
  exercised a right is anonymised 12 months after the answer. No text fixes this period (GDPR 5(1)(e):
  no longer than necessary); a year is the usual choice in French practice, long enough to handle a
  follow-up, a new request from the same person or a complaint to the CNIL about the answer; after it,
  only the anonymous facts remain (reference, right, dates, outcome,
  legal ground, the reasons for an extension: they justify the three-month period, and the deadline's
  history keeps them anyway), which is what accountability (GDPR 5(2)) and the yearly figures need.
  Anonymised: the name becomes the marker; the contact details and the free texts that may name people
  (the request in the person's words, the answer sent) are removed; in each inquiry to a partner, what
  the partner was asked (`search_details`, the marker) and what it answered (`details`, the attached
  export, deleted from disk). Requests still open are never touched, however old.
- **Authorised staff** (`VIGIE_RETENTION_STAFF_GRANT_YEARS`, 5): the list must be handed over on request
  while the convention runs, with its history ("who was authorised, from when, until when"), and can be
  needed as evidence afterwards: the grants of a partner are deleted 5 years after the end of its last
  convention (the civil limitation period, Code civil art. 2224; the end is the termination date when
  it ended early, else its end date). A partner without any convention keeps its current grants, and
  its revoked ones are deleted 5 years after their revocation.
- **Certified staff lists** (the same setting as the staff): a snapshot freezes the grants of its day, so
  it goes with them, 5 years after the end of the partner's last convention; without a convention, 5
  years after its certification.
- **Partner DPO contacts** (`VIGIE_RETENTION_PARTNER_DPO_YEARS`, 5): the same rule as the staff (they
  are the same kind of record: a named contact the convention asks for): deleted 5 years after the end
  of the partner's last convention; without a convention, a replaced DPO 5 years after being replaced.

Not here: the breach register is kept (GDPR 33(5) asks the controller to document every breach, with
no end), and so are the conventions and the governance records (public acts).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import InstrumentedAttribute, lazyload, load_only

from compliance.access_requests.models import AccessRequest, Inquiry, RequestStatus
from compliance.processor.models import PartnerDpo, StaffGrant
from compliance.staff_lists.models import StaffListSnapshot
from governance.conventions.models import Convention
from vigie.extensions import db
from vigie.orgs.models import Organisation
from vigie.retention.policies import ANONYMISED
from vigie.retention.registry import Action, Applied, Cutoff, Policy, Unit, register_policy

# --- access requests ------------------------------------------------------------------------------


def _requests_due(cutoff: Cutoff) -> sa.Select[int, str]:
    return sa.select(AccessRequest.id.label("id"), AccessRequest.reference.label("label")).where(
        AccessRequest.anonymised_at.is_(None),
        AccessRequest.status == RequestStatus.ANSWERED,
        AccessRequest.answered_at < cutoff.before,
    )


def _anonymise_requests(ids: list[int], now: datetime) -> Applied:
    # Only the columns the audit trail and the checks need are read: the encrypted values are replaced,
    # never decrypted.
    requests = db.session.scalars(
        sa.select(AccessRequest)
        .options(
            load_only(
                AccessRequest.id, AccessRequest.received_by_organisation_id, AccessRequest.anonymised_at
            ),
            lazyload(AccessRequest.received_by),
        )
        .where(AccessRequest.id.in_(ids), AccessRequest.anonymised_at.is_(None))
    ).all()
    for request in requests:
        request.subject_name = ANONYMISED
        request.subject_email = None
        request.subject_phone = None
        request.subject_address = None
        request.request_text = None
        request.answer_text = None
        request.anonymised_at = now
    inquiries = db.session.scalars(
        sa.select(Inquiry)
        .options(
            load_only(Inquiry.id, Inquiry.request_id, Inquiry.organisation_id, Inquiry.attachment_key),
            lazyload(Inquiry.organisation),
        )
        .where(Inquiry.request_id.in_([r.id for r in requests]))
    ).all()
    files = []
    for inquiry in inquiries:
        if inquiry.attachment_key:
            files.append(inquiry.attachment_key)
        inquiry.search_details = ANONYMISED
        inquiry.details = None
        inquiry.attachment_key = None
        inquiry.attachment_name = None
        inquiry.attachment_type = None
        inquiry.attachment_size = None
    db.session.flush()
    return Applied(len(requests), files)


ACCESS_REQUESTS = Policy(
    name="access_requests",
    description=_l(
        "Access requests: the person's identity and the texts that may name people anonymised, with what "
        "the partners were asked and sent (their files deleted)"
    ),
    counted_from=_l("after the answer"),
    action=Action.ANONYMISE,
    unit=Unit.MONTHS,
    setting="RETENTION_ACCESS_REQUEST_MONTHS",
    env_var="VIGIE_RETENTION_ACCESS_REQUEST_MONTHS",
    find=_requests_due,
    change=_anonymise_requests,
)


# --- the processor file: staff and DPO contacts ---------------------------------------------------


def _last_convention_ends() -> sa.Subquery:
    """Per partner, the day its last convention ended or ends (a termination ends it early)."""
    return (
        sa.select(
            Convention.partner_id.label("organisation_id"),
            sa.func.max(sa.func.coalesce(Convention.ended_on, Convention.end_date)).label("last_end"),
        )
        .where(Convention.partner_id.is_not(None), Convention.is_template.is_(False))
        .group_by(Convention.partner_id)
        .subquery("last_convention")
    )


ProcessorModel = type[StaffGrant] | type[PartnerDpo] | type[StaffListSnapshot]


def _processor_rows_due(
    model: ProcessorModel, without_convention: sa.ColumnElement[bool], cutoff: Cutoff
) -> sa.Select[int, str]:
    """Rows of partners whose last convention ended by the cutoff day; for a partner without any
    convention, the rows `without_convention` selects."""
    ends = _last_convention_ends()
    return (
        sa.select(model.id.label("id"), Organisation.name.label("label"))
        .join(Organisation, Organisation.id == model.organisation_id)
        .outerjoin(ends, ends.c.organisation_id == model.organisation_id)
        .where(
            sa.or_(
                ends.c.last_end <= cutoff.day,
                sa.and_(ends.c.last_end.is_(None), without_convention),
            )
        )
    )


def _ended_by(ended: InstrumentedAttribute[date | None], cutoff: Cutoff) -> sa.ColumnElement[bool]:
    return sa.and_(ended.is_not(None), ended <= cutoff.day)


def _grants_due(cutoff: Cutoff) -> sa.Select[int, str]:
    return _processor_rows_due(StaffGrant, _ended_by(StaffGrant.revoked_on, cutoff), cutoff)


def _dpos_due(cutoff: Cutoff) -> sa.Select[int, str]:
    return _processor_rows_due(PartnerDpo, _ended_by(PartnerDpo.until, cutoff), cutoff)


def _snapshots_due(cutoff: Cutoff) -> sa.Select[int, str]:
    """Certified staff lists follow the grants they froze: gone with the partner's staff records."""
    return _processor_rows_due(StaffListSnapshot, StaffListSnapshot.certified_at < cutoff.before, cutoff)


def _deleter(model: ProcessorModel) -> Callable[[list[int], datetime], Applied]:
    def delete(ids: list[int], now: datetime) -> Applied:
        # Through the session, so that the audit trail records each deletion.
        rows = db.session.scalars(
            sa.select(model).options(load_only(model.id, model.organisation_id)).where(model.id.in_(ids))
        ).all()
        for row in rows:
            db.session.delete(row)
        db.session.flush()
        return Applied(len(rows))

    return delete


STAFF_GRANTS = Policy(
    name="staff_grants",
    description=_l(
        "Authorised staff: a partner's authorisations deleted after the end of its last convention "
        "(a partner without a convention: its revoked authorisations, after their revocation)"
    ),
    counted_from=_l("after the end of the partner's last convention"),
    action=Action.DELETE,
    unit=Unit.YEARS,
    setting="RETENTION_STAFF_GRANT_YEARS",
    env_var="VIGIE_RETENTION_STAFF_GRANT_YEARS",
    find=_grants_due,
    change=_deleter(StaffGrant),
)

STAFF_LISTS = Policy(
    name="staff_lists",
    description=_l(
        "Certified staff lists deleted with the staff records, after the end of the partner's last "
        "convention (a partner without a convention: after their certification)"
    ),
    counted_from=_l("after the end of the partner's last convention"),
    action=Action.DELETE,
    unit=Unit.YEARS,
    setting="RETENTION_STAFF_GRANT_YEARS",
    env_var="VIGIE_RETENTION_STAFF_GRANT_YEARS",
    find=_snapshots_due,
    change=_deleter(StaffListSnapshot),
)

PARTNER_DPOS = Policy(
    name="partner_dpos",
    description=_l(
        "Partner DPO contacts deleted after the end of the partner's last convention (a partner without "
        "a convention: its replaced DPOs, after their replacement)"
    ),
    counted_from=_l("after the end of the partner's last convention"),
    action=Action.DELETE,
    unit=Unit.YEARS,
    setting="RETENTION_PARTNER_DPO_YEARS",
    env_var="VIGIE_RETENTION_PARTNER_DPO_YEARS",
    find=_dpos_due,
    change=_deleter(PartnerDpo),
)


def register() -> None:
    for policy in (ACCESS_REQUESTS, STAFF_GRANTS, STAFF_LISTS, PARTNER_DPOS):
        register_policy(policy)
