"""Accounts: invitations, password resets, the profile (password, API tokens, sessions), session time
limits and the sign-in log. E-mails go through the outbox to the real SMTP test server."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import WebClient, sign_in
from tests.factories import PASSWORD
from tests.smtp import SmtpServer
from vigie.audit.models import AuditEvent
from vigie.auth import account_tokens, services
from vigie.auth.account_tokens import AccountToken, TokenPurpose
from vigie.auth.login_log import LoginEvent, LoginOutcome, email_digest
from vigie.auth.models import ApiToken, User
from vigie.auth.sessions import AUTH_AT, SEEN_AT, now_ts
from vigie.database import utcnow
from vigie.extensions import db

NEW_PASSWORD = "a long and new passphrase"
LINK = re.compile(r"https?://\S+")
CSRF_VALUE = re.compile(r'(?<=name="csrf_token" type="hidden" value=")[^"]+')


def body(message: EmailMessage) -> str:
    return str(message.get_content())


def link_path(message: EmailMessage) -> str:
    """The path of the one link in an e-mail (the test client needs no host)."""
    links = LINK.findall(body(message))
    assert len(links) == 1, body(message)
    return urlsplit(links[0]).path


def reload(user: User) -> User:
    db.session.expire_all()
    fresh = db.session.get(User, user.id)
    assert fresh is not None
    return fresh


def events(entity: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == entity)))


def invite_from_admin_page(web: WebClient, factory: Any, email: str = "nouvelle@mediatheque.example") -> Any:
    org = factory.org("partner", name="Commune de Mane")
    admin = factory.user("admin")
    assert web.login(admin.email, PASSWORD).status_code == 302
    assert web.get("/admin/users/new").status_code == 200
    response = web.post(
        "/admin/users/new",
        data={"name": "Camille Martin", "email": email, "organisation_id": org.id, "roles": ["partner"]},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


# --- Invitations ---


def test_an_invitation_from_the_admin_page_to_a_first_sign_in(
    app: Flask, web: WebClient, factory: Any, smtp_server: SmtpServer
) -> None:
    response = invite_from_admin_page(web, factory)
    user = services.user_by_email("nouvelle@mediatheque.example")
    assert user is not None and user.password_hash is None
    assert response.headers["Location"] == f"/admin/users/{user.id}"

    # The e-mail, received by the SMTP server, carries a single-use link.
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["To"] == "nouvelle@mediatheque.example"
    assert "nouvelle@mediatheque.example" in body(mail)
    path = link_path(mail)
    assert path.startswith("/invitation/")
    secret = path.rsplit("/", 1)[1]
    stored = db.session.scalar(sa.select(AccountToken.token_hash).where(AccountToken.user_id == user.id))
    assert stored == account_tokens.digest(secret) and secret not in stored  # only the hash is kept

    # The invited person, in a browser of their own, chooses a password...
    newcomer = WebClient(app, app.test_client())
    page = newcomer.get(path)
    assert page.status_code == 200
    assert "nouvelle@mediatheque.example" in page.get_data(as_text=True)
    weak = newcomer.post(path, data={"password": "short", "confirm": "short"})
    assert weak.status_code == 422
    assert newcomer.post(path, data={"password": NEW_PASSWORD, "confirm": "different"}).status_code == 422
    saved = newcomer.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert saved.status_code == 302 and saved.headers["Location"] == "/login"

    # ...and signs in for the first time.
    assert newcomer.login("nouvelle@mediatheque.example", NEW_PASSWORD).status_code == 302
    home = newcomer.get("/")
    assert home.status_code == 200 and "Commune de Mane" in home.get_data(as_text=True)

    # The link worked once.
    again = newcomer.get(path)
    assert again.status_code == 410
    # The audit trail: the administrator created the account and its link; the newcomer set the password.
    admin_label = next(e.actor_label for e in events("account_token") if e.action == "create")
    assert admin_label.startswith("user") and admin_label.endswith("@example.fr")
    assert any(e.action == "create" and e.actor_label == admin_label for e in events("user_account"))
    updates = [e for e in events("user_account") if e.action == "update" and e.entity_id == str(user.id)]
    assert any(e.actor_label == user.email and "password_changed_at" in e.fields for e in updates)


def test_sending_the_invitation_again_invalidates_the_previous_link(
    app: Flask, web: WebClient, factory: Any, smtp_server: SmtpServer
) -> None:
    invite_from_admin_page(web, factory)
    user = services.user_by_email("nouvelle@mediatheque.example")
    assert user is not None
    assert web.post(f"/admin/users/{user.id}/invitation").status_code == 302
    assert len(smtp_server.messages) == 2
    first, second = (link_path(m) for m in smtp_server.messages)
    assert first != second

    visitor = WebClient(app, app.test_client())
    replaced = visitor.get(first)
    assert replaced.status_code == 410
    # Replaced, and the account still waits for a password: a new invitation can be asked for.
    assert "/renew" in replaced.get_data(as_text=True)
    assert visitor.post(first, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 410
    assert reload(user).password_hash is None
    assert visitor.post(second, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302


def test_an_expired_invitation_says_so_and_a_new_one_can_be_asked_for(
    app: Flask, factory: Any, smtp_server: SmtpServer
) -> None:
    org = factory.org("partner")
    user = services.create_user("invitee@example.fr", "Invitee", org, ["partner"], None)
    token = account_tokens.invite(user, inviter=None)
    db.session.commit()
    old_path = link_path(smtp_server.messages[0])
    token.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    visitor = WebClient(app, app.test_client())
    page = visitor.get(old_path)
    assert page.status_code == 410
    text = page.get_data(as_text=True)
    assert "/renew" in text  # the button that asks for a new invitation
    assert visitor.post(old_path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 410

    renewed = visitor.post(old_path + "/renew")
    assert renewed.status_code == 200
    assert len(smtp_server.messages) == 2
    assert smtp_server.messages[1]["To"] == "invitee@example.fr"  # to the account's own address only
    new_path = link_path(smtp_server.messages[1])
    assert visitor.post(new_path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    # Once the password is chosen, an old link cannot ask for more invitations.
    assert visitor.post(old_path + "/renew").status_code == 410
    assert len(smtp_server.messages) == 2


def test_invitations_expire_after_seven_days(app: Flask, factory: Any) -> None:
    user = services.create_user("seven@example.fr", "Seven", factory.org("partner"), ["partner"], None)
    token = account_tokens.invite(user, inviter=None)
    db.session.commit()
    assert token.expires_at - token.created_at == timedelta(days=7)


def test_an_unknown_link_is_a_404_that_offers_a_new_one(app: Flask) -> None:
    client = app.test_client()
    for path in ("/invitation/not-a-token", "/password/reset/not-a-token"):
        response = client.get(path)
        assert response.status_code == 404
        assert "/password/forgot" in response.get_data(as_text=True)


def test_an_invitation_for_a_deactivated_account_does_not_work(app: Flask, factory: Any) -> None:
    user = services.create_user("gone@example.fr", "Gone", factory.org("partner"), ["partner"], None)
    _token, secret = account_tokens.issue_token(user, TokenPurpose.INVITATION)
    services.set_active(user, False)
    db.session.commit()
    response = app.test_client().get(f"/invitation/{secret}")
    assert response.status_code == 410
    assert "/renew" not in response.get_data(as_text=True)


# --- Password reset ---


def ask_reset(web: WebClient, email: str) -> Any:
    return web.post("/password/forgot", data={"email": email})


def test_the_reset_answer_is_the_same_for_a_known_and_an_unknown_address(
    app: Flask, factory: Any, smtp_server: SmtpServer
) -> None:
    user = factory.user("partner")
    answers = []
    for email in (user.email, "nobody@example.fr"):
        web = WebClient(app, app.test_client())
        response = ask_reset(web, email)
        # The answer is complete before any e-mail is sent: its timing cannot depend on the address.
        assert smtp_server.messages == []
        response.close()
        if email == user.email:
            assert [m["To"] for m in smtp_server.messages] == [user.email]
            smtp_server.clear()
        page = web.get(response.headers["Location"]).get_data(as_text=True)
        page = CSRF_VALUE.sub("", page)  # each browser has its own CSRF token; the rest is identical
        answers.append((response.status_code, response.headers["Location"], page))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (302, "/password/forgot/sent")
    assert smtp_server.messages == []  # nothing for the unknown address


def test_a_reset_with_a_valid_link(
    app: Flask, factory: Any, smtp_server: SmtpServer, sign_in_as: Any
) -> None:
    user = factory.user("partner")
    elsewhere = sign_in_as(user)  # a session on another device
    assert elsewhere.get("/").status_code == 200
    web = WebClient(app, app.test_client())
    ask_reset(web, user.email.upper()).close()
    path = link_path(smtp_server.messages[0])
    assert path.startswith("/password/reset/")

    assert web.get(path).status_code == 200
    done = web.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert web.login(user.email, PASSWORD).status_code == 401
    assert web.login(user.email, NEW_PASSWORD).status_code == 302
    assert elsewhere.get("/").status_code == 302  # the other session ended
    # The owner is told their password changed.
    assert [m["To"] for m in smtp_server.messages] == [user.email, user.email]
    assert "/password/reset/" not in body(smtp_server.messages[1])
    fresh = reload(user)
    assert fresh.password_changed_at is not None
    changed = [e for e in events("user_account") if e.entity_id == str(user.id) and e.action == "update"]
    assert any("password_changed_at" in e.fields for e in changed)


def test_a_used_reset_link_no_longer_works(app: Flask, factory: Any, smtp_server: SmtpServer) -> None:
    user = factory.user("partner")
    web = WebClient(app, app.test_client())
    ask_reset(web, user.email).close()
    path = link_path(smtp_server.messages[0])
    assert web.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    again = web.get(path)
    assert again.status_code == 410
    assert "/password/forgot" in again.get_data(as_text=True)  # ask for a new link
    other = "yet another passphrase"
    assert web.post(path, data={"password": other, "confirm": other}).status_code == 410
    assert web.login(user.email, NEW_PASSWORD).status_code == 302


def test_an_expired_reset_link_no_longer_works(app: Flask, factory: Any, smtp_server: SmtpServer) -> None:
    user = factory.user("partner")
    web = WebClient(app, app.test_client())
    ask_reset(web, user.email).close()
    path = link_path(smtp_server.messages[0])
    token = db.session.scalar(sa.select(AccountToken).where(AccountToken.user_id == user.id))
    assert token is not None
    assert token.expires_at - token.created_at == timedelta(hours=1)
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    page = web.get(path)
    assert page.status_code == 410
    assert "/password/forgot" in page.get_data(as_text=True)
    assert web.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 410
    assert web.login(user.email, PASSWORD).status_code == 302  # unchanged


def test_a_new_reset_link_replaces_the_previous_one(
    app: Flask, factory: Any, smtp_server: SmtpServer
) -> None:
    user = factory.user("partner")
    web = WebClient(app, app.test_client())
    ask_reset(web, user.email).close()
    ask_reset(web, user.email).close()
    first, second = (link_path(m) for m in smtp_server.messages)
    assert web.get(first).status_code == 410
    assert web.get(second).status_code == 200


def test_no_reset_for_a_deactivated_account(app: Flask, factory: Any, smtp_server: SmtpServer) -> None:
    user = factory.user("partner")
    services.set_active(user, False)
    db.session.commit()
    web = WebClient(app, app.test_client())
    response = ask_reset(web, user.email)
    response.close()
    assert response.headers["Location"] == "/password/forgot/sent"
    assert smtp_server.messages == []


def test_resets_are_rate_limited(app: Flask, factory: Any) -> None:
    user = factory.user("partner")
    web = WebClient(app, app.test_client())
    for _ in range(3):
        ask_reset(web, user.email).close()
    assert ask_reset(web, user.email).status_code == 429
    # The limit is per address typed, known or not: another address from here still gets an answer.
    assert ask_reset(web, "someone-else@example.fr").status_code == 302


def test_the_login_page_leads_to_the_reset(app: Flask) -> None:
    page = app.test_client().get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in page


# --- Profile: password, sessions, API tokens ---


def test_changing_the_password_from_the_profile(
    app: Flask, factory: Any, sign_in_as: Any, smtp_server: SmtpServer
) -> None:
    user = factory.user("partner")
    web = WebClient(app, app.test_client())
    assert web.login(user.email, PASSWORD).status_code == 302
    elsewhere = sign_in_as(user)
    assert elsewhere.get("/").status_code == 200

    wrong = web.post(
        "/account/password",
        data={"current_password": "not it at all", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert wrong.status_code == 422
    assert 'id="current_password-error"' in wrong.get_data(as_text=True)
    changed = web.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    assert web.get("/account/").status_code == 200  # this session goes on
    assert elsewhere.get("/").status_code == 302  # the others ended
    assert [m["To"] for m in smtp_server.messages] == [user.email]
    web.post("/logout")
    assert web.login(user.email, NEW_PASSWORD).status_code == 302


def test_signing_out_on_every_device(app: Flask, factory: Any, sign_in_as: Any) -> None:
    user = factory.user("committee")
    here, there = sign_in_as(user), sign_in_as(user)
    assert there.get("/").status_code == 200
    response = here.post("/account/sessions/end")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert here.get("/").status_code == 302
    assert there.get("/").status_code == 302
    assert any(e.fields == "session_version" for e in events("user_account"))


def test_api_tokens_are_named_shown_once_and_revoked_by_their_owner(
    app: Flask, factory: Any, sign_in_as: Any
) -> None:
    user = factory.user("partner")
    web = sign_in_as(user)
    created = web.post("/account/tokens", data={"name": "Export de la médiathèque"})
    assert created.status_code == 200
    match = re.search(r'id="new-token" value="(vigie_[^"]+)"', created.get_data(as_text=True))
    assert match is not None
    plaintext = match.group(1)
    api = app.test_client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 200

    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert token is not None and token.name == "Export de la médiathèque"
    assert plaintext not in token.token_hash
    profile = web.get("/account/").get_data(as_text=True)
    assert "Export de la médiathèque" in profile and token.prefix in profile
    assert plaintext not in profile  # shown once only

    # Another user cannot revoke it (as absent as a missing one), its owner can.
    intruder = sign_in_as(factory.user("partner"))
    assert intruder.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    assert web.post(f"/account/tokens/{token.id}/revoke").status_code == 302
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 401
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None  # type: ignore[union-attr]


# --- Session time limits ---


def _age_session(web: WebClient, **offsets: int) -> None:
    with web.client.session_transaction() as session:
        for key, seconds in offsets.items():
            session[key] = now_ts() - seconds


def test_a_session_ends_after_thirty_minutes_without_activity(app: Flask, factory: Any) -> None:
    user = factory.user("partner")
    web = WebClient(app, app.test_client())
    web.login(user.email, PASSWORD)
    _age_session(web, **{SEEN_AT: 29 * 60})
    assert web.get("/").status_code == 200  # still within the limit, and activity renews it
    _age_session(web, **{SEEN_AT: 31 * 60})
    response = web.get("/organisations/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/organisations/"
    assert web.get("/").status_code == 302  # signed out for good
    page = web.get("/login").get_data(as_text=True)
    assert "inactivity" in page or "inactivité" in page


def test_a_session_ends_twelve_hours_after_signing_in_whatever_the_activity(app: Flask, factory: Any) -> None:
    user = factory.user("partner")
    web = WebClient(app, app.test_client())
    web.login(user.email, PASSWORD)
    _age_session(web, **{AUTH_AT: 11 * 3600 + 3500})
    assert web.get("/").status_code == 200
    _age_session(web, **{AUTH_AT: 12 * 3600 + 1})
    assert web.get("/").status_code == 302
    assert web.get("/").status_code == 302


def test_the_time_limits_are_settings(app: Flask, factory: Any) -> None:
    user = factory.user("partner")
    web = WebClient(app, app.test_client())
    web.login(user.email, PASSWORD)
    _age_session(web, **{SEEN_AT: 5 * 60})
    saved = app.config["SESSION_IDLE_TIMEOUT"]
    app.config["SESSION_IDLE_TIMEOUT"] = 4 * 60
    try:
        assert web.get("/").status_code == 302
    finally:
        app.config["SESSION_IDLE_TIMEOUT"] = saved


def test_signing_in_renews_the_session(app: Flask, factory: Any) -> None:
    user = factory.user("partner")
    web = WebClient(app, app.test_client())
    with web.client.session_transaction() as session:
        session["planted"] = "by someone else"
    web.login(user.email, PASSWORD)
    with web.client.session_transaction() as session:
        assert "planted" not in session
        assert session[AUTH_AT] >= now_ts() - 5


# --- The sign-in log ---


def test_sign_ins_are_logged_without_keeping_unknown_addresses(app: Flask, factory: Any) -> None:
    user = factory.user("partner")
    web = WebClient(app, app.test_client())
    web.login("Typo@Example.fr", "wrong password!!")
    web.login(user.email, "wrong password!!")
    web.login(user.email, PASSWORD)
    rows = list(db.session.scalars(sa.select(LoginEvent).order_by(LoginEvent.id)))
    assert [r.outcome for r in rows] == [
        LoginOutcome.WRONG_PASSWORD,
        LoginOutcome.WRONG_PASSWORD,
        LoginOutcome.SUCCESS,
    ]
    unknown, known, success = rows
    assert unknown.email is None and unknown.user_id is None
    assert unknown.email_digest == email_digest("typo@example.fr")
    assert "typo" not in (unknown.email_digest or "")
    assert (known.email, known.user_id, known.email_digest) == (user.email, user.id, None)
    assert success.ip_address == "127.0.0.1"


def test_a_deactivated_account_with_the_right_password_is_logged_as_such(app: Flask, factory: Any) -> None:
    user = factory.user("partner")
    services.set_active(user, False)
    db.session.commit()
    web = WebClient(app, app.test_client())
    assert web.login(user.email, PASSWORD).status_code == 401
    outcome = db.session.scalar(sa.select(LoginEvent.outcome))
    assert outcome is LoginOutcome.ACCOUNT_DEACTIVATED


def test_old_sign_in_rows_are_purged(app: Flask, factory: Any) -> None:
    user = factory.user("partner")
    db.session.add(
        LoginEvent(at=utcnow() - timedelta(days=400), outcome=LoginOutcome.SUCCESS, user_id=user.id)
    )
    db.session.commit()
    WebClient(app, app.test_client()).login(user.email, PASSWORD)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginEvent)) == 1


def test_admins_see_the_sign_in_log(app: Flask, factory: Any, sign_in_as: Any) -> None:
    user = factory.user("partner")
    WebClient(app, app.test_client()).login("someone.unknown@example.fr", "wrong password!!")
    WebClient(app, app.test_client()).login(user.email, PASSWORD)
    admin = sign_in_as(factory.user("admin"))
    page = admin.get("/admin/logins").get_data(as_text=True)
    assert user.email in page
    assert "someone.unknown@example.fr" not in page
    # The whole unknown address finds its attempts (by its keyed hash).
    found = admin.get("/admin/logins?email=someone.unknown@example.fr").get_data(as_text=True)
    assert found.count("<tr") == 2  # the header and the one attempt
    only_failures = admin.get("/admin/logins?outcome=wrong_password").get_data(as_text=True)
    assert user.email not in only_failures


@pytest.mark.parametrize("role", ["dpo", "partner", "auditor"])
def test_only_admins_see_the_sign_in_log(factory: Any, sign_in_as: Any, role: str) -> None:
    assert sign_in_as(factory.user(role)).get("/admin/logins").status_code == 403


def test_a_session_made_before_the_limits_existed_gets_them(app: Flask, factory: Any) -> None:
    user = factory.user("partner")
    client = app.test_client()
    sign_in(client, user)  # no time stamps in it
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        assert session[AUTH_AT] >= now_ts() - 5 and session[SEEN_AT] >= now_ts() - 5


def test_the_account_and_admin_pages_have_no_inline_script_or_style(
    app: Flask, factory: Any, sign_in_as: Any
) -> None:
    admin = factory.user("admin")
    web = sign_in_as(admin)
    web.post("/account/two-factor/start")  # the set-up page, with its QR code
    urls = [
        "/account/",
        "/account/two-factor",
        "/admin/users/",
        "/admin/users/new",
        f"/admin/users/{admin.id}",
        f"/admin/users/{admin.id}/edit",
        "/admin/tokens",
        "/admin/logins",
        f"/organisations/{admin.organisation_id}/edit",
        f"/organisations/{admin.organisation_id}/contacts/new",
        "/password/forgot",
        "/password/forgot/sent",
    ]
    for url in urls:
        response = web.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert "<script" not in page and "style=" not in page and "<style" not in page, url
