"""The shell's own pages (home), error pages, security headers and template helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, has_request_context, render_template, request, session
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from vigie.api.errors import error_response
from vigie.auth.access import can, enforce_access, is_api_request, reaches_all_organisations, requires
from vigie.auth.forms import EmptyForm, LanguageForm
from vigie.auth.roles import ROLE_LABELS, Permission, Role
from vigie.auth.sessions import enforce_second_factor, enforce_session_limits
from vigie.errors import DomainError
from vigie.extensions import db
from vigie.timeutil import to_paris

bp = Blueprint("web", __name__)

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)


@bp.route("/")
@requires(Permission.SELF)
def home() -> str:
    # The DPO's dashboard, a partner's own deadlines, or a summary: vigie.deadlines.views decides.
    # (Imported here: this edit stays inside the view, and the shell module loads nothing more.)
    from vigie.database import utcnow
    from vigie.deadlines.views import home_context
    from vigie.panels import render_panels

    now = utcnow()
    panels = render_panels(current_user, now)  # the features' panels (vigie.panels)
    return render_template("vigie/home.html", panels=panels, **home_context(current_user, now))


def select_locale() -> str:
    if not has_request_context():
        return "fr"  # CLI and background work speak the default language
    if current_user and current_user.is_authenticated and current_user.locale:
        return str(current_user.locale)
    lang = session.get("lang")
    if lang in ("fr", "en"):
        return str(lang)
    return "fr"


def paris(value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    return format_datetime(to_paris(value), fmt)


def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.endpoint != "static":
        headers.setdefault("Cache-Control", "no-store")
    return response


ERROR_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("You need to sign in."),
    403: _l("You are not allowed to see this page."),
    404: _l("This page does not exist, or you may not see it."),
    405: _l("This action is not possible here."),
    409: _l("This conflicts with a record already saved."),
    413: _l("The file is too large."),
    422: _l("Some information is invalid."),
    429: _l("Too many attempts: wait a few minutes, then try again."),
}


def handle_http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    message = str(ERROR_MESSAGES.get(status) or _("An error occurred."))
    if status == 400 and exc.description and "CSRF" in exc.description:
        message = _("The form expired or was sent from elsewhere: reload the page and try again.")
    if is_api_request():
        code = {
            400: "bad_request",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            413: "too_large",
            422: "invalid",
            429: "rate_limited",
        }.get(status, "error")
        response, status = error_response(status, code, message)
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response, status
    return render_template("errors/error.html", status=status, message=message), status


def handle_domain_error(exc: DomainError) -> Any:
    db.session.rollback()
    if is_api_request():
        return error_response(exc.status, exc.code, exc.message, exc.fields)
    return render_template("errors/error.html", status=exc.status, message=exc.message), exc.status


def template_helpers() -> dict[str, Any]:
    return {
        "can": lambda perm, org=None: can(current_user, Permission(perm), org),
        # Every organisation's records (the DPO, the auditor…), not only its own (a partner).
        "sees_all": lambda perm: reaches_all_organisations(current_user, Permission(perm)),
        "Permission": Permission,
        "Role": Role,
        "role_label": lambda role: str(ROLE_LABELS[Role(role)]),
        "current_locale": str(get_locale()),
        "language_form": LanguageForm(language=str(get_locale()), next=request.full_path),
        "logout_form": EmptyForm(),
    }


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(enforce_access)
    # After the access check: sessions past their time limits end; the second factor is demanded.
    app.before_request(enforce_session_limits)
    app.before_request(enforce_second_factor)
    app.after_request(security_headers)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(DomainError, handle_domain_error)
    app.context_processor(template_helpers)
    app.jinja_env.filters["paris"] = paris
    app.jinja_env.filters["reject_page"] = lambda args: {k: v for k, v in args.items() if k != "page"}
