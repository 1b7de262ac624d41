"""The access-request endpoints of the JSON API (on the api blueprint).

Scoping: every read starts from visible_requests(user) or visible_inquiries(user) — everything for the
DPO and the auditor; for a partner, the requests its organisation recorded and its own inquiries. A
filter only narrows that set, and a record outside it is a 404, exactly like one that does not exist.
Each endpoint parses its body, calls one service (which checks the rule and raises a DomainError,
mapped to the JSON error format by the app) and commits once.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from compliance.access_requests import services
from compliance.access_requests.models import AccessRequest, Inquiry
from compliance.access_requests.serialise import (
    INQUIRY_FILTERS,
    REQUEST_FILTERS,
    ExtensionIn,
    InquiryAnswerIn,
    InquiryIn,
    InquiryOut,
    InquiryPageOut,
    RequestAnswerIn,
    RequestIn,
    RequestOut,
    RequestPageOut,
    default_search_details,
    inquiry_json,
    parse_inquiry_args,
    parse_request_args,
    request_json,
    sees_every_organisation,
)
from compliance.access_requests.services import RequestData
from vigie.api.errors import parse_body
from vigie.api.openapi import documented
from vigie.api.params import PAGE_PARAMS
from vigie.api.views import bp
from vigie.auth.access import can, reaches_all_organisations, requires
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.errors import Forbidden, ValidationFailed
from vigie.extensions import db
from vigie.orgs.models import Organisation


def _count(stmt: sa.Select[Any], column: Any) -> int:
    return db.session.scalar(stmt.with_only_columns(sa.func.count(column)).order_by(None)) or 0


def visible_request_or_404(request_id: int) -> AccessRequest:
    found = db.session.scalar(
        services.visible_requests(current_user)
        .where(AccessRequest.id == request_id)
        .options(selectinload(AccessRequest.inquiries))
    )
    if found is None:
        abort(404)
    return found


def visible_inquiry_or_404(inquiry_id: int) -> Inquiry:
    found = db.session.scalar(services.visible_inquiries(current_user).where(Inquiry.id == inquiry_id))
    if found is None:
        abort(404)
    return found


# --- Requests ---


@bp.route("/access-requests", methods=["POST"])
@requires(Permission.COMPLIANCE_EDIT)
@documented(
    "Record a request from a data subject (the DPO: for the Département or a partner; a partner: for "
    "its own organisation, which forwards it to the Département at once and e-mails the DPO)",
    body=RequestIn,
    response=RequestOut,
    status=201,
)
def create_access_request() -> tuple[Response, int]:
    data = parse_body(RequestIn)
    org_id = data.received_by_organisation_id
    if not can(current_user, Permission.COMPLIANCE_EDIT, org_id):
        # Before looking the organisation up: a partner learns nothing about other ids.
        raise Forbidden(_("You may not record a request for this organisation."))
    organisation = db.session.get(Organisation, org_id)
    if organisation is None:
        raise ValidationFailed(
            _("Some fields are missing or invalid."),
            {"received_by_organisation_id": _("No organisation has this id.")},
        )
    recorded = services.record_request(
        current_user,
        RequestData(
            right=data.right.value,
            subject_name=data.subject_name,
            received_at=data.received_at,
            received_by=organisation,
            subject_email=data.subject_email,
            subject_phone=data.subject_phone,
            subject_address=data.subject_address,
            request_text=data.request_text,
            channel=data.channel,
        ),
    )
    db.session.commit()
    return jsonify(request_json(recorded, current_user, utcnow())), 201


@bp.route("/access-requests")
@requires(Permission.COMPLIANCE_VIEW)
@documented(
    "Requests the user may see, newest received first: status open|answered, overdue true|false, "
    "organisation_id (received by that organisation or, for the DPO, asked about it); page and "
    "per_page (at most 200)",
    response=RequestPageOut,
    query=(*REQUEST_FILTERS, *PAGE_PARAMS),
)
def access_requests() -> Response:
    filters, page = parse_request_args(request.args)
    now = utcnow()
    stmt = filters.apply(services.visible_requests(current_user), now, sees_every_organisation(current_user))
    total = _count(stmt, AccessRequest.id)
    rows = db.session.scalars(
        stmt.options(selectinload(AccessRequest.inquiries))
        .order_by(AccessRequest.received_at.desc(), AccessRequest.id.desc())
        .limit(page.per_page)
        .offset(page.offset)
    )
    return jsonify(page.envelope([request_json(r, current_user, now) for r in rows], total))


@bp.route("/access-requests/<int:request_id>")
@requires(Permission.COMPLIANCE_VIEW)
@documented("One request (404 when the user may not see it)", response=RequestOut)
def access_request(request_id: int) -> Response:
    return jsonify(request_json(visible_request_or_404(request_id), current_user, utcnow()))


@bp.route("/access-requests/<int:request_id>/inquiries", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
@documented(
    "Ask a partner what it holds about the person (the DPO): due at the end of the third working day "
    "after requested_at; the partner's users and referents are e-mailed",
    body=InquiryIn,
    response=InquiryOut,
    status=201,
)
def open_inquiry(request_id: int) -> tuple[Response, int]:
    access = visible_request_or_404(request_id)
    data = parse_body(InquiryIn)
    organisation = db.session.get(Organisation, data.organisation_id)
    if organisation is None:
        raise ValidationFailed(
            _("Some fields are missing or invalid."), {"organisation_id": _("No organisation has this id.")}
        )
    inquiry = services.open_inquiry(
        current_user,
        access,
        organisation,
        data.search_details or default_search_details(access),
        data.requested_at,
    )
    db.session.commit()
    return jsonify(inquiry_json(inquiry, utcnow())), 201


@bp.route("/access-requests/<int:request_id>/extension", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
@documented(
    "Extend the answer by two further months, once, with the reasons (the DPO; GDPR 12(3))",
    body=ExtensionIn,
    response=RequestOut,
)
def extend_access_request(request_id: int) -> Response:
    access = visible_request_or_404(request_id)
    data = parse_body(ExtensionIn)
    services.extend_response(current_user, access, data.reason, data.notified_at)
    db.session.commit()
    return jsonify(request_json(access, current_user, utcnow()))


@bp.route("/access-requests/<int:request_id>/answer", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
@documented(
    "Record the answer sent to the person, which closes the request (the DPO; a partial answer or a "
    "refusal states its legal ground)",
    body=RequestAnswerIn,
    response=RequestOut,
)
def answer_access_request(request_id: int) -> Response:
    access = visible_request_or_404(request_id)
    data = parse_body(RequestAnswerIn)
    services.answer_request(
        current_user,
        access,
        data.outcome.value,
        data.sent_at,
        data.channel,
        answer_text=data.answer_text,
        legal_ground=data.legal_ground,
    )
    db.session.commit()
    return jsonify(request_json(access, current_user, utcnow()))


# --- Inquiries ---


@bp.route("/inquiries")
@requires(Permission.COMPLIANCE_VIEW)
@documented(
    "Inquiries the user may see (a partner: its own), soonest due first: answered true|false, overdue "
    "true|false, organisation_id, request_id; page and per_page (at most 200)",
    response=InquiryPageOut,
    query=(*INQUIRY_FILTERS, *PAGE_PARAMS),
)
def inquiries() -> Response:
    filters, page = parse_inquiry_args(request.args)
    now = utcnow()
    stmt = filters.apply(services.visible_inquiries(current_user), now)
    total = _count(stmt, Inquiry.id)
    rows = db.session.scalars(
        stmt.options(selectinload(Inquiry.request))
        .order_by(Inquiry.due_at, Inquiry.id)
        .limit(page.per_page)
        .offset(page.offset)
    )
    return jsonify(page.envelope([inquiry_json(i, now) for i in rows], total))


@bp.route("/inquiries/<int:inquiry_id>")
@requires(Permission.COMPLIANCE_VIEW)
@documented("One inquiry (404 when the user may not see it)", response=InquiryOut)
def inquiry(inquiry_id: int) -> Response:
    return jsonify(inquiry_json(visible_inquiry_or_404(inquiry_id), utcnow()))


@bp.route("/inquiries/<int:inquiry_id>/answer", methods=["POST"])
@requires(Permission.COMPLIANCE_EDIT)
@documented(
    "Answer an inquiry (a user of the partner asked): holds_data, and what it holds in details; "
    "on time or late against due_at",
    body=InquiryAnswerIn,
    response=InquiryOut,
)
def answer_inquiry(inquiry_id: int) -> Response:
    found = visible_inquiry_or_404(inquiry_id)
    # The service's own rule, checked before the body is read so that the DPO is told 403, not 422.
    if reaches_all_organisations(current_user, Permission.COMPLIANCE_CONTROL):
        raise Forbidden(_("Only the partner asked may answer this inquiry."))
    data = parse_body(InquiryAnswerIn)
    services.answer_inquiry(current_user, found, data.holds_data, data.details)
    db.session.commit()
    return jsonify(inquiry_json(found, utcnow()))
