"""Administration pages: users (search, pages, roles, deactivation), API tokens, organisations
(edit, SIREN, deactivation, contacts and referents)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from vigie.audit.models import AuditEvent
from vigie.auth import services
from vigie.auth.models import User
from vigie.auth.roles import Role
from vigie.deadlines.feed_tokens import create_feed_token
from vigie.extensions import db
from vigie.orgs.models import Organisation, Person


def reload(model: Any, ident: int) -> Any:
    db.session.expire_all()
    return db.session.get(model, ident)


@pytest.fixture
def admin(factory: Any) -> User:
    user: User = factory.user("admin")
    return user


@pytest.fixture
def admin_web(admin: User, sign_in_as: Any) -> Any:
    return sign_in_as(admin)


# --- Users ---


def test_the_user_list_searches_names_addresses_and_organisations(factory: Any, admin_web: Any) -> None:
    mane = factory.org("partner", name="Commune de Mane")
    factory.user("partner", org=mane, email="accueil@mane.example")
    other = factory.user("committee", email="copil@departement.example")
    # Names are encrypted at rest, and found all the same.
    other.name = "Hélène Rapporteuse"
    db.session.commit()

    def listed(query: str) -> str:
        response = admin_web.get("/admin/users/" + query)
        assert response.status_code == 200
        return str(response.get_data(as_text=True))

    assert "accueil@mane.example" in listed("?q=mane")
    assert "copil@departement.example" not in listed("?q=mane")
    assert "copil@departement.example" in listed("?q=h%C3%A9l%C3%A8ne")
    assert "accueil@mane.example" not in listed("?role=committee")
    assert "copil@departement.example" in listed("?role=committee")
    assert "accueil@mane.example" in listed(f"?organisation={mane.id}")


def test_the_user_list_has_pages(factory: Any, admin_web: Any) -> None:
    org = factory.org("partner")
    for n in range(30):
        factory.user("partner", org=org, email=f"lecteur{n:02d}@example.fr")
    first = admin_web.get("/admin/users/").get_data(as_text=True)
    second = admin_web.get("/admin/users/?page=2").get_data(as_text=True)
    emails = re.compile(r"lecteur\d\d@example\.fr")
    on_first, on_second = set(emails.findall(first)), set(emails.findall(second))
    # 31 accounts with the administrator: 25 on the first page, the rest on the second.
    assert len(on_first) in (24, 25) and len(on_first) + len(on_second) == 30
    assert not on_first & on_second
    assert "page=2" in first


def test_the_invitation_form_checks_its_fields(factory: Any, admin_web: Any) -> None:
    org = factory.org("partner")
    taken = factory.user("partner", org=org)
    missing_role = admin_web.post(
        "/admin/users/new", data={"name": "X", "email": "x@example.fr", "organisation_id": org.id}
    )
    assert missing_role.status_code == 422
    assert 'id="roles-error"' in missing_role.get_data(as_text=True)
    duplicate = admin_web.post(
        "/admin/users/new",
        data={"name": "X", "email": taken.email, "organisation_id": org.id, "roles": ["partner"]},
    )
    assert duplicate.status_code == 422
    assert 'id="email-error"' in duplicate.get_data(as_text=True)
    assert services.user_by_email("x@example.fr") is None


def test_editing_roles_is_audited_on_the_account(factory: Any, admin_web: Any, admin: User) -> None:
    org = factory.org("controller")
    user = factory.user("committee", org=org)
    page = admin_web.get(f"/admin/users/{user.id}/edit").get_data(as_text=True)
    assert 'value="committee" checked' in page or re.search(r'checked[^>]*value="committee"', page)
    response = admin_web.post(
        f"/admin/users/{user.id}/edit",
        data={"name": "Nouveau nom", "organisation_id": org.id, "roles": ["legal", "auditor"]},
    )
    assert response.status_code == 302
    fresh = reload(User, user.id)
    assert fresh.roles == {Role.LEGAL, Role.AUDITOR} and fresh.name == "Nouveau nom"
    assert fresh.roles_changed_at is not None
    rows = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity == "user_account", AuditEvent.entity_id == str(user.id))
    ).all()
    assert any("roles_changed_at" in e.fields and e.actor_label == admin.email for e in rows)
    roles = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity == "user_role")).all()
    assert roles.count("delete") == 1


def test_the_last_administrator_keeps_the_role(factory: Any, admin_web: Any, admin: User) -> None:
    response = admin_web.post(
        f"/admin/users/{admin.id}/edit",
        data={"name": admin.name, "organisation_id": admin.organisation_id, "roles": ["dpo"]},
    )
    assert response.status_code == 422
    assert admin_web.post(f"/admin/users/{admin.id}/deactivate").status_code == 302
    assert reload(User, admin.id).active  # nobody deactivates themselves
    other = factory.user("admin")
    other_web_response = admin_web.post(f"/admin/users/{other.id}/deactivate")
    assert other_web_response.status_code == 302
    assert not reload(User, other.id).active


def test_deactivation_from_the_admin_page_stops_everything_at_once(
    app: Flask, factory: Any, admin_web: Any, sign_in_as: Any
) -> None:
    user = factory.user("partner")
    browser = sign_in_as(user)
    assert browser.get("/").status_code == 200
    token = factory.token(user)
    _feed, feed_secret = create_feed_token(user)
    db.session.commit()
    api = app.test_client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    assert admin_web.post(f"/admin/users/{user.id}/deactivate").status_code == 302
    assert browser.get("/").status_code == 302
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert api.get(f"/calendar/{feed_secret}.ics").status_code == 404
    # Never deleted: still listed, as deactivated, and can come back.
    assert user.email in admin_web.get("/admin/users/?status=deactivated").get_data(as_text=True)
    assert admin_web.post(f"/admin/users/{user.id}/activate").status_code == 302
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_there_is_no_way_to_delete_a_user(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            assert "DELETE" not in (rule.methods or set())
            assert "delete" not in rule.endpoint


def test_invitations_wait_and_the_resend_is_refused_once_a_password_is_set(
    factory: Any, admin_web: Any
) -> None:
    user = factory.user("partner")
    response = admin_web.post(f"/admin/users/{user.id}/invitation")
    assert response.status_code == 302
    page = admin_web.get(response.headers["Location"]).get_data(as_text=True)
    assert "flash-error" in page


def test_the_user_page_shows_tokens_sign_ins_and_history(app: Flask, factory: Any, admin_web: Any) -> None:
    user = factory.user("partner")
    token, plaintext = services.create_api_token(user, "Tableau de bord")
    db.session.commit()
    services.revoke_api_token(token)
    db.session.commit()
    page = admin_web.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Tableau de bord" in page and plaintext not in page
    assert f"api_token {token.id}" in page  # its revocation, in the account's history


# --- API tokens ---


def test_admins_see_every_token_by_user_never_its_value(factory: Any, admin_web: Any) -> None:
    alice = factory.user("partner", email="alice@example.fr")
    bob = factory.user("dpo", email="bob@example.fr")
    token_a, secret_a = services.create_api_token(alice, "Export")
    _token_b, secret_b = services.create_api_token(bob, None)
    db.session.commit()
    page = admin_web.get("/admin/tokens").get_data(as_text=True)
    assert "alice@example.fr" in page and "bob@example.fr" in page
    assert token_a.prefix in page and "Export" in page
    assert secret_a not in page and secret_b not in page
    assert secret_a[len(token_a.prefix) :] not in page
    assert admin_web.post(f"/admin/tokens/{token_a.id}/revoke").status_code == 302
    db.session.expire_all()
    assert services.user_for_token(secret_a) is None
    admin_web.get("/admin/tokens")  # shows the confirmation
    active = admin_web.get("/admin/tokens?status=active").get_data(as_text=True)
    assert "alice@example.fr" not in active and "bob@example.fr" in active


def test_the_revoke_button_goes_back_only_inside_vigie(factory: Any, admin_web: Any) -> None:
    token, _secret = services.create_api_token(factory.user("partner"), None)
    db.session.commit()
    response = admin_web.post(f"/admin/tokens/{token.id}/revoke", data={"back": "https://evil.example/"})
    assert response.headers["Location"] == "/"


# --- Organisations ---


def test_editing_an_organisation_checks_the_siren(factory: Any, admin_web: Any) -> None:
    org = factory.org("partner", name="Commune de Riez")
    taken = factory.org("partner")
    page = admin_web.get(f"/organisations/{org.id}/edit")
    assert page.status_code == 200 and 'value="Commune de Riez"' in page.get_data(as_text=True)
    base = {"name": "Commune de Riez", "kind": "partner", "address": "Place Maxime Javelly, 04500 Riez"}
    bad = admin_web.post(f"/organisations/{org.id}/edit", data={**base, "siren": "240400441"})
    assert bad.status_code == 422 and "Luhn" in bad.get_data(as_text=True)
    duplicate = admin_web.post(f"/organisations/{org.id}/edit", data={**base, "siren": taken.siren})
    assert duplicate.status_code == 422
    good = admin_web.post(
        f"/organisations/{org.id}/edit", data={**base, "siren": "210 401 667", "parent_id": taken.id}
    )
    assert good.status_code == 302
    fresh = reload(Organisation, org.id)
    assert fresh.siren == "210401667" and fresh.address.startswith("Place") and fresh.parent_id == taken.id
    assert not fresh.computerised_libraries  # the box was not ticked
    # An organisation cannot belong to itself.
    loop = admin_web.post(f"/organisations/{taken.id}/edit", data={**base, "name": "X", "parent_id": org.id})
    assert loop.status_code == 422


def test_deactivating_an_organisation_deactivates_its_users(
    factory: Any, admin_web: Any, admin: User, sign_in_as: Any
) -> None:
    org = factory.org("partner")
    member = factory.user("partner", org=org)
    browser = sign_in_as(member)
    assert admin_web.post(f"/organisations/{org.id}/deactivate").status_code == 302
    assert not reload(Organisation, org.id).active
    assert not reload(User, member.id).active
    assert browser.get("/").status_code == 302
    # No longer offered for new users; reactivated, its users stay deactivated.
    assert f'value="{org.id}"' not in admin_web.get("/admin/users/new").get_data(as_text=True)
    assert admin_web.post(f"/organisations/{org.id}/activate").status_code == 302
    assert reload(Organisation, org.id).active and not reload(User, member.id).active
    # An administrator cannot deactivate their own organisation.
    admin_web.post(f"/organisations/{admin.organisation_id}/deactivate")
    assert reload(Organisation, admin.organisation_id).active


def test_the_organisation_list_searches_and_shows_the_deactivated(factory: Any, admin_web: Any) -> None:
    factory.org("partner", name="Commune de Forcalquier")
    gone = factory.org("partner", name="Commune de Lurs")
    gone.active = False
    db.session.commit()
    page = admin_web.get("/organisations/?q=forcal").get_data(as_text=True)
    assert "Commune de Forcalquier" in page and "Commune de Lurs" not in page
    assert "Commune de Lurs" in admin_web.get(f"/organisations/?q={gone.siren}").get_data(as_text=True)
    active = admin_web.get("/organisations/?status=active").get_data(as_text=True)
    assert "Commune de Lurs" not in active


def test_contacts_and_the_digital_services_referent(factory: Any, admin_web: Any) -> None:
    org = factory.org("partner")
    page = admin_web.get(f"/organisations/{org.id}").get_data(as_text=True)
    assert "convention art. 3" in page or "art. 3" in page  # the director, by default
    assert admin_web.post(f"/organisations/{org.id}/contacts/new", data={"name": ""}).status_code == 422
    added = admin_web.post(
        f"/organisations/{org.id}/contacts/new",
        data={
            "name": "Marie Curie",
            "function": "Directrice de la médiathèque",
            "email": "direction@mediatheque.example",
            "is_digital_referent": "y",
        },
    )
    assert added.status_code == 302
    person = db.session.scalar(sa.select(Person).where(Person.organisation_id == org.id))
    assert (
        person is not None and person.is_digital_referent and person.email == "direction@mediatheque.example"
    )
    edited = admin_web.post(
        f"/organisations/{org.id}/contacts/{person.id}/edit",
        data={"name": "Marie Curie", "phone": "04 92 00 00 00"},
    )
    assert edited.status_code == 302
    person = reload(Person, person.id)
    assert person.phone == "04 92 00 00 00" and not person.is_digital_referent and person.email is None
    # A contact is reached through its own organisation only.
    other = factory.org("partner")
    assert admin_web.get(f"/organisations/{other.id}/contacts/{person.id}/edit").status_code == 404
    assert admin_web.post(f"/organisations/{org.id}/contacts/{person.id}/delete").status_code == 302
    assert reload(Person, person.id) is None


@pytest.mark.parametrize("role", ["dpo", "partner", "committee", "legal", "auditor"])
def test_only_admins_reach_the_admin_pages(factory: Any, sign_in_as: Any, role: str) -> None:
    web = sign_in_as(factory.user(role))
    for url in ("/admin/users/", "/admin/users/new", "/admin/tokens", "/admin/logins"):
        assert web.get(url).status_code == 403, url
    assert "/admin/users/" not in web.get("/").get_data(as_text=True)  # nor see the menu entry
