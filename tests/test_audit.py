"""The audit trail: one row per change, field names only, hash-chained, tampering detected."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from tests.factories import PASSWORD
from vigie.audit.models import AuditEvent
from vigie.audit.services import verify_chain
from vigie.extensions import db
from vigie.orgs.models import Organisation
from vigie.orgs.services import add_person


def _events(entity: str | None = None) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).order_by(AuditEvent.seq)
    if entity:
        stmt = stmt.where(AuditEvent.entity == entity)
    return list(db.session.scalars(stmt))


def person_events_ids_are_set(person_id: int) -> bool:
    return {e.entity_id for e in _events("person")} == {str(person_id)}


def test_create_update_delete_are_recorded_with_field_names(factory: Any) -> None:
    org = factory.org("partner", name="Commune de Manosque")
    person = add_person(org, "Jean Secret", email="jean@example.fr", function="Directeur")
    db.session.commit()
    org.address = "Place de l'Hôtel de Ville, 04100 Manosque"
    db.session.commit()
    db.session.delete(person)
    db.session.commit()

    org_events = _events("organisation")
    assert [e.action for e in org_events] == ["create", "update"]
    assert org_events[1].fields == "address"
    assert org_events[0].entity_id == org_events[1].entity_id == str(org.id)
    assert person_events_ids_are_set(person.id)
    assert org_events[0].organisation_id == org.id
    person_events = _events("person")
    assert [e.action for e in person_events] == ["create", "delete"]
    assert "name" in person_events[0].fields.split(",")
    # Names of fields, never their values.
    everything = " ".join(f"{e.fields} {e.entity_id}" for e in _events())
    assert "Jean Secret" not in everything and "Manosque" not in everything


def test_actor_is_the_signed_in_user(web: Any, factory: Any) -> None:
    admin = factory.user("admin")
    web.login(admin.email, PASSWORD)
    response = web.post("/organisations/new", data={"name": "Commune de Digne", "kind": "partner"})
    assert response.status_code == 302
    event = _events("organisation")[-1]
    assert (event.actor_id, event.actor_label, event.action) == (admin.id, admin.email, "create")


def test_chain_verifies_then_detects_an_edited_row(app: Flask, factory: Any) -> None:
    for n in range(3):
        factory.org("partner", name=f"Commune {n}")
    assert verify_chain().ok
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "intact" in result.output

    target = _events()[1]
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == target.id).values(fields="name"))
    db.session.commit()
    verdict = verify_chain()
    assert not verdict.ok
    assert verdict.broken_seq == target.seq
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"seq {target.seq}" in result.stderr


def test_chain_detects_a_deleted_row(factory: Any) -> None:
    for n in range(3):
        factory.org("partner", name=f"Commune {n}")
    events = _events()
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == events[1].id))
    db.session.commit()
    verdict = verify_chain()
    assert verdict.broken_seq == events[2].seq


def test_chain_detects_a_rewritten_hash(factory: Any) -> None:
    """Recomputing one row's hash after editing it still breaks the link to the next row."""
    from vigie.audit.chain import row_hash

    for n in range(3):
        factory.org("partner", name=f"Commune {n}")
    target = _events()[0]
    row = {c.name: getattr(target, c.name) for c in AuditEvent.__table__.columns}
    row["actor_label"] = "someone-else"
    db.session.execute(
        sa.update(AuditEvent)
        .where(AuditEvent.id == target.id)
        .values(actor_label="someone-else", hash=row_hash(row))
    )
    db.session.commit()
    assert verify_chain().broken_seq == target.seq + 1


def test_audit_page_filters(web: Any, factory: Any) -> None:
    auditor = factory.user("auditor")
    factory.org("partner", name="Commune de Reillanne")
    web.login(auditor.email, PASSWORD)
    page = web.get("/audit/?entity=organisation&action=create").get_data(as_text=True)
    assert "organisation" in page
    assert "user_account" not in page.split("<tbody>")[1]
    page = web.get("/audit/?entity=user_account").get_data(as_text=True)
    assert "user_account" in page.split("<tbody>")[1]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 2
