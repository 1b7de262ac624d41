"""The convention forms. Several share the convention's page: each has a prefix (unique names and ids);
the CSRF token is checked for every POST by CSRFProtect and written by the templates with csrf_token().

Days are typed as days (<input type="date">). Choices that depend on the records (partners, templates,
deliberations) are set by the views.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from governance.conventions.serialise import DECISION_LABELS
from governance.conventions.services import ArticleData


def optional_int(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(str(value))


class _PageForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks every POST; the templates write the token


# --- a new convention -----------------------------------------------------------------------------

# "Article 1 – Objet", "Article 1er : Objet", "Art. 9 - Durée": a number, then a dash, a colon or a full stop.
ARTICLE_HEADING = re.compile(
    r"^\s*(?:article|art\.)\s*(\d{1,3})(?:er)?\s*(?:[-–—:.]\s*(.*))?$", re.IGNORECASE
)


class ArticlesSyntaxError(ValueError):
    pass


def parse_articles(text: str) -> list[ArticleData]:
    """'Article 1 – Objet' on a line of its own starts an article; the lines below are its text."""
    articles: list[ArticleData] = []
    current: tuple[int, str] | None = None
    lines: list[str] = []

    def close() -> None:
        if current is not None:
            articles.append(ArticleData(current[0], current[1], "\n".join(lines).strip()))

    for line in (text or "").splitlines():
        heading = ARTICLE_HEADING.match(line)
        if heading:
            close()
            current, lines = (int(heading.group(1)), (heading.group(2) or "").strip()), []
        elif current is None:
            if line.strip():
                raise ArticlesSyntaxError(
                    _('Start the text with an article\'s heading, such as "Article 1 – Objet".')
                )
        else:
            lines.append(line.rstrip())
    close()
    for article in articles:
        if not article.title:
            raise ArticlesSyntaxError(_("Article %(n)d has no title.", n=article.number))
    return articles


class ConventionForm(_PageForm):
    template_id = SelectField(_l("From a template"), coerce=optional_int, validate_choice=True)
    partner_id = SelectField(_l("Partner"), coerce=optional_int, validate_choice=True)
    is_template = BooleanField(_l("This is a template to duplicate for partners (no partner)"))
    title = StringField(_l("Title"), validators=[Optional(), Length(max=300)])
    reference = StringField(_l("Reference"), validators=[Optional(), Length(max=60)])
    start_date = DateField(_l("Start of the term"), validators=[InputRequired()])
    end_date = DateField(_l("End of the term"), validators=[InputRequired()])
    articles = TextAreaField(_l("Articles"), validators=[Optional(), Length(max=100_000)])

    def validate_articles(self, field: Any) -> None:
        try:
            parse_articles(field.data or "")
        except ArticlesSyntaxError as exc:
            raise ValidationError(str(exc)) from None


# --- approval by deliberation ---------------------------------------------------------------------

COUNT_FIELDS = (
    "members_in_office",
    "members_present",
    "members_represented",
    "votes_for",
    "votes_against",
    "abstentions",
)


def _count(label: Any) -> IntegerField:
    return IntegerField(label, validators=[Optional(), NumberRange(min=0)])


class DeliberationFields(_PageForm):
    """A deliberation as the assembly's extract records it (the reference's first page)."""

    assembly = StringField(_l("Assembly"), validators=[Optional(), Length(max=200)])
    number = StringField(_l("Number"), validators=[Optional(), Length(max=40)])
    adopted_on = DateField(_l("Date of the meeting"), validators=[Optional()])
    theme = StringField(_l("Theme"), validators=[Optional(), Length(max=200)])
    subject = TextAreaField(_l("Object"), validators=[Optional(), Length(max=5000)])
    members_in_office = _count(_l("Members in office"))
    members_present = _count(_l("Members present"))
    members_represented = _count(_l("Members represented (proxies)"))
    votes_for = _count(_l("For"))
    votes_against = _count(_l("Against"))
    abstentions = _count(_l("Abstentions"))
    secretary = StringField(_l("Secretary of the meeting"), validators=[Optional(), Length(max=200)])

    REQUIRED = ("assembly", "number", "adopted_on", "subject", "members_in_office", "members_present")

    def check_required(self) -> bool:
        ok = True
        for name in (*self.REQUIRED, "votes_for"):
            if self[name].data in (None, ""):
                self[name].errors = [*self[name].errors, _("Required.")]
                ok = False
        return ok


class ApproveForm(DeliberationFields):
    deliberation_id = SelectField(_l("Deliberation"), coerce=optional_int, validate_choice=True)

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if ok and self.deliberation_id.data is None:
            ok = self.check_required()
        return ok


class DeliberationForm(DeliberationFields):
    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        return self.check_required() and ok


# --- the steps ------------------------------------------------------------------------------------


class SignatureForm(_PageForm):
    controller_signatory = StringField(_l("Signatory for the Département"), validators=[Length(max=200)])
    controller_signed_on = DateField(_l("Signed by the Département on"), validators=[Optional()])
    partner_signatory = StringField(_l("Signatory for the partner"), validators=[Length(max=200)])
    partner_signed_on = DateField(_l("Signed by the partner on"), validators=[Optional()])


class ScanForm(_PageForm):
    scan = FileField(_l("Signed convention (PDF scan)"))


class TransmissionForm(_PageForm):
    acknowledgement_id = StringField(
        _l("Prefecture acknowledgement id"), validators=[DataRequired(), Length(max=80)]
    )
    received_on = DateField(_l("Received by the prefecture on"), validators=[InputRequired()])
    published_on = DateField(_l("Published on"), validators=[Optional()])


class AmendmentForm(_PageForm):
    signed_on = DateField(_l("Signed on"), validators=[InputRequired()])
    changes = TextAreaField(_l("What it changes"), validators=[DataRequired(), Length(max=20_000)])
    deliberation_id = SelectField(_l("Its deliberation"), coerce=optional_int, validate_choice=True)


class EvaluationForm(_PageForm):
    evaluated_on = DateField(_l("Evaluated on"), validators=[InputRequired()])
    relevance_of_resources = TextAreaField(_l("Relevance of the resources"), validators=[Length(max=20_000)])
    training_needs = TextAreaField(_l("Training needs"), validators=[Length(max=20_000)])
    communication_needs = TextAreaField(_l("Communication needs"), validators=[Length(max=20_000)])
    usage = TextAreaField(_l("Usage"), validators=[Length(max=20_000)])
    compliance_summary = TextAreaField(
        _l("The partner's compliance (its obligations' deadlines)"), validators=[Length(max=20_000)]
    )
    findings = TextAreaField(_l("Findings"), validators=[DataRequired(), Length(max=20_000)])
    decision = RadioField(
        _l("Decision"),
        choices=[SelectChoice(d.value, label) for d, label in DECISION_LABELS.items()],
        validators=[InputRequired()],
    )


class NoticeForm(_PageForm):
    sent_on = DateField(_l("Sent on"), validators=[InputRequired()])
    grounds = TextAreaField(_l("Grounds (the obligations not met)"), validators=[DataRequired()])
    tracking_number = StringField(
        _l("Registered letter tracking number"), validators=[Optional(), Length(max=60)]
    )
    received_on = DateField(_l("Received by the partner on"), validators=[Optional()])


class AnswerForm(_PageForm):
    answered_on = DateField(_l("Answered on"), validators=[InputRequired()])
    answer = TextAreaField(_l("The answer"), validators=[DataRequired(), Length(max=20_000)])


class TerminationForm(_PageForm):
    sent_on = DateField(_l("Termination letter sent on"), validators=[InputRequired()])
    tracking_number = StringField(
        _l("Registered letter tracking number"), validators=[DataRequired(), Length(max=60)]
    )
    notified_on = DateField(_l("Notified on (effective date)"), validators=[InputRequired()])
