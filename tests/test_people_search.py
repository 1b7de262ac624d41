"""The person search (issue #7): a keyed blind index over every table that names a person, kept in step by
the session events, rebuilt by `vigie people reindex`, searched without decrypting the tables."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask

from compliance.access_requests.models import AccessRequest, Right
from compliance.breaches.models import Breach, BreachAction
from compliance.processor.models import PartnerDpo, StaffGrant
from compliance.staff_lists.models import StaffListSnapshot
from governance.bodies.models import ActionItem, Body, BodyMember, Meeting, Minutes, MinutesVersion
from governance.conventions.models import Convention, Deliberation
from tests.conftest import french
from tests.factories import PASSWORD, Factory
from vigie.audit.models import AuditEvent
from vigie.auth.roles import ROLE_PERMISSIONS, Permission, Role
from vigie.auth.services import create_user
from vigie.config import ConfigurationError, load_config
from vigie.crypto import count_decryptions
from vigie.errors import Forbidden, ValidationFailed
from vigie.extensions import db
from vigie.mail.models import OutboxMessage
from vigie.mail.services import queue_mail
from vigie.orgs.models import Organisation, Person
from vigie.people.index import index_entries, reindex, token, value_tokens
from vigie.people.models import IndexKind, PersonIndexEntry, PersonSearch
from vigie.people.normalise import name_terms, normalise_email
from vigie.people.registry import EMAIL, NAME, PersonSource, json_rows, sources
from vigie.people.services import find_person

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
NAME_TYPED = "Jeanne Dupré-Martin"
EMAIL_TYPED = "Jeanne.Dupre@Example.FR"


@pytest.fixture(autouse=True)
def _no_delivery(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # The outbox rows are what is searched: no delivery attempt after the commits.
    monkeypatch.setitem(app.config, "MAIL_SEND_ON_COMMIT", False)


def _index_rows() -> set[tuple[Any, ...]]:
    t = PersonIndexEntry
    stmt = sa.select(t.entity, t.row_id, t.field, t.kind, t.token, t.organisation_id)
    return set(db.session.execute(stmt).all())


def _entities(result: Any) -> set[str]:
    return {group.entity for group in result.groups}


def _ids(result: Any, entity: str) -> set[int]:
    return {r.id for g in result.groups if g.entity == entity for r in g.records}


def _body(n: int) -> Body:
    body = Body(name=f"Groupe {n}", code=f"G{n}")
    db.session.add(body)
    db.session.flush()
    return body


def _records_of(
    name: str, email: str, partner: Organisation, controller: Organisation, n: int, body: Body
) -> dict[str, Any]:
    """One record naming the person in every table that can: e-mail and name where the table holds both."""
    user = create_user(email=email, name=name, organisation=partner, roles=("partner",), password=PASSWORD)
    contact = Person(organisation_id=partner.id, name=name, email=f"  {email.upper()} ")
    dpo = PartnerDpo(organisation_id=partner.id, name=name, email=email, since=date(2025, 1, 6))
    grant = StaffGrant(
        organisation_id=partner.id,
        name=name,
        email=email,
        granted_on=date(2025, 1, 6),
        granted_by="dpo@vigie.example",
        recorded_at=NOW,
    )
    request = AccessRequest(
        reference=f"DDP-2025-{n:04d}",
        right=Right.ACCESS,
        subject_name=name.upper(),
        subject_email=email,
        received_by_organisation_id=partner.id,
        received_at=NOW,
        response_due_date=date(2025, 4, 10),
    )
    breach = Breach(
        organisation_id=partner.id, summary="Fichier perdu", contact_name=name, contact_email=email
    )
    member = BodyMember(
        body_id=body.id, name=name, email=email, organisation_id=partner.id, since=date(2025, 1, 1)
    )
    convention = Convention(
        title=f"Convention {n}",
        controller_id=controller.id,
        partner_id=partner.id,
        start_date=date(2025, 1, 1),
        end_date=date(2028, 12, 31),
        evaluation_due_date=date(2028, 10, 31),
        partner_signatory=name,
    )
    deliberation = Deliberation(
        organisation_id=partner.id,
        assembly="Conseil communautaire",
        number=f"2025-{n}",
        adopted_on=date(2025, 4, 3),
        subject="Convention",
        members_in_office=30,
        members_present=20,
        votes_for=20,
        secretary=name,
    )
    action = ActionItem(
        body_id=body.id, title="Préparer la journée", owner=name, owner_organisation_id=partner.id
    )
    # A certified staff list naming the person (its seal is not what is tested here).
    snapshot = StaffListSnapshot(
        organisation_id=partner.id,
        organisation_name=partner.name,
        certified_by_name="Responsable de la médiathèque",
        certified_at=NOW,
        rows_json=json.dumps([{"name": name, "email": email, "granted_by": "dpo@vigie.example"}]),
        content_hash="0" * 64,
        signature="0" * 64,
        key_id="test",
    )
    db.session.add_all(
        [contact, dpo, grant, request, breach, member, convention, deliberation, action, snapshot]
    )
    db.session.flush()
    breach_action = BreachAction(breach=breach, description="Changer les mots de passe", owner=name)
    meeting = Meeting(body_id=body.id, starts_at=NOW)
    db.session.add_all([breach_action, meeting])
    db.session.flush()
    minutes = Minutes(meeting_id=meeting.id)
    db.session.add(minutes)
    db.session.flush()
    version = MinutesVersion(minutes_id=minutes.id, number=1, text="PV", saved_at=NOW, saved_by=email)
    db.session.add(version)
    # The outbox through its service: an INSERT ... RETURNING, not a flush.
    message = queue_mail(email, "Votre demande", "Bonjour")
    db.session.flush()
    assert message is not None
    return {
        "user_account": user,
        "person": contact,
        "partner_dpo": dpo,
        "staff_grant": grant,
        "access_request": request,
        "breach": breach,
        "breach_action": breach_action,
        "body_member": member,
        "convention": convention,
        "deliberation": deliberation,
        "action_item": action,
        "minutes_version": version,
        "outbox_message": message,
        "staff_list_snapshot": snapshot,
    }


@pytest.fixture
def world(factory: Factory) -> dict[str, Any]:
    controller = factory.org("controller", name="Département")
    partner = factory.org("partner", name="Médiathèque de Forcalquier")
    body = _body(1)
    target = _records_of(NAME_TYPED, EMAIL_TYPED, partner, controller, 1, body)
    other = _records_of("Paul Durand", "paul.durand@example.fr", partner, controller, 2, body)
    db.session.commit()
    return {
        "target": target,
        "other": other,
        "partner": partner,
        "dpo": factory.user("dpo", org=controller),
        "auditor": factory.user("auditor", org=controller),
    }


def _holding(kind: IndexKind) -> set[str]:
    # An extractor (a JSON list of people, as the certified staff lists) holds names and addresses.
    return {s.entity for s in sources() if any(v == kind or callable(v) for v in s.fields.values())}


# --- normalisation ----------------------------------------------------------------------------------


def test_normalisation_of_addresses_and_names() -> None:
    assert normalise_email("  Jeanne.Dupre@EXAMPLE.fr ") == "jeanne.dupre@example.fr"
    assert normalise_email("cli") is None  # a label in a column that usually holds an address
    assert normalise_email("jeanne@") is None
    whole, words = name_terms("  Jéanne   DUPRÉ-Martin ")
    assert whole == "jeanne dupre martin"
    assert words == {"jeanne", "dupre", "martin"}
    assert name_terms("Ève d'Arc")[1] == {"eve", "arc"}  # a one-letter word is not indexed alone
    assert name_terms("STRAẞE")[0] == "strasse"  # case-folded, not only lower-cased
    assert name_terms("  ") == (None, set())


def test_a_column_holding_several_people_is_read_by_its_extractor(app: Flask) -> None:
    # A certified staff list keeps its rows as JSON in one encrypted column: every person in it is indexed.
    source = PersonSource(model=Person, label="rows", fields={"name": json_rows(name=NAME, email=EMAIL)})
    key = b"k" * 32
    rows = json.dumps(
        [{"name": "Jeanne Dupré", "email": "Jeanne@Example.fr"}, {"name": "Paul", "email": None}]
    )
    entries = index_entries(key, source, 7, 3, {"name": rows})
    tokens = {(e["kind"], e["token"]) for e in entries}
    assert ("email", token(key, IndexKind.EMAIL, "jeanne@example.fr")) in tokens
    assert ("name", token(key, IndexKind.NAME, "jeanne dupre")) in tokens
    assert ("name", token(key, IndexKind.NAME, "paul")) in tokens
    assert {(e["row_id"], e["field"], e["organisation_id"]) for e in entries} == {(7, "name", 3)}
    assert index_entries(key, source, 7, 3, {"name": None}) == []


def test_case_accents_and_spaces_do_not_matter(app: Flask, world: dict[str, Any]) -> None:
    dpo = world["dpo"]
    every_email = _holding(EMAIL)
    every_name = _holding(NAME)
    with app.test_request_context():
        assert _entities(find_person(dpo, "  JEANNE.dupre@example.fr ")) == every_email
        assert _entities(find_person(dpo, "jeanne   DUPRE martin")) == every_name
        assert _entities(find_person(dpo, "Martin Jeanne")) == every_name  # words in any order
        assert _entities(find_person(dpo, "dupré")) == every_name  # one word of the name
        # Exact words only: no substring, and every word must be in the same record.
        assert find_person(dpo, "Dupr").total == 0
        assert find_person(dpo, "Jeanne Durand").total == 0
        assert _ids(find_person(dpo, "Durand"), "person") == {world["other"]["person"].id}


def test_every_word_must_be_in_the_same_field(app: Flask, world: dict[str, Any]) -> None:
    convention: Convention = world["target"]["convention"]
    convention.controller_signatory = "Paul Lefèvre"  # and Jeanne Dupré-Martin for the partner
    db.session.commit()
    with app.test_request_context():
        assert convention.id not in _ids(find_person(world["dpo"], "Jeanne Lefèvre"), "convention")
        found = find_person(world["dpo"], "paul lefevre")
    assert _ids(found, "convention") == {convention.id}
    assert found.groups[0].records[0].fields == (french("signatory for the Département"),)


def test_a_query_that_is_neither_an_address_nor_a_name_is_refused(app: Flask, world: dict[str, Any]) -> None:
    with app.test_request_context():
        for query in ("jeanne@", "@example.fr", "J", " - ", "x" * 300):
            with pytest.raises(ValidationFailed):
                find_person(world["dpo"], query)


# --- found everywhere, without decrypting the tables ------------------------------------------------


def test_found_by_email_in_every_table_that_holds_one(app: Flask, world: dict[str, Any]) -> None:
    target = world["target"]
    with app.test_request_context():
        result = find_person(world["dpo"], EMAIL_TYPED)
    # Every registered source with an e-mail column: a new one fails here until this test's data has it.
    assert _entities(result) == _holding(EMAIL)
    assert _entities(result) >= {
        "user_account", "person", "partner_dpo", "staff_grant", "access_request", "breach",
        "body_member", "minutes_version", "outbox_message",
    }  # fmt: skip
    for group in result.groups:
        assert _ids(result, group.entity) == {target[group.entity].id}, group.entity
    by_entity = {g.entity: g.records[0] for g in result.groups}
    assert by_entity["access_request"].url == f"/access-requests/{target['access_request'].id}"
    assert by_entity["breach"].url == f"/breaches/{target['breach'].id}"
    assert by_entity["person"].organisation == "Médiathèque de Forcalquier"
    assert by_entity["outbox_message"].url is None  # no page shows the outbox
    assert "jeanne.dupre@example.fr" in by_entity["user_account"].description


def test_found_by_name_in_every_table_that_holds_one(app: Flask, world: dict[str, Any]) -> None:
    target = world["target"]
    with app.test_request_context():
        result = find_person(world["dpo"], NAME_TYPED)
    assert _entities(result) == _holding(NAME)
    assert _entities(result) >= {"breach_action", "action_item", "convention", "deliberation"}
    for group in result.groups:
        assert _ids(result, group.entity) == {target[group.entity].id}, group.entity
    convention = next(g.records[0] for g in result.groups if g.entity == "convention")
    assert convention.fields == (french("signatory for the partner"),)


def test_a_search_decrypts_only_the_rows_it_finds(app: Flask, factory: Factory) -> None:
    controller = factory.org("controller")
    partners = [factory.org("partner") for _ in range(4)]
    body = _body(9)
    for n in range(200):  # 200 people, spread over four encrypted tables
        org = partners[n % 4]
        name, email = f"Personne {n:03d} Nom{n:03d}", f"personne{n:03d}@example.fr"
        row: Any
        match n % 4:
            case 0:
                row = Person(organisation_id=org.id, name=name, email=email)
            case 1:
                row = StaffGrant(
                    organisation_id=org.id, name=name, email=email, granted_on=date(2025, 1, 6),
                    granted_by="cli", recorded_at=NOW,
                )  # fmt: skip
            case 2:
                row = AccessRequest(
                    reference=f"DDP-{n:04d}", right=Right.ACCESS, subject_name=name, subject_email=email,
                    received_by_organisation_id=org.id, received_at=NOW, response_due_date=date(2025, 4, 10),
                )  # fmt: skip
            case _:
                row = BodyMember(body_id=body.id, name=name, email=email, since=date(2025, 1, 1))
        db.session.add(row)
    target = _records_of("Zoé Lambert", "zoe.lambert@example.fr", partners[0], controller, 999, body)
    db.session.commit()
    db.session.expunge_all()  # nothing already decrypted in the session

    dpo = factory.user("dpo", org=controller)
    with app.test_request_context(), count_decryptions() as decrypted:
        result = find_person(dpo, "zoe.lambert@example.fr")
    matches = result.total
    assert matches == len(_holding(EMAIL)) == len({e for e in target if e in _holding(EMAIL)})
    # At most the person fields of the rows found (two per row: a name and an address).
    assert 0 < decrypted.count <= matches * 2
    assert decrypted.count < 200

    with app.test_request_context(), count_decryptions() as decrypted:
        result = find_person(dpo, "Nom121")
    assert [(g.entity, [r.description for r in g.records]) for g in result.groups] == [
        ("staff_grant", ["Personne 121 Nom121 · personne121@example.fr · 6 janv. 2025"])
    ]
    assert decrypted.count <= 2


# --- kept in step ------------------------------------------------------------------------------------


def test_a_changed_address_is_found_under_the_new_one_only(app: Flask, world: dict[str, Any]) -> None:
    contact: Person = world["target"]["person"]
    contact.email = "jeanne.martin@example.fr"
    db.session.commit()
    with app.test_request_context():
        assert contact.id not in _ids(find_person(world["dpo"], EMAIL_TYPED), "person")
        assert _ids(find_person(world["dpo"], "Jeanne.Martin@example.fr"), "person") == {contact.id}
        assert contact.id in _ids(find_person(world["dpo"], NAME_TYPED), "person")  # the name's rows stay

    contact.name = "Jeanne Lefèvre"
    db.session.commit()
    with app.test_request_context():
        assert contact.id not in _ids(find_person(world["dpo"], "Dupré"), "person")
        assert _ids(find_person(world["dpo"], "lefevre jeanne"), "person") == {contact.id}


def test_a_record_moved_to_another_organisation_moves_its_index_rows(
    app: Flask, factory: Factory, world: dict[str, Any]
) -> None:
    other = factory.org("partner")
    contact: Person = world["target"]["person"]
    contact.organisation_id = other.id
    db.session.commit()
    t = PersonIndexEntry
    tenants = db.session.scalars(
        sa.select(t.organisation_id).where(t.entity == "person", t.row_id == contact.id)
    ).all()
    assert tenants and set(tenants) == {other.id}


def test_deleting_a_record_deletes_its_index_rows(app: Flask, world: dict[str, Any]) -> None:
    contact: Person = world["target"]["person"]
    member: BodyMember = world["target"]["body_member"]
    ids = (contact.id, member.id)
    db.session.delete(contact)
    db.session.delete(member)
    db.session.commit()
    t = PersonIndexEntry
    left = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(t)
        .where(
            sa.or_(
                sa.and_(t.entity == "person", t.row_id == ids[0]),
                sa.and_(t.entity == "body_member", t.row_id == ids[1]),
            )
        )
    )
    assert left == 0
    with app.test_request_context():
        assert not {"person", "body_member"} & _entities(find_person(world["dpo"], EMAIL_TYPED))


def test_bulk_orm_statements_keep_the_index_in_step(app: Flask, world: dict[str, Any]) -> None:
    """The retention's erasure is a bulk UPDATE / DELETE: an erased person must not be found any more."""
    ids = {name: world["target"][name].id for name in ("outbox_message", "person", "staff_grant")}
    paul_id = world["other"]["person"].id
    db.session.commit()  # (reading the ids loaded the objects: nothing decrypted from here on)
    with count_decryptions() as decrypted:
        # Values given in the statement: indexed as given, no row read back.
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == ids["outbox_message"])
            .values(recipient="[anonymisé]")
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            sa.delete(Person).where(Person.id == ids["person"]).execution_options(synchronize_session=False)
        )
        # Registered columns untouched: the index is left alone.
        db.session.execute(
            sa.update(Person)
            .where(Person.id == paul_id)
            .values(function="Directeur")
            .execution_options(synchronize_session=False)
        )
    assert decrypted.count == 0
    # A value computed in SQL, and an UPDATE by primary key: the rows are read back and re-indexed.
    db.session.execute(
        sa.update(StaffGrant)
        .where(StaffGrant.id == ids["staff_grant"])
        .values(granted_by=sa.func.lower("Chef@Example.fr"))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(sa.update(Person), [{"id": paul_id, "email": "paul.d@example.fr"}])
    db.session.commit()
    with app.test_request_context():
        assert not {"outbox_message", "person"} & _entities(find_person(world["dpo"], EMAIL_TYPED))
        assert _ids(find_person(world["dpo"], "paul.d@example.fr"), "person") == {paul_id}
        assert find_person(world["dpo"], "paul.durand@example.fr").total == len(_holding(EMAIL)) - 1
        chef = find_person(world["dpo"], "chef@example.fr")
        target = find_person(world["dpo"], EMAIL_TYPED)
    assert _ids(chef, "staff_grant") == {ids["staff_grant"]}
    assert chef.groups[0].records[0].fields == (french("authorisation recorded by"),)
    assert _ids(target, "staff_grant") == {ids["staff_grant"]}  # its own address untouched
    t = PersonIndexEntry
    outbox_rows = sa.select(t.field).where(t.entity == "outbox_message", t.row_id == ids["outbox_message"])
    assert db.session.scalars(outbox_rows).all() == []


def test_reindex_rebuilds_the_same_tokens(app: Flask, world: dict[str, Any]) -> None:
    kept = _index_rows()
    assert {row[0] for row in kept} == {s.entity for s in sources()}
    db.session.execute(sa.delete(PersonIndexEntry))
    db.session.commit()
    report = reindex(db.session, batch=1)  # batches of one row: every batch boundary is crossed
    db.session.commit()
    assert _index_rows() == kept
    assert report.entries == len(kept)

    db.session.execute(sa.delete(PersonIndexEntry))
    db.session.commit()
    out = app.test_cli_runner().invoke(args=["people", "reindex", "--batch", "3"])
    assert out.exit_code == 0, out.output
    assert f"{len(kept)} index entries" in out.output
    assert _index_rows() == kept


def test_another_key_gives_other_tokens(
    app: Flask, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = str(app.config["BLIND_INDEX_KEY"]).encode()
    other_key = b"another-blind-index-key-of-32-characters!"
    assert token(key, IndexKind.EMAIL, "jeanne.dupre@example.fr") != token(
        other_key, IndexKind.EMAIL, "jeanne.dupre@example.fr"
    )
    assert not value_tokens(key, IndexKind.NAME, NAME_TYPED) & value_tokens(
        other_key, IndexKind.NAME, NAME_TYPED
    )
    # The kind is hashed too: a name never matches an address.
    assert token(key, IndexKind.NAME, "x") != token(key, IndexKind.EMAIL, "x")
    stored = {row[4] for row in _index_rows()}
    assert not any(EMAIL_TYPED.lower() in tok or "dupre" in tok for tok in stored)

    monkeypatch.setitem(app.config, "BLIND_INDEX_KEY", other_key.decode())
    with app.test_request_context():
        assert find_person(world["dpo"], EMAIL_TYPED).total == 0  # the index was built with the old key
    reindex(db.session)
    db.session.commit()
    with app.test_request_context():
        assert _entities(find_person(world["dpo"], EMAIL_TYPED)) == _holding(EMAIL)


# --- who may search, and the trail ----------------------------------------------------------------------


def test_only_the_dpo_and_the_auditor_may_search(app: Flask, factory: Factory, world: dict[str, Any]) -> None:
    with app.test_request_context():
        assert find_person(world["auditor"], EMAIL_TYPED).total == len(_holding(EMAIL))
        for role in ("partner", "committee", "legal", "admin"):
            with pytest.raises(Forbidden):
                find_person(factory.user(role), EMAIL_TYPED)


def test_a_tenant_scoped_searcher_would_see_its_own_organisation_only(
    app: Flask, factory: Factory, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        ROLE_PERMISSIONS, Role.PARTNER, ROLE_PERMISSIONS[Role.PARTNER] | {Permission.PEOPLE_SEARCH}
    )
    elsewhere = factory.user("partner")
    own = factory.user("partner", org=world["partner"])
    with app.test_request_context():
        assert find_person(elsewhere, EMAIL_TYPED).total == 0
        # Its own organisation's records; not the outbox nor the minutes, which belong to no organisation.
        assert _entities(find_person(own, EMAIL_TYPED)) == _holding(EMAIL) - {
            "outbox_message",
            "minutes_version",
        }


def test_the_search_page(app: Flask, sign_in_as: Any, factory: Factory, world: dict[str, Any]) -> None:
    web = sign_in_as(world["dpo"])
    page = web.get("/people/search")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    search_form = html[html.rindex("<form", 0, html.index('role="search"')) :].split("</form>")[0]
    assert 'name="q"' in search_form
    assert 'method="post"' in search_form  # the query never lands in a URL

    page = web.post("/people/search", {"q": "jeanne.dupre@example.fr"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'href="/breaches/{world["target"]["breach"].id}"' in html
    assert f'href="/access-requests/{world["target"]["access_request"].id}"' in html
    assert "paul.durand" not in html

    page = web.post("/people/search", {"q": "jeanne@"})
    assert page.status_code == 422
    assert 'aria-invalid="true"' in page.get_data(as_text=True)

    for role in ("partner", "committee", "legal", "admin"):
        assert sign_in_as(factory.user(role)).post("/people/search", {"q": "dupre"}).status_code == 403
    assert app.test_client().get("/people/search").status_code == 302


def test_each_search_is_logged_without_the_query_in_clear(
    app: Flask, sign_in_as: Any, world: dict[str, Any]
) -> None:
    web = sign_in_as(world["auditor"])
    assert web.post("/people/search", {"q": EMAIL_TYPED}).status_code == 200
    search = db.session.scalars(sa.select(PersonSearch)).one()
    assert search.searched_by_id == world["auditor"].id
    assert search.kind == IndexKind.EMAIL
    assert search.results == len(_holding(EMAIL))
    key = str(app.config["BLIND_INDEX_KEY"]).encode()
    # Whoever holds the key can tell whether this person was looked up; the row alone does not say who.
    assert search.query_token == token(key, IndexKind.EMAIL, "jeanne.dupre@example.fr")
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "person_search")).one()
    assert event.actor_id == world["auditor"].id
    assert "dupre" not in event.fields.lower()


# --- the key ---------------------------------------------------------------------------------------------


def test_production_checks_the_blind_index_key_and_derives_one_when_absent(tmp_path: Path) -> None:
    encryption = Fernet.generate_key().decode()
    env = {"VIGIE_SECRET_KEY": "s" * 40, "VIGIE_ENCRYPTION_KEYS": encryption}
    with pytest.raises(ConfigurationError, match="VIGIE_BLIND_INDEX_KEY"):
        load_config(tmp_path, env={**env, "VIGIE_BLIND_INDEX_KEY": "short"})
    with pytest.raises(ConfigurationError, match="VIGIE_BLIND_INDEX_KEY"):
        load_config(tmp_path, env={**env, "VIGIE_BLIND_INDEX_KEY": encryption})
    with pytest.raises(ConfigurationError, match="VIGIE_BLIND_INDEX_KEY"):
        load_config(tmp_path, env={**env, "VIGIE_BLIND_INDEX_KEY": "s" * 40})
    cfg = load_config(tmp_path, env={**env, "VIGIE_BLIND_INDEX_KEY": "b" * 40})
    assert cfg["BLIND_INDEX_KEY"] == "b" * 40
    # Only DESIGN.md's variables set: the app starts, with a key derived from the secret key, stable, and
    # neither the secret key nor an encryption key.
    derived = load_config(tmp_path, env=env)["BLIND_INDEX_KEY"]
    assert derived == load_config(tmp_path, env=env)["BLIND_INDEX_KEY"]
    assert len(derived) >= 32 and derived not in ("s" * 40, encryption)
    other = load_config(tmp_path, env={**env, "VIGIE_SECRET_KEY": "t" * 40})["BLIND_INDEX_KEY"]
    assert other != derived


def test_development_adds_a_blind_index_key_to_its_keys(tmp_path: Path) -> None:
    # A dev-keys.json written before the index: its keys are kept, the blind-index key is added once.
    old = {"secret_key": "k" * 48, "encryption_key": Fernet.generate_key().decode()}
    (tmp_path / "dev-keys.json").write_text(json.dumps(old))
    first = load_config(tmp_path, env={"VIGIE_ENV": "development"})
    second = load_config(tmp_path, env={"VIGIE_ENV": "development"})
    assert first["SECRET_KEY"] == old["secret_key"]
    assert first["ENCRYPTION_KEYS"] == [old["encryption_key"]]
    assert first["BLIND_INDEX_KEY"] == second["BLIND_INDEX_KEY"]
    assert first["BLIND_INDEX_KEY"] not in (old["secret_key"], old["encryption_key"])
    assert (tmp_path / "dev-keys.json").stat().st_mode & 0o777 == 0o600


def test_the_outbox_rows_queued_by_the_service_are_indexed(app: Flask, world: dict[str, Any]) -> None:
    message: OutboxMessage = world["target"]["outbox_message"]
    t = PersonIndexEntry
    fields = db.session.scalars(
        sa.select(t.field).where(t.entity == "outbox_message", t.row_id == message.id)
    ).all()
    assert fields == ["recipient"]
