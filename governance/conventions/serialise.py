"""Who reads which conventions, the labels of their states, the one way a convention list is filtered
(the legal service's home, its CSV, the API), the JSON shapes of the API and its request bodies.

Who reads (a decision, explained in conventions/views.py's docstring): the legal service (it edits), the
auditor, the steering committee and the DPO read every convention; a partner reads the conventions its
organisation is a party to, and no template; the administrator reads none. One function says it,
reader_scope(); every page, export and API route starts from visible_conventions().

The API's days are ISO dates (YYYY-MM-DD). A reception time may also be given as an ISO 8601 time WITH its
offset (the day is then taken in Europe/Paris); a time without an offset is refused (422).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, BeforeValidator, Field

from governance.conventions.models import (
    Amendment,
    Convention,
    ConventionStatus,
    Deliberation,
    EvaluationDecision,
    FormalNotice,
)
from governance.conventions.services import (
    DeliberationData,
    acknowledgement_problems,
    effective_status,
    parse_acknowledgement,
)
from vigie.api.params import PAGE_PARAMS, Page, parse_page, refuse_invalid
from vigie.api.params import positive_int as _positive_int
from vigie.api.schemas import Strict
from vigie.auth.access import can
from vigie.auth.roles import Permission, Role
from vigie.deadlines.models import Deadline
from vigie.deadlines.serialise import DeadlineOut
from vigie.deadlines.services import visible_deadlines
from vigie.errors import Conflict, ValidationFailed
from vigie.extensions import db
from vigie.timeutil import to_paris

STATUS_LABELS = {
    ConventionStatus.DRAFT: _l("draft"),
    ConventionStatus.APPROVED: _l("approved by deliberation"),
    ConventionStatus.SIGNED: _l("signed"),
    ConventionStatus.TRANSMITTED: _l("transmitted to the prefecture"),
    ConventionStatus.IN_FORCE: _l("in force"),
    ConventionStatus.UNDER_EVALUATION: _l("under evaluation"),
    ConventionStatus.RENEWED: _l("renewed"),
    ConventionStatus.EXPIRED: _l("expired"),
    ConventionStatus.TERMINATED: _l("terminated"),
}
DECISION_LABELS = {
    EvaluationDecision.RENEW: _l("renew"),
    EvaluationDecision.RENEGOTIATE: _l("renegotiate"),
    EvaluationDecision.END: _l("end"),
}
# A running convention: its term counts down (expiry, evaluation).
RUNNING = (ConventionStatus.TRANSMITTED, ConventionStatus.IN_FORCE, ConventionStatus.UNDER_EVALUATION)


# --- who reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReaderScope:
    """Every convention (organisation_id None), or the conventions of one partner organisation."""

    organisation_id: int | None = None

    @property
    def everything(self) -> bool:
        return self.organisation_id is None


def reader_scope(user: Any) -> ReaderScope | None:
    """Which conventions the user reads; None: none at all (403)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return None
    if (
        can(user, Permission.CONVENTIONS_VIEW)  # the legal service, the auditor
        or can(user, Permission.GOVERNANCE_VIEW)  # the steering committee (renewal, art. 8-9)
        or can(user, Permission.COMPLIANCE_CONTROL)  # the DPO (art. 11 is the art. 28 contract)
    ):
        return ReaderScope()
    if Role.PARTNER in user.roles and user.organisation_id is not None:
        return ReaderScope(organisation_id=user.organisation_id)
    return None


def visible_conventions(user: Any) -> sa.Select[Any]:
    scope = reader_scope(user)
    stmt = sa.select(Convention)
    if scope is None:
        return stmt.where(sa.false())
    if scope.organisation_id is not None:
        stmt = stmt.where(Convention.partner_id == scope.organisation_id, Convention.is_template.is_(False))
    return stmt


def convention_clocks(user: Any, convention: Convention, notices: list[FormalNotice]) -> list[Deadline]:
    """The convention's own clocks (its evaluation, its formal notices' 30 days) the user may see."""
    subjects = sa.or_(
        sa.and_(Deadline.subject_type == "convention", Deadline.subject_id == convention.id),
        sa.and_(
            Deadline.subject_type == "formal_notice",
            Deadline.subject_id.in_([n.id for n in notices]) if notices else sa.false(),
        ),
    )
    stmt = visible_deadlines(user).where(subjects).order_by(Deadline.due_at, Deadline.id)
    return list(db.session.scalars(stmt))


def reads(user: Any, convention: Convention) -> bool:
    scope = reader_scope(user)
    if scope is None:
        return False
    return scope.everything or (not convention.is_template and convention.partner_id == scope.organisation_id)


# --- guards services.py does not hold yet (see the report): a unique column is a 409, never a 500 ----


def ensure_reference_free(reference: str | None) -> None:
    value = (reference or "").strip()
    if value and db.session.scalar(sa.select(Convention.id).where(Convention.reference == value)) is not None:
        raise Conflict(
            _("Another convention has the reference %(reference)s.", reference=value),
            {"reference": _("Already used.")},
        )


def ensure_acknowledgement_free(convention: Convention, acknowledgement_id: str) -> None:
    """An id that matches this convention's partner and deliberation but is recorded for another convention
    (two conventions approved by one deliberation): a conflict. A mismatching or malformed id is left to
    record_transmission, which says what differs."""
    value = acknowledgement_id.strip()
    other = db.session.scalar(
        sa.select(Convention.id).where(Convention.acknowledgement_id == value, Convention.id != convention.id)
    )
    if other is None or convention.partner is None or convention.deliberation is None:
        return
    try:
        ack = parse_acknowledgement(value)
    except ValidationFailed:
        return
    if acknowledgement_problems(ack, convention.partner, convention.deliberation):
        return
    raise Conflict(
        _("This acknowledgement id is recorded for another convention already."),
        {"acknowledgement_id": _("Already used.")},
    )


# --- the effective status in SQL ------------------------------------------------------------------


def status_clause(status: ConventionStatus, today: date) -> sa.ColumnElement[bool]:
    """The conventions whose effective_status() on `today` is `status` (the same rule, in SQL)."""
    stored = Convention.status
    ended = Convention.end_date < today
    if status == ConventionStatus.TRANSMITTED:
        return sa.and_(stored == status, Convention.start_date > today, sa.not_(ended))
    if status == ConventionStatus.IN_FORCE:
        begun = sa.and_(stored == ConventionStatus.TRANSMITTED, Convention.start_date <= today)
        return sa.and_(sa.or_(stored == status, begun), sa.not_(ended))
    if status == ConventionStatus.UNDER_EVALUATION:
        return sa.and_(stored == status, sa.not_(ended))
    if status == ConventionStatus.EXPIRED:
        return sa.or_(stored == status, sa.and_(stored.in_(RUNNING), ended))
    return stored == status


# --- list filters (API, CSV, pages) ---------------------------------------------------------------

FILTER_PARAMS = ("status", "partner_id")


@dataclass(frozen=True)
class ConventionFilters:
    status: ConventionStatus | None = None
    partner_id: int | None = None
    page: Page = field(default_factory=Page)

    def apply(self, stmt: sa.Select[Any], today: date) -> sa.Select[Any]:
        if self.status is not None:
            stmt = stmt.where(status_clause(self.status, today))
        if self.partner_id is not None:
            stmt = stmt.where(Convention.partner_id == self.partner_id)
        return stmt


def parse_filters(args: Any, paged: bool = True) -> ConventionFilters:
    """status (an effective status), partner_id, and page/per_page when paged. An empty value means no
    filter; an unknown value, a repeated or an unknown parameter is refused with its field named."""
    allowed = (*FILTER_PARAMS, *(PAGE_PARAMS if paged else ()))
    fields: dict[str, str] = {}
    values: dict[str, str] = {}
    for name in args:
        given = args.getlist(name) if hasattr(args, "getlist") else [args[name]]
        if name not in allowed:
            fields[name] = _(
                "Unknown parameter %(name)s: the parameters are %(allowed)s.",
                name=repr(name)[:60],
                allowed=", ".join(allowed),
            )
        elif len(given) > 1:
            fields[name] = _("Give this parameter once.")
        elif given[0].strip():
            values[name] = given[0].strip()
    status = None
    if "status" in values:
        try:
            status = ConventionStatus(values["status"])
        except ValueError:
            fields["status"] = _(
                "Unknown status %(value)s: choose among %(choices)s.",
                value=repr(values["status"])[:60],
                choices=", ".join(s.value for s in ConventionStatus),
            )
    partner_id = None
    if "partner_id" in values:
        partner_id = _positive_int(values["partner_id"])
        if partner_id is None:
            fields["partner_id"] = _("An organisation is named by its id, a positive whole number.")
    page = parse_page(values, fields)
    refuse_invalid(fields)
    return ConventionFilters(status=status, partner_id=partner_id, page=page)


# --- request bodies -------------------------------------------------------------------------------

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(_("Give the day as YYYY-MM-DD."))
    return value


def day_or_aware_time(value: Any) -> Any:
    """A day (YYYY-MM-DD), or an ISO 8601 time with its offset read as its Europe/Paris day."""
    if not isinstance(value, str):
        raise ValueError(_("Give the day as YYYY-MM-DD, or a time with its offset."))
    text = value.strip()
    if _DAY.fullmatch(text):
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            _("Give the day as YYYY-MM-DD, or a time with its offset such as 2025-04-15T10:00:00+02:00.")
        ) from None
    if moment.tzinfo is None:
        raise ValueError(_("A time without its UTC offset is ambiguous: add it, or give the day alone."))
    return to_paris(moment).date()


IsoDay = Annotated[date, BeforeValidator(_day)]
DayOrTime = Annotated[
    date,
    BeforeValidator(day_or_aware_time),
    Field(description="YYYY-MM-DD, or an ISO 8601 time with its offset (its day in Europe/Paris)"),
]


class TransmissionIn(Strict):
    acknowledgement_id: str = Field(
        min_length=1,
        max_length=80,
        description="department-SIREN-date-number-nature, e.g. 004-240400440-20250403-37-2025-DE",
    )
    received_at: DayOrTime
    published_at: DayOrTime | None = None


class DeliberationIn(Strict):
    organisation_id: int
    assembly: str = Field(min_length=1, max_length=200, description="conseil communautaire, …")
    number: str = Field(min_length=1, max_length=40)
    adopted_on: IsoDay
    subject: str = Field(min_length=1, max_length=5000, description="The deliberation's object")
    theme: str | None = Field(default=None, max_length=200)
    members_in_office: int = Field(ge=0)
    members_present: int = Field(ge=0)
    members_represented: int = Field(default=0, ge=0, description="Represented by a proxy")
    votes_for: int = Field(ge=0)
    votes_against: int = Field(default=0, ge=0)
    abstentions: int = Field(default=0, ge=0)
    secretary: str | None = Field(default=None, max_length=200)

    def data(self) -> DeliberationData:
        return DeliberationData(**self.model_dump())


# --- responses ------------------------------------------------------------------------------------


class PartyOut(BaseModel):
    id: int
    name: str
    siren: str | None


class DeliberationOut(BaseModel):
    id: int
    organisation_id: int
    assembly: str
    number: str
    adopted_on: date
    theme: str | None
    subject: str
    members_in_office: int
    members_present: int
    members_represented: int
    votes_for: int
    votes_against: int
    abstentions: int
    votes_cast: int = Field(description="for + against (abstentions excluded)")
    secretary: str | None


class AmendmentOut(BaseModel):
    id: int
    number: int
    signed_on: date
    changes: str
    deliberation_id: int | None


class NoticeOut(BaseModel):
    id: int
    sent_on: date
    received_on: date | None
    tracking_number: str | None
    grounds: str
    answer_due_date: date = Field(description="The end of the 30 days (art. 10)")
    answered_on: date | None
    termination_sent_on: date | None
    termination_notified_on: date | None


class ConventionSummaryOut(BaseModel):
    id: int
    title: str
    reference: str | None
    is_template: bool
    controller: PartyOut
    partner: PartyOut | None
    status: ConventionStatus = Field(description="The effective status: the recorded one, moved on by time")
    status_label: str
    enforceable: bool = Field(description="Only once transmitted to the prefecture, until it ends")
    start_date: date
    end_date: date
    evaluation_due_date: date = Field(description="Two months before the end (art. 9)")
    acknowledgement_id: str | None
    transmitted_on: date | None
    published_on: date | None
    ended_on: date | None


class ConventionOut(ConventionSummaryOut):
    deliberation: DeliberationOut | None
    controller_signatory: str | None
    controller_signed_on: date | None
    partner_signatory: str | None
    partner_signed_on: date | None
    signed_scan: bool
    articles_count: int
    amendments: list[AmendmentOut]
    notices: list[NoticeOut]
    previous_id: int | None
    next_id: int | None
    deadlines: list[DeadlineOut] = Field(description="The convention's clocks the user may see")


class ConventionPageOut(BaseModel):
    items: list[ConventionSummaryOut]
    page: int
    per_page: int
    total: int = Field(description="How many conventions match, on every page")


def party_out(org: Any) -> PartyOut:
    return PartyOut(id=org.id, name=org.name, siren=org.siren)


def deliberation_out(deliberation: Deliberation) -> DeliberationOut:
    return DeliberationOut(
        id=deliberation.id,
        organisation_id=deliberation.organisation_id,
        assembly=deliberation.assembly,
        number=deliberation.number,
        adopted_on=deliberation.adopted_on,
        theme=deliberation.theme,
        subject=deliberation.subject,
        members_in_office=deliberation.members_in_office,
        members_present=deliberation.members_present,
        members_represented=deliberation.members_represented,
        votes_for=deliberation.votes_for,
        votes_against=deliberation.votes_against,
        abstentions=deliberation.abstentions,
        votes_cast=deliberation.votes_cast,
        secretary=deliberation.secretary,
    )


def _summary_fields(convention: Convention, today: date) -> dict[str, Any]:
    status = effective_status(convention, today)
    return {
        "id": convention.id,
        "title": convention.title,
        "reference": convention.reference,
        "is_template": convention.is_template,
        "controller": party_out(convention.controller),
        "partner": party_out(convention.partner) if convention.partner is not None else None,
        "status": status,
        "status_label": str(STATUS_LABELS[status]),
        "enforceable": enforceable(convention, today),
        "start_date": convention.start_date,
        "end_date": convention.end_date,
        "evaluation_due_date": convention.evaluation_due_date,
        "acknowledgement_id": convention.acknowledgement_id,
        "transmitted_on": convention.transmitted_on,
        "published_on": convention.published_on,
        "ended_on": convention.ended_on,
    }


def enforceable(convention: Convention, today: date) -> bool:
    """Transmitted, not terminated, and its term not over on that day (the model's property, moved on by
    time: a renewed convention stops being enforceable at its end, when the next one takes over)."""
    return convention.enforceable and convention.end_date >= today


def convention_summary_out(convention: Convention, today: date) -> ConventionSummaryOut:
    return ConventionSummaryOut(**_summary_fields(convention, today))


def notice_out(notice: FormalNotice) -> NoticeOut:
    return NoticeOut(
        id=notice.id,
        sent_on=notice.sent_on,
        received_on=notice.received_on,
        tracking_number=notice.tracking_number,
        grounds=notice.grounds,
        answer_due_date=notice.answer_due_date,
        answered_on=notice.answered_on,
        termination_sent_on=notice.termination_sent_on,
        termination_notified_on=notice.termination_notified_on,
    )


def amendment_out(amendment: Amendment) -> AmendmentOut:
    return AmendmentOut(
        id=amendment.id,
        number=amendment.number,
        signed_on=amendment.signed_on,
        changes=amendment.changes,
        deliberation_id=amendment.deliberation_id,
    )


def convention_out(
    convention: Convention,
    today: date,
    notices: list[FormalNotice],
    next_id: int | None,
    deadlines: list[DeadlineOut],
) -> ConventionOut:
    return ConventionOut(
        **_summary_fields(convention, today),
        deliberation=deliberation_out(convention.deliberation) if convention.deliberation else None,
        controller_signatory=convention.controller_signatory,
        controller_signed_on=convention.controller_signed_on,
        partner_signatory=convention.partner_signatory,
        partner_signed_on=convention.partner_signed_on,
        signed_scan=convention.signed_scan_key is not None,
        articles_count=len(convention.articles),
        amendments=[amendment_out(a) for a in convention.amendments],
        notices=[notice_out(n) for n in notices],
        previous_id=convention.previous_id,
        next_id=next_id,
        deadlines=deadlines,
    )


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
