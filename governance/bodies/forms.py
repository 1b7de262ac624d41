"""The governance forms. Times are typed as Paris wall-clock times (datetime-local) and handed to the
services as aware UTC datetimes; a time the clocks skipped in spring is refused at the field.

Choices that depend on the records (members, organisations, votes, later meetings) are set by the views.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import DateTimeLocalInput

from governance.bodies.models import (
    ActionStatus,
    AttendanceStatus,
    MajorityRule,
    MemberRole,
    MinutesStatus,
    QuorumRule,
)
from vigie.timeutil import PARIS, to_paris

QUORUM_LABELS = {
    QuorumRule.MAJORITY_PRESENT: _l("A majority of the members in office physically present (CGCT L2121-17)"),
    QuorumRule.MAJORITY_PRESENT_OR_REPRESENTED: _l(
        "A majority of the members in office present or represented"
    ),
    QuorumRule.NONE: _l("No quorum (an advisory group)"),
}
MAJORITY_LABELS = {
    MajorityRule.ABSOLUTE_OF_CAST: _l("Absolute majority of the votes cast (CGCT L2121-20)"),
    MajorityRule.TWO_THIRDS_OF_CAST: _l("Two thirds of the votes cast"),
}
ROLE_LABELS = {
    MemberRole.MEMBER: _l("member"),
    MemberRole.CHAIR: _l("chair"),
    MemberRole.PILOT: _l("pilot"),
    MemberRole.RAPPORTEUR: _l("rapporteur"),
}
ATTENDANCE_LABELS = {
    AttendanceStatus.PRESENT: _l("present"),
    AttendanceStatus.REPRESENTED: _l("represented (proxy)"),
    AttendanceStatus.EXCUSED: _l("excused"),
    AttendanceStatus.ABSENT: _l("absent"),
}
MINUTES_LABELS = {
    MinutesStatus.DRAFT: _l("draft"),
    MinutesStatus.SUBMITTED: _l("submitted for approval"),
    MinutesStatus.APPROVED: _l("approved"),
    MinutesStatus.PUBLISHED: _l("published"),
}
ACTION_LABELS = {
    ActionStatus.OPEN: _l("open"),
    ActionStatus.IN_PROGRESS: _l("in progress"),
    ActionStatus.DONE: _l("done"),
    ActionStatus.CANCELLED: _l("cancelled"),
}
DUTY_LABELS = {
    "yearly_meeting": _l("The yearly meeting of all partner libraries (art. 8)"),
    "professional_day": _l('The yearly professional day of the "Ressources en ligne" group (art. 8)'),
}


def optional_int(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(str(value))


def optional_str(value: object) -> str | None:
    if value in (None, "", "None"):
        return None
    return str(value)


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as the options of a select (an enum member gives its value)."""
    return [SelectChoice(str(getattr(value, "value", value)), label) for value, label in pairs]


def _duty_choices(empty: Any) -> list[SelectChoice]:
    return choices([("", empty), *DUTY_LABELS.items()])


class _PageForm(FlaskForm):
    # Several forms share a page: each has a prefix (unique names and ids). The CSRF token is checked for
    # every POST by CSRFProtect (vigie.extensions.csrf) and written by the templates with csrf_token().
    class Meta:
        csrf = False


# --- Paris wall-clock times --------------------------------------------------------------------------


class NonexistentLocalTime(ValueError):
    """A wall-clock time the clocks skipped (the spring change: 2:00 to 3:00 does not exist)."""


def paris_to_utc(local: datetime) -> datetime:
    """A naive Paris wall-clock time as an aware UTC datetime. A time in the hour skipped in spring does
    not exist (NonexistentLocalTime); in the hour repeated in autumn, the first occurrence is taken."""
    aware = local.replace(tzinfo=PARIS, fold=0)
    if aware.astimezone(UTC).astimezone(PARIS).replace(tzinfo=None) != local:
        raise NonexistentLocalTime(local.isoformat())
    return aware.astimezone(UTC)


class ParisDateTimeField(StringField):
    """<input type="datetime-local">, read and shown in Europe/Paris; `data` is aware, in UTC."""

    widget = DateTimeLocalInput()
    formats = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if isinstance(self.data, datetime):
            return to_paris(self.data).strftime("%Y-%m-%dT%H:%M")
        return ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        text = str(valuelist[0]).strip()
        for fmt in self.formats:
            try:
                local = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            self.data = None
            raise ValueError(str(_l("Give a date and a time, for example 28/03/2025 10:00.")))
        try:
            self.data = paris_to_utc(local)
        except NonexistentLocalTime:
            self.data = None
            raise ValueError(
                str(
                    _l(
                        "This time does not exist in Paris: the clocks went forward from 2:00 to 3:00 "
                        "that night. Give a time before 2:00 or from 3:00."
                    )
                )
            ) from None


# --- bodies and members ------------------------------------------------------------------------------


class RulesForm(_PageForm):
    """The rules of a body (art. 7; defaults as the French code for local councils)."""

    missions = TextAreaField(_l("Missions"), validators=[Optional(), Length(max=5000)])
    quorum_rule = SelectField(
        _l("Quorum"), choices=choices(QUORUM_LABELS.items()), default=QuorumRule.MAJORITY_PRESENT.value
    )
    majority_rule = SelectField(
        _l("Majority"), choices=choices(MAJORITY_LABELS.items()), default=MajorityRule.ABSOLUTE_OF_CAST.value
    )
    max_proxies_per_holder = IntegerField(
        _l("Proxies a member present may hold"),
        default=1,
        validators=[InputRequired(), NumberRange(min=0, max=20)],
    )
    chair_casting_vote = BooleanField(_l("The chair's vote settles a tie (casting vote)"))
    yearly_duty = SelectField(
        _l("Yearly duty of this body"), choices=_duty_choices(_l("none")), coerce=optional_str, default=""
    )


class BodyForm(RulesForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    code = StringField(_l("Register prefix"), validators=[Optional(), Length(max=12)])


class MemberForm(_PageForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail address"), validators=[Optional(), Email(), Length(max=254)])
    organisation_id = SelectField(_l("Organisation"), coerce=optional_int, choices=[])
    role = SelectField(_l("Role in the body"), choices=choices(ROLE_LABELS.items()), default="member")
    statutory = BooleanField(_l("Statutory member (sits by right, art. 7)"))
    since = DateField(_l("Member since"), validators=[Optional()])


class EndMembershipForm(_PageForm):
    until = DateField(_l("Last day of the membership"), validators=[InputRequired()])


# --- meetings ----------------------------------------------------------------------------------------


class MeetingForm(_PageForm):
    title = StringField(_l("Title"), validators=[Optional(), Length(max=300)])
    starts_at = ParisDateTimeField(_l("Starts at"), validators=[InputRequired()])
    ends_at = ParisDateTimeField(_l("Ends at"), validators=[Optional()])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=300)])
    video_link = StringField(_l("Video link"), validators=[Optional(), Length(max=500)])
    agenda = TextAreaField(_l("Agenda"), validators=[Optional(), Length(max=10000)])
    fulfils_duty = SelectField(
        _l("This meeting fulfils a yearly duty"), choices=_duty_choices(_l("no")), coerce=optional_str
    )


class AgendaItemForm(_PageForm):
    title = StringField(_l("Agenda item"), validators=[DataRequired(), Length(max=300)])


class DocumentForm(_PageForm):
    document = FileField(_l("Document"))


class VoteForm(_PageForm):
    subject = StringField(_l("Subject of the vote"), validators=[DataRequired(), Length(max=300)])
    agenda_item_id = SelectField(_l("Agenda item"), coerce=optional_int, choices=[])
    votes_for = IntegerField(_l("For"), validators=[InputRequired(), NumberRange(min=0)])
    votes_against = IntegerField(_l("Against"), validators=[InputRequired(), NumberRange(min=0)])
    abstentions = IntegerField(_l("Abstentions"), default=0, validators=[InputRequired(), NumberRange(min=0)])
    chair_vote = SelectField(
        _l("The chair's vote, if tied"),
        choices=choices([("", _l("not tied")), ("for", _l("for")), ("against", _l("against"))]),
        coerce=optional_str,
    )


class DecisionForm(_PageForm):
    text = TextAreaField(_l("The decision"), validators=[DataRequired(), Length(max=10000)])
    vote_id = SelectField(_l("Adopted by the vote"), coerce=optional_int, choices=[])


class ActionForm(_PageForm):
    title = StringField(_l("Action"), validators=[DataRequired(), Length(max=300)])
    owner = StringField(_l("Carried out by"), validators=[DataRequired(), Length(max=200)])
    owner_organisation_id = SelectField(_l("Their organisation"), coerce=optional_int, choices=[])
    due_date = DateField(_l("Due date"), validators=[Optional()])
    decision_id = SelectField(_l("Decision"), coerce=optional_int, choices=[])


class ActionStatusForm(_PageForm):
    status = SelectField(_l("Status"), choices=choices(ACTION_LABELS.items()))
    notes = StringField(_l("Follow-up note"), validators=[Optional(), Length(max=2000)])


class CirculationForm(_PageForm):
    circulated_at = ParisDateTimeField(_l("Circulated on"), validators=[InputRequired()])
    recipients = TextAreaField(_l("To whom"), validators=[DataRequired(), Length(max=5000)])
    summary = TextAreaField(_l("What was circulated"), validators=[Optional(), Length(max=10000)])


class MinutesForm(_PageForm):
    text = TextAreaField(_l("Minutes (Markdown)"), validators=[DataRequired(), Length(max=200_000)])


class ApproveMinutesForm(_PageForm):
    at_meeting_id = SelectField(_l("Approved at the meeting of"), coerce=optional_int, choices=[])
