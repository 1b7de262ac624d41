"""Organisation pages: the create form's errors, tenant-scoped lists."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from tests.factories import PASSWORD
from vigie.extensions import db
from vigie.orgs.models import Organisation
from vigie.orgs.siren import luhn_valid, siren_error


def _count() -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) or 0)


def test_siren_check() -> None:
    assert luhn_valid("240400440")
    assert not luhn_valid("240400441")
    assert siren_error("240 400 440") is None
    assert siren_error("24040044") is not None
    assert siren_error("24040044A") is not None


def test_invalid_siren_is_shown_next_to_its_field_and_nothing_is_saved(web: Any, factory: Any) -> None:
    admin = factory.user("admin")
    web.login(admin.email, PASSWORD)
    before = _count()
    response = web.post(
        "/organisations/new", data={"name": "Commune de Mane", "kind": "partner", "siren": "240400441"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # The error is tied to the field for screen readers, and the typed values are kept.
    assert re.search(r'id="siren"[^>]*aria-describedby="siren-hint siren-error"', page) or re.search(
        r'aria-describedby="siren-hint siren-error"[^>]*id="siren"', page
    )
    assert 'id="siren-error"' in page and "Luhn" in page
    assert 'value="Commune de Mane"' in page
    assert _count() == before


def test_create_organisation_from_the_form(web: Any, factory: Any) -> None:
    admin = factory.user("admin")
    web.login(admin.email, PASSWORD)
    response = web.post(
        "/organisations/new",
        data={"name": "Commune de Mane", "kind": "partner", "siren": "240 400 440", "address": "04300 Mane"},
    )
    assert response.status_code == 302
    org = db.session.scalar(sa.select(Organisation).where(Organisation.siren == "240400440"))
    assert org is not None and org.name == "Commune de Mane"
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Commune de Mane" in page and "04300 Mane" in page


def test_a_partner_sees_only_its_own_organisation(sign_in_as: Any, factory: Any) -> None:
    partner = factory.user("partner")
    other = factory.org("partner", name="Commune voisine")
    page = sign_in_as(partner).get("/organisations/").get_data(as_text=True)
    assert partner.organisation.name in page
    assert "Commune voisine" not in page
    dpo_page = sign_in_as(factory.user("dpo")).get("/organisations/").get_data(as_text=True)
    assert "Commune voisine" in dpo_page and partner.organisation.name in dpo_page
    assert sign_in_as(partner).get(f"/organisations/{other.id}").status_code == 403
