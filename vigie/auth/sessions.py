"""Browser sessions: how one starts and ends, its time limits, and the second factor it must pass.

The session (Flask's signed cookie) carries:
- `auth_at`: when the user signed in (unix seconds). Past SESSION_LIFETIME (12 hours), it ends.
- `seen_at`: the last request. Past SESSION_IDLE_TIMEOUT (30 minutes) without one, it ends.
- `second_factor`: "passed" once the user gave their second factor in this session, "none" when the
  account had none to give at sign-in.
- `second_factor_pending`: between a right password and the second factor, the user is NOT signed in:
  only the account id and the time (5 minutes to give the code) are kept.

Two before-request hooks (registered after the access check) enforce this on every page:
`enforce_session_limits` and `enforce_second_factor`. The API, authenticated by bearer tokens, has no
session and is not concerned.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from vigie.auth import twofactor
from vigie.auth.access import access_of, is_api_request
from vigie.auth.models import User
from vigie.database import utcnow

AUTH_AT = "auth_at"
SEEN_AT = "seen_at"
SECOND_FACTOR = "second_factor"
PENDING = "second_factor_pending"
PASSED = "passed"
NONE = "none"
PENDING_VALIDITY = 5 * 60  # seconds between the password and the second factor

# What a user who must set up a second factor, and has not yet, may still open.
ENROLMENT_ENDPOINTS = frozenset(
    {
        "account.two_factor",
        "account.two_factor_start",
        "account.two_factor_confirm",
        "auth.logout",
        "auth.language",
    }
)


def now_ts() -> int:
    return int(utcnow().timestamp())


def _keep_language() -> Any:
    return session.get("lang")


def start_session(user: User, second_factor: str) -> None:
    """Sign the user in on a fresh session (no fixation: whatever the cookie held is dropped)."""
    lang = _keep_language()
    session.clear()
    login_user(user)
    now = now_ts()
    session[AUTH_AT] = now
    session[SEEN_AT] = now
    session[SECOND_FACTOR] = second_factor
    if user.locale or lang:
        session["lang"] = user.locale or lang
    user.last_login_at = utcnow()
    g.audit_actor = (user.id, user.email)


def renew_session(user: User, second_factor: str | None = None) -> None:
    """After the user's session version changed (password, second factor): keep this session, drop the
    others. The time limits stay those of the sign-in."""
    login_user(user)
    if second_factor is not None:
        session[SECOND_FACTOR] = second_factor


def end_session() -> None:
    lang = _keep_language()
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang  # the sign-in page stays in the language the user chose


def begin_second_factor(user: User, next_url: str | None) -> None:
    """The password was right: wait for the second factor, the user not yet signed in."""
    lang = _keep_language()
    session.clear()
    session[PENDING] = {"user": user.get_id(), "at": now_ts(), "next": next_url or ""}
    if user.locale or lang:
        session["lang"] = user.locale or lang


def pending_user() -> tuple[User | None, str]:
    """The account waiting for its second factor (None when there is none, or it waited too long),
    and where to go next."""
    from vigie.auth.services import user_for_session

    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None, ""
    at = pending.get("at")
    if not isinstance(at, int) or now_ts() - at > PENDING_VALIDITY:
        session.pop(PENDING, None)
        return None, ""
    user = user_for_session(str(pending.get("user", "")))
    return user, str(pending.get("next") or "")


def _session_user() -> bool:
    """Whether this request is a browser session's signed-in user (not the API, not a static file)."""
    if request.endpoint in (None, "static") or is_api_request():
        return False
    return bool(current_user.is_authenticated) and g.get("auth_method") == "session"


def _is_public(endpoint: str | None) -> bool:
    if endpoint is None:
        return True
    access = access_of(current_app.view_functions[endpoint])
    return access is not None and access.permission is None


def _to_login() -> Response:
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target) if target else url_for("auth.login"))


def enforce_session_limits() -> Response | None:
    """before_request: end a session idle too long, or open too long."""
    if not _session_user():
        return None
    cfg = current_app.config
    now = now_ts()
    auth_at, seen_at = session.get(AUTH_AT), session.get(SEEN_AT)
    if not isinstance(auth_at, int) or not isinstance(seen_at, int):
        # A session from before these limits existed: they start now.
        auth_at = seen_at = now
        session[AUTH_AT] = now
    idle = now - seen_at > int(cfg["SESSION_IDLE_TIMEOUT"])
    expired = now - auth_at > int(cfg["SESSION_LIFETIME"])
    if idle or expired:
        end_session()
        if idle:
            flash(_("You were signed out after a period of inactivity: sign in again."), "info")
        else:
            flash(_("Your session reached its maximum length: sign in again."), "info")
        return None if _is_public(request.endpoint) else _to_login()
    session[SEEN_AT] = now
    return None


def enforce_second_factor() -> Response | None:
    """before_request: no page without the second factor once the account has one; and an account whose
    role requires one sets it up before anything else."""
    if not _session_user():
        return None
    user: User = current_user._get_current_object()
    state = session.get(SECOND_FACTOR)
    if state == PASSED:
        return None
    if state != NONE:
        if user.has_second_factor:
            # Signed in without giving the second factor (a session older than the factor): give it.
            logout_user()
            begin_second_factor(user, request.full_path.rstrip("?") if request.method == "GET" else None)
            return redirect(url_for("auth.second_factor"))
        session[SECOND_FACTOR] = NONE
    if (
        twofactor.required_for(user)
        and not _is_public(request.endpoint)
        and request.endpoint not in ENROLMENT_ENDPOINTS
    ):
        flash(_("Your role requires two-step verification: set it up to continue."), "info")
        return redirect(url_for("account.two_factor"))
    return None
