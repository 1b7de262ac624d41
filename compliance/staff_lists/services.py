"""Staff-list requests and certified snapshots. Views call these; they check the rules, change the records,
open and stop the clocks, queue the e-mails, flush — and never commit.

- The DPO asks a partner for its list (request_staff_list): due by a date the DPO chooses, by default the
  end of the third working day after the request (Europe/Paris; the request's day does not count), like
  an inquiry. A processor.staff_list_request deadline opens with it; the partner's users are e-mailed.
  One pending request per partner at a time: asking again while one waits is a conflict.
- The partner certifies its current list (certify_staff_list), asked or of its own accord: the people
  authorised today are frozen in a signed snapshot (compliance.staff_lists.integrity). It answers the
  pending request (its deadline is met) and is the periodic review (compliance.staff_lists.review).
- verify_snapshot() says whether a snapshot is still what was certified; diff_snapshots() what changed
  between two lists of the same partner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from compliance.processor.services import staff_on
from compliance.staff_lists import integrity
from compliance.staff_lists.models import StaffListRequest, StaffListSnapshot, StaffRequestStatus
from compliance.staff_lists.review import review_after_certification
from vigie.auth.access import can, reaches_all_organisations
from vigie.auth.models import User, UserRole
from vigie.auth.roles import Permission, Role
from vigie.database import utcnow
from vigie.deadlines.calendar import calendar_for_app, end_of_day, paris_date, working_days_deadline
from vigie.deadlines.services import cancel_deadline, meet_deadline, open_deadline, open_deadline_for
from vigie.errors import Conflict, Forbidden, ValidationFailed
from vigie.extensions import db
from vigie.mail.services import queue_mail
from vigie.orgs.models import Organisation, OrganisationKind

REQUEST_KIND = "processor.staff_list_request"
SUBJECT_REQUEST = "staff_list_request"
DEFAULT_WORKING_DAYS = 3  # as an inquiry (convention art. 11): the DPO may choose another date
LONGEST_DELAY = timedelta(days=366)  # a due date further away is a typing error
ROW_FIELDS = ("grant_id", "name", "email", "function", "scope", "granted_on", "granted_by")


# --- who may ----------------------------------------------------------------------------------------


def _controller_side(actor: Any) -> bool:
    return reaches_all_organisations(actor, Permission.COMPLIANCE_CONTROL)


def _require_partner(organisation: Organisation, field_name: str = "organisation_id") -> None:
    if organisation.kind != OrganisationKind.PARTNER:
        raise ValidationFailed(_("Staff lists are kept by partners."), {field_name: _("Not a partner.")})


def may_certify(actor: Any, organisation_id: int) -> bool:
    """The partner's own users certify its list; the DPO asks for it and reads it, never certifies it."""
    return can(actor, Permission.COMPLIANCE_EDIT, organisation_id) and not _controller_side(actor)


# --- requests ---------------------------------------------------------------------------------------


def default_due_date(requested_at: datetime) -> date:
    """The end of the third working day after the request's Paris date (weekends and French public
    holidays, plus the configured closure days, do not count)."""
    return working_days_deadline(requested_at, DEFAULT_WORKING_DAYS, calendar_for_app())[0]


def pending_request(organisation_id: int) -> StaffListRequest | None:
    return db.session.scalar(
        sa.select(StaffListRequest)
        .where(
            StaffListRequest.organisation_id == organisation_id,
            StaffListRequest.status == StaffRequestStatus.PENDING,
        )
        .order_by(StaffListRequest.id)
        .limit(1)
    )


def request_staff_list(
    actor: Any,
    organisation: Organisation,
    due_date: date | None = None,
    note: str | None = None,
    requested_at: datetime | None = None,
) -> StaffListRequest:
    """The DPO asks a partner for its list of authorised staff, by `due_date` (default: three working
    days). Opens the deadline and e-mails the partner's users, in the same transaction."""
    if not _controller_side(actor):
        raise Forbidden(_("Only the Département's DPO asks a partner for its staff list."))
    _require_partner(organisation)
    now = utcnow()
    requested_at = requested_at or now
    errors: dict[str, str] = {}
    if requested_at.tzinfo is None:
        raise ValidationFailed(_("Give the time with its offset."), {"requested_at": _("Give the offset.")})
    if requested_at > now + timedelta(minutes=5):
        errors["requested_at"] = _("This time is in the future.")
    if not organisation.active:
        errors["organisation_id"] = _("This partner is deactivated.")
    asked_on = paris_date(requested_at)
    due = due_date or default_due_date(requested_at)
    if due < asked_on:
        errors["due_date"] = _("The list cannot be due before it is asked for.")
    elif due > asked_on + LONGEST_DELAY:
        errors["due_date"] = _("Choose a date within a year.")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors)
    waiting = pending_request(organisation.id)
    if waiting is not None:
        raise Conflict(
            _(
                "%(org)s has been asked already: its list is due on %(date)s.",
                org=organisation.name,
                date=waiting.due_date.strftime("%d/%m/%Y"),
            )
        )
    staff_request = StaffListRequest(
        organisation=organisation,
        requested_by_id=actor.id,
        requested_at=requested_at,
        due_date=due,
        due_at=end_of_day(due),
        note=(note or "").strip() or None,
        status=StaffRequestStatus.PENDING,
    )
    db.session.add(staff_request)
    db.session.flush()
    open_deadline(
        REQUEST_KIND,
        organisation,
        _("Staff list of %(org)s requested by the Département", org=organisation.name),
        staff_request.due_at,
        due_date=due,
        subject=(SUBJECT_REQUEST, staff_request.id),
        opened_at=requested_at,
    )
    _mail_partner_asked(staff_request)
    return staff_request


def cancel_request(actor: Any, staff_request: StaffListRequest, reason: str) -> StaffListRequest:
    """The DPO withdraws a pending request (asked by mistake, or no longer needed), with a reason."""
    if not _controller_side(actor):
        raise Forbidden(_("Only the Département's DPO may withdraw a request."))
    if staff_request.status != StaffRequestStatus.PENDING:
        raise Conflict(_("This request is closed already."))
    if not reason.strip():
        raise ValidationFailed(_("Say why the request is withdrawn."), {"reason": _("Required.")})
    staff_request.status = StaffRequestStatus.CANCELLED
    staff_request.cancelled_at = utcnow()
    staff_request.cancel_reason = reason.strip()
    deadline = open_deadline_for(SUBJECT_REQUEST, staff_request.id, REQUEST_KIND)
    if deadline is not None:
        cancel_deadline(deadline, reason)
    db.session.flush()
    return staff_request


def _base_url() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")


def _locale(user: User) -> str:
    return user.locale or str(current_app.config["BABEL_DEFAULT_LOCALE"])


def partner_users(organisation_id: int) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                UserRole.role == Role.PARTNER,
                User.active.is_(True),
                User.organisation_id == organisation_id,
            )
            .order_by(User.id)
        )
    )


def _mail_partner_asked(staff_request: StaffListRequest) -> None:
    due = staff_request.due_date.strftime("%d/%m/%Y")
    for user in partner_users(staff_request.organisation_id):
        with force_locale(_locale(user)):
            subject = _("[Vigie] Your list of authorised staff is requested by %(date)s", date=due)
            body = "\n".join(
                [
                    _(
                        "The Département's DPO asks %(org)s for its list of the staff authorised to see "
                        "personal data (convention art. 11).",
                        org=staff_request.organisation.name,
                    ),
                    _("Check the list and certify it in Vigie by the end of %(date)s.", date=due),
                    "",
                    f"{_base_url()}/staff-lists/certify",
                ]
            )
        queue_mail(user.email, subject, body, dedupe_key=f"staff-list-request:{staff_request.id}:{user.id}")


def _mail_dpo_certified(snapshot: StaffListSnapshot, staff_request: StaffListRequest) -> None:
    user = staff_request.requested_by
    if user is None or not user.active:
        return
    with force_locale(_locale(user)):
        subject = _("[Vigie] %(org)s certified its list of authorised staff", org=snapshot.organisation_name)
        body = "\n".join(
            [
                _(
                    "%(org)s answered your request: its list of authorised staff is certified.",
                    org=snapshot.organisation_name,
                ),
                "",
                f"{_base_url()}/staff-lists/snapshots/{snapshot.id}",
            ]
        )
    queue_mail(user.email, subject, body, dedupe_key=f"staff-list-snapshot:{snapshot.id}:{user.id}")


# --- certification ----------------------------------------------------------------------------------


def current_rows(organisation_id: int, day: date) -> list[dict[str, Any]]:
    """The people authorised on that day, as a snapshot holds them: sorted by name."""
    rows = [
        {
            "grant_id": grant.id,
            "name": grant.name,
            "email": grant.email,
            "function": grant.function,
            "scope": [s for s in grant.scope.split(",") if s],
            "granted_on": grant.granted_on.isoformat(),
            "granted_by": grant.granted_by,
        }
        for grant in staff_on(organisation_id, day)
    ]
    return sorted(rows, key=lambda r: (str(r["name"]).casefold(), r["granted_on"], r["grant_id"]))


def certify_staff_list(actor: Any, organisation: Organisation, confirmed: bool) -> StaffListSnapshot:
    """The partner certifies the list of the people authorised today: frozen, hashed and signed. Answers
    the pending request (its deadline met) and meets the periodic review (the next one opens)."""
    if not may_certify(actor, organisation.id):
        raise Forbidden(_("Only the partner's own users certify its staff list."))
    _require_partner(organisation)
    if not confirmed:
        raise ValidationFailed(
            _("Tick the box to certify the list."), {"confirm": _("Tick the box to certify the list.")}
        )
    # To the second: the time is part of the signed document, and both databases keep seconds.
    now = utcnow().replace(microsecond=0)
    rows = current_rows(organisation.id, paris_date(now))
    staff_request = pending_request(organisation.id)
    document = integrity.document(
        organisation.id,
        organisation.name,
        staff_request.id if staff_request else None,
        now,
        actor.id,
        actor.name,
        rows,
    )
    digest = integrity.content_hash(document)
    key = integrity.signing_key()
    snapshot = StaffListSnapshot(
        organisation=organisation,
        request=staff_request,
        organisation_name=organisation.name,
        certified_by_id=actor.id,
        certified_by_name=actor.name,
        certified_at=now,
        rows_json=integrity.canonical_json(rows),
        content_hash=digest,
        signature=integrity.sign(digest, key),
        key_id=integrity.key_id(key),
        scheme=integrity.SCHEME,
    )
    db.session.add(snapshot)
    db.session.flush()
    if staff_request is not None:
        staff_request.status = StaffRequestStatus.FULFILLED
        staff_request.fulfilled_at = now
        deadline = open_deadline_for(SUBJECT_REQUEST, staff_request.id, REQUEST_KIND)
        if deadline is not None:
            meet_deadline(deadline, met_at=now)
    review_after_certification(organisation, now)
    db.session.flush()
    if staff_request is not None:
        _mail_dpo_certified(snapshot, staff_request)
    return snapshot


# --- reading snapshots ------------------------------------------------------------------------------


def verify_snapshot(snapshot: StaffListSnapshot) -> integrity.Verification:
    """Whether the snapshot is still what was certified (truthy), or why not (`reason`)."""
    return integrity.verify(
        organisation_id=snapshot.organisation_id,
        organisation_name=snapshot.organisation_name,
        request_id=snapshot.request_id,
        certified_at=snapshot.certified_at,
        certified_by_id=snapshot.certified_by_id,
        certified_by_name=snapshot.certified_by_name,
        rows_json=snapshot.rows_json,
        stored_hash=snapshot.content_hash,
        stored_signature=snapshot.signature,
        stored_key_id=snapshot.key_id,
    )


def snapshot_rows(snapshot: StaffListSnapshot) -> list[dict[str, Any]]:
    """The stored rows (whether or not they are still the certified ones: verify_snapshot says)."""
    return integrity.parse_rows(snapshot.rows_json) or []


def visible_snapshots(user: Any) -> sa.Select[StaffListSnapshot]:
    """The DPO and the auditor see every partner's lists; a partner, its own."""
    stmt = sa.select(StaffListSnapshot)
    if reaches_all_organisations(user, Permission.COMPLIANCE_VIEW):
        return stmt
    if can(user, Permission.COMPLIANCE_VIEW):
        return stmt.where(StaffListSnapshot.organisation_id == user.organisation_id)
    return stmt.where(sa.false())


def snapshots_of(organisation_id: int) -> list[StaffListSnapshot]:
    """Newest first."""
    return list(
        db.session.scalars(
            sa.select(StaffListSnapshot)
            .where(StaffListSnapshot.organisation_id == organisation_id)
            .order_by(StaffListSnapshot.certified_at.desc(), StaffListSnapshot.id.desc())
        )
    )


def requests_of(organisation_id: int) -> list[StaffListRequest]:
    """Newest first."""
    return list(
        db.session.scalars(
            sa.select(StaffListRequest)
            .where(StaffListRequest.organisation_id == organisation_id)
            .order_by(StaffListRequest.requested_at.desc(), StaffListRequest.id.desc())
        )
    )


def previous_snapshot(snapshot: StaffListSnapshot) -> StaffListSnapshot | None:
    """The partner's list certified just before this one."""
    return db.session.scalar(
        sa.select(StaffListSnapshot)
        .where(
            StaffListSnapshot.organisation_id == snapshot.organisation_id,
            sa.or_(
                StaffListSnapshot.certified_at < snapshot.certified_at,
                sa.and_(
                    StaffListSnapshot.certified_at == snapshot.certified_at,
                    StaffListSnapshot.id < snapshot.id,
                ),
            ),
        )
        .order_by(StaffListSnapshot.certified_at.desc(), StaffListSnapshot.id.desc())
        .limit(1)
    )


# --- what changed between two lists -----------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """One person in a list: their grants merged (a person may hold several)."""

    key: str
    name: str
    email: str | None
    functions: tuple[str, ...]
    scopes: tuple[str, ...]


@dataclass
class SnapshotDiff:
    added: list[Person] = field(default_factory=list)
    removed: list[Person] = field(default_factory=list)
    changed: list[tuple[Person, Person]] = field(default_factory=list)  # (before, after)
    unchanged: list[Person] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def person_key(row: dict[str, Any]) -> str:
    """A person is known by their e-mail address when the list gives one, else by their name (case and
    spacing aside): the same person in two lists, even under two grants."""
    email = str(row.get("email") or "").strip().casefold()
    if email:
        return f"email:{email}"
    return "name:" + " ".join(str(row.get("name") or "").split()).casefold()


def people(rows: list[dict[str, Any]]) -> dict[str, Person]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(person_key(row), []).append(row)
    found = {}
    for key, group in grouped.items():
        functions = sorted({str(r["function"]).strip() for r in group if (r.get("function") or "").strip()})
        scopes = sorted({str(s) for r in group for s in (r.get("scope") or [])})
        found[key] = Person(
            key=key,
            name=str(group[-1].get("name") or ""),
            email=group[-1].get("email"),
            functions=tuple(functions),
            scopes=tuple(scopes),
        )
    return found


def diff_rows(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> SnapshotDiff:
    """Who was added, removed, or kept with another function or scope, from one list to the next."""
    old, new = people(before), people(after)
    diff = SnapshotDiff()
    for key, person in new.items():
        previous = old.get(key)
        if previous is None:
            diff.added.append(person)
        elif (previous.functions, previous.scopes) != (person.functions, person.scopes):
            diff.changed.append((previous, person))
        else:
            diff.unchanged.append(person)
    diff.removed = [person for key, person in old.items() if key not in new]

    def by_name(p: Person) -> str:
        return p.name.casefold()

    diff.added.sort(key=by_name)
    diff.removed.sort(key=by_name)
    diff.unchanged.sort(key=by_name)
    diff.changed.sort(key=lambda pair: by_name(pair[1]))
    return diff


def diff_snapshots(older: StaffListSnapshot, newer: StaffListSnapshot) -> SnapshotDiff:
    """Two lists of the same partner, in their order of certification (swapped if given the other way)."""
    if older.organisation_id != newer.organisation_id:
        raise ValueError("two lists of the same partner are compared")
    if (older.certified_at, older.id) > (newer.certified_at, newer.id):
        older, newer = newer, older
    return diff_rows(snapshot_rows(older), snapshot_rows(newer))
