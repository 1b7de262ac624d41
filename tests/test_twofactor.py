"""Two-step verification: enrolment, the second step of signing in, replays, recovery codes, the setting
that makes it mandatory for administrators and DPOs, and the administrator's reset."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import WebClient
from tests.factories import PASSWORD
from tests.smtp import SmtpServer
from vigie.audit.models import AuditEvent
from vigie.auth import twofactor
from vigie.auth.login_log import LoginEvent, LoginOutcome
from vigie.auth.models import User
from vigie.auth.twofactor import RecoveryCode, TotpCredential
from vigie.database import utcnow
from vigie.extensions import db


def enrol(user: User) -> tuple[pyotp.TOTP, list[str]]:
    """Set up a second factor through the services; the code used to confirm is then spent, as
    if time had moved on by two steps (so the current code works for the next sign-in)."""
    cred = twofactor.start_enrolment(user)
    totp = pyotp.TOTP(cred.secret)
    codes = twofactor.confirm_enrolment(user, totp.now())
    cred.last_used_step = totp.timecode(utcnow()) - 2
    db.session.commit()
    return totp, codes


def spend(user: User) -> None:
    """Time moves on: the codes already used are behind us."""
    cred = db.session.get(TotpCredential, user.id)
    assert cred is not None
    cred.last_used_step = pyotp.TOTP(cred.secret).timecode(utcnow()) - 2
    db.session.commit()


def wrong_code(totp: pyotp.TOTP) -> str:
    now = utcnow()
    valid = {totp.at(now + timedelta(seconds=30 * k)) for k in (-1, 0, 1)}
    return next(code for code in (f"{n:06d}" for n in range(0, 1000000, 111111)) if code not in valid)


@pytest.fixture
def required(app: Flask) -> Iterator[None]:
    app.config["TOTP_REQUIRED"] = True
    try:
        yield
    finally:
        app.config["TOTP_REQUIRED"] = False


def page_routes(app: Flask) -> list[str]:
    """Every page reached by GET without URL arguments (the API and static files aside)."""
    return sorted(
        str(rule.rule)
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or set())
        and not rule.arguments
        and rule.endpoint != "static"
        and not rule.endpoint.startswith("api.")
    )


# --- Enrolment ---


def test_enrolment_from_the_account_page(app: Flask, factory: Any, sign_in_as: Any) -> None:
    user = factory.user("partner")
    web = WebClient(app, app.test_client())
    web.login(user.email, PASSWORD)
    other_device = sign_in_as(user)
    assert other_device.get("/").status_code == 200

    assert web.post("/account/two-factor/start").status_code == 302
    page = web.get("/account/two-factor").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code, drawn here: no external service
    match = re.search(r'id="totp-secret">([A-Z2-7 ]+)</code>', page)
    assert match is not None
    totp = pyotp.TOTP(match.group(1).replace(" ", ""))

    refused = web.post("/account/two-factor/confirm", data={"code": wrong_code(totp)})
    assert refused.status_code == 422
    assert not twofactor.is_enrolled(user)
    done = web.post("/account/two-factor/confirm", data={"code": totp.now()})
    assert done.status_code == 200
    codes = re.findall(
        r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>",
        done.get_data(as_text=True),
    )
    assert len(codes) == 10 and len(set(codes)) == 10

    db.session.expire_all()
    assert twofactor.is_enrolled(user)
    # Stored: the secret encrypted, the recovery codes hashed.
    raw_secret = db.session.execute(sa.text("SELECT secret FROM user_totp")).scalar_one()
    assert totp.secret not in raw_secret
    hashes = db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
    assert len(hashes) == 10 and not set(codes) & set(hashes)
    # This session goes on; the one that never gave the second factor ended.
    assert web.get("/").status_code == 200
    assert other_device.get("/").status_code == 302


def test_the_qr_code_holds_the_secret_for_this_account(app: Flask, factory: Any) -> None:
    user = factory.user("partner")
    cred = twofactor.start_enrolment(user)
    uri = twofactor.provisioning_uri(user, cred)
    assert uri.startswith("otpauth://totp/Vigie:") and f"secret={cred.secret}" in uri
    assert twofactor.qr_code_data_uri(uri).startswith("data:image/svg+xml")


# --- Signing in with the second factor ---


def test_a_dpo_cannot_reach_any_page_without_the_second_factor(app: Flask, factory: Any) -> None:
    dpo = factory.user("dpo")
    totp, _codes = enrol(dpo)
    web = WebClient(app, app.test_client())
    response = web.login(dpo.email, PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/login/second-factor"

    public = {"/login", "/login/second-factor", "/password/forgot", "/password/forgot/sent"}
    routes = [url for url in page_routes(app) if url not in public]
    assert len(routes) > 10
    for url in routes:
        page = web.get(url)
        assert page.status_code == 302, url
        assert page.headers["Location"].startswith("/login"), url
    # Nor the API with the browser's session.
    assert web.get("/api/v1/me").status_code == 401

    assert web.post("/login/second-factor", data={"code": totp.now()}).status_code == 302
    for url in ("/", "/deadlines/", "/account/", "/audit/"):
        assert web.get(url).status_code == 200, url
    outcomes = db.session.scalars(sa.select(LoginEvent.outcome).order_by(LoginEvent.id)).all()
    assert outcomes == [LoginOutcome.SECOND_FACTOR_AWAITED, LoginOutcome.SUCCESS]


def test_a_session_that_never_gave_the_second_factor_is_sent_to_give_it(
    app: Flask, factory: Any, sign_in_as: Any
) -> None:
    dpo = factory.user("dpo")
    totp, _codes = enrol(dpo)
    session = sign_in_as(dpo)  # signed in without the second factor
    for url in page_routes(app):
        if url in {"/login", "/login/second-factor", "/password/forgot", "/password/forgot/sent"}:
            continue
        response = session.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith(("/login/second-factor", "/login")), url
    assert session.post("/login/second-factor", data={"code": totp.now()}).status_code == 302
    assert session.get("/").status_code == 200


def test_a_wrong_or_replayed_code_is_refused(app: Flask, factory: Any) -> None:
    dpo = factory.user("dpo")
    totp, _codes = enrol(dpo)
    web = WebClient(app, app.test_client())
    web.login(dpo.email, PASSWORD)
    assert web.post("/login/second-factor", data={"code": wrong_code(totp)}).status_code == 401
    assert web.get("/").status_code == 302
    code = totp.now()
    assert web.post("/login/second-factor", data={"code": code}).status_code == 302
    assert web.get("/").status_code == 200

    # The same code, seconds later, from another browser that knows the password: refused.
    thief = WebClient(app, app.test_client())
    assert thief.login(dpo.email, PASSWORD).status_code == 302
    refused = thief.post("/login/second-factor", data={"code": code})
    assert refused.status_code == 401
    assert thief.get("/").status_code == 302
    outcomes = db.session.scalars(sa.select(LoginEvent.outcome).order_by(LoginEvent.id)).all()
    assert outcomes.count(LoginOutcome.WRONG_SECOND_FACTOR) == 2


def test_codes_one_step_either_side_are_accepted_older_ones_never(app: Flask, factory: Any) -> None:
    user = factory.user("partner")
    totp, _codes = enrol(user)
    now = utcnow()

    def at(steps: int) -> str:
        return totp.at(now + timedelta(seconds=30 * steps))

    assert not twofactor.verify_totp(user, at(-2), now)  # too old
    assert not twofactor.verify_totp(user, at(2), now)  # too far ahead
    assert twofactor.verify_totp(user, at(-1), now)
    assert twofactor.verify_totp(user, at(1), now)
    assert not twofactor.verify_totp(user, at(0), now)  # older than the last code used
    assert not twofactor.verify_totp(user, at(1), now)  # the same again


def test_a_recovery_code_works_once(app: Flask, factory: Any) -> None:
    dpo = factory.user("dpo")
    _totp, codes = enrol(dpo)
    first = WebClient(app, app.test_client())
    first.login(dpo.email, PASSWORD)
    response = first.post("/login/second-factor", data={"code": codes[3].upper().replace("-", " ")})
    assert response.status_code == 302
    assert first.get("/").status_code == 200
    assert twofactor.remaining_recovery_codes(dpo) == 9

    second = WebClient(app, app.test_client())
    second.login(dpo.email, PASSWORD)
    assert second.post("/login/second-factor", data={"code": codes[3]}).status_code == 401
    assert second.post("/login/second-factor", data={"code": codes[4]}).status_code == 302
    outcomes = db.session.scalars(sa.select(LoginEvent.outcome).order_by(LoginEvent.id)).all()
    assert outcomes.count(LoginOutcome.SUCCESS_RECOVERY_CODE) == 2
    # The use of a recovery code is in the audit trail, under the account's id.
    used = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity == "recovery_code", AuditEvent.action == "update")
    ).all()
    assert {e.entity_id for e in used} == {f"{dpo.id},4", f"{dpo.id},5"}


def test_new_recovery_codes_replace_the_old_ones(app: Flask, factory: Any, sign_in_as: Any) -> None:
    user = factory.user("partner")
    totp, old_codes = enrol(user)
    web = WebClient(app, app.test_client())
    web.login(user.email, PASSWORD)
    web.post("/login/second-factor", data={"code": totp.now()})
    assert web.post("/account/two-factor/recovery-codes", data={"codes-password": "wrong"}).status_code == 422
    page = web.post("/account/two-factor/recovery-codes", data={"codes-password": PASSWORD})
    assert page.status_code == 200
    new_codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", page.get_data(as_text=True))
    assert len(new_codes) == 10
    assert not twofactor.use_recovery_code(user, old_codes[0])
    assert twofactor.use_recovery_code(user, new_codes[0])


def test_the_second_step_waits_five_minutes_at_most(app: Flask, factory: Any) -> None:
    dpo = factory.user("dpo")
    totp, _codes = enrol(dpo)
    web = WebClient(app, app.test_client())
    web.login(dpo.email, PASSWORD)
    with web.client.session_transaction() as session:
        pending = dict(session["second_factor_pending"])
        pending["at"] -= 6 * 60
        session["second_factor_pending"] = pending
    response = web.post("/login/second-factor", data={"code": totp.now()})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert web.get("/").status_code == 302


def test_second_factor_attempts_are_rate_limited(app: Flask, factory: Any) -> None:
    dpo = factory.user("dpo")
    totp, _codes = enrol(dpo)
    web = WebClient(app, app.test_client())
    web.login(dpo.email, PASSWORD)
    bad = wrong_code(totp)
    for _ in range(5):
        assert web.post("/login/second-factor", data={"code": bad}).status_code == 401
    assert web.post("/login/second-factor", data={"code": totp.now()}).status_code == 429


def test_turning_the_second_factor_off(app: Flask, factory: Any) -> None:
    user = factory.user("committee")
    totp, _codes = enrol(user)
    web = WebClient(app, app.test_client())
    web.login(user.email, PASSWORD)
    web.post("/login/second-factor", data={"code": totp.now()})
    assert web.post("/account/two-factor/disable", data={"disable-password": "wrong"}).status_code == 422
    assert web.post("/account/two-factor/disable", data={"disable-password": PASSWORD}).status_code == 302
    db.session.expire_all()
    assert not twofactor.is_enrolled(user)
    web.post("/logout")
    assert web.login(user.email, PASSWORD).headers["Location"] == "/"


# --- Mandatory for administrators and DPOs (a setting) ---


@pytest.mark.usefixtures("required")
@pytest.mark.parametrize("role", ["admin", "dpo"])
def test_when_required_admins_and_dpos_set_it_up_before_anything_else(
    app: Flask, factory: Any, role: str
) -> None:
    user = factory.user(role)
    web = WebClient(app, app.test_client())
    assert web.login(user.email, PASSWORD).status_code == 302
    for url in ("/", "/organisations/", "/audit/", "/account/"):
        response = web.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor", url
    assert web.get("/account/two-factor").status_code == 200
    web.post("/account/two-factor/start")
    secret = db.session.scalar(sa.select(TotpCredential.secret))
    assert secret is not None
    assert web.post("/account/two-factor/confirm", data={"code": pyotp.TOTP(secret).now()}).status_code == 200
    assert web.get("/").status_code == 200
    # Once required, it cannot be turned off.
    assert web.post("/account/two-factor/disable", data={"disable-password": PASSWORD}).status_code == 409


@pytest.mark.usefixtures("required")
def test_when_required_other_roles_are_not_concerned(app: Flask, factory: Any) -> None:
    user = factory.user("partner")
    web = WebClient(app, app.test_client())
    web.login(user.email, PASSWORD)
    assert web.get("/").status_code == 200


def test_required_by_default_in_production_only(tmp_path: Any) -> None:
    from cryptography.fernet import Fernet

    from vigie.config import load_config

    keys = {"VIGIE_SECRET_KEY": "s" * 40, "VIGIE_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    assert load_config(tmp_path, env=keys)["TOTP_REQUIRED"] is True
    assert load_config(tmp_path, env={**keys, "VIGIE_TOTP_REQUIRED": "false"})["TOTP_REQUIRED"] is False
    assert load_config(tmp_path, env={"VIGIE_ENV": "development"})["TOTP_REQUIRED"] is False


# --- The administrator's reset ---


def test_an_admin_resets_a_second_factor_and_it_is_audited(
    app: Flask, factory: Any, sign_in_as: Any, smtp_server: SmtpServer
) -> None:
    dpo = factory.user("dpo")
    totp, _codes = enrol(dpo)
    web = WebClient(app, app.test_client())
    web.login(dpo.email, PASSWORD)
    web.post("/login/second-factor", data={"code": totp.now()})
    assert web.get("/").status_code == 200

    admin = factory.user("admin")
    admin_web = sign_in_as(admin)
    assert f"/admin/users/{dpo.id}/two-factor/reset" in admin_web.get(f"/admin/users/{dpo.id}").get_data(
        as_text=True
    )
    assert admin_web.post(f"/admin/users/{dpo.id}/two-factor/reset").status_code == 302

    db.session.expire_all()
    assert not twofactor.is_enrolled(dpo)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
    assert web.get("/").status_code == 302  # the DPO's session ended
    deleted = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity == "user_totp", AuditEvent.action == "delete")
    ).all()
    assert [(e.entity_id, e.actor_label) for e in deleted] == [(str(dpo.id), admin.email)]
    assert [m["To"] for m in smtp_server.messages] == [dpo.email]
    # The account's history, on its admin page, shows the reset.
    page = admin_web.get(f"/admin/users/{dpo.id}").get_data(as_text=True)
    assert "user_totp" in page and admin.email in page

    # Signing in again needs no code; the setting would then ask to set it up again.
    assert web.login(dpo.email, PASSWORD).headers["Location"] == "/"


def test_the_cli_resets_a_locked_out_administrator(app: Flask, factory: Any) -> None:
    admin = factory.user("admin")
    enrol(admin)
    result = app.test_cli_runner().invoke(args=["users", "reset-two-factor", "--email", admin.email])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert not twofactor.is_enrolled(admin)
    unknown = app.test_cli_runner().invoke(args=["users", "reset-two-factor", "--email", "x@example.fr"])
    assert unknown.exit_code == 2


def test_the_page_asked_for_is_reached_after_the_second_factor(app: Flask, factory: Any) -> None:
    dpo = factory.user("dpo")
    totp, _codes = enrol(dpo)
    web = WebClient(app, app.test_client())
    response = web.client.post(
        "/login",
        data={"email": dpo.email, "password": PASSWORD, "next": "/organisations/", "csrf_token": web.csrf()},
    )
    assert response.headers["Location"] == "/login/second-factor"
    done = web.post("/login/second-factor", data={"code": totp.now()})
    assert done.headers["Location"] == "/organisations/"
