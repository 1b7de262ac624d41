"""Signing in and out, rate limits, CSRF, sessions, headers, the password policy."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import sign_in
from tests.factories import PASSWORD
from vigie.auth import services
from vigie.auth.models import User
from vigie.errors import ValidationFailed
from vigie.extensions import db


def test_login_with_the_right_password_opens_the_home_page(web: Any, factory: Any) -> None:
    user = factory.user("partner")
    response = web.login(user.email, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = web.get("/").get_data(as_text=True)
    assert user.organisation.name in page


@pytest.mark.parametrize("email", ["known", "unknown@example.fr"])
def test_wrong_password_or_unknown_user_get_the_same_refusal(web: Any, factory: Any, email: str) -> None:
    user = factory.user("partner")
    response = web.login(user.email if email == "known" else email, "not the password at all")
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "Wrong e-mail address or password." in page or "Adresse e-mail ou mot de passe incorrect" in page
    assert web.get("/").status_code == 302  # still signed out


def test_login_email_is_case_insensitive(web: Any, factory: Any) -> None:
    user = factory.user("dpo")
    assert web.login(user.email.upper(), PASSWORD).status_code == 302


def test_a_deactivated_user_cannot_sign_in_and_loses_open_sessions(
    web: Any, factory: Any, sign_in_as: Any
) -> None:
    user = factory.user("partner")
    browser = sign_in_as(user)
    assert browser.get("/").status_code == 200
    services.set_active(user, False)
    db.session.commit()
    assert browser.get("/").status_code == 302  # the open session is refused at the next request
    assert web.login(user.email, PASSWORD).status_code == 401


def test_per_account_rate_limit_answers_429_with_a_message(web: Any, factory: Any) -> None:
    user = factory.user("partner")
    for _ in range(5):
        assert web.login(user.email, "wrong password!!").status_code == 401
    response = web.login(user.email, PASSWORD)  # even the right password, once the limit is reached
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert "Too many attempts" in text or "Trop de tentatives" in text
    # Another account from the same address is not locked by this one's failures.
    other = factory.user("partner")
    assert web.login(other.email, PASSWORD).status_code == 302


def test_per_address_rate_limit(app: Flask, web: Any, factory: Any) -> None:
    for n in range(20):
        assert web.login(f"nobody{n}@example.fr", "wrong password!!").status_code == 401
    assert web.login("nobody-else@example.fr", "wrong password!!").status_code == 429


def test_successful_logins_do_not_count_against_the_limit(web: Any, factory: Any) -> None:
    user = factory.user("partner")
    for _ in range(7):
        assert web.login(user.email, PASSWORD).status_code == 302
        web.client.cookie_jar.clear() if hasattr(web.client, "cookie_jar") else web.client.delete_cookie(
            "session"
        )


def test_post_without_csrf_token_is_refused(app: Flask, factory: Any) -> None:
    user = factory.user("partner")
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # not signed in
    sign_in(client, user)
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still signed in


def test_logout_ends_the_session(web: Any, factory: Any) -> None:
    user = factory.user("committee")
    web.login(user.email, PASSWORD)
    assert web.get("/").status_code == 200
    assert web.post("/logout").status_code == 302
    assert web.get("/").status_code == 302


def test_next_parameter_only_leads_inside_the_application(web: Any, factory: Any) -> None:
    user = factory.user("partner")
    response = web.client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": "https://evil.example/",
            "csrf_token": web.csrf(),
        },
    )
    assert response.headers["Location"] == "/"
    web.post("/logout")
    response = web.client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "next": "/organisations/", "csrf_token": web.csrf()},
    )
    assert response.headers["Location"] == "/organisations/"


def test_session_cookie_flags(web: Any, factory: Any) -> None:
    user = factory.user("partner")
    response = web.login(user.email, PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_secure_cookies_outside_development() -> None:
    from vigie.config import DevelopmentConfig, ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.REMEMBER_COOKIE_SECURE is True
    assert DevelopmentConfig.SESSION_COOKIE_SECURE is False


def test_security_headers_on_pages_and_api(app: Flask) -> None:
    client = app.test_client()
    for url in ("/login", "/api/v1/openapi.json"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_or_style(web: Any, factory: Any) -> None:
    user = factory.user("admin")
    web.login(user.email, PASSWORD)
    for url in ("/", "/login", "/organisations/", "/organisations/new", "/audit/"):
        page = web.get(url).get_data(as_text=True)
        assert "<script" not in page
        assert "style=" not in page and "<style" not in page


def test_passwords_are_hashed_with_argon2id(factory: Any) -> None:
    user = factory.user("partner")
    stored = db.session.scalar(sa.select(User.password_hash).where(User.id == user.id))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


@pytest.mark.parametrize("password", ["short-pass1", "aaaaaaaaaaaaaaaa", ""])
def test_password_policy(factory: Any, password: str) -> None:
    org = factory.org("partner")
    with pytest.raises(ValidationFailed) as err:
        services.create_user("someone@example.fr", "Someone", org, ["partner"], password)
    assert "password" in err.value.fields
    db.session.rollback()
    assert services.user_by_email("someone@example.fr") is None


def test_password_change_ends_other_sessions(factory: Any, sign_in_as: Any) -> None:
    user = factory.user("partner")
    browser = sign_in_as(user)
    assert browser.get("/").status_code == 200
    services.set_password(user, "a brand new passphrase")
    db.session.commit()
    assert browser.get("/").status_code == 302


def test_language_switch_is_remembered(web: Any, factory: Any) -> None:
    user = factory.user("partner")
    web.login(user.email, PASSWORD)
    assert '<html lang="fr">' in web.get("/").get_data(as_text=True)
    assert web.post("/language", data={"language": "en", "next": "/"}).status_code == 302
    assert '<html lang="en">' in web.get("/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"  # type: ignore[union-attr]
    # A new sign-in finds the language chosen.
    web.post("/logout")
    web.client.delete_cookie("session")
    web.login(user.email, PASSWORD)
    assert '<html lang="en">' in web.get("/").get_data(as_text=True)


def test_anonymous_visitor_is_sent_to_the_login_page(app: Flask) -> None:
    response = app.test_client().get("/organisations/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_behind_a_trusted_proxy_the_visitors_address_is_the_one_logged(
    app: Flask, factory: Any, tmp_path: Any
) -> None:
    """VIGIE_TRUSTED_PROXIES=1 (nginx in front): the sign-in log and the per-address limits see the
    visitor's address from X-Forwarded-For; by default the header is ignored, so a client cannot forge it."""
    from tests.conftest import csrf_token, make_config
    from vigie import create_app
    from vigie.auth.login_log import LoginEvent

    keys = {k: app.config[k] for k in ("SECRET_KEY", "ENCRYPTION_KEYS", "BLIND_INDEX_KEY")}
    config = make_config(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"])
    proxied = create_app({**config, **keys, "TRUSTED_PROXIES": 1})
    user = factory.user("dpo")
    headers = {"X-Forwarded-For": "203.0.113.7"}
    for application, logged in ((app, "127.0.0.1"), (proxied, "203.0.113.7")):
        client = application.test_client()
        token = csrf_token(application, client)
        data = {"email": user.email, "password": "not the password", "csrf_token": token}
        assert client.post("/login", data=data, headers=headers).status_code == 401  # wrong password
        db.session.expire_all()
        last = db.session.scalars(sa.select(LoginEvent).order_by(LoginEvent.id.desc())).first()
        assert last is not None and last.ip_address == logged
    with proxied.app_context():
        db.engine.dispose()
