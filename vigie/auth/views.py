"""Signing in and out, the second factor, forgotten passwords and invitations (pages for visitors)."""

from __future__ import annotations

import logging
from collections.abc import Collection
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from vigie.auth import account_tokens, notifications, services, sessions, twofactor
from vigie.auth.access import public, requires
from vigie.auth.account_tokens import TokenCheck, TokenPurpose, TokenState
from vigie.auth.forms import (
    EmptyForm,
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    NewPasswordForm,
    SecondFactorForm,
)
from vigie.auth.login_log import LoginOutcome, record_login
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.errors import Conflict, ValidationFailed
from vigie.extensions import db, limiter
from vigie.mail.services import DEFAULT_SEND_ON_COMMIT_TIMEOUT, QUEUED_IDS_KEY, deliver_queued

bp = Blueprint("auth", __name__)
logger = logging.getLogger("vigie.auth")


def safe_next(target: str | None) -> str:
    """Only a local path: never an absolute URL that would send the user elsewhere."""
    if not target:
        return url_for("web.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.home")
    return target


def _login_account_key() -> str:
    return "login-account:" + (request.form.get("email") or "").strip().lower()


def _second_factor_key() -> str:
    pending = session.get(sessions.PENDING)
    who = pending.get("user", "") if isinstance(pending, dict) else ""
    return f"second-factor:{str(who).partition(':')[0]}"


def _reset_account_key() -> str:
    return "reset-account:" + (request.form.get("email") or "").strip().lower()


def _renew_key() -> str:
    return "renew-invitation:" + account_tokens.digest((request.view_args or {}).get("token", ""))


def _failed(response: Response) -> bool:
    # Only failed attempts count against the limits: a success redirects.
    return response.status_code != 302


def _config(name: str) -> str:
    return str(current_app.config[name])


# --- Signing in and out ---


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(
    lambda: _config("LOGIN_RATE_LIMIT_PER_ACCOUNT"),
    key_func=_login_account_key,
    methods=["POST"],
    deduct_when=_failed,
)
@limiter.limit(lambda: _config("LOGIN_RATE_LIMIT_PER_ADDRESS"), methods=["POST"], deduct_when=_failed)
def login() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        email = form.email.data or ""
        check = services.check_password(email, form.password.data or "")
        user = check.user
        if user is None:
            deactivated = check.account is not None and check.password_ok
            outcome = LoginOutcome.ACCOUNT_DEACTIVATED if deactivated else LoginOutcome.WRONG_PASSWORD
            record_login(outcome, email, check.account)
            db.session.commit()
            flash(_("Wrong e-mail address or password."), "error")
            return render_template("auth/login.html", form=form), 401
        target = safe_next(form.next.data)
        if twofactor.is_enrolled(user):
            sessions.begin_second_factor(user, target)
            record_login(LoginOutcome.SECOND_FACTOR_AWAITED, email, user)
            db.session.commit()
            return redirect(url_for("auth.second_factor"))
        sessions.start_session(user, sessions.NONE)
        record_login(LoginOutcome.SUCCESS, email, user)
        db.session.commit()
        return redirect(target)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/login/second-factor", methods=["GET", "POST"])
@public
@limiter.limit(
    lambda: _config("SECOND_FACTOR_RATE_LIMIT_PER_ACCOUNT"),
    key_func=_second_factor_key,
    methods=["POST"],
    deduct_when=_failed,
)
@limiter.limit(lambda: _config("SECOND_FACTOR_RATE_LIMIT_PER_ADDRESS"), methods=["POST"], deduct_when=_failed)
def second_factor() -> Response | str | tuple[str, int]:
    """The second step of signing in: a code from the authenticator application, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    user, target = sessions.pending_user()
    if user is None:
        flash(_("Sign in with your password first."), "info")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        method = twofactor.verify_second_factor(user, form.code.data or "")
        if method is None:
            record_login(LoginOutcome.WRONG_SECOND_FACTOR, user.email, user)
            db.session.commit()
            form.code.errors = [
                _("This code is not valid, or was already used: wait for the next one and try again.")
            ]
            return render_template("auth/second_factor.html", form=form), 401
        sessions.start_session(user, sessions.PASSED)
        recovery = method == "recovery_code"
        outcome = LoginOutcome.SUCCESS_RECOVERY_CODE if recovery else LoginOutcome.SUCCESS
        record_login(outcome, user.email, user)
        db.session.commit()
        if recovery:
            flash(
                _(
                    "You signed in with a recovery code, which no longer works. Recovery codes left: "
                    "%(count)d. Create new ones from your account page if few remain.",
                    count=twofactor.remaining_recovery_codes(user),
                ),
                "info",
            )
        return redirect(safe_next(target))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/second_factor.html", form=form), status


@bp.route("/logout", methods=["POST"])
@requires(Permission.SELF)
def logout() -> Response:
    form = EmptyForm()
    if form.validate_on_submit():
        sessions.end_session()
        flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@public
def language() -> Response:
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.language.data
        if current_user.is_authenticated:
            current_user.locale = form.language.data
            db.session.commit()
    return redirect(safe_next(form.next.data))


# --- Forgotten password ---


def _deliver_after_response(response: Response, ids: Collection[int] | None) -> None:
    """Send the queued e-mails once the response has left: its timing says nothing of them."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not ids or not app.config.get("MAIL_SEND_ON_COMMIT", True):
        return
    timeout = float(app.config.get("MAIL_SEND_ON_COMMIT_TIMEOUT", DEFAULT_SEND_ON_COMMIT_TIMEOUT))

    def deliver() -> None:
        with app.app_context():
            try:
                deliver_queued(sorted(ids), timeout=timeout)
            except Exception:  # the mail stays queued for `vigie mail send-pending`
                logger.exception("auth: the password-reset e-mail was not sent at once")

    response.call_on_close(deliver)


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit(lambda: _config("RESET_RATE_LIMIT_PER_ACCOUNT"), key_func=_reset_account_key, methods=["POST"])
@limiter.limit(lambda: _config("RESET_RATE_LIMIT_PER_ADDRESS"), methods=["POST"])
def forgot_password() -> Response | str | tuple[str, int]:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        g.audit_actor = (None, "password reset request")
        account_tokens.request_password_reset(form.email.data or "")
        # Known address or not, the answer is the same redirect, given before any e-mail is sent.
        queued = db.session.info.pop(QUEUED_IDS_KEY, None)
        db.session.commit()
        response = redirect(url_for("auth.forgot_password_sent"))
        _deliver_after_response(response, queued)
        return response
    status = 422 if request.method == "POST" else 200
    return render_template("auth/forgot_password.html", form=form), status


@bp.route("/password/forgot/sent")
@public
def forgot_password_sent() -> str:
    return render_template("auth/forgot_password_sent.html")


def _unusable(check: TokenCheck, purpose: TokenPurpose) -> tuple[str, int]:
    status = 404 if check.state is TokenState.UNKNOWN else 410
    page = render_template(
        "auth/link_unusable.html",
        check=check,
        purpose=purpose,
        can_renew=purpose is TokenPurpose.INVITATION and account_tokens.can_renew_invitation(check),
        form=EmptyForm(),
    )
    return page, status


def _set_password_page(token: str, purpose: TokenPurpose) -> Response | tuple[str, int]:
    check = account_tokens.check_token(token, purpose)
    if check.state is not TokenState.VALID or check.user is None:
        return _unusable(check, purpose)
    user = check.user
    form = NewPasswordForm()
    if form.validate_on_submit():
        g.audit_actor = (user.id, user.email)  # the link proves the mailbox is theirs
        try:
            user = account_tokens.use_token(token, purpose, form.password.data or "")
        except ValidationFailed as err:
            db.session.rollback()
            form.password.errors = [err.message]
        except Conflict:
            db.session.rollback()
            return _unusable(account_tokens.check_token(token, purpose), purpose)
        else:
            if purpose is TokenPurpose.PASSWORD_RESET:
                notifications.password_changed(user, utcnow())
            db.session.commit()
            flash(_("Your password is saved: sign in with it."), "success")
            return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    template = "auth/accept_invitation.html" if purpose is TokenPurpose.INVITATION else "auth/reset.html"
    return render_template(template, form=form, user=user, token=check.token), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str) -> Response | tuple[str, int]:
    return _set_password_page(token, TokenPurpose.PASSWORD_RESET)


# --- Invitations ---


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token: str) -> Response | tuple[str, int]:
    return _set_password_page(token, TokenPurpose.INVITATION)


@bp.route("/invitation/<token>/renew", methods=["POST"])
@public
@limiter.limit("3 per hour", key_func=_renew_key)
@limiter.limit("10 per hour")
def renew_invitation(token: str) -> Response | tuple[str, int]:
    """From an expired or replaced invitation: a new one, sent to the account's own address."""
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("auth.accept_invitation", token=token))
    g.audit_actor = (None, "invitation renewal request")
    user = account_tokens.renew_invitation(token)
    if user is None:
        return _unusable(account_tokens.check_token(token, TokenPurpose.INVITATION), TokenPurpose.INVITATION)
    db.session.commit()
    return render_template("auth/invitation_renewed.html"), 200
