"""The obligations scorecard: where each partner stands on its processor obligations (convention
art. 11; GDPR art. 28, 33) and the network's partners ordered by risk.

Five lines per partner, each `ok`, `warning`, `failing` or `not_applicable`, with a sentence and its
figures, and the records behind it:

1. DPO contact given: failing while a `processor.dpo_contact` deadline is overdue; warning without a
   current DPO contact (nothing overdue yet), or when it was supplied late in the last twelve months;
   ok with a current contact.
2. Staff list reviewed on time (`processor.staff_review` and `processor.staff_list_request`
   deadlines): failing while one is overdue; warning when one was met late in the last twelve months,
   or when no review and no request was ever recorded (the list has never been checked); ok otherwise.
3. Breaches reported on time (breaches reported in the last twelve months, the delay between their
   discovery and their report): failing when one came more than 72 hours after its discovery (the whole
   of the CNIL's delay, GDPR 33(1)), or after the configured threshold when that is longer; warning
   when one came after the configured threshold (BREACH_REPORT_LATE_HOURS, 24 h by default); ok
   otherwise; not applicable without any report in that time.
4. Inquiries answered on time (`access.inquiry` deadlines, three working days): failing while one is
   overdue; warning when one was answered late in the last twelve months; ok otherwise; not applicable
   without any inquiry in that time (and none waiting).
5. Sub-processors covered (active sub-processors): failing when one is not bound by contract clauses
   (GDPR 28(4)); warning when one processes data outside the EU (a transfer needs its safeguards,
   GDPR chapter V); ok otherwise; not applicable without any.

A deadline met exactly at its due time is on time; an open one is overdue once its due time has passed
(vigie.deadlines.status). Cancelled deadlines do not count.

Risk score: the sum of the lines' points, a failing line RISK_POINTS[FAILING] = 10 and a warning
RISK_POINTS[WARNING] = 1 (ok and not applicable: 0). One failing obligation thus outranks any number of
warnings the five lines can hold. The network lists the highest score first, then by name.

Performance: the network is computed in a fixed number of grouped queries (the partners, then one per
kind of record: DPO contacts, deadlines, breaches, sub-processors), whatever the number of partners.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import url_for
from flask_babel import format_date, format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from compliance.access_requests.services import INQUIRY_KIND
from compliance.breaches.models import CNIL_DELAY, Breach, BreachStatus
from compliance.breaches.services import late_report_threshold
from compliance.processor.models import PartnerDpo, SubProcessor
from compliance.processor.services import DPO_KIND
from vigie.auth.access import scope_to_user
from vigie.auth.roles import Permission
from vigie.deadlines.dashboard import twelve_months_before
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.deadlines.status import status_clause
from vigie.extensions import db
from vigie.orgs.models import Organisation, OrganisationKind
from vigie.timeutil import to_paris

STAFF_REVIEW_KIND = "processor.staff_review"
STAFF_REQUEST_KIND = "processor.staff_list_request"
KINDS = (DPO_KIND, STAFF_REVIEW_KIND, STAFF_REQUEST_KIND, INQUIRY_KIND)

# The partner's processor file (its DPO, staff, sub-processors).
PROCESSOR_FILE_ENDPOINT = "processor.show"


class LineStatus(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILING = "failing"
    NOT_APPLICABLE = "not_applicable"


STATUS_LABELS = {
    LineStatus.OK: _l("ok"),
    LineStatus.WARNING: _l("to watch"),
    LineStatus.FAILING: _l("failing"),
    LineStatus.NOT_APPLICABLE: _l("not applicable"),
}
RISK_POINTS = {
    LineStatus.FAILING: 10,
    LineStatus.WARNING: 1,
    LineStatus.OK: 0,
    LineStatus.NOT_APPLICABLE: 0,
}

DPO_LINE = "dpo_contact"
STAFF_LINE = "staff_review"
BREACH_LINE = "breach_reports"
INQUIRY_LINE = "inquiries"
SUB_PROCESSOR_LINE = "sub_processors"
LINE_LABELS = {
    DPO_LINE: _l("DPO contact given"),
    STAFF_LINE: _l("Staff list reviewed on time"),
    BREACH_LINE: _l("Breaches reported on time"),
    INQUIRY_LINE: _l("Inquiries answered on time"),
    SUB_PROCESSOR_LINE: _l("Sub-processors covered"),
}
LINE_CODES = tuple(LINE_LABELS)


# --- what a scorecard is made of ---------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """The records behind a line: a web page and, where there is one, the API's list, by endpoint. An
    endpoint the application does not have (a feature not installed) gives no URL."""

    key: str
    label: str
    endpoint: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    api_endpoint: str | None = None
    api_args: Mapping[str, Any] = field(default_factory=dict)

    def url(self) -> str | None:
        return _url(self.endpoint, self.args)

    def api_url(self) -> str | None:
        return _url(self.api_endpoint, self.api_args)


def _url(endpoint: str | None, args: Mapping[str, Any]) -> str | None:
    return None if endpoint is None else url_for(endpoint, **args)


@dataclass(frozen=True)
class Line:
    code: str
    status: LineStatus
    explanation: str
    figures: dict[str, int]
    links: tuple[Link, ...]

    @property
    def label(self) -> str:
        return str(LINE_LABELS[self.code])

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    def web_links(self) -> list[tuple[Link, str]]:
        """The links that have a web page in this application, with their URL."""
        resolved = [(link, link.url()) for link in self.links]
        return [(link, url) for link, url in resolved if url is not None]


@dataclass(frozen=True)
class Scorecard:
    organisation_id: int
    organisation_name: str
    computed_at: datetime
    lines: tuple[Line, ...]

    @property
    def risk(self) -> int:
        return sum(RISK_POINTS[line.status] for line in self.lines)

    @property
    def failing(self) -> int:
        return sum(1 for line in self.lines if line.status == LineStatus.FAILING)

    @property
    def warnings(self) -> int:
        return sum(1 for line in self.lines if line.status == LineStatus.WARNING)

    def line(self, code: str) -> Line:
        return next(line for line in self.lines if line.code == code)


def by_risk(cards: list[Scorecard]) -> list[Scorecard]:
    """The highest risk first; equal scores by name."""
    return sorted(cards, key=lambda c: (-c.risk, c.organisation_name.casefold(), c.organisation_id))


# --- the facts, one grouped query each ---------------------------------------------------------------

Scope = Callable[[Any], sa.ColumnElement[bool]]  # organisation column -> the partners concerned


@dataclass
class ClockFacts:
    """The deadlines of some kinds of one partner, summed up."""

    overdue: int = 0  # open, past their due time
    oldest_overdue: datetime | None = None
    pending: int = 0  # open, not yet due
    next_due: datetime | None = None
    met_on_time: int = 0  # in the last twelve months
    met_late: int = 0  # in the last twelve months
    met_ever: int = 0
    last_met: datetime | None = None

    def add(self, other: ClockFacts) -> ClockFacts:
        return ClockFacts(
            overdue=self.overdue + other.overdue,
            oldest_overdue=_earliest(self.oldest_overdue, other.oldest_overdue),
            pending=self.pending + other.pending,
            next_due=_earliest(self.next_due, other.next_due),
            met_on_time=self.met_on_time + other.met_on_time,
            met_late=self.met_late + other.met_late,
            met_ever=self.met_ever + other.met_ever,
            last_met=max((d for d in (self.last_met, other.last_met) if d is not None), default=None),
        )


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min((d for d in (a, b) if d is not None), default=None)


@dataclass
class BreachFacts:
    reported: int = 0  # in the last twelve months
    late: int = 0  # after the configured threshold
    very_late: int = 0  # after 72 hours (or the threshold, if longer)


@dataclass
class SubProcessorFacts:
    active: int = 0
    without_clauses: int = 0
    outside_eu: int = 0


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _clock_facts(scope: Scope, now: datetime) -> dict[tuple[int, str], ClockFacts]:
    since = twelve_months_before(now)
    overdue = status_clause("overdue", now)
    pending = sa.and_(Deadline.state == DeadlineState.OPEN, Deadline.due_at >= now)
    met = Deadline.state == DeadlineState.MET
    recent = Deadline.met_at >= since
    stmt = (
        sa.select(
            Deadline.organisation_id,
            Deadline.kind,
            _count(overdue).label("overdue"),
            sa.func.min(sa.case((overdue, Deadline.due_at))).label("oldest_overdue"),
            _count(pending).label("pending"),
            sa.func.min(sa.case((pending, Deadline.due_at))).label("next_due"),
            _count(sa.and_(status_clause("met_on_time", now), recent)).label("met_on_time"),
            _count(sa.and_(status_clause("met_late", now), recent)).label("met_late"),
            _count(met).label("met_ever"),
            sa.func.max(sa.case((met, Deadline.met_at))).label("last_met"),
        )
        .where(Deadline.kind.in_(KINDS), scope(Deadline.organisation_id))
        .group_by(Deadline.organisation_id, Deadline.kind)
    )
    return {
        (row.organisation_id, row.kind): ClockFacts(
            overdue=int(row.overdue),
            oldest_overdue=row.oldest_overdue,
            pending=int(row.pending),
            next_due=row.next_due,
            met_on_time=int(row.met_on_time),
            met_late=int(row.met_late),
            met_ever=int(row.met_ever),
            last_met=row.last_met,
        )
        for row in db.session.execute(stmt)
    }


def _current_dpos(scope: Scope) -> dict[int, date]:
    """The partners with a current DPO contact, and since when."""
    stmt = (
        sa.select(PartnerDpo.organisation_id, sa.func.max(PartnerDpo.since))
        .where(PartnerDpo.until.is_(None), scope(PartnerDpo.organisation_id))
        .group_by(PartnerDpo.organisation_id)
    )
    return {org_id: since for org_id, since in db.session.execute(stmt)}


def _breach_facts(scope: Scope, now: datetime) -> dict[int, BreachFacts]:
    """The breaches reported in the last twelve months, their delay measured as the breach register
    measures it (Breach.report_delay against the configured threshold). The delay is compared in Python:
    a portable SQL interval is not; the rows are those of a year's reports, not of the deadline table."""
    threshold = late_report_threshold()
    failing_after = max(threshold, CNIL_DELAY)
    stmt = sa.select(Breach.organisation_id, Breach.discovered_at, Breach.reported_to_controller_at).where(
        Breach.status != BreachStatus.DRAFT,
        Breach.discovered_at.is_not(None),
        Breach.reported_to_controller_at >= twelve_months_before(now),
        scope(Breach.organisation_id),
    )
    facts: dict[int, BreachFacts] = {}
    for org_id, discovered_at, reported_at in db.session.execute(stmt):
        if discovered_at is None or reported_at is None:
            continue  # excluded by the query: for the type checker
        delay = reported_at - discovered_at
        found = facts.setdefault(org_id, BreachFacts())
        found.reported += 1
        found.late += int(delay > threshold)
        found.very_late += int(delay > failing_after)
    return facts


def _sub_processor_facts(scope: Scope) -> dict[int, SubProcessorFacts]:
    active = SubProcessor.ended_on.is_(None)  # as processor.services.sub_processors_of: not ended
    stmt = (
        sa.select(
            SubProcessor.organisation_id,
            sa.func.count(SubProcessor.id).label("active"),
            _count(SubProcessor.clauses_in_place.is_(False)).label("without_clauses"),
            _count(SubProcessor.data_outside_eu.is_(True)).label("outside_eu"),
        )
        .where(active, scope(SubProcessor.organisation_id))
        .group_by(SubProcessor.organisation_id)
    )
    return {
        row.organisation_id: SubProcessorFacts(
            active=int(row.active), without_clauses=int(row.without_clauses), outside_eu=int(row.outside_eu)
        )
        for row in db.session.execute(stmt)
    }


# --- the lines -----------------------------------------------------------------------------------------


def _day(value: datetime | date) -> str:
    day = to_paris(value).date() if isinstance(value, datetime) else value
    return format_date(day, "medium")


def _deadline_link(key: str, label: str, kind: str, org_id: int) -> Link:
    args = {"kind": kind, "organisation_id": org_id}
    return Link(key, label, "deadlines.index", args, "api.deadlines", args)


def _file_link(org_id: int, label: str, api_endpoint: str | None = None) -> Link:
    return Link(
        "processor_file",
        label,
        PROCESSOR_FILE_ENDPOINT,
        {"org_id": org_id},
        api_endpoint,
        {"org_id": org_id} if api_endpoint else {},
    )


def _clock_figures(facts: ClockFacts) -> dict[str, int]:
    return {
        "overdue": facts.overdue,
        "pending": facts.pending,
        "met_on_time": facts.met_on_time,
        "met_late": facts.met_late,
        "met_ever": facts.met_ever,
    }


def _dpo_line(org_id: int, dpo_since: date | None, clocks: ClockFacts) -> Line:
    figures = {"current_contact": int(dpo_since is not None), **_clock_figures(clocks)}
    if clocks.overdue and clocks.oldest_overdue is not None:
        status = LineStatus.FAILING
        text = _(
            "The DPO's contact details were due on %(date)s and are still missing.",
            date=_day(clocks.oldest_overdue),
        )
    elif dpo_since is None:
        status = LineStatus.WARNING
        text = _("No DPO contact recorded yet.")
        if clocks.next_due is not None:
            text += " " + _("Due on %(date)s.", date=_day(clocks.next_due))
    elif clocks.met_late:
        status = LineStatus.WARNING
        text = _("DPO contact given since %(date)s, after its due date.", date=_day(dpo_since))
    else:
        status = LineStatus.OK
        text = _("DPO contact given since %(date)s.", date=_day(dpo_since))
    links = (
        _file_link(org_id, _("Processor file")),
        _deadline_link("deadlines_dpo_contact", _("DPO contact deadline"), DPO_KIND, org_id),
    )
    return Line(DPO_LINE, status, text, figures, links)


def _staff_line(org_id: int, clocks: ClockFacts) -> Line:
    recent = clocks.met_on_time + clocks.met_late
    if clocks.overdue and clocks.oldest_overdue is not None:
        status = LineStatus.FAILING
        text = ngettext(
            "%(num)d request or review of the staff list is overdue, since %(date)s.",
            "%(num)d requests or reviews of the staff list are overdue, the oldest since %(date)s.",
            clocks.overdue,
            date=_day(clocks.oldest_overdue),
        )
    elif clocks.met_late:
        status = LineStatus.WARNING
        text = ngettext(
            "%(late)d of %(num)d request or review of the staff list met late in the last 12 months.",
            "%(late)d of %(num)d requests or reviews of the staff list met late in the last 12 months.",
            recent,
            late=clocks.met_late,
        )
    elif not clocks.met_ever and not clocks.pending:
        status = LineStatus.WARNING
        text = _("The list of authorised staff has never been requested nor reviewed.")
    else:
        status = LineStatus.OK
        if recent:
            text = ngettext(
                "%(num)d request or review of the staff list met on time in the last 12 months.",
                "%(num)d requests or reviews of the staff list met on time in the last 12 months.",
                recent,
            )
        elif clocks.last_met is not None:
            text = _("Last request or review met on %(date)s.", date=_day(clocks.last_met))
        else:
            text = _("No request or review due yet.")
        if clocks.next_due is not None:
            text += " " + _("Next due on %(date)s.", date=_day(clocks.next_due))
    links = (
        _file_link(org_id, _("Authorised staff"), "api.staff_list"),
        _deadline_link("deadlines_staff_review", _("Staff-list reviews"), STAFF_REVIEW_KIND, org_id),
        _deadline_link("deadlines_staff_list_request", _("Staff-list requests"), STAFF_REQUEST_KIND, org_id),
    )
    return Line(STAFF_LINE, status, text, _clock_figures(clocks), links)


def _hours(delta: timedelta) -> str:
    return str(format_decimal(delta.total_seconds() / 3600, format="#,##0.#"))


def _breach_line(org_id: int, facts: BreachFacts) -> Line:
    threshold = late_report_threshold()
    figures = {"reported": facts.reported, "late": facts.late, "very_late": facts.very_late}
    if not facts.reported:
        status = LineStatus.NOT_APPLICABLE
        text = _("No breach reported in the last 12 months.")
    elif facts.very_late:
        status = LineStatus.FAILING
        text = ngettext(
            "%(late)d of %(num)d breach reported in the last 12 months came more than %(hours)s hours "
            "after its discovery.",
            "%(late)d of %(num)d breaches reported in the last 12 months came more than %(hours)s hours "
            "after their discovery.",
            facts.reported,
            late=facts.very_late,
            hours=_hours(max(threshold, CNIL_DELAY)),
        )
    elif facts.late:
        status = LineStatus.WARNING
        text = ngettext(
            "%(late)d of %(num)d breach reported in the last 12 months came more than %(hours)s hours "
            "after its discovery.",
            "%(late)d of %(num)d breaches reported in the last 12 months came more than %(hours)s hours "
            "after their discovery.",
            facts.reported,
            late=facts.late,
            hours=_hours(threshold),
        )
    else:
        status = LineStatus.OK
        text = ngettext(
            "%(num)d breach reported in the last 12 months, within %(hours)s hours of its discovery.",
            "%(num)d breaches reported in the last 12 months, each within %(hours)s hours of its discovery.",
            facts.reported,
            hours=_hours(threshold),
        )
    args = {"organisation_id": org_id}
    links = (Link("breaches", _("Breaches of this partner"), "breaches.index", args, "api.breaches", args),)
    return Line(BREACH_LINE, status, text, figures, links)


def _inquiry_line(org_id: int, clocks: ClockFacts) -> Line:
    recent = clocks.met_on_time + clocks.met_late
    web_args: dict[str, Any] = {"organisation_id": org_id}
    if clocks.overdue and clocks.oldest_overdue is not None:
        status = LineStatus.FAILING
        text = ngettext(
            "%(num)d inquiry unanswered after its three working days, due on %(date)s.",
            "%(num)d inquiries unanswered after their three working days, the oldest due on %(date)s.",
            clocks.overdue,
            date=_day(clocks.oldest_overdue),
        )
        web_args["overdue"] = "1"
    elif clocks.met_late:
        status = LineStatus.WARNING
        text = ngettext(
            "%(late)d of %(num)d inquiry of the last 12 months answered late.",
            "%(late)d of %(num)d inquiries of the last 12 months answered late.",
            recent,
            late=clocks.met_late,
        )
    elif not recent and not clocks.pending:
        status = LineStatus.NOT_APPLICABLE
        text = _("No inquiry in the last 12 months.")
    else:
        status = LineStatus.OK
        text = ngettext(
            "%(num)d inquiry of the last 12 months answered on time.",
            "%(num)d inquiries of the last 12 months answered on time.",
            recent,
        )
        if clocks.pending:
            text += " " + ngettext(
                "%(num)d waiting, not yet due.", "%(num)d waiting, not yet due.", clocks.pending
            )
    links = (
        Link(
            "inquiries",
            _("Inquiries of this partner"),
            "inquiries.index",
            web_args,
            "api.inquiries",
            {"organisation_id": org_id},
        ),
        _deadline_link("deadlines_inquiries", _("Inquiry deadlines"), INQUIRY_KIND, org_id),
    )
    return Line(INQUIRY_LINE, status, text, _clock_figures(clocks), links)


def _sub_processor_line(org_id: int, facts: SubProcessorFacts) -> Line:
    figures = {
        "active": facts.active,
        "without_clauses": facts.without_clauses,
        "outside_eu": facts.outside_eu,
    }
    parts: list[str] = []
    if facts.without_clauses:
        parts.append(
            ngettext(
                "%(missing)d of %(num)d active sub-processor is not bound by contract clauses.",
                "%(missing)d of %(num)d active sub-processors are not bound by contract clauses.",
                facts.active,
                missing=facts.without_clauses,
            )
        )
    if facts.outside_eu:
        parts.append(
            ngettext(
                "%(outside)d of %(num)d active sub-processor processes data outside the EU.",
                "%(outside)d of %(num)d active sub-processors process data outside the EU.",
                facts.active,
                outside=facts.outside_eu,
            )
        )
    if not facts.active:
        status = LineStatus.NOT_APPLICABLE
        parts.append(_("No active sub-processor declared."))
    elif facts.without_clauses:
        status = LineStatus.FAILING
    elif facts.outside_eu:
        status = LineStatus.WARNING
    else:
        status = LineStatus.OK
        parts.append(
            ngettext(
                "%(num)d active sub-processor, bound by contract clauses, data in the EU.",
                "%(num)d active sub-processors, all bound by contract clauses, data in the EU.",
                facts.active,
            )
        )
    links = (
        Link(
            "sub_processors",
            _("Sub-processors"),
            PROCESSOR_FILE_ENDPOINT,
            {"org_id": org_id},
            "api.sub_processors",
            {"org_id": org_id},
        ),
    )
    return Line(SUB_PROCESSOR_LINE, status, " ".join(parts), figures, links)


# --- the scorecards ------------------------------------------------------------------------------------


def _scorecards(partners: list[tuple[int, str]], scope: Scope, now: datetime) -> list[Scorecard]:
    if not partners:
        return []
    clocks = _clock_facts(scope, now)
    dpos = _current_dpos(scope)
    breaches = _breach_facts(scope, now)
    subs = _sub_processor_facts(scope)

    def of(org_id: int, *kinds: str) -> ClockFacts:
        total = ClockFacts()
        for kind in kinds:
            total = total.add(clocks.get((org_id, kind), ClockFacts()))
        return total

    cards = []
    for org_id, name in partners:
        lines = (
            _dpo_line(org_id, dpos.get(org_id), of(org_id, DPO_KIND)),
            _staff_line(org_id, of(org_id, STAFF_REVIEW_KIND, STAFF_REQUEST_KIND)),
            _breach_line(org_id, breaches.get(org_id, BreachFacts())),
            _inquiry_line(org_id, of(org_id, INQUIRY_KIND)),
            _sub_processor_line(org_id, subs.get(org_id, SubProcessorFacts())),
        )
        cards.append(Scorecard(org_id, name, now, lines))
    return cards


def network_scorecards(user: Any, now: datetime) -> list[Scorecard]:
    """The scorecard of every active partner the user may see (the DPO and the auditor: all of them; a
    partner: its own), the highest risk first. Five queries whatever the number of partners."""
    partners_stmt = scope_to_user(
        cast(
            "sa.Select[Any]",
            sa.select(Organisation.id, Organisation.name).where(
                Organisation.kind == OrganisationKind.PARTNER, Organisation.active.is_(True)
            ),
        ),
        Organisation.id,
        Permission.COMPLIANCE_VIEW,
        user,
    )
    partners = [(row.id, row.name) for row in db.session.execute(partners_stmt)]
    ids = partners_stmt.with_only_columns(Organisation.id)
    return by_risk(_scorecards(partners, lambda column: column.in_(ids), now))


def partner_scorecard(organisation: Organisation, now: datetime) -> Scorecard:
    """One partner's scorecard (an inactive partner's too: its history stays readable)."""
    partner = [(organisation.id, organisation.name)]
    return _scorecards(partner, lambda column: column == organisation.id, now)[0]
