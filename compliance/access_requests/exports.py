"""The requests from data subjects as CSV, and the DPO's answer letter to the person as PDF.

- /access-requests/export.csv: the requests the user may see (visible_requests: the DPO and the auditor
  every one, a partner those its organisation recorded), with the API's filters, as French Excel opens
  a CSV (UTF-8 with a byte-order mark, `;`, times in Europe/Paris, formula cells neutralised). A partner
  counts only its own inquiries in it, never another partner's answer.
- /access-requests/<id>/letter.pdf: the letter the DPO sends the person, in French, built from the
  request and what the partners answered (DPO and auditor only).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import sqlalchemy as sa
from flask import Blueprint, abort, request
from flask_babel import force_locale, format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from compliance.access_requests.forms import OUTCOME_LABELS, RIGHT_LABELS, STATUS_LABELS
from compliance.access_requests.models import AccessRequest, Inquiry, Outcome, Right
from compliance.access_requests.serialise import (
    parse_request_args,
    request_overdue,
    sees_every_organisation,
    sees_identity,
    visible_of,
)
from compliance.access_requests.services import forwarding_is_late, visible_requests
from vigie.auth.access import requires
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.deadlines.feeds import csv_cell
from vigie.extensions import db
from vigie.orgs.models import Organisation, OrganisationKind
from vigie.pdf import pdf_response, render_pdf
from vigie.timeutil import to_paris

bp = Blueprint("request_exports", __name__, url_prefix="/access-requests")

# The letter goes to a person in France from a French public body: always in French.
LETTER_LOCALE = "fr"
CNIL_ADDRESS = "3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07"
CNIL_WEBSITE = "www.cnil.fr"

# The object line of the letter, right by right.
LETTER_OBJECTS = {
    Right.ACCESS: _l("Your request to exercise the right of access (GDPR, art. 15)"),
    Right.RECTIFICATION: _l("Your request to exercise the right to rectification (GDPR, art. 16)"),
    Right.ERASURE: _l("Your request to exercise the right to erasure (GDPR, art. 17)"),
    Right.RESTRICTION: _l("Your request to exercise the right to restriction of processing (GDPR, art. 18)"),
    Right.PORTABILITY: _l("Your request to exercise the right to data portability (GDPR, art. 20)"),
    Right.OBJECTION: _l("Your request to exercise the right to object (GDPR, art. 21)"),
}


def _paris(value: datetime | None) -> str:
    return "" if value is None else to_paris(value).strftime("%Y-%m-%d %H:%M")


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


# --- CSV ---


def csv_header() -> list[str]:
    return [
        _("Id"),
        _("Reference"),
        _("Right"),
        _("Status"),
        _("Received by"),
        _("Received (Europe/Paris)"),
        _("Channel"),
        _("Forwarded (Europe/Paris)"),
        _("Forwarding delay (hours)"),
        _("Forwarded late"),
        _("Person"),
        _("E-mail"),
        _("Answer due (last day)"),
        _("Extended"),
        _("Overdue"),
        _("Inquiries"),
        _("Inquiries answered"),
        _("Answered (Europe/Paris)"),
        _("Outcome"),
        _("Legal ground"),
    ]


def csv_row(access: AccessRequest, now: datetime) -> list[str]:
    identity = sees_identity(current_user, access)
    inquiries = visible_of(current_user, access.inquiries)
    delay = access.forwarding_delay
    cells: list[object] = [
        access.id,
        access.reference,
        RIGHT_LABELS[access.right],
        STATUS_LABELS[access.status],
        access.received_by.name,
        _paris(access.received_at),
        access.channel,
        _paris(access.forwarded_at),
        "" if delay is None else format_decimal(round(delay / 3600, 1)),
        _yes_no(forwarding_is_late(access)) if access.forwarded_at else "",
        access.subject_name if identity else "",
        (access.subject_email or "") if identity else "",
        access.response_due_date.isoformat(),
        _yes_no(access.extended_at is not None),
        _yes_no(request_overdue(access, now)),
        len(inquiries),
        sum(1 for i in inquiries if i.answered_at is not None),
        _paris(access.answered_at),
        OUTCOME_LABELS[access.outcome] if access.outcome else "",
        access.legal_ground,
    ]
    return [csv_cell(c) for c in cells]


@bp.route("/export.csv", endpoint="requests_csv")
@requires(Permission.COMPLIANCE_VIEW)
def requests_csv() -> Response:
    """Newest received first, with the API's filters (status, overdue, organisation_id). Built in memory:
    a network receives a few requests a month, not thousands."""
    filters, _page = parse_request_args(request.args, paged=False)
    now = utcnow()
    stmt = (
        filters.apply(visible_requests(current_user), now, sees_every_organisation(current_user))
        .options(selectinload(AccessRequest.inquiries))
        .order_by(AccessRequest.received_at.desc(), AccessRequest.id.desc())
    )
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(csv_header())
    for access in db.session.scalars(stmt):
        writer.writerow(csv_row(access, now))
    response = Response(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    filename = f"vigie-access-requests-{to_paris(now):%Y%m%d}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- The answer letter ---


def letterhead_of(access: AccessRequest) -> Organisation | None:
    """The controller whose DPO answers: the Département that received the request, or else the
    network's (first active) controller."""
    if access.received_by.kind == OrganisationKind.CONTROLLER:
        return access.received_by
    return db.session.scalar(
        sa.select(Organisation)
        .where(Organisation.kind == OrganisationKind.CONTROLLER, Organisation.active.is_(True))
        .order_by(Organisation.id)
    )


def letter_date(access: AccessRequest, now: datetime) -> date:
    """The day the answer was sent once recorded; until then, today (Paris)."""
    return to_paris(access.answered_at or now).date()


@bp.route("/<int:request_id>/letter.pdf", endpoint="letter_pdf")
@requires(Permission.COMPLIANCE_VIEW)
def letter_pdf(request_id: int) -> Response:
    # The letter is the controller's: a partner is refused whichever id it names (nothing revealed).
    if not sees_every_organisation(current_user):
        abort(403)
    access = db.session.scalar(
        visible_requests(current_user)
        .where(AccessRequest.id == request_id)
        .options(selectinload(AccessRequest.inquiries).joinedload(Inquiry.organisation))
    )
    if access is None:
        abort(404)
    now = utcnow()
    with force_locale(LETTER_LOCALE):
        result = render_pdf(
            "access_requests_pdf/letter.html",
            access=access,
            controller=letterhead_of(access),
            inquiries=list(access.inquiries),
            letter_date=format_date(letter_date(access, now), "long"),
            received_date=format_date(to_paris(access.received_at).date(), "long"),
            letter_object=str(LETTER_OBJECTS[access.right]),
            received_elsewhere=access.received_by.kind != OrganisationKind.CONTROLLER,
            cnil_address=CNIL_ADDRESS,
            cnil_website=CNIL_WEBSITE,
            Outcome=Outcome,
        )
    return pdf_response(result, f"{access.reference}-letter.pdf")
