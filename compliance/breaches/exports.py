"""The breach register (GDPR 33(5)) as CSV and PDF, and one breach's dossier as PDF.

Each export holds what its user may see (compliance.breaches.register): a partner its own breaches, the
DPO and the auditor every reported one, the auditor without their personal data. The register takes the
filters of the breach list (status, organisation_id, risk, year). PDFs go through vigie.pdf: user text is
autoescaped, and without a converter the user gets the printable page instead.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from compliance.breaches.models import Breach, BreachStatus, NotificationKind, RiskLevel
from compliance.breaches.register import (
    ACTION_STATUS_LABELS,
    NATURE_LABELS,
    NOTIFICATION_KIND_LABELS,
    RISK_LABELS,
    RISK_PENDING,
    RISK_SHORT_LABELS,
    STATUS_LABELS,
    BreachFilters,
    communication_due_dates,
    initial_notification,
    notification_is_late,
    parse_filters,
    register_breaches,
    sees_personal_data,
    visible_breaches,
    with_details,
)
from compliance.breaches.services import late_report_threshold, report_is_late
from vigie.auth.access import can, requires
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.deadlines.feeds import csv_cell
from vigie.deadlines.status import remaining_text
from vigie.extensions import db
from vigie.orgs.models import Organisation, OrganisationKind
from vigie.pdf import pdf_response, render_pdf
from vigie.timeutil import to_paris

bp = Blueprint("breach_exports", __name__, url_prefix="/breaches")

# The list's page number may come along with its filters: an export holds every page.
IGNORED_PARAMS = ("page",)


def paris_text(value: datetime | None) -> str:
    return "" if value is None else to_paris(value).strftime("%Y-%m-%d %H:%M")


def duration_text(value: timedelta | None) -> str:
    """A duration as hours and minutes (`26:05`), which a spreadsheet reads as a duration."""
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}:{rest:02d}"


def natures_text(breach: Breach) -> str:
    return ", ".join(str(NATURE_LABELS[n]) for n in breach.natures)


def yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


# --- CSV ---


def csv_header() -> list[str]:
    return [
        _("Reference"),
        _("Organisation"),
        _("Status"),
        _("Nature"),
        _("Started (Europe/Paris)"),
        _("Ended (Europe/Paris)"),
        _("Discovered (Europe/Paris)"),
        _("Reported to the Département (Europe/Paris)"),
        _("Report delay (h:min)"),
        _("Reported late"),
        _("Acknowledged (Europe/Paris)"),
        _("Département aware (Europe/Paris)"),
        _("CNIL deadline (Europe/Paris)"),
        _("What happened"),
        _("Circumstances"),
        _("Cause"),
        _("Categories of data"),
        _("Categories of people"),
        _("People affected (approx.)"),
        _("Records affected (approx.)"),
        _("Likely consequences"),
        _("Measures taken"),
        _("Measures proposed"),
        _("Risk"),
        _("Risk reasoning"),
        _("CNIL notification (Europe/Paris)"),
        _("CNIL reference"),
        _("Notified late"),
        _("Reasons for the delay"),
        _("Complementary notifications"),
        _("People informed (Europe/Paris)"),
        _("Channel"),
        _("People reached"),
        _("Closed (Europe/Paris)"),
        _("Closing summary"),
    ]


def csv_row(breach: Breach, personal: bool) -> list[str]:
    withheld = _("(withheld)")

    def text(value: str | None) -> str:
        if not personal:
            return withheld
        return value or ""

    initial = initial_notification(breach)
    complementary = [n for n in breach.notifications if n.kind == NotificationKind.COMPLEMENTARY]
    cells: list[object] = [
        breach.reference or "",
        breach.organisation.name,
        STATUS_LABELS[breach.status],
        natures_text(breach),
        paris_text(breach.started_at),
        paris_text(breach.ended_at),
        paris_text(breach.discovered_at),
        paris_text(breach.reported_to_controller_at),
        duration_text(breach.report_delay),
        yes_no(report_is_late(breach)),
        paris_text(breach.acknowledged_at),
        paris_text(breach.aware_at),
        paris_text(breach.cnil_deadline_at),
        text(breach.summary),
        text(breach.circumstances),
        text(breach.cause),
        text(breach.data_categories),
        text(breach.subject_categories),
        "" if breach.subjects_count is None else breach.subjects_count,
        "" if breach.records_count is None else breach.records_count,
        text(breach.consequences),
        text(breach.measures_taken),
        text(breach.measures_proposed),
        RISK_LABELS[breach.risk_level] if breach.risk_level else "",
        text(breach.risk_reasoning) if breach.risk_level else "",
        paris_text(initial.notified_at) if initial else "",
        (initial.cnil_reference or "") if initial else "",
        yes_no(notification_is_late(breach, initial)) if initial else "",
        text(initial.late_reasons) if initial and initial.late_reasons else "",
        len(complementary),
        paris_text(breach.subjects_informed_at),
        breach.subjects_channel or "",
        "" if breach.subjects_reached is None else breach.subjects_reached,
        paris_text(breach.closed_at),
        text(breach.closure_summary) if breach.closed_at else "",
    ]
    return [csv_cell(c) for c in cells]


def _filename(stem: str, extension: str) -> str:
    return f"{stem}-{to_paris(utcnow()):%Y%m%d}.{extension}"


@bp.route("/register.csv")
@requires(Permission.COMPLIANCE_VIEW)
def register_csv() -> Response:
    """The register as French Excel opens a CSV: UTF-8 with a byte-order mark, `;` between cells, times
    in Europe/Paris; a cell a spreadsheet would run as a formula is quoted."""
    filters = parse_filters(request.args, extra=IGNORED_PARAMS, drafts=False)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(csv_header())
    for breach in register_breaches(current_user, filters):
        writer.writerow(csv_row(breach, sees_personal_data(current_user, breach)))
    response = Response(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{_filename("vigie-breaches", "csv")}"'
    return response


# --- PDF ---


def filter_summary(filters: BreachFilters) -> list[str]:
    """The filters in words, printed on the register so a reader knows what it holds."""
    parts = []
    if filters.status is not None:
        parts.append(_("status: %(value)s", value=STATUS_LABELS[filters.status]))
    if filters.organisation_id is not None:
        # Named only when the user may see it: a partner naming another must not learn its name here.
        org = db.session.get(Organisation, filters.organisation_id)
        visible = org is not None and can(current_user, Permission.ORGS_VIEW, org.id)
        name = org.name if org is not None and visible else f"#{filters.organisation_id}"
        parts.append(_("organisation: %(value)s", value=name))
    if isinstance(filters.risk, RiskLevel):
        parts.append(_("risk: %(value)s", value=RISK_LABELS[filters.risk]))
    elif filters.risk == RISK_PENDING:
        parts.append(_("risk: %(value)s", value=_("not assessed yet")))
    if filters.year is not None:
        parts.append(_("reported in %(year)d", year=filters.year))
    return parts


def template_context() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "nature_labels": NATURE_LABELS,
        "risk_labels": RISK_LABELS,
        "risk_short_labels": RISK_SHORT_LABELS,
        "kind_labels": NOTIFICATION_KIND_LABELS,
        "action_status_labels": ACTION_STATUS_LABELS,
        "report_is_late": report_is_late,
        "notification_is_late": notification_is_late,
        "initial_notification": initial_notification,
        "elapsed_text": remaining_text,
        "late_threshold": _("%(hours)s h", hours=f"{late_report_threshold().total_seconds() / 3600:g}"),
    }


@bp.route("/register.pdf")
@requires(Permission.COMPLIANCE_VIEW)
def register_pdf() -> Response:
    """The register as a landscape A4 table (or, without a converter, the printable page)."""
    filters = parse_filters(request.args, extra=IGNORED_PARAMS, drafts=False)
    rows = [(b, sees_personal_data(current_user, b)) for b in register_breaches(current_user, filters)]
    result = render_pdf(
        "breaches_pdf/register.html",
        landscape=True,
        rows=rows,
        filters=filter_summary(filters),
        **template_context(),
    )
    return pdf_response(result, _filename("vigie-breaches", "pdf"))


@bp.route("/<int:breach_id>/dossier.pdf")
@requires(Permission.COMPLIANCE_VIEW)
def dossier_pdf(breach_id: int) -> Response:
    """One breach's full dossier, in the order of the CNIL's notification form, for the DPO to transcribe."""
    breach = db.session.scalar(with_details(visible_breaches(current_user).where(Breach.id == breach_id)))
    if breach is None:
        abort(404)
    controller = db.session.scalar(
        sa.select(Organisation)
        .where(Organisation.kind == OrganisationKind.CONTROLLER, Organisation.active.is_(True))
        .order_by(Organisation.id)
        .limit(1)
    )
    result = render_pdf(
        "breaches_pdf/dossier.html",
        breach=breach,
        personal=sees_personal_data(current_user, breach),
        controller=controller,
        communication_due=communication_due_dates([breach.id]).get(breach.id),
        draft=breach.status == BreachStatus.DRAFT,
        **template_context(),
    )
    name = (breach.reference or f"draft-{breach.id}").lower()
    return pdf_response(result, f"breach-{name}.pdf")
