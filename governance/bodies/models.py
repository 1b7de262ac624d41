from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigie.audit.mixins import Audited
from vigie.crypto import EncryptedString
from vigie.database import Base, TimestampMixin, UTCDateTime, str_enum
from vigie.orgs.models import Organisation


class QuorumRule(enum.StrEnum):
    # CGCT L2121-17: a majority of the members in office physically present (proxies not counted).
    MAJORITY_PRESENT = "majority_present"
    # Present and represented members together (some bodies' own rules).
    MAJORITY_PRESENT_OR_REPRESENTED = "majority_present_or_represented"
    NONE = "none"  # no quorum (a working group that only advises)


class MajorityRule(enum.StrEnum):
    # CGCT L2121-20: absolute majority of the votes cast (for + against; abstentions not counted).
    ABSOLUTE_OF_CAST = "absolute_of_cast"
    TWO_THIRDS_OF_CAST = "two_thirds_of_cast"


class MemberRole(enum.StrEnum):
    MEMBER = "member"
    CHAIR = "chair"
    PILOT = "pilot"
    RAPPORTEUR = "rapporteur"


class AttendanceStatus(enum.StrEnum):
    PRESENT = "present"
    REPRESENTED = "represented"  # gave a proxy to a member present
    EXCUSED = "excused"
    ABSENT = "absent"


class MinutesStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    PUBLISHED = "published"


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class Body(Audited, TimestampMixin, Base):
    """A body is data: its rules are columns, so a third group is a record, not a release."""

    __tablename__ = "body"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    # Prefix of the decision register: COPIL → COPIL-2025-003.
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    missions: Mapped[str | None] = mapped_column(sa.Text)
    # The yearly duty tied to the body (art. 8), if any: "yearly_meeting", "professional_day".
    yearly_duty: Mapped[str | None] = mapped_column(sa.String(40))
    quorum_rule: Mapped[QuorumRule] = mapped_column(str_enum(QuorumRule), default=QuorumRule.MAJORITY_PRESENT)
    majority_rule: Mapped[MajorityRule] = mapped_column(
        str_enum(MajorityRule), default=MajorityRule.ABSOLUTE_OF_CAST
    )
    max_proxies_per_holder: Mapped[int] = mapped_column(default=1)
    chair_casting_vote: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)

    members: Mapped[list[BodyMember]] = relationship(back_populates="body", order_by="BodyMember.id")


class BodyMember(Audited, Base):
    """A seat in a body, with dates: a past meeting shows who was a member then."""

    __tablename__ = "body_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("body.id"), index=True)
    name: Mapped[str] = mapped_column(EncryptedString())
    email: Mapped[str | None] = mapped_column(EncryptedString())
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole), default=MemberRole.MEMBER)
    # A statutory member (art. 7) sits by right.
    statutory: Mapped[bool] = mapped_column(default=False)
    since: Mapped[date] = mapped_column(sa.Date)
    until: Mapped[date | None] = mapped_column(sa.Date)

    body: Mapped[Body] = relationship(back_populates="members")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")

    def in_office_on(self, day: date) -> bool:
        return self.since <= day and (self.until is None or day <= self.until)


class Meeting(Audited, TimestampMixin, Base):
    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("body.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    place: Mapped[str | None] = mapped_column(sa.String(300))
    video_link: Mapped[str | None] = mapped_column(sa.String(500))
    title: Mapped[str | None] = mapped_column(sa.String(300))
    # Art. 8: the yearly meeting gathering all partner libraries, or the professional day.
    fulfils_duty: Mapped[str | None] = mapped_column(sa.String(40))
    invitation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The secretary of the session (CGCT L2121-15: named at the start of each session among the members
    # present); named with the attendance.
    secretary_id: Mapped[int | None] = mapped_column(sa.ForeignKey("body_member.id"))

    body: Mapped[Body] = relationship(lazy="joined", innerjoin=True)
    secretary: Mapped[BodyMember | None] = relationship(foreign_keys=[secretary_id])
    agenda: Mapped[list[AgendaItem]] = relationship(back_populates="meeting", order_by="AgendaItem.position")
    attendance: Mapped[list[Attendance]] = relationship(back_populates="meeting", order_by="Attendance.id")
    votes: Mapped[list[Vote]] = relationship(back_populates="meeting", order_by="Vote.id")


class AgendaItem(Audited, Base):
    __tablename__ = "agenda_item"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "position", name="uq_agenda_item_meeting_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id"), index=True)
    position: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(sa.String(300))
    notes: Mapped[str | None] = mapped_column(sa.Text)

    meeting: Mapped[Meeting] = relationship(back_populates="agenda")


class Attendance(Audited, Base):
    __tablename__ = "attendance"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "member_id", name="uq_attendance_meeting_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id"), index=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("body_member.id"))
    status: Mapped[AttendanceStatus] = mapped_column(str_enum(AttendanceStatus))
    proxy_holder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("body_member.id"))

    meeting: Mapped[Meeting] = relationship(back_populates="attendance")
    member: Mapped[BodyMember] = relationship(foreign_keys=[member_id], lazy="joined")
    proxy_holder: Mapped[BodyMember | None] = relationship(foreign_keys=[proxy_holder_id], lazy="joined")


class Vote(Audited, Base):
    __tablename__ = "vote"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agenda_item.id"))
    subject: Mapped[str] = mapped_column(sa.String(300))
    votes_for: Mapped[int] = mapped_column()
    votes_against: Mapped[int] = mapped_column()
    abstentions: Mapped[int] = mapped_column()
    # The chair's casting vote settled a tie (where the body's rules give one).
    casting_vote_used: Mapped[bool] = mapped_column(default=False)
    adopted: Mapped[bool] = mapped_column()
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    meeting: Mapped[Meeting] = relationship(back_populates="votes")

    @property
    def votes_cast(self) -> int:
        """Suffrages exprimés: for + against; abstentions are not counted."""
        return self.votes_for + self.votes_against


class Decision(Audited, Base):
    """The decision register: numbered per body and year, without gaps or duplicates."""

    __tablename__ = "decision"
    __table_args__ = (sa.UniqueConstraint("body_id", "year", "number", name="uq_decision_body_year_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("body.id"), index=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id"), index=True)
    vote_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vote.id"))
    year: Mapped[int] = mapped_column()
    number: Mapped[int] = mapped_column()
    reference: Mapped[str] = mapped_column(sa.String(40), unique=True)
    text: Mapped[str] = mapped_column(sa.Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())

    body: Mapped[Body] = relationship(lazy="joined", innerjoin=True)
    meeting: Mapped[Meeting] = relationship()
    vote: Mapped[Vote | None] = relationship()
    actions: Mapped[list[ActionItem]] = relationship(back_populates="decision", order_by="ActionItem.id")


class ActionItem(Audited, TimestampMixin, Base):
    __tablename__ = "action_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int | None] = mapped_column(sa.ForeignKey("decision.id"), index=True)
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("body.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    owner: Mapped[str] = mapped_column(sa.String(200))
    owner_organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    due_date: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[ActionStatus] = mapped_column(str_enum(ActionStatus), default=ActionStatus.OPEN)
    notes: Mapped[str | None] = mapped_column(sa.Text)

    decision: Mapped[Decision | None] = relationship(back_populates="actions")


class Circulation(Audited, Base):
    """The rapporteur's circulation of a working group's practical actions (art. 7): to whom, when."""

    __tablename__ = "circulation"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("body.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meeting.id"))
    circulated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recipients: Mapped[str] = mapped_column(sa.Text)
    summary: Mapped[str | None] = mapped_column(sa.Text)
    by_member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("body_member.id"))


class Minutes(Audited, TimestampMixin, Base):
    """A meeting's minutes (procès-verbal); every saved text is kept as a version."""

    __tablename__ = "minutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id"), unique=True)
    status: Mapped[MinutesStatus] = mapped_column(str_enum(MinutesStatus), default=MinutesStatus.DRAFT)
    # The meeting at which they were approved (a later one).
    approved_at_meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meeting.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    meeting: Mapped[Meeting] = relationship(foreign_keys=[meeting_id])
    versions: Mapped[list[MinutesVersion]] = relationship(
        back_populates="minutes", order_by="MinutesVersion.number"
    )

    @property
    def current(self) -> MinutesVersion | None:
        return self.versions[-1] if self.versions else None


class MinutesVersion(Base):
    __tablename__ = "minutes_version"
    __table_args__ = (sa.UniqueConstraint("minutes_id", "number", name="uq_minutes_version_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    minutes_id: Mapped[int] = mapped_column(sa.ForeignKey("minutes.id"), index=True)
    number: Mapped[int] = mapped_column()
    # Markdown as written; rendered through a sanitiser (no raw HTML) wherever it is shown.
    text: Mapped[str] = mapped_column(sa.Text)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    saved_by: Mapped[str] = mapped_column(sa.String(254))

    minutes: Mapped[Minutes] = relationship(back_populates="versions")


class MeetingDocument(Audited, Base):
    """A document attached to a meeting (stored encrypted outside the web root)."""

    __tablename__ = "meeting_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id"), index=True)
    storage_key: Mapped[str] = mapped_column(sa.String(64))
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column()
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
