"""Bodies, meetings, quorum, votes, the decision register, action items, minutes.

Views, the API and the CLI call these; they check the rules (the body's own, defaulting to the French
code for local councils), change the records, open and stop the clocks, queue the e-mails, flush — and
never commit.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event, vCalAddress, vText
from sqlalchemy.exc import IntegrityError

from governance.bodies.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    Attendance,
    AttendanceStatus,
    Body,
    BodyMember,
    Circulation,
    Decision,
    MajorityRule,
    Meeting,
    MemberRole,
    Minutes,
    MinutesStatus,
    MinutesVersion,
    QuorumRule,
    Vote,
)
from governance.bodies.reading import minutes_of
from vigie.audit.recorder import current_actor
from vigie.database import utcnow
from vigie.deadlines.calendar import end_of_day
from vigie.deadlines.services import cancel_deadline, meet_deadline, open_deadline, open_deadline_for
from vigie.errors import Conflict, NotFound, ValidationFailed
from vigie.extensions import db
from vigie.mail.models import Attachment
from vigie.mail.services import queue_mail
from vigie.orgs.models import Organisation, OrganisationKind
from vigie.timeutil import to_paris

YEARLY_DUTIES = {
    "yearly_meeting": "governance.yearly_meeting",
    "professional_day": "governance.professional_day",
}
ACTION_KIND = "governance.action_item"


@dataclass
class MemberData:
    name: str
    organisation_id: int | None = None
    email: str | None = None
    role: str = MemberRole.MEMBER.value
    statutory: bool = False
    since: date | None = None


@dataclass(frozen=True)
class QuorumResult:
    in_office: int
    required: int
    present: int
    represented: int
    reached: bool


@dataclass
class AttendanceEntry:
    member_id: int
    status: str
    proxy_holder_id: int | None = None


class Unchanged(enum.Enum):
    """A value left as recorded (an API client that does not send it)."""

    KEEP = "keep"


KEEP = Unchanged.KEEP


def controller_organisation() -> Organisation | None:
    return db.session.scalar(
        sa.select(Organisation)
        .where(Organisation.kind == OrganisationKind.CONTROLLER, Organisation.active.is_(True))
        .order_by(Organisation.id)
    )


# --- bodies ---------------------------------------------------------------------------------------


def _code_from(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = [w for w in re.split(r"[^A-Za-z]+", plain) if len(w) > 2]
    code = "".join(w[0] for w in words).upper()[:8] or "BODY"
    candidate, n = code, 2
    while db.session.scalar(sa.select(Body.id).where(Body.code == candidate)) is not None:
        candidate, n = f"{code}{n}", n + 1
    return candidate


def create_body(
    name: str,
    members: list[MemberData],
    code: str | None = None,
    missions: str | None = None,
    quorum_rule: str = QuorumRule.MAJORITY_PRESENT.value,
    majority_rule: str = MajorityRule.ABSOLUTE_OF_CAST.value,
    max_proxies_per_holder: int = 1,
    chair_casting_vote: bool = False,
    yearly_duty: str | None = None,
) -> Body:
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = _("Give the body's name.")
    elif db.session.scalar(sa.select(Body.id).where(Body.name == name)) is not None:
        raise Conflict(_("A body with this name exists already."), {"name": _("Already used.")})
    try:
        quorum = QuorumRule(quorum_rule)
        majority = MajorityRule(majority_rule)
    except ValueError:
        errors["rules"] = _("Unknown quorum or majority rule.")
        quorum, majority = QuorumRule.MAJORITY_PRESENT, MajorityRule.ABSOLUTE_OF_CAST
    if max_proxies_per_holder < 0:
        errors["max_proxies_per_holder"] = _("A number of proxies cannot be negative.")
    if yearly_duty is not None and yearly_duty not in YEARLY_DUTIES:
        errors["yearly_duty"] = _("Unknown yearly duty.")
    clean_code = (code or "").strip().upper()
    if clean_code and not re.fullmatch(r"[A-Z0-9]{2,12}", clean_code):
        errors["code"] = _("A register prefix is 2 to 12 capital letters or digits.")
    if errors:
        raise ValidationFailed(_("The body is incomplete."), errors)
    body = Body(
        name=name,
        code=clean_code or _code_from(name),
        missions=(missions or "").strip() or None,
        quorum_rule=quorum,
        majority_rule=majority,
        max_proxies_per_holder=max_proxies_per_holder,
        chair_casting_vote=chair_casting_vote,
        yearly_duty=yearly_duty,
    )
    db.session.add(body)
    db.session.flush()
    for index, member in enumerate(members):
        add_member(body, member, field=f"members.{index}")
    return body


def add_member(body: Body, data: MemberData, field: str = "member") -> BodyMember:
    errors: dict[str, str] = {}
    if not data.name.strip():
        errors[f"{field}.name"] = _("Give the member's name.")
    if data.organisation_id is not None and db.session.get(Organisation, data.organisation_id) is None:
        errors[f"{field}.organisation_id"] = _("No such organisation.")
    try:
        role = MemberRole(data.role)
    except ValueError:
        errors[f"{field}.role"] = _("Unknown role in the body.")
        role = MemberRole.MEMBER
    if errors:
        raise ValidationFailed(_("A member is incomplete."), errors)
    member = BodyMember(
        body=body,
        name=data.name.strip(),
        email=(data.email or "").strip() or None,
        organisation_id=data.organisation_id,
        role=role,
        statutory=data.statutory,
        since=data.since or to_paris(utcnow()).date(),
    )
    db.session.add(member)
    db.session.flush()
    return member


def end_membership(member: BodyMember, until: date) -> BodyMember:
    if until < member.since:
        raise ValidationFailed(_("A membership cannot end before it starts."), {"until": _("Too early.")})
    member.until = until
    db.session.flush()
    return member


def members_in_office(body: Body, day: date) -> list[BodyMember]:
    return [m for m in body.members if m.in_office_on(day)]


# --- meetings -------------------------------------------------------------------------------------


def meeting_day(meeting: Meeting) -> date:
    return to_paris(meeting.starts_at).date()


def create_meeting(
    body: Body,
    starts_at: datetime,
    place: str | None = None,
    video_link: str | None = None,
    title: str | None = None,
    agenda: list[str] | None = None,
    ends_at: datetime | None = None,
    fulfils_duty: str | None = None,
) -> Meeting:
    errors: dict[str, str] = {}
    if starts_at.tzinfo is None:
        errors["starts_at"] = _("Give the time with its offset.")
    if ends_at is not None and (ends_at.tzinfo is None or (starts_at.tzinfo and ends_at <= starts_at)):
        errors["ends_at"] = _("The end comes after the start.")
    if not (place or "").strip() and not (video_link or "").strip():
        errors["place"] = _("Give a place or a video link.")
    if video_link and not re.match(r"^https://", video_link.strip()):
        errors["video_link"] = _("A video link starts with https://.")
    if fulfils_duty is not None and fulfils_duty not in YEARLY_DUTIES:
        errors["fulfils_duty"] = _("Unknown yearly duty.")
    if errors:
        raise ValidationFailed(_("The meeting is incomplete."), errors)
    meeting = Meeting(
        body=body,
        starts_at=starts_at,
        ends_at=ends_at,
        place=(place or "").strip() or None,
        video_link=(video_link or "").strip() or None,
        title=(title or "").strip() or None,
        fulfils_duty=fulfils_duty,
    )
    db.session.add(meeting)
    db.session.flush()
    for position, item in enumerate(i.strip() for i in (agenda or []) if i.strip()):
        db.session.add(AgendaItem(meeting=meeting, position=position + 1, title=item[:300]))
    if fulfils_duty is not None:
        ensure_yearly_duty(fulfils_duty, to_paris(starts_at).year)
    db.session.flush()
    return meeting


def add_agenda_item(meeting: Meeting, title: str, notes: str | None = None) -> AgendaItem:
    if not title.strip():
        raise ValidationFailed(_("Give the item's title."), {"title": _("Required.")})
    position = max((i.position for i in meeting.agenda), default=0) + 1
    item = AgendaItem(meeting=meeting, position=position, title=title.strip()[:300], notes=notes)
    db.session.add(item)
    db.session.flush()
    return item


def invitation_ics(meeting: Meeting) -> bytes:
    """A calendar invitation (METHOD:REQUEST) for the meeting, in UTC."""
    cal = Calendar()
    cal.add("prodid", "-//Vigie//Gouvernance//FR")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = Event()
    event.add("uid", f"meeting-{meeting.id}@vigie")
    event.add("dtstamp", utcnow().replace(microsecond=0))
    event.add("dtstart", meeting.starts_at.replace(microsecond=0))
    event.add("dtend", (meeting.ends_at or meeting.starts_at + timedelta(hours=2)).replace(microsecond=0))
    event.add("summary", meeting.title or meeting.body.name)
    location = meeting.place or meeting.video_link or ""
    event["location"] = vText(location)
    if meeting.video_link:
        event.add("url", meeting.video_link)
    description = "\n".join(f"{i.position}. {i.title}" for i in meeting.agenda)
    if description:
        event.add("description", description)
    organizer = vCalAddress(f"mailto:{current_app.config['MAIL_FROM']}")
    organizer.params["cn"] = vText("Vigie")
    event["organizer"] = organizer
    event.add("sequence", 0)
    cal.add_component(event)
    return bytes(cal.to_ical())


def send_invitation(meeting: Meeting) -> int:
    """E-mail the members in office (who have an address) an invitation with its ICS; returns the count."""
    ics = invitation_ics(meeting)
    sent = 0
    when = to_paris(meeting.starts_at).strftime("%d/%m/%Y %H:%M")
    for member in members_in_office(meeting.body, meeting_day(meeting)):
        if not member.email:
            continue
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            subject = _("[Vigie] Invitation: %(body)s, %(when)s", body=meeting.body.name, when=when)
            lines = [
                _("You are invited to the meeting of %(body)s.", body=meeting.body.name),
                _("When: %(when)s (Paris time)", when=when),
                _("Where: %(where)s", where=meeting.place or meeting.video_link or ""),
                "",
                _("Agenda:"),
                *(f"{i.position}. {i.title}" for i in meeting.agenda),
            ]
        attachment = Attachment("invitation.ics", "text/calendar; method=REQUEST", ics)
        if queue_mail(
            member.email,
            subject,
            "\n".join(lines),
            attachments=[attachment],
            dedupe_key=f"meeting:{meeting.id}:invitation:{member.id}:{meeting.starts_at.isoformat()}",
        ):
            sent += 1
    meeting.invitation_sent_at = utcnow()
    db.session.flush()
    return sent


# --- attendance and quorum ------------------------------------------------------------------------


def quorum(meeting: Meeting) -> QuorumResult:
    """CGCT L2121-17 by default: a majority of the members in office physically present."""
    in_office = len(members_in_office(meeting.body, meeting_day(meeting)))
    present = sum(1 for a in meeting.attendance if a.status == AttendanceStatus.PRESENT)
    represented = sum(1 for a in meeting.attendance if a.status == AttendanceStatus.REPRESENTED)
    rule = meeting.body.quorum_rule
    if rule == QuorumRule.NONE:
        return QuorumResult(in_office, 0, present, represented, True)
    required = in_office // 2 + 1
    counted = present + represented if rule == QuorumRule.MAJORITY_PRESENT_OR_REPRESENTED else present
    return QuorumResult(in_office, required, present, represented, counted >= required)


def set_attendance(
    meeting: Meeting, entries: list[AttendanceEntry], secretary_id: int | Unchanged | None = KEEP
) -> QuorumResult:
    """Record who attended; a proxy goes to a member present, within the body's limit per holder. The
    secretary of the session (CGCT L2121-15), named with the attendance, is a member present (None:
    no secretary; KEEP: the one recorded, who must still be present)."""
    day = meeting_day(meeting)
    in_office = {m.id: m for m in members_in_office(meeting.body, day)}
    errors: dict[str, str] = {}
    statuses: dict[int, AttendanceStatus] = {}
    for index, entry in enumerate(entries):
        key = f"entries.{index}"
        if entry.member_id not in in_office:
            errors[f"{key}.member_id"] = _("Not a member of this body on the day of the meeting.")
            continue
        if entry.member_id in statuses:
            errors[f"{key}.member_id"] = _("This member appears twice.")
            continue
        try:
            statuses[entry.member_id] = AttendanceStatus(entry.status)
        except ValueError:
            errors[f"{key}.status"] = _("Unknown attendance status.")
    holders: dict[int, int] = {}
    for index, entry in enumerate(entries):
        key = f"entries.{index}"
        status = statuses.get(entry.member_id)
        if status == AttendanceStatus.REPRESENTED:
            holder = entry.proxy_holder_id
            if holder is None:
                errors[f"{key}.proxy_holder_id"] = _("Name the member who holds the proxy.")
            elif holder == entry.member_id:
                errors[f"{key}.proxy_holder_id"] = _("A member cannot hold their own proxy.")
            elif statuses.get(holder) != AttendanceStatus.PRESENT:
                errors[f"{key}.proxy_holder_id"] = _(
                    "The proxy holder must be a member present at the meeting."
                )
            else:
                holders[holder] = holders.get(holder, 0) + 1
                if holders[holder] > meeting.body.max_proxies_per_holder:
                    errors[f"{key}.proxy_holder_id"] = _(
                        "%(name)s already holds %(n)d proxy (the body's limit).",
                        name=in_office[holder].name,
                        n=meeting.body.max_proxies_per_holder,
                    )
        elif status is not None and entry.proxy_holder_id is not None:
            errors[f"{key}.proxy_holder_id"] = _("Only a represented member has a proxy holder.")
    secretary = meeting.secretary_id if secretary_id is KEEP else secretary_id
    if secretary is not None and statuses.get(secretary) != AttendanceStatus.PRESENT:
        errors["secretary_id"] = _("The secretary of the meeting is one of the members present.")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors)
    for row in list(meeting.attendance):
        db.session.delete(row)
    db.session.flush()
    meeting.secretary_id = secretary
    meeting.attendance = [
        Attendance(
            member_id=e.member_id,
            status=statuses[e.member_id],
            proxy_holder_id=e.proxy_holder_id
            if statuses[e.member_id] == AttendanceStatus.REPRESENTED
            else None,
        )
        for e in entries
    ]
    db.session.flush()
    db.session.refresh(meeting)
    if meeting.fulfils_duty and any(a.status == AttendanceStatus.PRESENT for a in meeting.attendance):
        _meet_yearly_duty(meeting)
    return quorum(meeting)


# --- votes and decisions --------------------------------------------------------------------------


def vote_result(body: Body, votes_for: int, against: int, chair_vote: str | None = None) -> tuple[bool, bool]:
    """(adopted, casting vote used) under the body's majority rule."""
    cast = votes_for + against
    if body.majority_rule == MajorityRule.TWO_THIRDS_OF_CAST:
        return (cast > 0 and 3 * votes_for >= 2 * cast), False
    if votes_for != against:
        return votes_for > against, False  # absolute majority of the votes cast: more than half
    if cast > 0 and body.chair_casting_vote:
        if chair_vote not in ("for", "against"):
            raise ValidationFailed(
                _("The vote is tied: say how the chair voted (casting vote)."),
                {"chair_vote": _("for or against")},
            )
        return chair_vote == "for", True
    return False, False


def record_vote(
    meeting: Meeting,
    subject: str,
    votes_for: int,
    against: int,
    abstentions: int,
    agenda_item_id: int | None = None,
    chair_vote: str | None = None,
) -> Vote:
    errors: dict[str, str] = {}
    if not subject.strip():
        errors["subject"] = _("Say what is voted on.")
    for name, value in (("for", votes_for), ("against", against), ("abstentions", abstentions)):
        if value < 0:
            errors[name] = _("A number of votes cannot be negative.")
    if agenda_item_id is not None and agenda_item_id not in {i.id for i in meeting.agenda}:
        errors["agenda_item_id"] = _("Not an item of this meeting's agenda.")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors)
    q = quorum(meeting)
    if not q.reached:
        raise ValidationFailed(
            _(
                "Quorum not reached (%(present)d present, %(required)d required): no vote can be recorded.",
                present=q.present,
                required=q.required,
            ),
            {"quorum": _("Not reached.")},
        )
    voters = q.present + q.represented
    if votes_for + against + abstentions > voters:
        raise ValidationFailed(
            _(
                "%(total)d votes for %(voters)d members present or represented: the totals are too high.",
                total=votes_for + against + abstentions,
                voters=voters,
            ),
            {"for": _("Too many votes.")},
        )
    adopted, casting = vote_result(meeting.body, votes_for, against, chair_vote)
    vote = Vote(
        meeting=meeting,
        agenda_item_id=agenda_item_id,
        subject=subject.strip()[:300],
        votes_for=votes_for,
        votes_against=against,
        abstentions=abstentions,
        adopted=adopted,
        casting_vote_used=casting,
        recorded_at=utcnow(),
    )
    db.session.add(vote)
    db.session.flush()
    return vote


def record_decision(meeting: Meeting, text: str, vote_id: int | None = None) -> Decision:
    """Number the decision in its body's register for the year: no gap, no duplicate, even when two are
    recorded at once (PostgreSQL: a transaction lock per register). SQLite has no such lock: two recorded
    at once may take the same number, and the unique key refuses the second (Conflict, 409)."""
    if not text.strip():
        raise ValidationFailed(_("Write the decision."), {"text": _("Required.")})
    vote = None
    if vote_id is not None:
        vote = db.session.get(Vote, vote_id)
        if vote is None or vote.meeting_id != meeting.id:
            raise ValidationFailed(
                _("This vote does not belong to this meeting."), {"vote_id": _("Unknown vote.")}
            )
        if not vote.adopted:
            raise ValidationFailed(
                _("A rejected vote does not make a decision."), {"vote_id": _("Rejected.")}
            )
    year = meeting_day(meeting).year
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(0x44454300 + meeting.body_id, year)))
    last = db.session.scalar(
        sa.select(sa.func.max(Decision.number)).where(
            Decision.body_id == meeting.body_id, Decision.year == year
        )
    )
    number = (last or 0) + 1
    decision = Decision(
        body_id=meeting.body_id,
        meeting=meeting,
        vote=vote,
        year=year,
        number=number,
        reference=f"{meeting.body.code}-{year}-{number:03d}",
        text=text.strip(),
        decided_at=meeting.starts_at,
    )
    # Worded before the flush: once it fails, the session (which the locale may read) awaits the rollback.
    taken = _(
        "Another decision took number %(reference)s at the same moment: nothing was recorded. "
        "Record it again.",
        reference=decision.reference,
    )
    db.session.add(decision)
    try:
        db.session.flush()
    except IntegrityError as exc:  # SQLite: another request took this number since; the caller rolls back
        raise Conflict(taken) from exc
    return decision


def search_decisions(query: str | None = None, body_id: int | None = None) -> sa.Select[Decision]:
    stmt = sa.select(Decision).order_by(Decision.decided_at.desc(), Decision.number.desc())
    if body_id is not None:
        stmt = stmt.where(Decision.body_id == body_id)
    if query and query.strip():
        needle = query.strip()
        stmt = stmt.where(
            sa.or_(
                Decision.text.icontains(needle, autoescape=True),
                Decision.reference.icontains(needle, autoescape=True),
            )
        )
    return stmt


# --- action items and circulation -----------------------------------------------------------------


def create_action_item(
    body: Body,
    title: str,
    owner: str,
    due_date: date | None = None,
    decision: Decision | None = None,
    owner_organisation_id: int | None = None,
) -> ActionItem:
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = _("Describe the action.")
    if not owner.strip():
        errors["owner"] = _("Say who carries it out.")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors)
    item = ActionItem(
        body_id=body.id,
        decision=decision,
        title=title.strip()[:300],
        owner=owner.strip()[:200],
        owner_organisation_id=owner_organisation_id,
        due_date=due_date,
    )
    db.session.add(item)
    db.session.flush()
    organisation = (
        db.session.get(Organisation, owner_organisation_id) if owner_organisation_id else None
    ) or controller_organisation()
    if due_date is not None and organisation is not None:
        open_deadline(
            ACTION_KIND,
            organisation,
            item.title,
            end_of_day(due_date),
            due_date=due_date,
            subject=("action_item", item.id),
        )
    return item


def set_action_status(item: ActionItem, status: str, notes: str | None = None) -> ActionItem:
    try:
        new = ActionStatus(status)
    except ValueError as exc:
        raise ValidationFailed(_("Unknown status."), {"status": _("Unknown status.")}) from exc
    item.status = new
    if notes and notes.strip():
        stamp = to_paris(utcnow()).strftime("%d/%m/%Y")
        item.notes = ((item.notes or "") + f"\n[{stamp}] {notes.strip()}").strip()
    deadline = open_deadline_for("action_item", item.id, ACTION_KIND)
    if deadline is not None and new == ActionStatus.DONE:
        meet_deadline(deadline)
    elif deadline is not None and new == ActionStatus.CANCELLED:
        cancel_deadline(deadline, notes or _("Action cancelled."))
    db.session.flush()
    return item


def record_circulation(
    body: Body, circulated_at: datetime, recipients: str, summary: str | None, meeting: Meeting | None = None
) -> Circulation:
    rapporteur = next(
        (
            m
            for m in body.members
            if m.role == MemberRole.RAPPORTEUR and m.in_office_on(to_paris(circulated_at).date())
        ),
        None,
    )
    if not recipients.strip():
        raise ValidationFailed(_("Say to whom the actions were circulated."), {"recipients": _("Required.")})
    if circulated_at.tzinfo is None:
        raise ValidationFailed(_("Give the time with its offset."), {"circulated_at": _("Give the offset.")})
    circulation = Circulation(
        body_id=body.id,
        meeting_id=meeting.id if meeting else None,
        circulated_at=circulated_at,
        recipients=recipients.strip(),
        summary=(summary or "").strip() or None,
        by_member_id=rapporteur.id if rapporteur else None,
    )
    db.session.add(circulation)
    db.session.flush()
    return circulation


# --- minutes --------------------------------------------------------------------------------------


def _minutes_of(meeting: Meeting) -> Minutes:
    minutes = minutes_of(meeting)
    if minutes is None:
        minutes = Minutes(meeting_id=meeting.id, status=MinutesStatus.DRAFT)
        db.session.add(minutes)
        db.session.flush()
    return minutes


def save_minutes(meeting: Meeting, text: str) -> Minutes:
    """Save a new version of the minutes (every version is kept); only drafts and submitted ones change."""
    minutes = _minutes_of(meeting)
    if minutes.status in (MinutesStatus.APPROVED, MinutesStatus.PUBLISHED):
        raise Conflict(_("Approved minutes cannot be changed."))
    if not text.strip():
        raise ValidationFailed(_("The minutes are empty."), {"text": _("Required.")})
    number = max((v.number for v in minutes.versions), default=0) + 1
    db.session.add(
        MinutesVersion(
            minutes=minutes, number=number, text=text, saved_at=utcnow(), saved_by=current_actor()[1][:254]
        )
    )
    minutes.status = MinutesStatus.DRAFT
    db.session.flush()
    db.session.refresh(minutes)
    return minutes


def submit_minutes(meeting: Meeting) -> Minutes:
    minutes = _minutes_of(meeting)
    if minutes.status != MinutesStatus.DRAFT or not minutes.versions:
        raise Conflict(_("Only written draft minutes can be submitted."))
    minutes.status = MinutesStatus.SUBMITTED
    db.session.flush()
    return minutes


def approve_minutes(meeting: Meeting, at_meeting: Meeting) -> Minutes:
    """Minutes are approved at a later meeting of the same body."""
    minutes = _minutes_of(meeting)
    if minutes.status != MinutesStatus.SUBMITTED:
        raise Conflict(_("Submit the minutes before approving them."))
    if at_meeting.body_id != meeting.body_id or at_meeting.starts_at <= meeting.starts_at:
        raise ValidationFailed(
            _("Minutes are approved at a later meeting of the same body."),
            {"approved_at_meeting_id": _("Choose a later meeting of this body.")},
        )
    minutes.status = MinutesStatus.APPROVED
    minutes.approved_at_meeting_id = at_meeting.id
    minutes.approved_at = at_meeting.starts_at
    db.session.flush()
    return minutes


def publish_minutes(meeting: Meeting) -> Minutes:
    minutes = _minutes_of(meeting)
    if minutes.status != MinutesStatus.APPROVED:
        raise Conflict(_("Only approved minutes are published."))
    minutes.status = MinutesStatus.PUBLISHED
    minutes.published_at = utcnow()
    db.session.flush()
    return minutes


# --- yearly duties (art. 8) -----------------------------------------------------------------------


def ensure_yearly_duty(duty: str, year: int) -> None:
    """Open the year's deadline for a duty (due 31 December, Paris) unless it exists."""
    kind = YEARLY_DUTIES[duty]
    existing = db.session.scalar(
        sa.select(sa.literal(1))
        .select_from(
            sa.table("deadline", sa.column("kind"), sa.column("subject_type"), sa.column("subject_id"))
        )
        .where(
            sa.column("kind") == kind,
            sa.column("subject_type") == "governance_year",
            sa.column("subject_id") == year,
        )
    )
    controller = controller_organisation()
    if existing is not None or controller is None:
        return
    last_day = date(year, 12, 31)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        title = {
            "yearly_meeting": _("%(year)d meeting of all partner libraries", year=year),
            "professional_day": _('%(year)d professional day of the "Ressources en ligne" group', year=year),
        }[duty]
    open_deadline(
        kind, controller, title, end_of_day(last_day), due_date=last_day, subject=("governance_year", year)
    )


def _meet_yearly_duty(meeting: Meeting) -> None:
    duty = meeting.fulfils_duty
    if duty is None:
        return
    year = meeting_day(meeting).year
    ensure_yearly_duty(duty, year)
    deadline = open_deadline_for("governance_year", year, YEARLY_DUTIES[duty])
    if deadline is not None:
        meet_deadline(deadline, met_at=meeting.starts_at)


def get_meeting(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(_("No such meeting."))
    return meeting
