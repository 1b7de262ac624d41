"""Pages of the requests from data subjects: the DPO's list and request page (identity check, extension,
inquiries to partners, the answer), and the intake form a partner or the DPO fills in.

Views parse, call one service, commit once, and redirect or render; a DomainError rolls back and the
form comes back with its errors (422) and what was typed. Records load through visible_requests(), so a
request the user may not see is as absent as a missing one (404).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from compliance.access_requests import services
from compliance.access_requests.forms import (
    OUTCOME_LABELS,
    RIGHT_LABELS,
    STATUS_LABELS,
    AnswerForm,
    ExtensionForm,
    IdentityForm,
    InquiriesForm,
    RequestForm,
)
from compliance.access_requests.models import AccessRequest, Inquiry, RequestStatus
from vigie.auth.access import can, reaches_all_organisations, requires
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.deadlines.calendar import end_of_day, paris_date
from vigie.deadlines.status import remaining_text
from vigie.errors import DomainError, Forbidden, ValidationFailed
from vigie.extensions import db
from vigie.orgs.models import Organisation, OrganisationKind

bp = Blueprint("access_requests", __name__, url_prefix="/access-requests")

PAGE_SIZE = 50
DUE_SOON = timedelta(days=1)  # an inquiry (three working days) is "due soon" on its last day
LETTER_ENDPOINT = "request_exports.letter_pdf"


# --- shared with inquiry_views ------------------------------------------------------------------------


def controller_side(user: Any) -> bool:
    """The DPO and the auditor: every request, every partner's answers."""
    return reaches_all_organisations(user, Permission.COMPLIANCE_VIEW)


def apply_domain_error(form: FlaskForm, err: DomainError, aliases: dict[str, str] | None = None) -> None:
    """Put the service's field errors on the form's fields (a field may answer to another name)."""
    for name, message in err.fields.items():
        target = (aliases or {}).get(name, name)
        if target in form:
            form[target].errors = [*form[target].errors, message]


def reject(err: DomainError) -> None:
    """Roll back the request's work; a refusal (403) is not a form error: the central handler answers."""
    db.session.rollback()
    if isinstance(err, Forbidden):
        raise err


def inquiry_status(inquiry: Inquiry, now: datetime) -> tuple[str, str]:
    """(css status, label): waiting, due soon, overdue, answered on time, answered late."""
    if inquiry.answered_at is not None:
        if inquiry.answered_at <= inquiry.due_at:
            return "met_on_time", _("answered on time")
        return "met_late", _("answered late")
    if now > inquiry.due_at:
        return "overdue", _("overdue")
    if inquiry.due_at - now <= DUE_SOON:
        return "due_soon", _("due soon")
    return "open", _("waiting for the answer")


def time_left(due_at: datetime, now: datetime) -> dict[str, Any]:
    late = now > due_at
    return {"late": late, "text": remaining_text(due_at - now), "due_iso": due_at.isoformat()}


def active_partners() -> list[Organisation]:
    return list(
        db.session.scalars(
            sa.select(Organisation)
            .where(Organisation.kind == OrganisationKind.PARTNER, Organisation.active.is_(True))
            .order_by(Organisation.name)
        )
    )


def required(value: datetime | None) -> datetime:
    """A time the form requires (InputRequired): present once the form is valid."""
    if value is None:
        abort(400)
    return value


def parse_id(raw: str | None) -> int | None:
    """A number from the query string; ValueError when it is not one."""
    text = (raw or "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    raise ValueError(text)


# --- the list -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFilter:
    status: str | None = None  # open | answered
    organisation_id: int | None = None  # requests that have an inquiry to this partner
    overdue: bool = False  # the answer's deadline has passed and the request is not answered

    @property
    def active(self) -> bool:
        return bool(self.status or self.organisation_id or self.overdue)

    def as_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.status:
            args["status"] = self.status
        if self.organisation_id:
            args["organisation_id"] = self.organisation_id
        if self.overdue:
            args["overdue"] = "1"
        return args


def parse_request_filter(args: Any) -> tuple[RequestFilter, dict[str, str]]:
    errors: dict[str, str] = {}
    status = (args.get("status") or "").strip() or None
    if status is not None and status not in {s.value for s in RequestStatus}:
        errors["status"] = _("Choose a status from the list.")
        status = None
    try:
        org_id = parse_id(args.get("organisation_id"))
    except ValueError:
        errors["organisation_id"] = _("A partner is named by its number.")
        org_id = None
    overdue = (args.get("overdue") or "").strip()
    if overdue not in {"", "1"}:
        errors["overdue"] = _("Tick the box, or leave it empty.")
    return RequestFilter(status=status, organisation_id=org_id, overdue=overdue == "1"), errors


def overdue_clause(today: date) -> sa.ColumnElement[bool]:
    """Not answered, and the last day to answer (Paris) is over: the deadline is due at its end."""
    return sa.and_(AccessRequest.status == RequestStatus.OPEN, AccessRequest.response_due_date < today)


def inquiry_counts(request_ids: list[int]) -> dict[int, tuple[int, int]]:
    """request id -> (answered, asked), in one query."""
    if not request_ids:
        return {}
    rows = db.session.execute(
        sa.select(Inquiry.request_id, sa.func.count(Inquiry.answered_at), sa.func.count(Inquiry.id))
        .where(Inquiry.request_id.in_(request_ids))
        .group_by(Inquiry.request_id)
    )
    return {request_id: (int(answered), int(asked)) for request_id, answered, asked in rows}


@bp.route("/")
@requires(Permission.COMPLIANCE_VIEW)
def index() -> tuple[str, int]:
    now = utcnow()
    today = paris_date(now)
    everyone = controller_side(current_user)
    flt, errors = parse_request_filter(request.args)
    if not everyone:  # a partner's list is its own: the partner and overdue filters are the DPO's
        flt = RequestFilter(status=flt.status)
        errors.pop("organisation_id", None)
        errors.pop("overdue", None)
    context: dict[str, Any] = {
        "flt": flt,
        "filter_errors": errors,
        "everyone": everyone,
        "partners": active_partners() if everyone else [],
        "status_labels": STATUS_LABELS,
        "right_labels": RIGHT_LABELS,
        "today": today,
        "now": now,
    }
    if errors:
        return render_template("access_requests/index.html", invalid=True, **context), 400
    stmt = services.visible_requests(current_user)
    if flt.status:
        stmt = stmt.where(AccessRequest.status == RequestStatus(flt.status))
    if flt.organisation_id:
        stmt = stmt.where(
            AccessRequest.id.in_(
                sa.select(Inquiry.request_id).where(Inquiry.organisation_id == flt.organisation_id)
            )
        )
    if flt.overdue:
        stmt = stmt.where(overdue_clause(today))
    stmt = stmt.order_by(
        sa.case((AccessRequest.status == RequestStatus.OPEN, 0), else_=1),
        AccessRequest.response_due_date,
        AccessRequest.id.desc(),
    )
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    listing = db.paginate(stmt, page=page, per_page=PAGE_SIZE, max_per_page=PAGE_SIZE, error_out=False)
    items: list[AccessRequest] = list(listing.items)
    context.update(
        listing=listing,
        requests=items,
        counts=inquiry_counts([r.id for r in items]) if everyone else {},
        late_forwarding={r.id: services.forwarding_is_late(r) for r in items},
        delays={r.id: remaining_text(timedelta(seconds=r.forwarding_delay or 0)) for r in items},
    )
    if not everyone:
        inquiries = db.session.scalars(
            services.visible_inquiries(current_user)
            .order_by(Inquiry.answered_at.is_not(None), Inquiry.due_at, Inquiry.id)
            .limit(PAGE_SIZE)
        ).all()
        context["own_inquiries"] = [(i, inquiry_status(i, now)) for i in inquiries]
    return render_template("access_requests/index.html", invalid=False, **context), 200


# --- intake -------------------------------------------------------------------------------------------


def intake_choices(user: Any) -> list[tuple[int, str]]:
    """Where a request may have arrived, as the user may record it: a partner, its own organisation; the
    DPO, the Département (first, the default) or any active partner."""
    if not controller_side(user) or not can(user, Permission.COMPLIANCE_CONTROL):
        return [(user.organisation.id, user.organisation.name)]
    controllers = db.session.scalars(
        sa.select(Organisation)
        .where(Organisation.kind == OrganisationKind.CONTROLLER, Organisation.active.is_(True))
        .order_by(Organisation.id)
    ).all()
    return [(o.id, o.name) for o in [*controllers, *active_partners()]]


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.COMPLIANCE_EDIT)
def create() -> Response | tuple[str, int]:
    choices = intake_choices(current_user)
    # The first choice is the default: a partner's form has no select, and sends no organisation.
    form = RequestForm(received_by_organisation_id=choices[0][0])
    form.received_by_organisation_id.choices = choices
    own_only = len(choices) == 1 and choices[0][0] == current_user.organisation_id
    if form.validate_on_submit():
        organisation = db.session.get(Organisation, form.received_by_organisation_id.data)
        if organisation is None:
            abort(404)
        data = services.RequestData(
            right=form.right.data or "",
            subject_name=form.subject_name.data or "",
            received_at=required(form.received_at.data),
            received_by=organisation,
            subject_email=form.subject_email.data,
            subject_phone=form.subject_phone.data,
            subject_address=form.subject_address.data,
            request_text=form.request_text.data,
            channel=form.channel.data,
        )
        try:
            access_request = services.record_request(current_user, data)
        except DomainError as err:
            reject(err)
            apply_domain_error(form, err)
            return render_template(
                "access_requests/new.html", form=form, own_only=own_only, message=err.message
            ), 422
        db.session.commit()
        if access_request.forwarded_at is not None:
            flash(
                _(
                    "Request %(ref)s recorded and forwarded to the Département.",
                    ref=access_request.reference,
                ),
                "success",
            )
        else:
            flash(_("Request %(ref)s recorded.", ref=access_request.reference), "success")
        return redirect(url_for("access_requests.show", request_id=access_request.id))
    status = 422 if form.errors else 200
    return render_template("access_requests/new.html", form=form, own_only=own_only, message=None), status


# --- one request --------------------------------------------------------------------------------------


def load_request(request_id: int) -> AccessRequest:
    access_request = db.session.scalar(
        services.visible_requests(current_user).where(AccessRequest.id == request_id)
    )
    if access_request is None:
        abort(404)
    return access_request


def timeline(access_request: AccessRequest, inquiries: list[Inquiry], everyone: bool) -> list[dict[str, Any]]:
    """What happened, in order. A partner sees what concerns it (never another partner's inquiry)."""
    r = access_request
    events: list[dict[str, Any]] = [
        {"at": r.received_at, "text": _("Received by %(org)s", org=r.received_by.name)}
    ]
    if r.forwarded_at is not None:
        events.append({"at": r.forwarded_at, "text": _("Forwarded to the Département")})
    if everyone:
        if r.identity_requested_at is not None:
            events.append({"at": r.identity_requested_at, "text": _("Proof of identity asked")})
        if r.identity_received_at is not None:
            events.append({"at": r.identity_received_at, "text": _("Proof of identity received")})
    for inquiry in inquiries:
        events.append({"at": inquiry.requested_at, "text": _("%(org)s asked", org=inquiry.organisation.name)})
        if inquiry.answered_at is not None:
            events.append(
                {"at": inquiry.answered_at, "text": _("%(org)s answered", org=inquiry.organisation.name)}
            )
    if everyone and r.extended_at is not None:
        events.append({"at": r.extended_at, "text": _("Deadline extended by two months")})
        if r.extension_notified_at is not None:
            events.append(
                {"at": r.extension_notified_at, "text": _("The person was informed of the extension")}
            )
    if r.answered_at is not None:
        events.append({"at": r.answered_at, "text": _("Answer sent to the person")})
    return sorted(events, key=lambda e: e["at"])


def letter_url(access_request: AccessRequest) -> str | None:
    """The answer letter (PDF), once its page exists (compliance/access_requests/exports.py)."""
    if LETTER_ENDPOINT not in current_app.view_functions:
        return None
    return url_for(LETTER_ENDPOINT, request_id=access_request.id)


def render_request(access_request: AccessRequest, status: int = 200, **forms: Any) -> tuple[str, int]:
    now = utcnow()
    everyone = controller_side(current_user)
    control = can(current_user, Permission.COMPLIANCE_CONTROL)
    inquiries = [
        i for i in access_request.inquiries if everyone or i.organisation_id == current_user.organisation_id
    ]
    asked = {i.organisation_id for i in access_request.inquiries}
    response_due_at = end_of_day(access_request.response_due_date)
    is_open = access_request.status == RequestStatus.OPEN
    context: dict[str, Any] = {
        "r": access_request,
        "everyone": everyone,
        "control": control and is_open,
        "inquiries": [(i, inquiry_status(i, now)) for i in inquiries],
        "events": timeline(access_request, inquiries, everyone),
        "right_label": RIGHT_LABELS[access_request.right],
        "status_label": STATUS_LABELS[access_request.status],
        "outcome_labels": OUTCOME_LABELS,
        "forwarding_late": services.forwarding_is_late(access_request),
        "forwarding_delay": remaining_text(timedelta(seconds=access_request.forwarding_delay or 0)),
        "response": time_left(response_due_at, now),
        "answered_late": access_request.answered_at is not None
        and access_request.answered_at > response_due_at,
        "letter_url": letter_url(access_request) if everyone else None,
        "message": forms.pop("message", None),
    }
    if context["control"]:
        partners = [p for p in active_partners() if p.id not in asked]
        inquiries_form = forms.get("inquiries_form")
        if inquiries_form is None:
            inquiries_form = InquiriesForm(
                formdata=None, search_details=_("Name: %(name)s", name=access_request.subject_name)
            )
        inquiries_form.organisation_ids.choices = [(p.id, p.name) for p in partners]
        fresh = {
            "identity_form": lambda: IdentityForm(
                formdata=None,
                identity_requested_at=access_request.identity_requested_at,
                identity_received_at=access_request.identity_received_at,
                identity_method=access_request.identity_method,
            ),
            "extension_form": lambda: ExtensionForm(formdata=None),
            "answer_form": lambda: AnswerForm(formdata=None),
        }
        for name, make in fresh.items():
            given = forms.get(name)
            context[name] = given if given is not None else make()
        context["inquiries_form"] = inquiries_form
    return render_template("access_requests/show.html", **context), status


@bp.route("/<int:request_id>")
@requires(Permission.COMPLIANCE_VIEW)
def show(request_id: int) -> tuple[str, int]:
    return render_request(load_request(request_id))


def _act(
    request_id: int,
    form: FlaskForm,
    form_name: str,
    action: Any,
    done: str,
    aliases: dict[str, str] | None = None,
) -> Response | tuple[str, int]:
    """Validate `form`, run `action(access_request)` (one service call, or several that stand or fall
    together), commit, and come back to the request; on an error, the page again with the form's errors."""
    access_request = load_request(request_id)
    if not form.validate_on_submit():
        return render_request(access_request, 422, **{form_name: form})
    try:
        action(access_request)
    except DomainError as err:
        reject(err)
        apply_domain_error(form, err, aliases)
        # The rollback expired the record: load it again for the page.
        return render_request(load_request(request_id), err.status, message=err.message, **{form_name: form})
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("access_requests.show", request_id=request_id))


@bp.route("/<int:request_id>/identity", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
def identity(request_id: int) -> Response | tuple[str, int]:
    form = IdentityForm()
    return _act(
        request_id,
        form,
        "identity_form",
        lambda r: services.record_identity_check(
            current_user,
            r,
            form.identity_requested_at.data,
            form.identity_received_at.data,
            form.identity_method.data,
        ),
        _("Identity check recorded."),
    )


@bp.route("/<int:request_id>/extension", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
def extend(request_id: int) -> Response | tuple[str, int]:
    form = ExtensionForm()
    return _act(
        request_id,
        form,
        "extension_form",
        lambda r: services.extend_response(
            current_user, r, form.extension_reason.data or "", required(form.extension_notified_at.data)
        ),
        _("The deadline is extended by two months."),
    )


@bp.route("/<int:request_id>/inquiries", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
def open_inquiries(request_id: int) -> Response | tuple[str, int]:
    form = InquiriesForm()
    asked = db.session.scalars(
        sa.select(Inquiry.organisation_id).where(Inquiry.request_id == request_id)
    ).all()
    form.organisation_ids.choices = [(p.id, p.name) for p in active_partners() if p.id not in set(asked)]

    def ask(access_request: AccessRequest) -> None:
        if not form.organisation_ids.data:
            raise ValidationFailed(
                _("Choose at least one partner."), {"organisation_ids": _("Choose at least one partner.")}
            )
        for org_id in form.organisation_ids.data:
            organisation = db.session.get(Organisation, org_id)
            if organisation is None:
                abort(404)
            services.open_inquiry(
                current_user,
                access_request,
                organisation,
                form.search_details.data or "",
                form.requested_at.data,
            )

    return _act(
        request_id,
        form,
        "inquiries_form",
        ask,
        _("The partners are asked, and e-mailed."),
        aliases={"organisation_id": "organisation_ids"},
    )


@bp.route("/<int:request_id>/answer", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
def answer(request_id: int) -> Response | tuple[str, int]:
    form = AnswerForm()
    return _act(
        request_id,
        form,
        "answer_form",
        lambda r: services.answer_request(
            current_user,
            r,
            form.outcome.data or "",
            required(form.answered_at.data),
            form.answer_channel.data or "",
            form.answer_text.data,
            form.legal_ground.data,
        ),
        _("The answer is recorded: the request is closed."),
    )
