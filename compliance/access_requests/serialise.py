"""The JSON shapes of a request from a data subject and of an inquiry (API, CSV export), what each
reader may see of them, and the one way their lists are filtered from the outside (API, CSV).

What a reader sees:
- the DPO and the auditor: everything;
- a partner: the requests its organisation recorded (identity included: it met the person) and, in
  them, only its own inquiries; its inquiries about requests it did not record carry only what it needs
  to search its files (`search_details`), never the person's identity fields nor another partner's
  answer.

Times are ISO 8601 in Europe/Paris with their offset (`2025-05-13T23:59:59+02:00`); day-based deadlines
carry `..._date` (the last day allowed, Paris) and `..._at` (23:59:59 that day, Paris).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from flask_babel import gettext as _
from pydantic import AwareDatetime, BaseModel, EmailStr, Field, PlainSerializer, StrictBool

from compliance.access_requests.models import AccessRequest, Inquiry, Outcome, RequestStatus, Right
from compliance.access_requests.services import forwarding_is_late
from vigie.api.params import PAGE_PARAMS, Page, parse_page, refuse_invalid
from vigie.api.params import positive_int as _positive_int
from vigie.api.schemas import Strict
from vigie.auth.access import can, reaches_all_organisations
from vigie.auth.roles import Permission
from vigie.deadlines.calendar import end_of_day, paris_date
from vigie.timeutil import to_paris

REQUEST_FILTERS = ("status", "overdue", "organisation_id")
INQUIRY_FILTERS = ("answered", "overdue", "organisation_id", "request_id")

PARIS_ISO = "ISO 8601 in Europe/Paris, with its offset"


def paris_iso(value: datetime | None) -> str | None:
    return None if value is None else to_paris(value).isoformat()


# --- Bodies ---


class RequestIn(Strict):
    right: Right = Field(description="access (GDPR 15), rectification, erasure, restriction, ...")
    received_at: AwareDatetime = Field(description="When the person's request arrived, with its offset")
    subject_name: str = Field(min_length=1, max_length=300)
    subject_email: EmailStr | None = None
    received_by_organisation_id: int = Field(
        description="The Département (controller) or the partner that received it; a partner records "
        "only its own, and its record forwards the request to the Département at once"
    )
    subject_phone: str | None = Field(default=None, max_length=50)
    subject_address: str | None = Field(default=None, max_length=1000)
    request_text: str | None = Field(default=None, max_length=10000, description="What the person asked")
    channel: str | None = Field(default=None, max_length=100, description="How it arrived (letter, desk…)")


class InquiryIn(Strict):
    organisation_id: int = Field(description="The partner asked what it holds")
    requested_at: AwareDatetime | None = Field(
        default=None, description="When the partner is asked (now when absent); three working days from it"
    )
    search_details: str | None = Field(
        default=None,
        max_length=2000,
        description="What the partner needs to find the person (name, card number…); "
        "the person's name when absent",
    )


class InquiryAnswerIn(Strict):
    holds_data: StrictBool
    details: str | None = Field(default=None, max_length=10000, description="What the library holds")


class RequestAnswerIn(Strict):
    outcome: Outcome
    sent_at: AwareDatetime = Field(description="When the answer was sent to the person")
    channel: str = Field(min_length=1, max_length=100, description="How it was sent (letter, e-mail…)")
    answer_text: str | None = Field(default=None, max_length=10000)
    legal_ground: str | None = Field(
        default=None, max_length=2000, description="Required for a partial answer or a refusal"
    )


class ExtensionIn(Strict):
    reason: str = Field(min_length=1, max_length=2000, description="Why two further months are needed")
    notified_at: AwareDatetime = Field(description="When the person was told (within the first month)")


# --- Responses ---


# `+02:00` rather than `Z`: Paris time, the offset spelled out, as the contract says.
ParisTime = Annotated[datetime, PlainSerializer(paris_iso, return_type=str, when_used="json")]


class InquiryOut(BaseModel):
    id: int
    request_id: int
    request_reference: str
    organisation_id: int
    organisation_name: str
    search_details: str = Field(description="What the partner needs to find the person")
    requested_at: ParisTime = Field(description=PARIS_ISO)
    due_date: date = Field(description="The third working day after the request (Europe/Paris)")
    due_at: ParisTime = Field(description="23:59:59 on due_date, Europe/Paris, with its offset")
    overdue: bool
    answered_at: ParisTime | None
    holds_data: bool | None = Field(description="null until answered")
    details: str | None
    attachment_name: str | None
    attachment_type: str | None
    attachment_size: int | None
    answered_on_time: bool | None = Field(description="null until answered")


class RequestOut(BaseModel):
    id: int
    reference: str
    right: str
    status: str
    received_at: ParisTime = Field(description=PARIS_ISO)
    received_by_organisation_id: int
    received_by_organisation_name: str
    channel: str | None
    forwarded_at: ParisTime | None = Field(description="A partner's record forwards the request at once")
    forwarding_delay_seconds: int | None
    forwarding_late: bool
    response_due_date: date = Field(description="The last day to answer the person (Europe/Paris)")
    response_due_at: ParisTime = Field(description="23:59:59 on response_due_date, Europe/Paris")
    overdue: bool
    extended: bool
    extended_at: ParisTime | None
    extension_reason: str | None
    extension_notified_at: ParisTime | None
    identity_requested_at: ParisTime | None
    identity_received_at: ParisTime | None
    identity_method: str | None
    answered_at: ParisTime | None
    answer_channel: str | None
    outcome: str | None
    legal_ground: str | None
    subject_name: str | None = Field(description="Only for the DPO, the auditor and the recording partner")
    subject_email: str | None
    subject_phone: str | None
    subject_address: str | None
    request_text: str | None
    inquiries: list[InquiryOut] = Field(description="A partner sees only its own organisation's")


class RequestPageOut(BaseModel):
    items: list[RequestOut]
    page: int
    per_page: int
    total: int = Field(description="How many requests match, on every page")


class InquiryPageOut(BaseModel):
    items: list[InquiryOut]
    page: int
    per_page: int
    total: int = Field(description="How many inquiries match, on every page")


# --- What a reader may see ---


def sees_every_organisation(user: Any) -> bool:
    return reaches_all_organisations(user, Permission.COMPLIANCE_VIEW)


def sees_identity(user: Any, request: AccessRequest) -> bool:
    """The DPO and the auditor; a partner, for the requests its organisation recorded."""
    return sees_every_organisation(user) or can(
        user, Permission.COMPLIANCE_VIEW, request.received_by_organisation_id
    )


def sees_inquiry(user: Any, inquiry: Inquiry) -> bool:
    return sees_every_organisation(user) or can(user, Permission.COMPLIANCE_VIEW, inquiry.organisation_id)


def inquiry_overdue(inquiry: Inquiry, now: datetime) -> bool:
    return inquiry.answered_at is None and now > inquiry.due_at


def request_overdue(request: AccessRequest, now: datetime) -> bool:
    return request.status == RequestStatus.OPEN and paris_date(now) > request.response_due_date


def inquiry_out(inquiry: Inquiry, now: datetime) -> InquiryOut:
    answered = inquiry.answered_at
    return InquiryOut(
        id=inquiry.id,
        request_id=inquiry.request_id,
        request_reference=inquiry.request.reference,
        organisation_id=inquiry.organisation_id,
        organisation_name=inquiry.organisation.name,
        search_details=inquiry.search_details,
        requested_at=inquiry.requested_at,
        due_date=inquiry.due_date,
        due_at=inquiry.due_at,
        overdue=inquiry_overdue(inquiry, now),
        answered_at=answered,
        holds_data=inquiry.holds_data,
        details=inquiry.details,
        attachment_name=inquiry.attachment_name,
        attachment_type=inquiry.attachment_type,
        attachment_size=inquiry.attachment_size,
        answered_on_time=None if answered is None else answered <= inquiry.due_at,
    )


def inquiry_json(inquiry: Inquiry, now: datetime) -> dict[str, Any]:
    return inquiry_out(inquiry, now).model_dump(mode="json")


def request_out(request: AccessRequest, user: Any, now: datetime) -> RequestOut:
    identity = sees_identity(user, request)
    delay = request.forwarding_delay
    return RequestOut(
        id=request.id,
        reference=request.reference,
        right=request.right.value,
        status=request.status.value,
        received_at=request.received_at,
        received_by_organisation_id=request.received_by_organisation_id,
        received_by_organisation_name=request.received_by.name,
        channel=request.channel,
        forwarded_at=request.forwarded_at,
        forwarding_delay_seconds=None if delay is None else round(delay),
        forwarding_late=forwarding_is_late(request),
        response_due_date=request.response_due_date,
        response_due_at=end_of_day(request.response_due_date),
        overdue=request_overdue(request, now),
        extended=request.extended_at is not None,
        extended_at=request.extended_at,
        extension_reason=request.extension_reason,
        extension_notified_at=request.extension_notified_at,
        identity_requested_at=request.identity_requested_at,
        identity_received_at=request.identity_received_at,
        identity_method=request.identity_method,
        answered_at=request.answered_at,
        answer_channel=request.answer_channel,
        outcome=request.outcome.value if request.outcome else None,
        legal_ground=request.legal_ground,
        subject_name=request.subject_name if identity else None,
        subject_email=request.subject_email if identity else None,
        subject_phone=request.subject_phone if identity else None,
        subject_address=request.subject_address if identity else None,
        request_text=request.request_text if identity else None,
        inquiries=[inquiry_out(i, now) for i in visible_of(user, request.inquiries)],
    )


def visible_of(user: Any, inquiries: Iterable[Inquiry]) -> list[Inquiry]:
    return [i for i in inquiries if sees_inquiry(user, i)]


def request_json(request: AccessRequest, user: Any, now: datetime) -> dict[str, Any]:
    return request_out(request, user, now).model_dump(mode="json")


def default_search_details(request: AccessRequest) -> str:
    """What a partner is given to search its files when the DPO says nothing more: the person's name,
    as the web form pre-fills it; never the request itself, nor how to reach the person."""
    return _("Name: %(name)s", name=request.subject_name)


# --- Filters and pages ---


@dataclass(frozen=True)
class RequestFilters:
    status: RequestStatus | None = None
    overdue: bool | None = None
    organisation_id: int | None = None

    def apply(self, stmt: sa.Select[Any], now: datetime, every_organisation: bool) -> sa.Select[Any]:
        today = paris_date(now)
        if self.status is not None:
            stmt = stmt.where(AccessRequest.status == self.status)
        if self.overdue is not None:
            late = sa.and_(
                AccessRequest.status == RequestStatus.OPEN, AccessRequest.response_due_date < today
            )
            stmt = stmt.where(late if self.overdue else sa.not_(late))
        if self.organisation_id is not None:
            concerned = AccessRequest.received_by_organisation_id == self.organisation_id
            if every_organisation:
                # Received by that partner, or that partner was asked what it holds.
                asked = (
                    sa.select(Inquiry.id)
                    .where(Inquiry.request_id == AccessRequest.id)
                    .where(Inquiry.organisation_id == self.organisation_id)
                    .exists()
                )
                concerned = sa.or_(concerned, asked)
            stmt = stmt.where(concerned)
        return stmt


@dataclass(frozen=True)
class InquiryFilters:
    answered: bool | None = None
    overdue: bool | None = None
    organisation_id: int | None = None
    request_id: int | None = None

    def apply(self, stmt: sa.Select[Any], now: datetime) -> sa.Select[Any]:
        if self.answered is not None:
            stmt = stmt.where(
                Inquiry.answered_at.is_not(None) if self.answered else Inquiry.answered_at.is_(None)
            )
        if self.overdue is not None:
            late = sa.and_(Inquiry.answered_at.is_(None), Inquiry.due_at < now)
            stmt = stmt.where(late if self.overdue else sa.not_(late))
        if self.organisation_id is not None:
            stmt = stmt.where(Inquiry.organisation_id == self.organisation_id)
        if self.request_id is not None:
            stmt = stmt.where(Inquiry.request_id == self.request_id)
        return stmt


def _boolean(value: str) -> bool | None:
    # 1 and 0 too: what the web list's checkbox sends, so its filters carry over to the CSV export.
    return {"true": True, "1": True, "false": False, "0": False}.get(value.lower())


def _read(args: Any, names: Sequence[str], paged: bool) -> tuple[dict[str, str], dict[str, str]]:
    """The non-empty values of the known parameters, and the problems (unknown or repeated ones): a
    misspelt filter never widens a list silently."""
    fields: dict[str, str] = {}
    values: dict[str, str] = {}
    allowed = (*names, *PAGE_PARAMS) if paged else tuple(names)
    for name in args:
        given = args.getlist(name) if hasattr(args, "getlist") else [args[name]]
        if name not in allowed:
            fields[name] = _(
                "Unknown parameter %(name)s: the filters are %(allowed)s.",
                name=repr(name),
                allowed=", ".join(allowed),
            )
        elif len(given) > 1:
            fields[name] = _("Give this parameter once.")
        elif given[0].strip():
            values[name] = given[0].strip()
    return values, fields


def _ids(values: Mapping[str, str], names: Sequence[str], fields: dict[str, str]) -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for name in names:
        found[name] = None
        if name in values:
            found[name] = _positive_int(values[name])
            if found[name] is None:
                fields[name] = _("A record is named by its id, a positive whole number.")
    return found


def _booleans(
    values: Mapping[str, str], names: Sequence[str], fields: dict[str, str]
) -> dict[str, bool | None]:
    found: dict[str, bool | None] = {}
    for name in names:
        found[name] = None
        if name in values:
            found[name] = _boolean(values[name])
            if found[name] is None:
                fields[name] = _("Write true or false.")
    return found


def parse_request_args(args: Any, paged: bool = True) -> tuple[RequestFilters, Page]:
    """status (open|answered), overdue (true|false), organisation_id; page and per_page when `paged`.
    An empty value means no filter; an unknown value or parameter is refused with its field named."""
    values, fields = _read(args, REQUEST_FILTERS, paged)
    status = None
    if "status" in values:
        try:
            status = RequestStatus(values["status"])
        except ValueError:
            fields["status"] = _(
                "Unknown status %(value)s: choose among %(choices)s.",
                value=repr(values["status"]),
                choices=", ".join(s.value for s in RequestStatus),
            )
    flags = _booleans(values, ("overdue",), fields)
    ids = _ids(values, ("organisation_id",), fields)
    page = parse_page(values, fields)
    refuse_invalid(fields)
    return RequestFilters(
        status=status, overdue=flags["overdue"], organisation_id=ids["organisation_id"]
    ), page


def parse_inquiry_args(args: Any) -> tuple[InquiryFilters, Page]:
    """answered (true|false), overdue (true|false), organisation_id, request_id; page and per_page."""
    values, fields = _read(args, INQUIRY_FILTERS, paged=True)
    flags = _booleans(values, ("answered", "overdue"), fields)
    ids = _ids(values, ("organisation_id", "request_id"), fields)
    page = parse_page(values, fields)
    refuse_invalid(fields)
    filters = InquiryFilters(
        answered=flags["answered"],
        overdue=flags["overdue"],
        organisation_id=ids["organisation_id"],
        request_id=ids["request_id"],
    )
    return filters, page
