"""The governance API's shapes: request bodies (unknown fields refused, times with their offset) and one
JSON shape per object (bodies, meetings, votes, decisions, action items); and the one way its lists are
filtered and paged from the query string.

Times go out in UTC with their offset spelled out (`+00:00`); times coming in must carry theirs (a time
without one is refused with 422, its field named).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import AwareDatetime, BaseModel, BeforeValidator, EmailStr, Field, PlainSerializer

from governance.bodies.models import (
    ActionItem,
    Body,
    BodyMember,
    Decision,
    Meeting,
    Minutes,
    Vote,
)
from governance.bodies.services import KEEP, AttendanceEntry, MemberData, QuorumResult, Unchanged
from vigie.api.params import Page, parse_page, positive_int, refuse_invalid
from vigie.api.schemas import Strict
from vigie.timeutil import PARIS

TEXT_MAX = 20_000


def _time_text(value: Any) -> Any:
    # Pydantic would read a number as a Unix timestamp: the contract wants ISO 8601 text.
    if not isinstance(value, str | datetime):
        raise ValueError(_("Give the time as ISO 8601 text, such as 2025-04-03T18:00:00+02:00."))
    return value


def _day_text(value: Any) -> Any:
    if not isinstance(value, str | date):
        raise ValueError(_("Give the day as YYYY-MM-DD."))
    return value


def _iso_utc(value: datetime) -> str:
    # `+00:00` rather than pydantic's `Z`: the offset spelled out, as the contract says.
    return value.astimezone(UTC).isoformat()


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_time_text)]
IsoDate = Annotated[date, BeforeValidator(_day_text)]
UtcTime = Annotated[datetime, PlainSerializer(_iso_utc, return_type=str)]
Text = Annotated[str, Field(max_length=TEXT_MAX)]


# --- Requests ---


class MemberIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    organisation_id: int | None = Field(default=None, description="The organisation the member sits for")
    email: EmailStr | None = Field(default=None, description="Where the invitations go")
    role: Literal["member", "chair", "pilot", "rapporteur"] = "member"
    statutory: bool = Field(default=False, description="Sits by right (convention art. 7)")
    since: IsoDate | None = Field(default=None, description="In office from (default: today, Paris)")

    def data(self) -> MemberData:
        return MemberData(
            name=self.name,
            organisation_id=self.organisation_id,
            email=self.email,
            role=self.role,
            statutory=self.statutory,
            since=self.since,
        )


class BodyIn(Strict):
    """A body and its members. Its rules default as the French code for local councils: quorum a
    majority of the members in office physically present, one proxy per holder, absolute majority of
    the votes cast, no casting vote."""

    name: str = Field(min_length=1, max_length=200)
    members: list[MemberIn] = Field(default_factory=list)
    code: str | None = Field(
        default=None, max_length=12, description="Prefix of the decision register (COPIL → COPIL-2025-003)"
    )
    missions: Text | None = None
    quorum_rule: Literal["majority_present", "majority_present_or_represented", "none"] = "majority_present"
    majority_rule: Literal["absolute_of_cast", "two_thirds_of_cast"] = "absolute_of_cast"
    max_proxies_per_holder: int = Field(default=1, ge=0, le=100)
    chair_casting_vote: bool = Field(default=False, description="The chair settles a tie")
    yearly_duty: Literal["yearly_meeting", "professional_day"] | None = Field(
        default=None, description="The yearly duty (convention art. 8) the body's meetings fulfil"
    )


class MeetingIn(Strict):
    body_id: int
    starts_at: IsoDateTime
    place: str | None = Field(default=None, max_length=300)
    video_link: str | None = Field(default=None, max_length=500, description="https://…")
    ends_at: IsoDateTime | None = None
    title: str | None = Field(default=None, max_length=300)
    agenda: list[Annotated[str, Field(max_length=300)]] = Field(
        default_factory=list, description="The agenda items' titles, in order"
    )
    fulfils_duty: Literal["yearly_meeting", "professional_day"] | None = None


class AttendanceEntryIn(Strict):
    member_id: int
    status: Literal["present", "represented", "excused", "absent"]
    proxy_holder_id: int | None = Field(default=None, description="A represented member's proxy holder")

    def entry(self) -> AttendanceEntry:
        return AttendanceEntry(self.member_id, self.status, self.proxy_holder_id)


class AttendanceIn(Strict):
    """The whole attendance of the meeting: it replaces what was recorded."""

    entries: list[AttendanceEntryIn]
    secretary_id: int | None = Field(
        default=None,
        description="The secretary of the session (CGCT L2121-15), a member present; null: none. When "
        "absent, the secretary recorded is kept (and must still be present)",
    )

    def secretary(self) -> int | Unchanged | None:
        return self.secretary_id if "secretary_id" in self.model_fields_set else KEEP


class VoteIn(Strict):
    subject: str = Field(min_length=1, max_length=300)
    votes_for: int = Field(alias="for", ge=0)
    against: int = Field(ge=0)
    abstentions: int = Field(ge=0)
    agenda_item_id: int | None = None
    chair_vote: Literal["for", "against"] | None = Field(
        default=None, description="On a tie, where the body's rules give the chair a casting vote"
    )


class DecisionIn(Strict):
    text: Text = Field(min_length=1)
    vote_id: int | None = Field(default=None, description="The adopted vote the decision follows")


# --- Responses ---


class MemberOut(BaseModel):
    id: int
    name: str
    email: str | None
    organisation_id: int | None
    role: str
    statutory: bool
    since: date
    until: date | None


class BodyOut(BaseModel):
    id: int
    name: str
    code: str
    missions: str | None
    quorum_rule: str
    majority_rule: str
    max_proxies_per_holder: int
    chair_casting_vote: bool
    yearly_duty: str | None
    active: bool
    members: list[MemberOut]


class QuorumOut(BaseModel):
    required: int = Field(description="0 when the body has no quorum")
    present: int = Field(description="Members physically present")
    reached: bool
    in_office: int
    represented: int = Field(description="Members represented by a proxy")


class AgendaItemOut(BaseModel):
    id: int
    position: int
    title: str
    notes: str | None


class AttendanceOut(BaseModel):
    id: int
    member_id: int
    member_name: str
    status: str
    proxy_holder_id: int | None
    proxy_holder_name: str | None


class VoteOut(BaseModel):
    id: int
    meeting_id: int
    agenda_item_id: int | None
    subject: str
    votes_for: int = Field(alias="for")
    against: int
    abstentions: int
    votes_cast: int = Field(description="Suffrages exprimés: for + against (abstentions not counted)")
    result: Literal["adopted", "rejected"]
    casting_vote_used: bool
    recorded_at: UtcTime


class ActionItemOut(BaseModel):
    id: int
    body_id: int
    decision_id: int | None
    title: str
    owner: str
    owner_organisation_id: int | None
    due_date: date | None
    status: str
    notes: str | None
    created_at: UtcTime


class DecisionOut(BaseModel):
    id: int
    body_id: int
    body_name: str
    meeting_id: int
    vote_id: int | None
    year: int
    number: int = Field(description="Its number in the body's register for the year")
    reference: str = Field(description="COPIL-2025-003")
    text: str
    decided_at: UtcTime


class DecisionDetailOut(DecisionOut):
    vote: VoteOut | None
    action_items: list[ActionItemOut] | None = Field(
        description="The follow-up; null for a reader who does not follow it (a partner)"
    )


class MinutesOut(BaseModel):
    id: int
    status: str
    version: int | None = Field(description="The number of the current version")
    approved_at_meeting_id: int | None
    approved_at: UtcTime | None
    published_at: UtcTime | None


class MeetingOut(BaseModel):
    id: int
    body_id: int
    body_name: str
    title: str | None
    starts_at: UtcTime
    ends_at: UtcTime | None
    place: str | None
    video_link: str | None
    fulfils_duty: str | None
    invitation_sent_at: UtcTime | None
    cancelled_at: UtcTime | None


class MeetingDetailOut(MeetingOut):
    agenda: list[AgendaItemOut]
    attendance: list[AttendanceOut]
    secretary_id: int | None = Field(description="The secretary of the session, a member present")
    secretary_name: str | None
    quorum: QuorumOut
    votes: list[VoteOut]
    decisions: list[DecisionOut]
    minutes: MinutesOut | None


class MeetingPageOut(BaseModel):
    items: list[MeetingOut]
    page: int
    per_page: int
    total: int = Field(description="How many meetings match, on every page")


class DecisionPageOut(BaseModel):
    items: list[DecisionOut]
    page: int
    per_page: int
    total: int = Field(description="How many decisions match, on every page")


class ActionItemPageOut(BaseModel):
    items: list[ActionItemOut]
    page: int
    per_page: int
    total: int = Field(description="How many action items match, on every page")


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def member_out(member: BodyMember) -> MemberOut:
    return MemberOut(
        id=member.id,
        name=member.name,
        email=member.email,
        organisation_id=member.organisation_id,
        role=member.role.value,
        statutory=member.statutory,
        since=member.since,
        until=member.until,
    )


def body_out(body: Body) -> BodyOut:
    return BodyOut(
        id=body.id,
        name=body.name,
        code=body.code,
        missions=body.missions,
        quorum_rule=body.quorum_rule.value,
        majority_rule=body.majority_rule.value,
        max_proxies_per_holder=body.max_proxies_per_holder,
        chair_casting_vote=body.chair_casting_vote,
        yearly_duty=body.yearly_duty,
        active=body.active,
        members=[member_out(m) for m in body.members],
    )


def quorum_out(result: QuorumResult) -> QuorumOut:
    return QuorumOut(
        required=result.required,
        present=result.present,
        reached=result.reached,
        in_office=result.in_office,
        represented=result.represented,
    )


def vote_out(vote: Vote) -> VoteOut:
    return VoteOut(
        id=vote.id,
        meeting_id=vote.meeting_id,
        agenda_item_id=vote.agenda_item_id,
        subject=vote.subject,
        against=vote.votes_against,
        abstentions=vote.abstentions,
        votes_cast=vote.votes_cast,
        result="adopted" if vote.adopted else "rejected",
        casting_vote_used=vote.casting_vote_used,
        recorded_at=vote.recorded_at,
        **{"for": vote.votes_for},
    )


def action_item_out(item: ActionItem) -> ActionItemOut:
    return ActionItemOut(
        id=item.id,
        body_id=item.body_id,
        decision_id=item.decision_id,
        title=item.title,
        owner=item.owner,
        owner_organisation_id=item.owner_organisation_id,
        due_date=item.due_date,
        status=item.status.value,
        notes=item.notes,
        created_at=item.created_at,
    )


def decision_out(decision: Decision) -> DecisionOut:
    return DecisionOut(
        id=decision.id,
        body_id=decision.body_id,
        body_name=decision.body.name,
        meeting_id=decision.meeting_id,
        vote_id=decision.vote_id,
        year=decision.year,
        number=decision.number,
        reference=decision.reference,
        text=decision.text,
        decided_at=decision.decided_at,
    )


def decision_detail_out(decision: Decision, with_actions: bool) -> DecisionDetailOut:
    return DecisionDetailOut(
        **dict(decision_out(decision)),
        vote=vote_out(decision.vote) if decision.vote is not None else None,
        action_items=[action_item_out(a) for a in decision.actions] if with_actions else None,
    )


def meeting_out(meeting: Meeting) -> MeetingOut:
    return MeetingOut(
        id=meeting.id,
        body_id=meeting.body_id,
        body_name=meeting.body.name,
        title=meeting.title,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        place=meeting.place,
        video_link=meeting.video_link,
        fulfils_duty=meeting.fulfils_duty,
        invitation_sent_at=meeting.invitation_sent_at,
        cancelled_at=meeting.cancelled_at,
    )


def minutes_out(minutes: Minutes | None) -> MinutesOut | None:
    if minutes is None:
        return None
    current = minutes.current
    return MinutesOut(
        id=minutes.id,
        status=minutes.status.value,
        version=current.number if current is not None else None,
        approved_at_meeting_id=minutes.approved_at_meeting_id,
        approved_at=minutes.approved_at,
        published_at=minutes.published_at,
    )


def meeting_detail_out(
    meeting: Meeting, quorum: QuorumResult, decisions: Iterable[Decision], minutes: Minutes | None
) -> MeetingDetailOut:
    return MeetingDetailOut(
        **dict(meeting_out(meeting)),
        agenda=[
            AgendaItemOut(id=i.id, position=i.position, title=i.title, notes=i.notes) for i in meeting.agenda
        ],
        attendance=[
            AttendanceOut(
                id=a.id,
                member_id=a.member_id,
                member_name=a.member.name,
                status=a.status.value,
                proxy_holder_id=a.proxy_holder_id,
                proxy_holder_name=a.proxy_holder.name if a.proxy_holder is not None else None,
            )
            for a in meeting.attendance
        ],
        secretary_id=meeting.secretary_id,
        secretary_name=meeting.secretary.name if meeting.secretary is not None else None,
        quorum=quorum_out(quorum),
        votes=[vote_out(v) for v in meeting.votes],
        decisions=[decision_out(d) for d in decisions],
        minutes=minutes_out(minutes),
    )


# --- Query strings ---


class QueryArgs:
    """Query parameters read one by one, every problem collected against its name; `check()` raises
    them all at once (422). An empty value means no filter; an unknown or repeated parameter is refused,
    so a misspelt filter never widens a list silently."""

    def __init__(self, args: Any, allowed: Sequence[str]) -> None:
        self.fields: dict[str, str] = {}
        self.values: dict[str, str] = {}
        for name in args:
            given = args.getlist(name)
            if name not in allowed:
                self.fields[name] = _(
                    "Unknown parameter %(name)s: the parameters are %(allowed)s.",
                    name=repr(name),
                    allowed=", ".join(allowed),
                )
            elif len(given) > 1:
                self.fields[name] = _("Give this parameter once.")
            elif given[0].strip():
                self.values[name] = given[0].strip()

    def positive_int(self, name: str, maximum: int | None = None) -> int | None:
        raw = self.values.get(name)
        if raw is None:
            return None
        number = positive_int(raw, maximum)
        if number is not None:
            return number
        if maximum is None:
            self.fields[name] = _("A positive whole number.")
        else:
            self.fields[name] = _("A whole number between 1 and %(max)d.", max=maximum)
        return None

    def choice(self, name: str, choices: Sequence[str]) -> str | None:
        raw = self.values.get(name)
        if raw is not None and raw not in choices:
            self.fields[name] = _(
                "Unknown value %(value)s: choose among %(choices)s.",
                value=repr(raw),
                choices=", ".join(choices),
            )
            return None
        return raw

    def text(self, name: str) -> str | None:
        return self.values.get(name)

    def moment(self, name: str, end: bool = False) -> datetime | None:
        """A day (YYYY-MM-DD, Europe/Paris: from its start, or up to its end when `end`) or a time with
        its offset."""
        raw = self.values.get(name)
        if raw is None:
            return None
        try:
            if len(raw) == 10:
                day = date.fromisoformat(raw)
                if end:  # up to the day's last instant: `to` includes that day
                    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=PARIS).astimezone(
                        UTC
                    ) - timedelta(microseconds=1)
                return datetime.combine(day, time(0), tzinfo=PARIS).astimezone(UTC)
            moment = datetime.fromisoformat(raw)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            self.fields[name] = _("Give a day (YYYY-MM-DD) or a time with its offset (ISO 8601).")
            return None
        return moment.astimezone(UTC)

    def page(self) -> Page:
        return parse_page(self.values, self.fields)

    def check(self) -> None:
        refuse_invalid(self.fields)
