"""The one authorisation mechanism: declared per view, checked centrally, scoped per tenant.

Every view is decorated with @requires(permission) or @public. A before-request hook refuses any
endpoint without a declaration, and create_app() refuses to start when one exists, so a new route is
closed until someone declares who may open it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from vigie.auth.roles import ROLE_PERMISSIONS, TENANT_SCOPED_ROLES, Permission
from vigie.extensions import db

ACCESS_ATTR = "_vigie_access"
F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M")


@dataclass(frozen=True)
class Access:
    permission: Permission | None  # None: public
    org_arg: str | None = None  # the URL argument that names an organisation, if any


def public(view: F) -> F:
    setattr(view, ACCESS_ATTR, Access(permission=None))
    return view


def requires(permission: Permission, org_arg: str | None = None) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        setattr(view, ACCESS_ATTR, Access(permission=permission, org_arg=org_arg))
        return view

    return decorate


def access_of(view: Callable[..., Any]) -> Access | None:
    return getattr(view, ACCESS_ATTR, None)


def can(user: Any, permission: Permission, organisation_id: int | None = None) -> bool:
    """Whether the user holds the permission, for one organisation's records when one is named."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    for role in user.roles:
        if permission not in ROLE_PERMISSIONS[role]:
            continue
        if (
            role in TENANT_SCOPED_ROLES
            and organisation_id is not None
            and organisation_id != user.organisation_id
        ):
            continue
        return True
    return False


def reaches_all_organisations(user: Any, permission: Permission) -> bool:
    return any(
        permission in ROLE_PERMISSIONS[role] and role not in TENANT_SCOPED_ROLES for role in user.roles
    )


def scope_to_user(
    stmt: sa.Select[Any], org_column: Any, permission: Permission, user: Any = None
) -> sa.Select[Any]:
    """Restrict a query to the organisations whose records the user may see with `permission`."""
    user = current_user if user is None else user
    if reaches_all_organisations(user, permission):
        return stmt
    if can(user, permission):
        return stmt.where(org_column == user.organisation_id)
    return stmt.where(sa.false())


def get_in_org_or_404(
    model: type[M],
    ident: Any,
    permission: Permission,
    org_of: Callable[[M], int | None] = lambda obj: obj.organisation_id,  # type: ignore[attr-defined]
) -> M:
    """Load a record the current user may reach; another tenant's record is as absent as a missing one."""
    obj = db.session.get(model, ident)
    if obj is None or not can(current_user, permission, org_of(obj)):
        abort(404)
    return obj


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def enforce_access() -> Response | None:
    """before_request: the central check for every endpoint."""
    if request.endpoint is None or request.endpoint == "static":
        return None  # no route (the 404 handler answers), or the public stylesheet
    view = current_app.view_functions[request.endpoint]
    access = access_of(view)
    if access is None:
        abort(403)
    if access.permission is None:
        return None
    if not current_user.is_authenticated:
        if is_api_request():
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    # The API takes bearer tokens only: a browser session must not drive it (no CSRF there).
    if is_api_request() and g.get("auth_method") != "token":
        abort(401)
    org_id = None
    if access.org_arg is not None:
        org_id = (request.view_args or {}).get(access.org_arg)
    if not can(current_user, access.permission, org_id):
        abort(403)
    return None


def undeclared_endpoints(app: Flask) -> list[str]:
    return sorted(
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint != "static" and access_of(view) is None
    )
