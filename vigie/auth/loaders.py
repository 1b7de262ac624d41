"""How a request becomes a user: the session cookie (pages) or a bearer token (API)."""

from __future__ import annotations

from flask import Request, g

from vigie.auth import services
from vigie.auth.models import User
from vigie.extensions import login_manager


@login_manager.user_loader
def load_from_session(session_id: str) -> User | None:
    user = services.user_for_session(session_id)
    if user is not None:
        g.auth_method = "session"
        g.audit_actor = (user.id, user.email)
    return user


@login_manager.request_loader
def load_from_token(request: Request) -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token or not request.path.startswith("/api/"):
        return None
    user = services.user_for_token(token.strip())
    if user is not None:
        g.auth_method = "token"
        g.audit_actor = (user.id, user.email)
    return user
