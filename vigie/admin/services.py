"""User administration: invitations, roles, deactivation, second-factor reset, and the admin queries.

Operations take the acting administrator first, check the rule, change the models (the audit trail
follows), flush and never commit. Users are never deleted: every account appears in the audit trail
from its creation, so one that should go is deactivated instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager

from vigie.audit.models import AuditEvent
from vigie.auth import account_tokens, notifications, twofactor
from vigie.auth.account_tokens import AccountToken
from vigie.auth.models import ApiToken, User, UserRole
from vigie.auth.roles import Role
from vigie.auth.services import create_user, parse_roles, set_active
from vigie.database import utcnow
from vigie.errors import Conflict, ValidationFailed
from vigie.extensions import db
from vigie.orgs.models import Organisation


def _check_organisation(organisation: Organisation, current: Organisation | None = None) -> None:
    if not organisation.active and organisation is not current:
        message = _("%(name)s is deactivated: choose another organisation.", name=organisation.name)
        raise ValidationFailed(message, {"organisation_id": message})


def active_admin_count(excluding: User | None = None) -> int:
    stmt = (
        sa.select(sa.func.count(sa.distinct(User.id)))
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.active.is_(True), UserRole.role == Role.ADMIN)
    )
    if excluding is not None:
        stmt = stmt.where(User.id != excluding.id)
    return int(db.session.scalar(stmt) or 0)


def _keep_an_administrator(user: User) -> None:
    if Role.ADMIN in user.roles and user.active and active_admin_count(excluding=user) == 0:
        raise Conflict(
            _(
                "%(email)s is the last active administrator: make someone else administrator first.",
                email=user.email,
            ),
            {"roles": _("The last active administrator keeps this role.")},
        )


def invite_user(actor: User, email: str, name: str, organisation: Organisation, roles: Iterable[str]) -> User:
    """Create the account without a password and send the invitation (valid 7 days, single use)."""
    _check_organisation(organisation)
    user = create_user(email=email, name=name, organisation=organisation, roles=roles, password=None)
    account_tokens.invite(user, inviter=actor)
    return user


def update_user(actor: User, user: User, name: str, organisation: Organisation, roles: Iterable[str]) -> None:
    parsed = parse_roles(roles)
    name = name.strip()
    if not name:
        raise ValidationFailed(_("A user needs a name."), {"name": _("Enter a name.")})
    _check_organisation(organisation, current=user.organisation)
    if Role.ADMIN in user.roles and Role.ADMIN not in parsed:
        if user.id == actor.id:
            message = _("You cannot remove your own administrator role.")
            raise Conflict(message, {"roles": message})
        _keep_an_administrator(user)
    user.name = name
    user.organisation = organisation
    if parsed != user.roles:
        for row in list(user.role_rows):
            if row.role not in parsed:
                user.role_rows.remove(row)
                db.session.delete(row)  # explicit, so the audit trail records the deletion
        for role in sorted(parsed - user.roles):
            user.role_rows.append(UserRole(role=role))
        user.roles_changed_at = utcnow()
    db.session.flush()


def deactivate_user(actor: User, user: User) -> None:
    """Sessions, API tokens and calendar feed stop at the next request; unused links stop too."""
    if user.id == actor.id:
        raise Conflict(_("You cannot deactivate your own account."))
    _keep_an_administrator(user)
    set_active(user, False)
    account_tokens.revoke_outstanding(user)


def activate_user(actor: User, user: User) -> None:
    if not user.organisation.active:
        raise Conflict(
            _("%(name)s is deactivated: reactivate the organisation first.", name=user.organisation.name)
        )
    set_active(user, True)


def resend_invitation(actor: User, user: User) -> AccountToken:
    return account_tokens.invite(user, inviter=actor)


def reset_second_factor(actor: User, user: User) -> bool:
    """Remove the user's second factor (a lost phone) and end their sessions; they are told by e-mail."""
    found = twofactor.reset_second_factor(user)
    if found:
        notifications.second_factor_reset(user, utcnow())
    return found


# --- Queries for the pages ---


@dataclass
class UserFilter:
    q: str = ""
    role: str = ""
    status: str = ""  # active, invited, deactivated
    organisation_id: int | None = None


USER_STATUSES = ("active", "invited", "deactivated")


def users_query(flt: UserFilter) -> sa.Select[User]:
    stmt = sa.select(User).join(Organisation, User.organisation_id == Organisation.id)
    q = flt.q.strip()
    if q:
        # Names are encrypted at rest: they are matched here, in Python (a few thousand accounts at most).
        needle = q.casefold()
        by_name = [
            uid
            for uid, name in db.session.execute(sa.select(User.id, User.name))
            if needle in name.casefold()
        ]
        stmt = stmt.where(
            sa.or_(
                User.email.contains(q.lower(), autoescape=True),
                sa.func.lower(Organisation.name).contains(q.lower(), autoescape=True),
                User.id.in_(by_name),
            )
        )
    if flt.role:
        try:
            role = Role(flt.role)
        except ValueError:
            stmt = stmt.where(sa.false())
        else:
            stmt = stmt.where(User.role_rows.any(UserRole.role == role))
    if flt.status == "active":
        stmt = stmt.where(User.active.is_(True), User.password_hash.is_not(None))
    elif flt.status == "invited":
        stmt = stmt.where(User.active.is_(True), User.password_hash.is_(None))
    elif flt.status == "deactivated":
        stmt = stmt.where(User.active.is_(False))
    if flt.organisation_id is not None:
        stmt = stmt.where(User.organisation_id == flt.organisation_id)
    return stmt.order_by(Organisation.name, User.email)


def tokens_query(q: str = "", status: str = "") -> sa.Select[ApiToken]:
    """Every user's API tokens, grouped by user (their address), newest first within a user."""
    stmt = sa.select(ApiToken).join(User, ApiToken.user_id == User.id).options(contains_eager(ApiToken.user))
    if q.strip():
        stmt = stmt.where(User.email.contains(q.strip().lower(), autoescape=True))
    if status == "active":
        stmt = stmt.where(ApiToken.revoked_at.is_(None))
    elif status == "revoked":
        stmt = stmt.where(ApiToken.revoked_at.is_not(None))
    return stmt.order_by(User.email, ApiToken.created_at.desc(), ApiToken.id.desc())


def account_history(user: User, limit: int = 100) -> list[AuditEvent]:
    """The audit rows about this account: the account itself, its roles, second factor, recovery codes,
    invitation and reset links, API tokens and calendar-feed tokens; newest first."""
    from vigie.deadlines.feed_tokens import CalendarFeedToken

    def ids(column: Any, owner: Any) -> list[str]:
        return [str(i) for i in db.session.scalars(sa.select(column).where(owner == user.id))]

    uid = str(user.id)
    related = {
        "user_role": ids(UserRole.id, UserRole.user_id),
        "account_token": ids(AccountToken.id, AccountToken.user_id),
        "api_token": ids(ApiToken.id, ApiToken.user_id),
        "calendar_feed_token": ids(CalendarFeedToken.id, CalendarFeedToken.user_id),
    }
    conditions = [
        sa.and_(AuditEvent.entity.in_(["user_account", "user_totp"]), AuditEvent.entity_id == uid),
        sa.and_(AuditEvent.entity == "recovery_code", AuditEvent.entity_id.startswith(uid + ",")),
    ]
    conditions += [
        sa.and_(AuditEvent.entity == entity, AuditEvent.entity_id.in_(values))
        for entity, values in related.items()
        if values
    ]
    stmt = sa.select(AuditEvent).where(sa.or_(*conditions)).order_by(AuditEvent.seq.desc()).limit(limit)
    return list(db.session.scalars(stmt))
