"""One JSON shape for a breach (API), and the shapes of the API's request bodies.

Times go out in UTC with their offset spelled out (`+00:00`); times coming in must carry theirs (a time
without one is refused, with its field named). Request bodies refuse unknown fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field, field_serializer

from compliance.breaches.models import Breach, BreachAction, BreachNotification
from compliance.breaches.register import (
    communication_due_dates,
    notification_is_late,
    sees_personal_data,
)
from compliance.breaches.services import BreachData, report_is_late
from vigie.api.schemas import Strict

Nature = Literal["confidentiality", "integrity", "availability"]
TEXT_MAX = 20_000


def _time_text(value: Any) -> Any:
    # Pydantic would read a number as a Unix timestamp: the contract wants ISO 8601 text.
    if not isinstance(value, str | datetime):
        raise ValueError(_("Give the time as ISO 8601 text, such as 2025-03-28T10:00:00+01:00."))
    return value


def _day_text(value: Any) -> Any:
    if not isinstance(value, str | date):
        raise ValueError(_("Give the day as YYYY-MM-DD."))
    return value


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_time_text)]
IsoDate = Annotated[date, BeforeValidator(_day_text)]
Text = Annotated[str, Field(max_length=TEXT_MAX)]


# --- Requests ---


class BreachIn(Strict):
    """A breach declared in a partner's name: submitted at once unless `draft` is true. To submit, it
    needs at least `summary`, `discovered_at` and one `nature`."""

    organisation_id: int
    draft: bool = Field(default=False, description="Keep it as a draft: not reported to the Département")
    summary: Text = Field(default="", description="What happened")
    nature: list[Nature] = Field(default_factory=list, description="One or more")
    discovered_at: IsoDateTime | None = None
    started_at: IsoDateTime | None = None
    ended_at: IsoDateTime | None = None
    circumstances: Text | None = None
    cause: Text | None = None
    data_categories: Text | None = None
    subject_categories: Text | None = None
    subjects_count: int | None = Field(default=None, ge=0, description="Approximate number of people")
    records_count: int | None = Field(default=None, ge=0, description="Approximate number of records")
    consequences: Text | None = None
    measures_taken: Text | None = None
    measures_proposed: Text | None = None
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=50)

    def data(self) -> BreachData:
        return BreachData(
            summary=self.summary,
            circumstances=self.circumstances,
            cause=self.cause,
            natures=list(dict.fromkeys(self.nature)),
            started_at=self.started_at,
            ended_at=self.ended_at,
            discovered_at=self.discovered_at,
            data_categories=self.data_categories,
            subject_categories=self.subject_categories,
            subjects_count=self.subjects_count,
            records_count=self.records_count,
            consequences=self.consequences,
            measures_taken=self.measures_taken,
            measures_proposed=self.measures_proposed,
            contact_name=self.contact_name,
            contact_email=self.contact_email,
            contact_phone=self.contact_phone,
        )


class EmptyIn(Strict):
    """No field: `{}`."""


class AcknowledgeIn(Strict):
    """`{}` acknowledges now (the 72 h clock starts now); an earlier awareness (a phone call…) comes with
    the reason."""

    aware_at: IsoDateTime | None = Field(
        default=None, description="When the Département became aware, if before this acknowledgement"
    )
    reason: Text | None = Field(default=None, description="How it learnt of the breach then")


class AssessmentIn(Strict):
    risk_level: Literal["none", "risk", "high"]
    reasoning: Text
    communication_due: IsoDate | None = Field(
        default=None, description="High risk: the day by which the people affected are informed"
    )


class NotificationIn(Strict):
    kind: Literal["initial", "complementary"]
    notified_at: IsoDateTime
    cnil_reference: str | None = Field(default=None, max_length=100)
    summary: Text | None = None
    late_reasons: Text | None = Field(
        default=None, description="Required for an initial notification made after the 72 hours"
    )


# --- Responses ---


def _iso_utc(value: datetime | None) -> str | None:
    # `+00:00` rather than pydantic's `Z`: the offset spelled out, as the contract says.
    return None if value is None else value.astimezone(UTC).isoformat()


class NotificationOut(BaseModel):
    id: int
    breach_id: int
    kind: str
    notified_at: datetime
    cnil_reference: str | None
    summary: str | None
    late: bool = Field(description="An initial notification made after the 72 hours")
    late_reasons: str | None

    @field_serializer("notified_at")
    def _times(self, value: datetime | None) -> str | None:
        return _iso_utc(value)


class ActionOut(BaseModel):
    id: int
    description: str | None
    owner: str | None
    due_date: date | None
    status: str


class CommunicationOut(BaseModel):
    """The people affected informed (GDPR 34): by when (set by the DPO), and when, how, how many."""

    due_date: date | None
    informed_at: datetime | None
    channel: str | None
    reached: int | None

    @field_serializer("informed_at")
    def _times(self, value: datetime | None) -> str | None:
        return _iso_utc(value)


class BreachOut(BaseModel):
    id: int
    reference: str | None = Field(description="The register number, given at submission")
    organisation_id: int
    organisation_name: str
    status: str
    personal_data_withheld: bool = Field(
        description="True for a reader who only reviews (the auditor): the free text, the contact point "
        "and the names are then null"
    )
    summary: str | None
    nature: list[str]
    started_at: datetime | None
    ended_at: datetime | None
    discovered_at: datetime | None
    circumstances: str | None
    cause: str | None
    data_categories: str | None
    subject_categories: str | None
    subjects_count: int | None
    records_count: int | None
    consequences: str | None
    measures_taken: str | None
    measures_proposed: str | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    declared_by_id: int | None
    reported_to_controller_at: datetime | None
    report_delay_seconds: int | None = Field(description="From discovery to the report to the Département")
    report_late: bool = Field(description="Reported later than the configured threshold (24 h by default)")
    acknowledged_at: datetime | None
    acknowledged_by_id: int | None
    aware_at: datetime | None = Field(description="The Département's awareness: the start of the 72 hours")
    aware_reason: str | None
    cnil_deadline_at: datetime | None = Field(description="aware_at + 72 hours")
    risk_level: str | None
    risk_reasoning: str | None
    assessed_at: datetime | None
    assessed_by_id: int | None
    notifications: list[NotificationOut]
    communication: CommunicationOut | None
    actions: list[ActionOut]
    closed_at: datetime | None
    closure_summary: str | None
    created_at: datetime
    updated_at: datetime

    @field_serializer(
        "started_at",
        "ended_at",
        "discovered_at",
        "reported_to_controller_at",
        "acknowledged_at",
        "aware_at",
        "cnil_deadline_at",
        "assessed_at",
        "closed_at",
        "created_at",
        "updated_at",
    )
    def _times(self, value: datetime | None) -> str | None:
        return _iso_utc(value)


class BreachPageOut(BaseModel):
    items: list[BreachOut]
    page: int
    per_page: int
    total: int = Field(description="How many breaches match, on every page")


def notification_out(breach: Breach, notification: BreachNotification, personal: bool) -> NotificationOut:
    return NotificationOut(
        id=notification.id,
        breach_id=breach.id,
        kind=notification.kind.value,
        notified_at=notification.notified_at,
        cnil_reference=notification.cnil_reference,
        summary=notification.summary if personal else None,
        late=notification_is_late(breach, notification),
        late_reasons=notification.late_reasons if personal else None,
    )


def action_out(action: BreachAction, personal: bool) -> ActionOut:
    return ActionOut(
        id=action.id,
        description=action.description if personal else None,
        owner=action.owner if personal else None,
        due_date=action.due_date,
        status=action.status.value,
    )


def breach_out(breach: Breach, personal: bool, communication_due: date | None) -> BreachOut:
    """The breach as JSON; without `personal`, its personal data is left out (null)."""

    def text(value: str | None) -> str | None:
        return value if personal else None

    delay = breach.report_delay
    communication = None
    if communication_due is not None or breach.subjects_informed_at is not None:
        communication = CommunicationOut(
            due_date=communication_due,
            informed_at=breach.subjects_informed_at,
            channel=breach.subjects_channel,
            reached=breach.subjects_reached,
        )
    return BreachOut(
        id=breach.id,
        reference=breach.reference,
        organisation_id=breach.organisation_id,
        organisation_name=breach.organisation.name,
        status=breach.status.value,
        personal_data_withheld=not personal,
        summary=text(breach.summary),
        nature=breach.natures,
        started_at=breach.started_at,
        ended_at=breach.ended_at,
        discovered_at=breach.discovered_at,
        circumstances=text(breach.circumstances),
        cause=text(breach.cause),
        data_categories=text(breach.data_categories),
        subject_categories=text(breach.subject_categories),
        subjects_count=breach.subjects_count,
        records_count=breach.records_count,
        consequences=text(breach.consequences),
        measures_taken=text(breach.measures_taken),
        measures_proposed=text(breach.measures_proposed),
        contact_name=text(breach.contact_name),
        contact_email=text(breach.contact_email),
        contact_phone=text(breach.contact_phone),
        declared_by_id=breach.declared_by_id,
        reported_to_controller_at=breach.reported_to_controller_at,
        report_delay_seconds=int(delay.total_seconds()) if delay is not None else None,
        report_late=report_is_late(breach),
        acknowledged_at=breach.acknowledged_at,
        acknowledged_by_id=breach.acknowledged_by_id,
        aware_at=breach.aware_at,
        aware_reason=text(breach.aware_reason),
        cnil_deadline_at=breach.cnil_deadline_at,
        risk_level=breach.risk_level.value if breach.risk_level else None,
        risk_reasoning=text(breach.risk_reasoning),
        assessed_at=breach.assessed_at,
        assessed_by_id=breach.assessed_by_id,
        notifications=[notification_out(breach, n, personal) for n in breach.notifications],
        communication=communication,
        actions=[action_out(a, personal) for a in breach.actions],
        closed_at=breach.closed_at,
        closure_summary=text(breach.closure_summary),
        created_at=breach.created_at,
        updated_at=breach.updated_at,
    )


def breaches_json(user: Any, breaches: Iterable[Breach]) -> list[dict[str, Any]]:
    """Breaches as JSON for this user (what they may read of each), in a fixed number of queries."""
    rows = list(breaches)
    due = communication_due_dates(b.id for b in rows)
    return [breach_out(b, sees_personal_data(user, b), due.get(b.id)).model_dump(mode="json") for b in rows]


def breach_json(user: Any, breach: Breach) -> dict[str, Any]:
    return breaches_json(user, [breach])[0]
