"""The life of a convention. Views, the API and the CLI call these; they check the rules, change the
records, open and stop the clocks, flush — and never commit."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from governance.conventions.models import (
    Amendment,
    Convention,
    ConventionArticle,
    ConventionStatus,
    Deliberation,
    Evaluation,
    EvaluationDecision,
    FormalNotice,
)
from vigie import hooks
from vigie.database import utcnow
from vigie.deadlines.calendar import end_of_day
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.deadlines.services import cancel_deadline, meet_deadline, open_deadline, open_deadline_for
from vigie.errors import Conflict, ValidationFailed
from vigie.extensions import db
from vigie.orgs.models import Organisation, OrganisationKind
from vigie.timeutil import to_paris

EVALUATION_KIND = "convention.evaluation"
NOTICE_KIND = "convention.formal_notice"
EVALUATION_MONTHS_BEFORE = 2  # art. 9
NOTICE_DAYS = 30  # art. 10


def today() -> date:
    return to_paris(utcnow()).date()


def _not_in_future(day: date | None, field: str, message: str) -> None:
    """What already happened cannot be dated on a day that has not come yet (Europe/Paris)."""
    if day is not None and day > today():
        raise ValidationFailed(message, {field: _("In the future.")})


def months_before(day: date, months: int) -> date:
    """The same date `months` earlier, or that month's last day when it has none (31 Dec → 31 Oct,
    30 Apr → 28 Feb). No roll to a working day: the deadline must not move later than the rule."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --- deliberations --------------------------------------------------------------------------------


@dataclass
class DeliberationData:
    organisation_id: int
    assembly: str
    number: str
    adopted_on: date
    subject: str
    members_in_office: int
    members_present: int
    members_represented: int
    votes_for: int
    votes_against: int = 0
    abstentions: int = 0
    theme: str | None = None
    secretary: str | None = None


def create_deliberation(data: DeliberationData) -> Deliberation:
    errors: dict[str, str] = {}
    if db.session.get(Organisation, data.organisation_id) is None:
        errors["organisation_id"] = _("No such organisation.")
    for name in ("assembly", "number", "subject"):
        if not str(getattr(data, name) or "").strip():
            errors[name] = _("Required.")
    counts = (
        "members_in_office",
        "members_present",
        "members_represented",
        "votes_for",
        "votes_against",
        "abstentions",
    )
    for name in counts:
        if getattr(data, name) < 0:
            errors[name] = _("A number cannot be negative.")
    if not errors and data.members_present + data.members_represented > data.members_in_office:
        errors["members_present"] = _(
            "%(present)d present and %(represented)d represented exceed the %(office)d members in office.",
            present=data.members_present,
            represented=data.members_represented,
            office=data.members_in_office,
        )
    voters = data.members_present + data.members_represented
    if not errors and data.votes_for + data.votes_against + data.abstentions > voters:
        errors["votes_for"] = _(
            "%(votes)d votes exceed the %(voters)d members present or represented.",
            votes=data.votes_for + data.votes_against + data.abstentions,
            voters=voters,
        )
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors)
    existing = db.session.scalar(
        sa.select(Deliberation.id).where(
            Deliberation.organisation_id == data.organisation_id, Deliberation.number == data.number.strip()
        )
    )
    if existing is not None:
        raise Conflict(_("This deliberation is recorded already."), {"number": _("Already recorded.")})
    deliberation = Deliberation(
        organisation_id=data.organisation_id,
        assembly=data.assembly.strip(),
        number=data.number.strip(),
        adopted_on=data.adopted_on,
        theme=(data.theme or "").strip() or None,
        subject=data.subject.strip(),
        members_in_office=data.members_in_office,
        members_present=data.members_present,
        members_represented=data.members_represented,
        votes_for=data.votes_for,
        votes_against=data.votes_against,
        abstentions=data.abstentions,
        secretary=(data.secretary or "").strip() or None,
    )
    db.session.add(deliberation)
    db.session.flush()
    return deliberation


# --- the prefecture's acknowledgement -------------------------------------------------------------

ACK_PATTERN = re.compile(
    r"^(?P<department>\d{3}|02[AB])-(?P<siren>\d{9})-(?P<date>\d{8})-(?P<number>[A-Za-z0-9_.-]+?)-(?P<nature>[A-Z]{2})$"
)
NATURE_DELIBERATION = "DE"


@dataclass(frozen=True)
class Acknowledgement:
    department: str
    siren: str
    act_date: date
    number: str
    nature: str


def parse_acknowledgement(value: str) -> Acknowledgement:
    """department-SIREN-date-number-nature, e.g. 004-240400440-20250403-37-2025-DE."""
    match = ACK_PATTERN.match(value.strip())
    field = "acknowledgement_id"
    if match is None:
        raise ValidationFailed(
            _(
                "This is not a prefecture acknowledgement id: expected department-SIREN-date-number-nature, "
                "e.g. 004-240400440-20250403-37-2025-DE."
            ),
            {field: _("Malformed.")},
        )
    raw_date = match["date"]
    try:
        act_date = date(int(raw_date[:4]), int(raw_date[4:6]), int(raw_date[6:]))
    except ValueError as exc:
        raise ValidationFailed(
            _("The date %(date)s in the acknowledgement id does not exist.", date=raw_date),
            {field: _("Bad date.")},
        ) from exc
    return Acknowledgement(match["department"], match["siren"], act_date, match["number"], match["nature"])


def _number_tokens(number: str) -> list[str]:
    return sorted(t.lstrip("0") or "0" for t in re.findall(r"[A-Za-z0-9]+", number))


def _department_of(organisation: Organisation) -> str | None:
    """The département of an organisation from its postcode (04300 → 04; 97x overseas; Corsica 2A/2B)."""
    match = re.search(r"\b(\d{5})\b", organisation.address or "")
    if match is None:
        return None
    code = match.group(1)
    if code.startswith("97") or code.startswith("98"):
        return code[:3]
    if code.startswith("20"):
        return "2A" if int(code) < 20200 else "2B"
    return code[:2]


def acknowledgement_problems(
    ack: Acknowledgement, partner: Organisation, deliberation: Deliberation
) -> list[str]:
    """What differs between the acknowledgement and the partner or its deliberation (empty when all agree)."""
    problems = []
    if partner.siren != ack.siren:
        problems.append(
            _(
                "The SIREN %(ack)s is not the partner's (%(siren)s).",
                ack=ack.siren,
                siren=partner.siren or _("none recorded"),
            )
        )
    if ack.act_date != deliberation.adopted_on:
        problems.append(
            _(
                "The act's date %(ack)s is not the deliberation's (%(date)s).",
                ack=ack.act_date.strftime("%d/%m/%Y"),
                date=deliberation.adopted_on.strftime("%d/%m/%Y"),
            )
        )
    if _number_tokens(ack.number) != _number_tokens(deliberation.number):
        problems.append(
            _(
                "The act's number %(ack)s is not the deliberation's (%(number)s).",
                ack=ack.number,
                number=deliberation.number,
            )
        )
    if ack.nature != NATURE_DELIBERATION:
        problems.append(_("The nature code %(nature)s is not a deliberation's (DE).", nature=ack.nature))
    department = _department_of(partner)
    if department is not None:
        ack_department = ack.department.lstrip("0") if ack.department.isdigit() else ack.department[1:]
        if ack_department.zfill(2) != department.zfill(2):
            problems.append(
                _(
                    "The department %(ack)s is not the partner's (%(department)s).",
                    ack=ack.department,
                    department=department,
                )
            )
    return problems


# --- conventions ----------------------------------------------------------------------------------


@dataclass
class ArticleData:
    number: int
    title: str
    text: str


def _check_term(start: date, end: date) -> None:
    if end <= start:
        raise ValidationFailed(
            _("The convention ends after it starts."), {"end_date": _("Before the start.")}
        )


def create_convention(
    controller: Organisation,
    partner: Organisation | None,
    title: str,
    start_date: date,
    end_date: date,
    reference: str | None = None,
    articles: list[ArticleData] | None = None,
    is_template: bool = False,
) -> Convention:
    errors: dict[str, str] = {}
    if controller.kind != OrganisationKind.CONTROLLER:
        errors["controller_id"] = _("The first party is the Département (the controller).")
    if partner is None and not is_template:
        errors["partner_id"] = _("Choose the partner.")
    if partner is not None and partner.kind != OrganisationKind.PARTNER:
        errors["partner_id"] = _("The second party is a partner.")
    if not title.strip():
        errors["title"] = _("Give the convention's title.")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors)
    _check_term(start_date, end_date)
    numbers = [a.number for a in articles or []]
    if len(numbers) != len(set(numbers)):
        raise ValidationFailed(_("Two articles have the same number."), {"articles": _("Duplicate number.")})
    convention = Convention(
        title=title.strip()[:300],
        reference=(reference or "").strip() or None,
        controller=controller,
        partner=partner,
        is_template=is_template,
        start_date=start_date,
        end_date=end_date,
        evaluation_due_date=months_before(end_date, EVALUATION_MONTHS_BEFORE),
        status=ConventionStatus.DRAFT,
    )
    db.session.add(convention)
    db.session.flush()
    for article in articles or []:
        db.session.add(
            ConventionArticle(
                convention=convention,
                number=article.number,
                title=article.title.strip(),
                text=article.text.strip(),
            )
        )
    db.session.flush()
    return convention


def duplicate_for_partner(
    source: Convention, partner: Organisation, start_date: date, end_date: date, reference: str | None = None
) -> Convention:
    """A new draft for a partner from a template (or a previous convention), articles included."""
    copy = create_convention(
        source.controller,
        partner,
        source.title,
        start_date,
        end_date,
        reference=reference,
        articles=[ArticleData(a.number, a.title, a.text) for a in source.articles],
    )
    return copy


def approve_convention(convention: Convention, deliberation: Deliberation) -> Convention:
    if convention.status != ConventionStatus.DRAFT:
        raise Conflict(_("Only a draft is approved by a deliberation."))
    if deliberation.organisation_id != convention.partner_id:
        raise ValidationFailed(
            _("The deliberation is not the partner's."), {"deliberation_id": _("Another organisation's.")}
        )
    if deliberation.votes_for <= deliberation.votes_against:
        raise ValidationFailed(
            _("This deliberation did not adopt the convention."), {"deliberation_id": _("Not adopted.")}
        )
    convention.deliberation = deliberation
    convention.status = ConventionStatus.APPROVED
    db.session.flush()
    return convention


def sign_convention(
    convention: Convention,
    controller_signed_on: date | None,
    partner_signed_on: date | None,
    controller_signatory: str | None = None,
    partner_signatory: str | None = None,
) -> Convention:
    """Record each party's signature; signed once both have signed."""
    if convention.status not in (ConventionStatus.APPROVED, ConventionStatus.SIGNED):
        raise Conflict(_("The convention is signed after its approval by deliberation."))
    deliberation = convention.deliberation
    for name, value in (
        ("controller_signed_on", controller_signed_on),
        ("partner_signed_on", partner_signed_on),
    ):
        _not_in_future(value, name, _("A signature cannot be in the future."))
        if value is not None and deliberation is not None and value < deliberation.adopted_on:
            raise ValidationFailed(
                _("A signature cannot precede the deliberation that authorises it."), {name: _("Too early.")}
            )
    convention.controller_signed_on = controller_signed_on or convention.controller_signed_on
    convention.partner_signed_on = partner_signed_on or convention.partner_signed_on
    convention.controller_signatory = (controller_signatory or "").strip() or convention.controller_signatory
    convention.partner_signatory = (partner_signatory or "").strip() or convention.partner_signatory
    if convention.controller_signed_on and convention.partner_signed_on:
        convention.status = ConventionStatus.SIGNED
        if convention.partner is not None:
            # The processor file checks its DPO contact, due at signature (compliance registers it).
            hooks.fire(
                hooks.CONVENTION_SIGNED,
                convention.partner,
                max(convention.controller_signed_on, convention.partner_signed_on),
            )
    db.session.flush()
    return convention


def record_transmission(
    convention: Convention, acknowledgement_id: str, received_on: date, published_on: date | None = None
) -> Convention:
    """The prefecture's acknowledgement: checked against the partner and the deliberation; the convention is
    enforceable from now on, and the evaluation clock (two months before expiry) starts."""
    if convention.status not in (ConventionStatus.SIGNED, ConventionStatus.APPROVED):
        raise Conflict(_("Record the approval and the signatures before the transmission."))
    if convention.partner is None or convention.deliberation is None:
        raise Conflict(_("A transmission concerns a partner's approved convention."))
    ack = parse_acknowledgement(acknowledgement_id)
    problems = acknowledgement_problems(ack, convention.partner, convention.deliberation)
    if problems:
        raise ValidationFailed(
            _("The acknowledgement id does not match: %(problems)s", problems=" ".join(problems)),
            {"acknowledgement_id": " ".join(problems)},
        )
    if received_on < ack.act_date:
        raise ValidationFailed(
            _("The prefecture cannot have received the act before its date."),
            {"received_at": _("Too early.")},
        )
    _not_in_future(received_on, "received_at", _("This date is in the future."))
    convention.acknowledgement_id = acknowledgement_id.strip()
    convention.transmitted_on = received_on
    convention.published_on = published_on
    convention.status = ConventionStatus.TRANSMITTED
    if open_deadline_for("convention", convention.id, EVALUATION_KIND) is None:
        open_deadline(
            EVALUATION_KIND,
            convention.partner,
            _("Evaluate the convention with %(partner)s", partner=convention.partner.name),
            end_of_day(convention.evaluation_due_date),
            due_date=convention.evaluation_due_date,
            subject=("convention", convention.id),
        )
    db.session.flush()
    return convention


def effective_status(convention: Convention, on: date | None = None) -> ConventionStatus:
    """The stored status, moved on by time: transmitted and begun → in force; past its end → expired."""
    on = on or today()
    status = convention.status
    if status == ConventionStatus.TRANSMITTED and convention.start_date <= on:
        status = ConventionStatus.IN_FORCE
    running = (ConventionStatus.TRANSMITTED, ConventionStatus.IN_FORCE, ConventionStatus.UNDER_EVALUATION)
    if status in running and convention.end_date < on:
        return ConventionStatus.EXPIRED
    return status


def add_amendment(
    convention: Convention, signed_on: date, changes: str, deliberation: Deliberation | None
) -> Amendment:
    if not changes.strip():
        raise ValidationFailed(_("Say what the amendment changes."), {"changes": _("Required.")})
    parties = {convention.partner_id, convention.controller_id} - {None}
    if deliberation is not None and deliberation.organisation_id not in parties:
        raise ValidationFailed(
            _("An amendment's deliberation is one of the partner's or of the Département's."),
            {"deliberation_id": _("Another organisation's.")},
        )
    number = max((a.number for a in convention.amendments), default=0) + 1
    amendment = Amendment(
        convention=convention,
        number=number,
        signed_on=signed_on,
        changes=changes.strip(),
        deliberation_id=deliberation.id if deliberation else None,
    )
    db.session.add(amendment)
    db.session.flush()
    return amendment


# --- evaluation and renewal -----------------------------------------------------------------------


@dataclass
class EvaluationData:
    evaluated_on: date
    findings: str
    decision: str
    relevance_of_resources: str | None = None
    training_needs: str | None = None
    communication_needs: str | None = None
    usage: str | None = None
    compliance_summary: str | None = None


def record_evaluation(convention: Convention, data: EvaluationData) -> Evaluation:
    """The evaluation meets its deadline; "renew" prepares the next convention from this one, linked."""
    if convention.transmitted_on is None:
        raise Conflict(_("Only an enforceable convention is evaluated."))
    if effective_status(convention) in (ConventionStatus.TERMINATED, ConventionStatus.RENEWED):
        raise Conflict(_("This convention has ended."))
    errors: dict[str, str] = {}
    try:
        decision = EvaluationDecision(data.decision)
    except ValueError:
        errors["decision"] = _("Choose: renew, renegotiate or end.")
        decision = EvaluationDecision.RENEW
    if not data.findings.strip():
        errors["findings"] = _("Write the findings.")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors)
    evaluation = Evaluation(
        convention_id=convention.id,
        evaluated_on=data.evaluated_on,
        findings=data.findings.strip(),
        decision=decision,
        relevance_of_resources=data.relevance_of_resources,
        training_needs=data.training_needs,
        communication_needs=data.communication_needs,
        usage=data.usage,
        compliance_summary=data.compliance_summary,
    )
    db.session.add(evaluation)
    deadline = open_deadline_for("convention", convention.id, EVALUATION_KIND)
    if deadline is not None:
        meet_deadline(deadline, met_at=end_of_day(data.evaluated_on) - timedelta(hours=12))
    convention.status = ConventionStatus.UNDER_EVALUATION
    if decision == EvaluationDecision.RENEW and convention.partner is not None:
        length = convention.end_date - convention.start_date
        start = convention.end_date + timedelta(days=1)
        following = duplicate_for_partner(convention, convention.partner, start, start + length)
        following.previous_id = convention.id
        evaluation.next_convention_id = following.id
        convention.status = ConventionStatus.RENEWED
    db.session.flush()
    return evaluation


# --- formal notice and termination (art. 10) ------------------------------------------------------


def send_formal_notice(
    convention: Convention,
    sent_on: date,
    grounds: str,
    tracking_number: str | None,
    received_on: date | None = None,
) -> FormalNotice:
    """A mise en demeure: 30 days to answer from its receipt (from its sending while receipt is unknown)."""
    if not convention.enforceable:
        raise Conflict(_("A formal notice concerns an enforceable convention."))
    if not grounds.strip():
        raise ValidationFailed(_("State the grounds of the formal notice."), {"grounds": _("Required.")})
    _not_in_future(sent_on, "sent_on", _("A formal notice cannot be sent in the future."))
    if received_on is not None and received_on < sent_on:
        raise ValidationFailed(_("A letter is received after it is sent."), {"received_on": _("Too early.")})
    _not_in_future(received_on, "received_on", _("A formal notice cannot be received in the future."))
    start = received_on or sent_on
    notice = FormalNotice(
        convention_id=convention.id,
        sent_on=sent_on,
        grounds=grounds.strip(),
        tracking_number=(tracking_number or "").strip() or None,
        received_on=received_on,
        answer_due_date=start + timedelta(days=NOTICE_DAYS),
        recorded_at=utcnow(),
    )
    db.session.add(notice)
    db.session.flush()
    assert convention.partner is not None  # noqa: S101 (enforceable conventions have a partner)
    open_deadline(
        NOTICE_KIND,
        convention.partner,
        _("Formal notice to %(partner)s: answer due", partner=convention.partner.name),
        end_of_day(notice.answer_due_date),
        due_date=notice.answer_due_date,
        subject=("formal_notice", notice.id),
    )
    return notice


def record_notice_answer(notice: FormalNotice, answered_on: date, answer: str) -> FormalNotice:
    if notice.answered_on is not None:
        raise Conflict(_("The answer is recorded already."))
    if not answer.strip():
        raise ValidationFailed(_("Summarise the answer."), {"answer": _("Required.")})
    if answered_on < notice.sent_on:
        raise ValidationFailed(
            _("An answer comes after the formal notice."), {"answered_on": _("Too early.")}
        )
    _not_in_future(answered_on, "answered_on", _("An answer cannot be received in the future."))
    notice.answered_on = answered_on
    notice.answer = answer.strip()
    deadline = open_deadline_for("formal_notice", notice.id, NOTICE_KIND)
    if deadline is not None:
        meet_deadline(deadline, met_at=end_of_day(answered_on) - timedelta(hours=12))
    db.session.flush()
    return notice


def terminate(
    convention: Convention, notice: FormalNotice, sent_on: date, tracking_number: str, notified_on: date
) -> Convention:
    """Termination by registered letter after an unanswered notice, effective on notification; the partner's
    open clocks are closed with that reason."""
    if notice.convention_id != convention.id:
        raise ValidationFailed(
            _("This notice concerns another convention."), {"notice_id": _("Wrong notice.")}
        )
    if notice.answered_on is not None:
        raise Conflict(_("The partner answered the formal notice: it cannot ground a termination."))
    if sent_on <= notice.answer_due_date:
        raise Conflict(
            _(
                "The 30 days of the formal notice run until %(date)s: terminate after that.",
                date=notice.answer_due_date.strftime("%d/%m/%Y"),
            )
        )
    if not tracking_number.strip():
        raise ValidationFailed(
            _("Give the registered letter's tracking number."), {"tracking_number": _("Required.")}
        )
    if notified_on < sent_on:
        raise ValidationFailed(_("A letter is notified after it is sent."), {"notified_on": _("Too early.")})
    _not_in_future(notified_on, "notified_on", _("A termination cannot be notified in the future."))
    notice.termination_sent_on = sent_on
    notice.termination_tracking_number = tracking_number.strip()
    notice.termination_notified_on = notified_on
    convention.status = ConventionStatus.TERMINATED
    convention.ended_on = notified_on
    convention.end_reason = notice.grounds
    reason = _("Convention terminated on %(date)s.", date=notified_on.strftime("%d/%m/%Y"))
    for deadline in db.session.scalars(
        sa.select(Deadline).where(
            Deadline.organisation_id == convention.partner_id, Deadline.state == DeadlineState.OPEN
        )
    ):
        cancel_deadline(deadline, reason)
    db.session.flush()
    return convention
