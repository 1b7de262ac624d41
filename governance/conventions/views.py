"""Convention pages: the legal service's home (conventions by status, expiries, evaluations, formal notices,
with the days left; CSV), a new convention (or a template duplicated for a partner), a convention's page
with a form for each step of its life (approval by deliberation, signatures, signed scan, prefecture
transmission, amendments, evaluation and renewal, formal notice, answer, termination), its PDF.

Views parse the forms, call one service, commit once and redirect with a message; on a domain error they
roll back and show the page again with the errors next to the fields and what was typed.

Who: the legal service writes (Permission.CONVENTIONS_EDIT, checked centrally). Reading is wider, decided
in serialise.reader_scope(): the legal service and the auditor (CONVENTIONS_VIEW), the steering committee
(it sees the evaluation and notice clocks on its dashboard already, and the renewal is a governance
decision, art. 8-9) and the DPO (art. 11 is the processing contract GDPR art. 28 requires: the DPO must
know whether each processor is bound by an enforceable one) read every convention; a partner reads the
conventions its organisation is a party to, and another's is a 404, as absent as a missing one; the
administrator reads none (403). The reading pages are open to every signed-in user (Permission.SELF) and
check the reader with that function.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import force_locale, format_date, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from governance.conventions import services
from governance.conventions.forms import (
    AmendmentForm,
    AnswerForm,
    ApproveForm,
    ConventionForm,
    EvaluationForm,
    NoticeForm,
    ScanForm,
    SignatureForm,
    TerminationForm,
    TransmissionForm,
    parse_articles,
)
from governance.conventions.models import (
    Amendment,
    Convention,
    ConventionStatus,
    Deliberation,
    Evaluation,
    FormalNotice,
)
from governance.conventions.serialise import (
    DECISION_LABELS,
    RUNNING,
    STATUS_LABELS,
    ReaderScope,
    convention_clocks,
    enforceable,
    ensure_acknowledgement_free,
    ensure_reference_free,
    parse_filters,
    reader_scope,
    reads,
    visible_conventions,
)
from governance.conventions.services import DeliberationData, EvaluationData
from vigie import storage
from vigie.auth.access import can, requires
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.deadlines.feeds import csv_cell
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.deadlines.services import visible_deadlines
from vigie.deadlines.status import STATUS_LABELS as DEADLINE_STATUS_LABELS
from vigie.deadlines.status import DeadlineStatus, status_of
from vigie.deadlines.views import as_row
from vigie.errors import DomainError, ValidationFailed
from vigie.extensions import db
from vigie.formerrors import attach_errors
from vigie.orgs.models import Organisation, OrganisationKind
from vigie.paging import ListPage
from vigie.pdf import pdf_response, render_pdf
from vigie.timeutil import to_paris

bp = Blueprint("conventions", __name__, url_prefix="/conventions")

EDIT = Permission.CONVENTIONS_EDIT
READ = Permission.SELF  # every signed-in user reaches the page; reader_scope() decides (403 / 404)
# A convention is a French administrative act: its PDF is always in French.
DOCUMENT_LOCALE = "fr"
Result = Response | str | tuple[str, int]


# --- helpers ----------------------------------------------------------------------------------------


def scope_or_403() -> ReaderScope:
    scope = reader_scope(current_user)
    if scope is None:
        abort(403)
    return scope


def load_convention(convention_id: int) -> Convention:
    """A convention the user reads; another partner's is as absent as a missing one."""
    convention = db.session.get(Convention, convention_id)
    if convention is None or not reads(current_user, convention):
        abort(404)
    return convention


def may_edit() -> bool:
    return can(current_user, EDIT)


@dataclass(frozen=True)
class DaysLeft:
    days: int  # negative: overdue by that many days

    @property
    def late(self) -> bool:
        return self.days < 0

    @property
    def text(self) -> str:
        if self.days == 0:
            return _("today")
        if self.days > 0:
            return ngettext("%(num)d day left", "%(num)d days left", self.days)
        return ngettext("%(num)d day ago", "%(num)d days ago", -self.days)


def days_left(day: date, today: date) -> DaysLeft:
    return DaysLeft((day - today).days)


def partner_choices(empty: str) -> list[SelectChoice]:
    partners = db.session.scalars(
        sa.select(Organisation)
        .where(Organisation.kind == OrganisationKind.PARTNER, Organisation.active.is_(True))
        .order_by(Organisation.name)
    )
    return [SelectChoice("", empty), *(SelectChoice(o.id, o.name) for o in partners)]


def controller() -> Organisation:
    """The Département: the network's first active controller."""
    found = db.session.scalar(
        sa.select(Organisation)
        .where(Organisation.kind == OrganisationKind.CONTROLLER, Organisation.active.is_(True))
        .order_by(Organisation.id)
    )
    if found is None:
        raise ValidationFailed(
            _("Record the Département (the controller) among the organisations first."),
            {"partner_id": _("No controller recorded.")},
        )
    return found


def deliberation_choices(
    convention: Convention, empty: str, with_controller: bool = False
) -> list[SelectChoice]:
    """The partner's deliberations (those that approve a convention); with the controller's too for an
    amendment, which either party's assembly may approve."""
    owners = [convention.partner_id] + ([convention.controller_id] if with_controller else [])
    if not any(owners):
        return [SelectChoice("", empty)]
    rows = db.session.scalars(
        sa.select(Deliberation)
        .where(Deliberation.organisation_id.in_([o for o in owners if o is not None]))
        .order_by(Deliberation.adopted_on.desc(), Deliberation.id.desc())
    )
    return [SelectChoice("", empty), *(SelectChoice(d.id, deliberation_label(d)) for d in rows)]


def deliberation_label(deliberation: Deliberation) -> str:
    return _(
        "n°%(number)s of %(date)s (%(assembly)s)",
        number=deliberation.number,
        date=format_date(deliberation.adopted_on, "long"),
        assembly=deliberation.assembly,
    )


def first_contact(org: Organisation | None) -> str | None:
    return org.people[0].name if org is not None and org.people else None


def compliance_scorecard(partner_id: int | None, now: datetime) -> str | None:
    """The partner's obligations as the deadline table records them (every clock but the convention's
    own): how many met on time, met late, overdue, still open, cancelled."""
    if partner_id is None:
        return None
    deadlines = db.session.scalars(
        sa.select(Deadline).where(
            Deadline.organisation_id == partner_id, sa.not_(Deadline.kind.startswith("convention."))
        )
    ).all()
    if not deadlines:
        return _("No obligation of this partner is recorded in Vigie.")
    counts = Counter(status_of(d, now) for d in deadlines)
    parts = [
        f"{DEADLINE_STATUS_LABELS[status]} : {counts[status]}"
        for status in (
            DeadlineStatus.MET_ON_TIME,
            DeadlineStatus.MET_LATE,
            DeadlineStatus.OVERDUE,
            DeadlineStatus.DUE_SOON,
            DeadlineStatus.OPEN,
            DeadlineStatus.CANCELLED,
        )
        if counts[status]
    ]
    return _("The partner's obligations in Vigie: %(counts)s.", counts=", ".join(parts))


def notices_of(convention: Convention) -> list[FormalNotice]:
    return list(
        db.session.scalars(
            sa.select(FormalNotice)
            .where(FormalNotice.convention_id == convention.id)
            .order_by(FormalNotice.sent_on, FormalNotice.id)
        )
    )


def next_convention(convention: Convention) -> Convention | None:
    return db.session.scalar(
        sa.select(Convention).where(Convention.previous_id == convention.id).order_by(Convention.id)
    )


# --- the signed scan (an operation services.py does not offer yet: see the report) -----------------


def upload_limit() -> int:
    return int(current_app.config.get("UPLOAD_MAX_BYTES", storage.DEFAULT_MAX_BYTES))


def attach_signed_scan(convention: Convention, filename: str, content: bytes) -> str | None:
    """Store the signed convention's scan (a PDF, encrypted); return the key of the one it replaces."""
    if convention.status == ConventionStatus.DRAFT or convention.is_template:
        raise ValidationFailed(
            _("The signed scan comes after the approval by deliberation."), {"scan": _("Not yet.")}
        )
    if PurePath(filename).suffix.lower() != ".pdf":
        raise ValidationFailed(_("Send the signed convention as a PDF."), {"scan": _("Refused type.")})
    stored = storage.store(filename, content)
    replaced = convention.signed_scan_key
    convention.signed_scan_key = stored.key
    convention.signed_scan_name = stored.filename
    db.session.flush()
    return replaced


# --- the convention page ----------------------------------------------------------------------------


def _forms(convention: Convention, now: datetime, notices: list[FormalNotice]) -> dict[str, Any]:
    """Every form of the page, empty (formdata=None) with the record's values as defaults."""
    none = {"formdata": None}
    approve = ApproveForm(prefix="approve", **none)
    approve.deliberation_id.choices = deliberation_choices(convention, _("— record a new deliberation —"))
    if convention.partner is not None and not approve.assembly.data:
        approve.subject.data = convention.title
    signatures = SignatureForm(
        prefix="signatures",
        **none,
        data={
            "controller_signatory": convention.controller_signatory or first_contact(convention.controller),
            "controller_signed_on": convention.controller_signed_on,
            "partner_signatory": convention.partner_signatory or first_contact(convention.partner),
            "partner_signed_on": convention.partner_signed_on,
        },
    )
    amendment = AmendmentForm(prefix="amendment", **none)
    amendment.deliberation_id.choices = deliberation_choices(convention, _("— none —"), with_controller=True)
    evaluation = EvaluationForm(
        prefix="evaluation",
        **none,
        data={"compliance_summary": compliance_scorecard(convention.partner_id, now)},
    )
    forms: dict[str, Any] = {
        "approve": approve,
        "signatures": signatures,
        "scan": ScanForm(prefix="scan", **none),
        "transmission": TransmissionForm(prefix="transmission", **none),
        "amendment": amendment,
        "evaluation": evaluation,
        "notice": NoticeForm(prefix="notice", **none),
    }
    for notice in notices:
        forms[f"answer-{notice.id}"] = AnswerForm(prefix=f"answer-{notice.id}", **none)
        forms[f"termination-{notice.id}"] = TerminationForm(prefix=f"termination-{notice.id}", **none)
    return forms


def _bound(key: str, convention: Convention) -> Any:
    """The form `key` as posted."""
    if key == "approve":
        form: Any = ApproveForm(prefix="approve")
        form.deliberation_id.choices = deliberation_choices(convention, _("— record a new deliberation —"))
        return form
    if key == "amendment":
        form = AmendmentForm(prefix="amendment")
        form.deliberation_id.choices = deliberation_choices(convention, _("— none —"), with_controller=True)
        return form
    classes: dict[str, Any] = {
        "signatures": SignatureForm,
        "scan": ScanForm,
        "transmission": TransmissionForm,
        "evaluation": EvaluationForm,
        "notice": NoticeForm,
        "answer": AnswerForm,
        "termination": TerminationForm,
    }
    return classes[key.split("-")[0]](prefix=key)


def render_convention(
    convention: Convention,
    bound: tuple[str, Any] | None = None,
    messages: list[str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    now = utcnow()
    today = to_paris(now).date()
    notices = notices_of(convention)
    forms = _forms(convention, now, notices) if may_edit() else {}
    if bound is not None:
        forms[bound[0]] = bound[1]
    effective = services.effective_status(convention, today)
    evaluations = list(
        db.session.scalars(
            sa.select(Evaluation)
            .where(Evaluation.convention_id == convention.id)
            .order_by(Evaluation.evaluated_on, Evaluation.id)
        )
    )
    amendment_deliberations = {
        d.id: d
        for d in db.session.scalars(
            sa.select(Deliberation).where(
                Deliberation.id.in_([a.deliberation_id for a in convention.amendments if a.deliberation_id])
            )
        )
    }
    following = next_convention(convention)
    context = {
        "convention": convention,
        "status": effective,
        "status_label": STATUS_LABELS[effective],
        "enforceable": enforceable(convention, today),
        "today": today,
        "notices": notices,
        "notice_days": {n.id: days_left(n.answer_due_date, today) for n in notices},
        "evaluations": evaluations,
        "decision_labels": DECISION_LABELS,
        "amendment_deliberations": amendment_deliberations,
        "previous": convention.previous
        if convention.previous and reads(current_user, convention.previous)
        else None,
        "following": following if following is not None and reads(current_user, following) else None,
        "deadline_rows": [as_row(d, now) for d in convention_clocks(current_user, convention, notices)],
        "evaluation_days": days_left(convention.evaluation_due_date, today),
        "end_days": days_left(convention.end_date, today),
        "forms": forms,
        "may_edit": may_edit(),
        "messages": messages or [],
        "focus": bound[0] if bound is not None else None,
        "running": effective in RUNNING,
        "upload_limit_mb": upload_limit() // (1024 * 1024),
    }
    return render_template("conventions/show.html", **context), status


def _act(
    convention_id: int,
    key: str,
    perform: Callable[[Convention, Any], str],
    aliases: dict[str, str] | None = None,
) -> Result:
    """Validate the posted form, call the service, commit and come back with a message; on an error,
    roll back and show the page again with the form as typed and its errors."""
    convention = db.get_or_404(Convention, convention_id)
    form = _bound(key, convention)
    if not form.validate():
        return render_convention(convention, (key, form), status=422)
    try:
        message = perform(convention, form)
    except DomainError as err:
        db.session.rollback()
        convention = db.get_or_404(Convention, convention_id)
        messages = attach_errors(form, err, aliases)
        return render_convention(convention, (key, form), messages, err.status)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("conventions.show", convention_id=convention_id, _anchor=key.split("-")[0]))


def _notice_of(convention: Convention, notice_id: int) -> FormalNotice:
    notice = db.session.get(FormalNotice, notice_id)
    if notice is None or notice.convention_id != convention.id:
        abort(404)
    return notice


# --- the legal service's home -----------------------------------------------------------------------


@dataclass(frozen=True)
class ConventionRow:
    convention: Convention
    status: ConventionStatus
    status_label: str
    enforceable: bool
    end: DaysLeft
    evaluation: DaysLeft


@dataclass(frozen=True)
class NoticeRow:
    notice: FormalNotice
    convention: Convention
    left: DaysLeft


def _rows(user: Any, today: date) -> list[ConventionRow]:
    stmt = visible_conventions(user).order_by(
        Convention.is_template, Convention.start_date.desc(), Convention.id
    )
    rows = []
    for convention in db.session.scalars(stmt):
        status = services.effective_status(convention, today)
        rows.append(
            ConventionRow(
                convention=convention,
                status=status,
                status_label=str(STATUS_LABELS[status]),
                enforceable=enforceable(convention, today),
                end=days_left(convention.end_date, today),
                evaluation=days_left(convention.evaluation_due_date, today),
            )
        )
    return rows


@bp.route("/")
@requires(READ)
def index() -> str:
    scope_or_403()
    filters = parse_filters(request.args)
    now = utcnow()
    today = to_paris(now).date()
    rows = _rows(current_user, today)
    counts = Counter(row.status for row in rows if not row.convention.is_template)
    listed = [
        r
        for r in rows
        if not r.convention.is_template and (filters.status is None or r.status == filters.status)
    ]
    if filters.partner_id is not None:
        listed = [r for r in listed if r.convention.partner_id == filters.partner_id]
    # A region holds hundreds of conventions: the table shows a page of them (the counts, the expiries
    # and the evaluations above and below it keep every one).
    listed_page = ListPage(listed, filters.page.page, filters.page.per_page)
    running = sorted(
        (r for r in rows if r.status in RUNNING), key=lambda r: (r.convention.end_date, r.convention.id)
    )
    by_id = {r.convention.id: r for r in rows}
    evaluations = [
        (as_row(d, now), by_id[d.subject_id])
        for d in db.session.scalars(
            visible_deadlines(current_user)
            .where(
                Deadline.kind == services.EVALUATION_KIND,
                Deadline.state == DeadlineState.OPEN,
                Deadline.subject_type == "convention",
            )
            .order_by(Deadline.due_at, Deadline.id)
        )
        if d.subject_id in by_id
    ]
    notices = [
        NoticeRow(notice, by_id[notice.convention_id].convention, days_left(notice.answer_due_date, today))
        for notice in db.session.scalars(
            sa.select(FormalNotice)
            .where(FormalNotice.answered_on.is_(None), FormalNotice.termination_notified_on.is_(None))
            .order_by(FormalNotice.answer_due_date, FormalNotice.id)
        )
        if notice.convention_id in by_id and by_id[notice.convention_id].status != ConventionStatus.TERMINATED
    ]
    return render_template(
        "conventions/index.html",
        rows=listed_page.items,
        listed_page=listed_page,
        pager_args={
            k: v
            for k, v in (
                ("status", filters.status.value if filters.status else None),
                ("partner_id", filters.partner_id),
            )
            if v is not None
        },
        counts=counts,
        statuses=list(ConventionStatus),
        status_labels=STATUS_LABELS,
        selected=filters.status,
        running=running,
        evaluations=evaluations,
        notices=notices,
        may_edit=may_edit(),
        templates=[r for r in rows if r.convention.is_template],
    )


CSV_HEADER = (
    "Id",
    "Reference",
    "Title",
    "Partner",
    "SIREN",
    "Status",
    "Enforceable",
    "Start",
    "End",
    "Evaluation due",
    "Deliberation",
    "Deliberation date",
    "Prefecture acknowledgement id",
    "Received by the prefecture",
    "Published",
    "Ended on",
)


def csv_header() -> list[str]:
    labels = {
        "Id": _("Id"),
        "Reference": _("Reference"),
        "Title": _("Title"),
        "Partner": _("Partner"),
        "SIREN": _("SIREN"),
        "Status": _("Status"),
        "Enforceable": _("Enforceable"),
        "Start": _("Start"),
        "End": _("End"),
        "Evaluation due": _("Evaluation due"),
        "Deliberation": _("Deliberation"),
        "Deliberation date": _("Deliberation date"),
        "Prefecture acknowledgement id": _("Prefecture acknowledgement id"),
        "Received by the prefecture": _("Received by the prefecture"),
        "Published": _("Published"),
        "Ended on": _("Ended on"),
    }
    return [labels[name] for name in CSV_HEADER]


def _iso(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def csv_row(convention: Convention, today: date) -> list[str]:
    status = services.effective_status(convention, today)
    deliberation = convention.deliberation
    cells = [
        convention.id,
        convention.reference or "",
        convention.title,
        convention.partner.name if convention.partner else _("template"),
        convention.partner.siren if convention.partner else "",
        STATUS_LABELS[status],
        _("yes") if enforceable(convention, today) else _("no"),
        _iso(convention.start_date),
        _iso(convention.end_date),
        _iso(convention.evaluation_due_date),
        deliberation.number if deliberation else "",
        _iso(deliberation.adopted_on) if deliberation else "",
        convention.acknowledgement_id or "",
        _iso(convention.transmitted_on),
        _iso(convention.published_on),
        _iso(convention.ended_on),
    ]
    return [csv_cell(c) for c in cells]


@bp.route("/export.csv")
@requires(READ)
def export_csv() -> Response:
    """The conventions the user reads, with the API's filters (status, partner_id), as French Excel opens
    a CSV: UTF-8 with a byte-order mark, `;`, formula cells neutralised."""
    scope_or_403()
    filters = parse_filters(request.args, paged=False)
    now = utcnow()
    today = to_paris(now).date()
    stmt = filters.apply(visible_conventions(current_user), today).order_by(
        Convention.start_date.desc(), Convention.id
    )
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(csv_header())
    for convention in db.session.scalars(stmt):
        writer.writerow(csv_row(convention, today))
    response = Response(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="vigie-conventions-{today:%Y%m%d}.csv"'
    return response


# --- a new convention -------------------------------------------------------------------------------


def _template_choices() -> list[SelectChoice]:
    templates = db.session.scalars(
        sa.select(Convention)
        .where(Convention.is_template.is_(True))
        .order_by(Convention.title, Convention.id)
    )
    return [
        SelectChoice("", _("— none: write the articles below —")),
        *(SelectChoice(t.id, t.title) for t in templates),
    ]


def _new_form(formdata: bool) -> ConventionForm:
    form = (
        ConventionForm(prefix="convention")
        if formdata
        else ConventionForm(prefix="convention", formdata=None)
    )
    form.partner_id.choices = partner_choices(_("— choose the partner —"))
    form.template_id.choices = _template_choices()
    return form


def _create(form: ConventionForm) -> Convention:
    partner = db.session.get(Organisation, form.partner_id.data) if form.partner_id.data else None
    start, end = form.start_date.data, form.end_date.data
    assert start is not None and end is not None  # noqa: S101 (InputRequired)
    ensure_reference_free(form.reference.data)
    if form.template_id.data:
        template = db.get_or_404(Convention, form.template_id.data)
        if partner is None:
            raise ValidationFailed(_("Choose the partner."), {"partner_id": _("Choose the partner.")})
        return services.duplicate_for_partner(template, partner, start, end, form.reference.data)
    if not (form.title.data or "").strip():
        raise ValidationFailed(_("Give the convention's title."), {"title": _("Required.")})
    return services.create_convention(
        controller(),
        None if form.is_template.data else partner,
        form.title.data or "",
        start,
        end,
        reference=form.reference.data,
        articles=parse_articles(form.articles.data or ""),
        is_template=bool(form.is_template.data),
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(EDIT)
def create() -> Result:
    if request.method == "GET":
        form = _new_form(formdata=False)
        template_id = request.args.get("template_id", "")
        if template_id.isdigit():
            form.template_id.data = int(template_id)
        return render_template("conventions/new.html", form=form, messages=[])
    form = _new_form(formdata=True)
    if not form.validate():
        return render_template("conventions/new.html", form=form, messages=[]), 422
    try:
        convention = _create(form)
    except DomainError as err:
        db.session.rollback()
        messages = attach_errors(form, err)
        return render_template("conventions/new.html", form=form, messages=messages), err.status
    db.session.commit()
    flash(_("The convention is recorded as a draft."), "success")
    return redirect(url_for("conventions.show", convention_id=convention.id))


# --- a convention -----------------------------------------------------------------------------------


@bp.route("/<int:convention_id>")
@requires(READ)
def show(convention_id: int) -> tuple[str, int]:
    scope_or_403()
    return render_convention(load_convention(convention_id))


def _deliberation_data(form: Any, organisation_id: int) -> DeliberationData:
    return DeliberationData(
        organisation_id=organisation_id,
        assembly=form.assembly.data or "",
        number=form.number.data or "",
        adopted_on=form.adopted_on.data,
        subject=form.subject.data or "",
        members_in_office=form.members_in_office.data or 0,
        members_present=form.members_present.data or 0,
        members_represented=form.members_represented.data or 0,
        votes_for=form.votes_for.data or 0,
        votes_against=form.votes_against.data or 0,
        abstentions=form.abstentions.data or 0,
        theme=form.theme.data,
        secretary=form.secretary.data,
    )


@bp.route("/<int:convention_id>/approve", methods=["POST"])
@requires(EDIT)
def approve(convention_id: int) -> Result:
    def perform(convention: Convention, form: ApproveForm) -> str:
        if convention.partner_id is None:
            raise ValidationFailed(_("A template is not approved: duplicate it for a partner."))
        if form.deliberation_id.data is not None:
            deliberation = db.get_or_404(Deliberation, form.deliberation_id.data)
        else:
            deliberation = services.create_deliberation(_deliberation_data(form, convention.partner_id))
        services.approve_convention(convention, deliberation)
        return _(
            "The convention is approved by the deliberation %(ref)s.", ref=deliberation_label(deliberation)
        )

    return _act(convention_id, "approve", perform)


@bp.route("/<int:convention_id>/signatures", methods=["POST"])
@requires(EDIT)
def signatures(convention_id: int) -> Result:
    def perform(convention: Convention, form: SignatureForm) -> str:
        services.sign_convention(
            convention,
            form.controller_signed_on.data,
            form.partner_signed_on.data,
            form.controller_signatory.data,
            form.partner_signatory.data,
        )
        if convention.status == ConventionStatus.SIGNED:
            return _("Both parties have signed the convention.")
        return _("The signature is recorded; the other party's is awaited.")

    return _act(convention_id, "signatures", perform)


@bp.route("/<int:convention_id>/scan", methods=["POST"])
@requires(EDIT)
def upload_scan(convention_id: int) -> Result:
    replaced: list[str | None] = []

    def perform(convention: Convention, form: ScanForm) -> str:
        upload = form.scan.data
        if upload is None or not upload.filename:
            raise ValidationFailed(_("Choose the signed convention's scan."), {"scan": _("Choose a file.")})
        # One byte over the limit is enough for storage.check_upload to refuse it: never read more.
        content = upload.stream.read(upload_limit() + 1)
        replaced.append(attach_signed_scan(convention, upload.filename, content))
        return _("The signed convention is attached.")

    result = _act(convention_id, "scan", perform, {"attachment": "scan"})
    if replaced and replaced[0] and isinstance(result, Response) and result.status_code == 302:
        storage.delete(replaced[0])  # after the commit: the new scan is in place
    return result


@bp.route("/<int:convention_id>/scan")
@requires(READ)
def scan(convention_id: int) -> Response:
    scope_or_403()
    convention = load_convention(convention_id)
    if not convention.signed_scan_key:
        abort(404)
    try:
        content = storage.read(convention.signed_scan_key)
    except FileNotFoundError:
        abort(404)
    response = send_file(
        io.BytesIO(content),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=convention.signed_scan_name or f"convention-{convention.id}.pdf",
        conditional=False,
        etag=False,
        max_age=None,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:convention_id>/transmission", methods=["POST"])
@requires(EDIT)
def transmission(convention_id: int) -> Result:
    def perform(convention: Convention, form: TransmissionForm) -> str:
        ensure_acknowledgement_free(convention, form.acknowledgement_id.data or "")
        services.record_transmission(
            convention, form.acknowledgement_id.data or "", form.received_on.data, form.published_on.data
        )
        return _("The transmission to the prefecture is recorded: the convention is enforceable.")

    return _act(convention_id, "transmission", perform, {"received_at": "received_on"})


@bp.route("/<int:convention_id>/amendments", methods=["POST"])
@requires(EDIT)
def amendments(convention_id: int) -> Result:
    def perform(convention: Convention, form: AmendmentForm) -> str:
        deliberation = None
        if form.deliberation_id.data is not None:
            deliberation = db.get_or_404(Deliberation, form.deliberation_id.data)
        amendment: Amendment = services.add_amendment(
            convention, form.signed_on.data, form.changes.data or "", deliberation
        )
        return _("Amendment n°%(n)d is recorded.", n=amendment.number)

    return _act(convention_id, "amendment", perform)


@bp.route("/<int:convention_id>/evaluation", methods=["POST"])
@requires(EDIT)
def evaluation(convention_id: int) -> Result:
    def perform(convention: Convention, form: EvaluationForm) -> str:
        record = services.record_evaluation(
            convention,
            EvaluationData(
                evaluated_on=form.evaluated_on.data,
                findings=form.findings.data or "",
                decision=form.decision.data or "",
                relevance_of_resources=form.relevance_of_resources.data or None,
                training_needs=form.training_needs.data or None,
                communication_needs=form.communication_needs.data or None,
                usage=form.usage.data or None,
                compliance_summary=form.compliance_summary.data or None,
            ),
        )
        if record.next_convention_id is not None:
            return _("The evaluation is recorded; the next convention is prepared as a draft.")
        return _("The evaluation is recorded.")

    return _act(convention_id, "evaluation", perform)


@bp.route("/<int:convention_id>/notices", methods=["POST"])
@requires(EDIT)
def notices(convention_id: int) -> Result:
    def perform(convention: Convention, form: NoticeForm) -> str:
        notice = services.send_formal_notice(
            convention,
            form.sent_on.data,
            form.grounds.data or "",
            form.tracking_number.data,
            form.received_on.data,
        )
        return _(
            "The formal notice is recorded: the partner has until %(date)s to answer.",
            date=format_date(notice.answer_due_date, "long"),
        )

    return _act(convention_id, "notice", perform)


@bp.route("/<int:convention_id>/notices/<int:notice_id>/answer", methods=["POST"])
@requires(EDIT)
def answer(convention_id: int, notice_id: int) -> Result:
    def perform(convention: Convention, form: AnswerForm) -> str:
        services.record_notice_answer(
            _notice_of(convention, notice_id), form.answered_on.data, form.answer.data or ""
        )
        return _("The partner's answer is recorded: the 30-day clock is stopped.")

    _notice_of(db.get_or_404(Convention, convention_id), notice_id)
    return _act(convention_id, f"answer-{notice_id}", perform)


@bp.route("/<int:convention_id>/notices/<int:notice_id>/termination", methods=["POST"])
@requires(EDIT)
def termination(convention_id: int, notice_id: int) -> Result:
    def perform(convention: Convention, form: TerminationForm) -> str:
        services.terminate(
            convention,
            _notice_of(convention, notice_id),
            form.sent_on.data,
            form.tracking_number.data or "",
            form.notified_on.data,
        )
        return _(
            "The convention is terminated from %(date)s; the partner's open deadlines are closed.",
            date=format_date(form.notified_on.data, "long"),
        )

    _notice_of(db.get_or_404(Convention, convention_id), notice_id)
    return _act(convention_id, f"termination-{notice_id}", perform)


# --- the PDF ----------------------------------------------------------------------------------------

# "le Département…", "la Communauté de communes…": the article a French party's name takes.
_FEMININE = ("communauté", "commune", "métropole", "région", "bibliothèque", "médiathèque", "ville")
_MASCULINE = ("département", "conseil", "syndicat", "établissement", "centre", "pays")


def with_article(name: str) -> str:
    first = name.split(" ", 1)[0].lower()
    if first in _FEMININE:
        return "la " + name
    if first in _MASCULINE:
        return "le " + name
    return name


def capacity_of(org: Organisation | None, signatory: str | None) -> str | None:
    """The signatory's function as the organisation's contacts record it, with its French article when it
    is one of the usual titles: "la Présidente du Conseil départemental", "le Président de …"."""
    if org is None or not signatory:
        return None
    wanted = signatory.strip().casefold()
    for person in org.people:
        if person.name.strip().casefold() == wanted and person.function:
            function = person.function.strip()
            first = function.split(" ", 1)[0].lower()
            if first in ("présidente", "vice-présidente", "directrice"):
                return "la " + function
            if first in ("président", "vice-président", "directeur", "maire"):
                return "le " + function
            return function
    return None


@bp.route("/<int:convention_id>.pdf")
@requires(READ)
def pdf(convention_id: int) -> Response:
    scope_or_403()
    convention = load_convention(convention_id)
    today = to_paris(utcnow()).date()
    with force_locale(DOCUMENT_LOCALE):
        result = render_pdf(
            "conventions_pdf/convention.html",
            convention=convention,
            controller_name=with_article(convention.controller.name),
            partner_name=with_article(convention.partner.name) if convention.partner else None,
            controller_capacity=capacity_of(convention.controller, convention.controller_signatory),
            partner_capacity=capacity_of(convention.partner, convention.partner_signatory),
            enforceable=enforceable(convention, today),
            long_date=lambda d: format_date(d, "long") if d else "",
        )
    return pdf_response(result, f"convention-{convention.reference or convention.id}.pdf")


# --- the home page's panel --------------------------------------------------------------------------


def conventions_panel(user: Any, now: datetime) -> Markup | None:
    """The conventions the user reads, at a glance: how many by status, the formal notices running, the
    next evaluation; a partner its own conventions."""
    scope = reader_scope(user)
    if scope is None:
        return None
    today = to_paris(now).date()
    rows = [r for r in _rows(user, today) if not r.convention.is_template]
    if not rows and not scope.everything:
        return None
    counts = Counter(r.status for r in rows)
    running_notices = 0
    if rows:
        running_notices = (
            db.session.scalar(
                sa.select(sa.func.count(FormalNotice.id)).where(
                    FormalNotice.convention_id.in_([r.convention.id for r in rows]),
                    FormalNotice.answered_on.is_(None),
                    FormalNotice.termination_notified_on.is_(None),
                )
            )
            or 0
        )
    upcoming = sorted(
        (r for r in rows if r.status in RUNNING and r.evaluation.days >= 0),
        key=lambda r: r.convention.evaluation_due_date,
    )
    html = render_template(
        "conventions/_panel.html",
        rows=rows if not scope.everything else [],
        counts=[
            (status, STATUS_LABELS[status], counts[status]) for status in ConventionStatus if counts[status]
        ],
        running_notices=running_notices,
        next_evaluation=upcoming[0] if upcoming else None,
        everything=scope.everything,
    )
    return Markup(html)  # noqa: S704  (an autoescaped template's output)
