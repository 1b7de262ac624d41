"""The signed-in user's own account: password, two-step verification, API tokens, sessions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from vigie.auth import notifications, services, sessions, twofactor
from vigie.auth.access import requires
from vigie.auth.forms import (
    ApiTokenForm,
    ChangePasswordForm,
    EmptyForm,
    PasswordConfirmForm,
    TotpConfirmForm,
)
from vigie.auth.login_log import OUTCOME_LABELS, recent_logins
from vigie.auth.models import ApiToken, User
from vigie.auth.passwords import verify_password
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.errors import DomainError
from vigie.extensions import db, limiter

bp = Blueprint("account", __name__, url_prefix="/account")


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


def _refused(response: Response) -> bool:
    return response.status_code in (401, 422)


# Guessing the password from a stolen session, through the forms that ask for it, is limited too.
password_limit = limiter.shared_limit(
    lambda: "5 per 15 minutes",
    scope="account-password",
    key_func=lambda: f"account:{getattr(current_user, 'id', 'anonymous')}",
    methods=["POST"],
    deduct_when=_refused,
)


def _apply_errors(form: Any, err: DomainError) -> None:
    placed = False
    for field, message in err.fields.items():
        if field in form:
            form[field].errors = [*form[field].errors, message]
            placed = True
    if not placed:
        flash(err.message, "error")


def _profile(status: int = 200, **forms: Any) -> tuple[str, int]:
    user = _me()
    context = {
        "password_form": ChangePasswordForm(formdata=None),
        "token_form": ApiTokenForm(formdata=None),
        "action_form": EmptyForm(),
        "new_token": None,
    }
    context.update(forms)
    return (
        render_template(
            "auth/profile.html",
            user=user,
            tokens=services.api_tokens_of(user),
            enrolled=twofactor.is_enrolled(user),
            required=twofactor.required_for(user),
            logins=recent_logins(user),
            outcome_labels=OUTCOME_LABELS,
            **context,
        ),
        status,
    )


@bp.route("/")
@requires(Permission.SELF)
def profile() -> tuple[str, int]:
    return _profile()


@bp.route("/password", methods=["POST"])
@requires(Permission.SELF)
@password_limit
def change_password() -> Response | tuple[str, int]:
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _profile(422, password_form=form)
    user = _me()
    try:
        services.change_password(user, form.current_password.data or "", form.password.data or "")
    except DomainError as err:
        db.session.rollback()
        _apply_errors(form, err)
        return _profile(422, password_form=form)
    sessions.renew_session(user)  # this session goes on; the others ended with the change
    notifications.password_changed(user, utcnow())
    db.session.commit()
    flash(_("Your password is changed. Your other sessions are signed out."), "success")
    return redirect(url_for("account.profile"))


@bp.route("/sessions/end", methods=["POST"])
@requires(Permission.SELF)
def end_sessions() -> Response:
    """Sign out on every device, this one included."""
    if EmptyForm().validate_on_submit():
        services.end_all_sessions(_me())
        db.session.commit()
        sessions.end_session()
        flash(_("You are signed out on every device."), "info")
        return redirect(url_for("auth.login"))
    return redirect(url_for("account.profile"))


@bp.route("/tokens", methods=["POST"])
@requires(Permission.SELF)
def create_token() -> tuple[str, int]:
    form = ApiTokenForm()
    if not form.validate_on_submit():
        return _profile(422, token_form=form)
    _token, plaintext = services.create_api_token(_me(), form.name.data)
    db.session.commit()
    # Shown on this page only: the token is not stored, only its hash.
    return _profile(200, new_token=plaintext)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@requires(Permission.SELF)
def revoke_token(token_id: int) -> Response:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != _me().id:
        abort(404)  # another user's token is as absent as a missing one
    if EmptyForm().validate_on_submit() and services.revoke_api_token(token):
        db.session.commit()
        flash(_("The token %(prefix)s… is revoked.", prefix=token.prefix), "success")
    return redirect(url_for("account.profile"))


# --- Two-step verification ---


def _two_factor_page(status: int = 200, **forms: Any) -> tuple[str, int]:
    user = _me()
    cred = twofactor.credential(user)
    pending = cred is not None and cred.confirmed_at is None
    context: dict[str, Any] = {
        "confirm_form": TotpConfirmForm(formdata=None),
        "codes_form": PasswordConfirmForm(formdata=None, prefix="codes"),
        "disable_form": PasswordConfirmForm(formdata=None, prefix="disable"),
        "start_form": EmptyForm(),
    }
    context.update(forms)
    if pending and cred is not None:
        uri = twofactor.provisioning_uri(user, cred)
        context.update(qr_code=twofactor.qr_code_data_uri(uri), secret=twofactor.grouped_secret(cred))
    return (
        render_template(
            "auth/two_factor.html",
            user=user,
            enrolled=cred is not None and cred.confirmed_at is not None,
            pending=pending,
            required=twofactor.required_for(user),
            remaining=twofactor.remaining_recovery_codes(user),
            **context,
        ),
        status,
    )


@bp.route("/two-factor")
@requires(Permission.SELF)
def two_factor() -> tuple[str, int]:
    return _two_factor_page()


@bp.route("/two-factor/start", methods=["POST"])
@requires(Permission.SELF)
def two_factor_start() -> Response:
    if EmptyForm().validate_on_submit():
        try:
            twofactor.start_enrolment(_me())
        except DomainError as err:
            db.session.rollback()
            flash(err.message, "error")
        else:
            db.session.commit()
    return redirect(url_for("account.two_factor"))


@bp.route("/two-factor/confirm", methods=["POST"])
@requires(Permission.SELF)
def two_factor_confirm() -> Response | tuple[str, int]:
    form = TotpConfirmForm()
    if not form.validate_on_submit():
        return _two_factor_page(422, confirm_form=form)
    user = _me()
    try:
        codes = twofactor.confirm_enrolment(user, form.code.data or "")
    except DomainError as err:
        db.session.rollback()
        _apply_errors(form, err)
        return _two_factor_page(422, confirm_form=form)
    sessions.renew_session(user, sessions.PASSED)  # the other sessions ended: they had no second factor
    db.session.commit()
    return render_template("auth/recovery_codes.html", codes=codes, first=True), 200


def _password_confirmed(form: PasswordConfirmForm) -> bool:
    if not form.validate_on_submit():
        return False
    if verify_password(_me().password_hash, form.password.data or ""):
        return True
    form.password.errors = [_("This is not your password.")]
    return False


@bp.route("/two-factor/recovery-codes", methods=["POST"])
@requires(Permission.SELF)
@password_limit
def recovery_codes() -> tuple[str, int]:
    form = PasswordConfirmForm(prefix="codes")
    user = _me()
    if not twofactor.is_enrolled(user):
        flash(_("Set up two-step verification first."), "error")
        return _two_factor_page(409)
    if not _password_confirmed(form):
        return _two_factor_page(422, codes_form=form)
    codes = twofactor.regenerate_recovery_codes(user)
    db.session.commit()
    return render_template("auth/recovery_codes.html", codes=codes, first=False), 200


@bp.route("/two-factor/disable", methods=["POST"])
@requires(Permission.SELF)
@password_limit
def two_factor_disable() -> Response | tuple[str, int]:
    form = PasswordConfirmForm(prefix="disable")
    user = _me()
    if twofactor.required_for(user):
        flash(_("Your role requires two-step verification: it cannot be turned off."), "error")
        return _two_factor_page(409)
    if not _password_confirmed(form):
        return _two_factor_page(422, disable_form=form)
    twofactor.remove_second_factor(user)
    db.session.commit()
    flash(_("Two-step verification is turned off."), "success")
    return redirect(url_for("account.two_factor"))
