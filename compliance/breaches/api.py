"""The breach endpoints of the JSON API (on the api blueprint).

Who: the partner declares (its own organisation only) and submits its drafts; the DPO declares on a
partner's behalf, acknowledges, assesses and records the CNIL notifications; the partner, the DPO and the
auditor read (see compliance.breaches.register for what each sees). A breach the user may not see is a
404, exactly like one that does not exist. Each endpoint calls the services and commits once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import abort, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from compliance.breaches import services
from compliance.breaches.models import Breach
from compliance.breaches.register import (
    FILTER_PARAMS,
    parse_filters,
    reported_or_created,
    visible_breach,
    visible_breaches,
    with_details,
)
from compliance.breaches.serialise import (
    AcknowledgeIn,
    AssessmentIn,
    BreachIn,
    BreachOut,
    BreachPageOut,
    EmptyIn,
    NotificationIn,
    NotificationOut,
    breach_json,
    breaches_json,
    notification_out,
)
from vigie.api.errors import parse_body
from vigie.api.openapi import documented
from vigie.api.params import PAGE_PARAMS, parse_page
from vigie.api.views import bp
from vigie.auth.access import can, requires
from vigie.auth.roles import Permission
from vigie.errors import Conflict, Forbidden, ValidationFailed
from vigie.extensions import db
from vigie.orgs.models import Organisation

# The services name a few fields as the model does; the API names them as its bodies do.
API_FIELD_NAMES = {"natures": "nature", "risk_reasoning": "reasoning"}


@contextmanager
def api_field_names() -> Iterator[None]:
    try:
        yield
    except ValidationFailed as exc:
        fields = {API_FIELD_NAMES.get(name, name): message for name, message in exc.fields.items()}
        raise ValidationFailed(exc.message, fields) from exc


def _breach_or_404(breach_id: int) -> Breach:
    breach = visible_breach(current_user, breach_id)
    if breach is None:
        abort(404)
    return breach


@bp.route("/breaches")
@requires(Permission.COMPLIANCE_VIEW)
@documented(
    "Breaches the user may see, the latest first (a partner: its own, drafts included; the DPO and the "
    "auditor: every reported one). Filters: status, organisation_id, risk (none|risk|high|pending), year "
    "(of the report); "
    "page and per_page (at most 200)",
    response=BreachPageOut,
    query=(*FILTER_PARAMS, *PAGE_PARAMS),
)
def breaches() -> Response:
    filters = parse_filters(request.args, extra=PAGE_PARAMS)
    page = parse_page(request.args)  # its own 422, once the filters are valid
    stmt = filters.apply(visible_breaches(current_user))
    total = db.session.scalar(stmt.with_only_columns(sa.func.count(Breach.id)).order_by(None)) or 0
    rows = db.session.scalars(
        with_details(stmt)
        .order_by(reported_or_created().desc(), Breach.id.desc())
        .limit(page.per_page)
        .offset(page.offset)
    )
    return jsonify(page.envelope(breaches_json(current_user, rows), total))


@bp.route("/breaches/<int:breach_id>")
@requires(Permission.COMPLIANCE_VIEW)
@documented("One breach (404 when the user may not see it)", response=BreachOut)
def breach(breach_id: int) -> Response:
    return jsonify(breach_json(current_user, _breach_or_404(breach_id)))


@bp.route("/breaches", methods=["POST"])
@requires(Permission.COMPLIANCE_EDIT)
@documented(
    "Declare a breach in a partner's name (a partner: its own organisation only) and report it to the "
    "Département at once (the DPO is e-mailed), unless draft is true",
    body=BreachIn,
    response=BreachOut,
    status=201,
)
def create_breach() -> tuple[Response, int]:
    body = parse_body(BreachIn)
    # A partner naming another organisation is refused whether that organisation exists or not.
    if not can(current_user, Permission.COMPLIANCE_EDIT, body.organisation_id):
        raise Forbidden(_("You may declare a breach only in your own organisation's name."))
    organisation = db.session.get(Organisation, body.organisation_id)
    if organisation is None:
        raise ValidationFailed(
            _("There is no such organisation."), {"organisation_id": _("There is no such organisation.")}
        )
    if not body.draft:
        missing: dict[str, str] = {}
        if not body.summary.strip():
            missing["summary"] = _("Say what happened.")
        if body.discovered_at is None:
            missing["discovered_at"] = _("Say when the breach was discovered.")
        if not body.nature:
            missing["nature"] = _("Choose at least one nature (confidentiality, integrity, availability).")
        if missing:
            raise ValidationFailed(
                _("The declaration is incomplete: send the missing fields, or save it as a draft."), missing
            )
    with api_field_names():
        created = services.create_breach(current_user, organisation, body.data(), submit=not body.draft)
    db.session.commit()
    response = jsonify(breach_json(current_user, created))
    response.headers["Location"] = url_for("api.breach", breach_id=created.id)
    return response, 201


@bp.route("/breaches/<int:breach_id>/submit", methods=["POST"])
@requires(Permission.COMPLIANCE_EDIT)
@documented(
    "Report a draft to the Département (body {}): the DPO is e-mailed; 409 when already reported",
    body=EmptyIn,
    response=BreachOut,
)
def submit_breach(breach_id: int) -> Response:
    found = _breach_or_404(breach_id)
    parse_body(EmptyIn)
    with api_field_names():
        services.submit_breach(current_user, found)
    db.session.commit()
    return jsonify(breach_json(current_user, found))


@bp.route("/breaches/<int:breach_id>/acknowledge", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
@documented(
    "Acknowledge receipt (body {}, or an earlier awareness with aware_at and reason): starts the 72 hours "
    "and sends the receipt to the partner. Sent again, it records nothing more and answers the same "
    "acknowledgement (409 if it names another awareness time)",
    body=AcknowledgeIn,
    response=BreachOut,
)
def acknowledge_breach(breach_id: int) -> Response:
    found = _breach_or_404(breach_id)
    body = parse_body(AcknowledgeIn)
    if body.reason is not None and body.reason.strip() and body.aware_at is None:
        raise ValidationFailed(
            _("A reason explains an earlier awareness time: give that time too."),
            {"aware_at": _("Give the time the Département became aware, with its offset.")},
        )
    recorded = services.acknowledge_breach(current_user, found, body.aware_at, body.reason)
    if not recorded and body.aware_at is not None and found.aware_at != body.aware_at:
        raise Conflict(
            _("Receipt was acknowledged already: the awareness time stays as recorded then."),
            {"aware_at": _("Recorded already as another time.")},
        )
    db.session.commit()
    return jsonify(breach_json(current_user, found))


@bp.route("/breaches/<int:breach_id>/assessment", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
@documented(
    "Assess the risk for the people: none (documented, not notified), risk (the CNIL within 72 hours), "
    "high (also the people affected, by communication_due, a YYYY-MM-DD day)",
    body=AssessmentIn,
    response=BreachOut,
)
def assess_breach(breach_id: int) -> Response:
    found = _breach_or_404(breach_id)
    body = parse_body(AssessmentIn)
    if body.communication_due is not None and body.risk_level != "high":
        raise ValidationFailed(
            _("The people affected are informed only when the risk is high."),
            {"communication_due": _("Only for a high risk.")},
        )
    with api_field_names():
        services.assess_risk(current_user, found, body.risk_level, body.reasoning, body.communication_due)
    db.session.commit()
    return jsonify(breach_json(current_user, found))


@bp.route("/breaches/<int:breach_id>/notifications", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
@documented(
    "Record a notification made to the CNIL: the initial one (made after the 72 hours, it needs "
    "late_reasons), then complementary ones",
    body=NotificationIn,
    response=NotificationOut,
    status=201,
)
def add_breach_notification(breach_id: int) -> tuple[Response, int]:
    found = _breach_or_404(breach_id)
    body = parse_body(NotificationIn)
    with api_field_names():
        notification = services.add_notification(
            current_user,
            found,
            body.kind,
            body.notified_at,
            cnil_reference=body.cnil_reference,
            summary=body.summary,
            late_reasons=body.late_reasons,
        )
    db.session.commit()
    response = jsonify(notification_out(found, notification, personal=True).model_dump(mode="json"))
    response.headers["Location"] = url_for("api.breach", breach_id=found.id)
    return response, 201
