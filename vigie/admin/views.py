"""Administration pages: users, API tokens, the sign-in log. Role `admin` only (Permission.USERS_MANAGE)."""

from __future__ import annotations

from itertools import groupby
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from vigie.admin import services
from vigie.admin.forms import UserCreateForm, UserEditForm
from vigie.auth import account_tokens, twofactor
from vigie.auth.access import requires
from vigie.auth.forms import EmptyForm
from vigie.auth.login_log import OUTCOME_LABELS, LoginOutcome, login_events, recent_logins
from vigie.auth.models import ApiToken, User
from vigie.auth.roles import Permission, Role
from vigie.auth.services import api_tokens_of, revoke_api_token
from vigie.auth.views import safe_next
from vigie.database import utcnow
from vigie.errors import DomainError
from vigie.extensions import db
from vigie.orgs.models import Organisation

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_SIZE = 25


def _actor() -> User:
    user: User = current_user._get_current_object()
    return user


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _organisation_choices(current: Organisation | None = None) -> list[tuple[int, str]]:
    stmt = sa.select(Organisation).where(Organisation.active.is_(True))
    organisations = list(db.session.scalars(stmt.order_by(Organisation.name)))
    if current is not None and current not in organisations:
        organisations.append(current)
    return [(org.id, org.name) for org in organisations]


def _apply_errors(form: Any, err: DomainError) -> None:
    placed = False
    for field, message in err.fields.items():
        if field in form:
            form[field].errors = [*form[field].errors, message]
            placed = True
    if not placed:
        flash(err.message, "error")


def _organisation(org_id: int | None) -> Organisation | None:
    return db.session.get(Organisation, org_id) if org_id else None


# --- Users ---


@bp.route("/users/")
@requires(Permission.USERS_MANAGE)
def users() -> str:
    args = request.args
    org_id = args.get("organisation", type=int)
    flt = services.UserFilter(
        q=args.get("q", ""), role=args.get("role", ""), status=args.get("status", ""), organisation_id=org_id
    )
    page = db.paginate(services.users_query(flt), per_page=PAGE_SIZE, max_per_page=PAGE_SIZE)
    organisations = db.session.scalars(sa.select(Organisation).order_by(Organisation.name)).all()
    return render_template(
        "admin/users.html",
        page=page,
        flt=flt,
        args=args,
        roles=list(Role),
        statuses=services.USER_STATUSES,
        organisations=organisations,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Permission.USERS_MANAGE)
def create_user() -> Response | tuple[str, int]:
    form = UserCreateForm()
    form.organisation_id.choices = _organisation_choices()
    if request.method == "GET" and request.args.get("organisation", "").isdigit():
        form.organisation_id.data = int(request.args["organisation"])
    if form.validate_on_submit():
        organisation = _organisation(form.organisation_id.data)
        if organisation is None:
            abort(400)
        try:
            user = services.invite_user(
                _actor(), form.email.data or "", form.name.data or "", organisation, form.roles.data or []
            )
        except DomainError as err:
            db.session.rollback()
            _apply_errors(form, err)
            return render_template("admin/user_form.html", form=form, user=None), 422
        db.session.commit()
        flash(_("%(email)s is created; the invitation is sent.", email=user.email), "success")
        return redirect(url_for("admin.user", user_id=user.id))
    status = 422 if form.errors else 200
    return render_template("admin/user_form.html", form=form, user=None), status


@bp.route("/users/<int:user_id>")
@requires(Permission.USERS_MANAGE)
def user(user_id: int) -> str:
    account = _user_or_404(user_id)
    return render_template(
        "admin/user.html",
        account=account,
        form=EmptyForm(),
        enrolled=account.has_second_factor,
        remaining_codes=twofactor.remaining_recovery_codes(account),
        invitation=account_tokens.latest_invitation(account),
        tokens=api_tokens_of(account),
        logins=recent_logins(account, limit=20),
        outcome_labels=OUTCOME_LABELS,
        history=services.account_history(account),
        now=utcnow(),
    )


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@requires(Permission.USERS_MANAGE)
def edit_user(user_id: int) -> Response | tuple[str, int]:
    account = _user_or_404(user_id)
    form = UserEditForm(
        data={
            "name": account.name,
            "organisation_id": account.organisation_id,
            "roles": [r.value for r in account.roles],
        }
        if request.method == "GET"
        else None
    )
    form.organisation_id.choices = _organisation_choices(account.organisation)
    if form.validate_on_submit():
        organisation = _organisation(form.organisation_id.data)
        if organisation is None:
            abort(400)
        try:
            services.update_user(_actor(), account, form.name.data or "", organisation, form.roles.data or [])
        except DomainError as err:
            db.session.rollback()
            _apply_errors(form, err)
            return render_template("admin/user_form.html", form=form, user=account), 422
        db.session.commit()
        flash(_("%(email)s is updated.", email=account.email), "success")
        return redirect(url_for("admin.user", user_id=account.id))
    status = 422 if form.errors else 200
    return render_template("admin/user_form.html", form=form, user=account), status


def _user_action(user_id: int, action: Any, done: str) -> Response:
    account = _user_or_404(user_id)
    if EmptyForm().validate_on_submit():
        try:
            action(_actor(), account)
        except DomainError as err:
            db.session.rollback()
            flash(err.message, "error")
        else:
            db.session.commit()
            flash(done % {"email": account.email}, "success")
    return redirect(url_for("admin.user", user_id=account.id))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@requires(Permission.USERS_MANAGE)
def deactivate_user(user_id: int) -> Response:
    return _user_action(
        user_id,
        services.deactivate_user,
        _("%(email)s is deactivated: their sessions, API tokens and calendar feed stop now."),
    )


@bp.route("/users/<int:user_id>/activate", methods=["POST"])
@requires(Permission.USERS_MANAGE)
def activate_user(user_id: int) -> Response:
    return _user_action(user_id, services.activate_user, _("%(email)s is active again."))


@bp.route("/users/<int:user_id>/invitation", methods=["POST"])
@requires(Permission.USERS_MANAGE)
def resend_invitation(user_id: int) -> Response:
    return _user_action(
        user_id,
        services.resend_invitation,
        _("A new invitation is sent to %(email)s; the previous link no longer works."),
    )


@bp.route("/users/<int:user_id>/two-factor/reset", methods=["POST"])
@requires(Permission.USERS_MANAGE)
def reset_two_factor(user_id: int) -> Response:
    return _user_action(
        user_id,
        services.reset_second_factor,
        _("The two-step verification of %(email)s is reset; their sessions are ended."),
    )


# --- API tokens ---


@bp.route("/tokens")
@requires(Permission.USERS_MANAGE)
def tokens() -> str:
    q, status = request.args.get("q", ""), request.args.get("status", "")
    page = db.paginate(services.tokens_query(q, status), per_page=50, max_per_page=50)
    groups = [(owner, list(tokens)) for owner, tokens in groupby(page.items, key=lambda t: t.user)]
    return render_template(
        "admin/tokens.html", page=page, groups=groups, q=q, status=status, form=EmptyForm()
    )


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@requires(Permission.USERS_MANAGE)
def revoke_token(token_id: int) -> Response:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        abort(404)
    if EmptyForm().validate_on_submit() and revoke_api_token(token):
        db.session.commit()
        flash(
            _("The token %(prefix)s… of %(email)s is revoked.", prefix=token.prefix, email=token.user.email),
            "success",
        )
    return redirect(safe_next(request.form.get("back") or url_for("admin.tokens")))


# --- Sign-in log ---


@bp.route("/logins")
@requires(Permission.USERS_MANAGE)
def logins() -> str:
    args = request.args
    stmt = login_events(outcome=args.get("outcome"), email=args.get("email"), ip_address=args.get("ip"))
    page = db.paginate(stmt, per_page=50, max_per_page=50)
    return render_template(
        "admin/logins.html", page=page, args=args, outcomes=list(LoginOutcome), outcome_labels=OUTCOME_LABELS
    )
