"""The record of processing activities (GDPR art. 30): the controller's record and each partner's, their
life through the web forms (every save a new version, nothing changed or deleted), the comparison of two
versions, bad input (422, nothing lost), someone saving meanwhile (409), partner isolation on every page
and export, the PDF's text and the CSV's cells, encryption at rest, and the idempotent demo loader."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from pypdf import PdfReader

from compliance.processor.services import SubProcessorData, add_sub_processor, set_dpo
from compliance.records import services
from compliance.records.models import (
    ImmutableVersion,
    LegalBasis,
    ProcessingRecord,
    ProcessingRecordVersion,
    RecordKind,
)
from tests.conftest import french
from vigie.extensions import db

HOSTILE = '<script>alert(1)</script><iframe src="file:///etc/passwd"></iframe>'

# --- helpers -------------------------------------------------------------------------------------------


def plain(page: str) -> str:
    return html.unescape(page)


def pdf_text(data: bytes) -> str:
    """The PDF's text, whitespace normalised (wkhtmltopdf places words apart)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))


def versions_of(record_id: int) -> list[ProcessingRecordVersion]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(ProcessingRecordVersion)
            .where(ProcessingRecordVersion.record_id == record_id)
            .order_by(ProcessingRecordVersion.number)
        )
    )


def the_record(organisation_id: int, kind: RecordKind) -> ProcessingRecord:
    db.session.expire_all()
    record = services.record_of(organisation_id, kind)
    assert record is not None
    return record


def controller_values(**overrides: Any) -> dict[str, Any]:
    """What the DPO types in the controller's record (GDPR 30(1))."""
    data: dict[str, Any] = {
        "name": "Portail lamédiathèque04.fr",
        "controller_name": "Département des Alpes de Haute-Provence",
        "controller_contact": "13 rue du Docteur Romieu, 04995 Digne-les-Bains",
        "dpo_name": "Camille Martin",
        "dpo_contact": "dpo@departement.example",
        "purposes": "Délivrer aux abonnés un bouquet de ressources numériques",
        "legal_basis": "public_task",
        "legal_basis_details": "Code du patrimoine, art. L. 310-1",
        "data_subjects": "Abonnés des bibliothèques",
        "data_categories": "Nom, prénom, courriel",
        "recipients": "Médiathèque départementale ; bibliothèques partenaires",
        "transfers": "Aucun transfert",
        "retention": "Durée de la convention",
        "security_measures": "Personnels habilités",
        "change_note": "Création",
    }
    data.update(overrides)
    return data


def processor_values(**overrides: Any) -> dict[str, Any]:
    """What a librarian types in its partner's record (GDPR 30(2))."""
    data: dict[str, Any] = {
        "name": "Portail lamédiathèque04.fr",
        "processor_name": "Commune de Manosque",
        "processor_contact": "Place de l'Hôtel de Ville, 04100 Manosque",
        "dpo_name": "Dominique Roux",
        "dpo_contact": "dpo@manosque.example",
        "controller_name": "Département des Alpes de Haute-Provence",
        "controller_contact": "Digne-les-Bains",
        "processing_categories": "Inscriptions des usagers au portail",
        "sub_processors": "",
        "transfers": "",
        "security_measures": "Postes verrouillés",
        "change_note": "Création",
    }
    data.update(overrides)
    return data


@pytest.fixture
def world(factory: Any) -> dict[str, Any]:
    controller = factory.org("controller", name="Département des Alpes de Haute-Provence")
    a = factory.org(
        "partner", name="Commune de Manosque", address="Place de l'Hôtel de Ville\n04100 Manosque"
    )
    b = factory.org("partner", name="Commune de Sisteron")
    return {
        "controller": controller,
        "a": a,
        "b": b,
        "dpo": factory.user("dpo", org=controller),
        "auditor": factory.user("auditor", org=controller),
        "committee": factory.user("committee", org=controller),
        "pa": factory.user("partner", org=a),
        "pb": factory.user("partner", org=b),
    }


def create_controller(world: dict[str, Any], **overrides: Any) -> ProcessingRecord:
    values = controller_values(**overrides)
    note = values.pop("change_note")
    version = services.create_record(world["dpo"], world["controller"], RecordKind.CONTROLLER, values, note)
    db.session.commit()
    return version.record


def create_processor(world: dict[str, Any], org: str = "a", **overrides: Any) -> ProcessingRecord:
    values = processor_values(processor_name=world[org].name, **overrides)
    note = values.pop("change_note")
    version = services.create_record(world[f"p{org}"], world[org], RecordKind.PROCESSOR, values, note)
    db.session.commit()
    return version.record


# --- the controller's record through the forms ---------------------------------------------------------


def test_controller_record_life(app: Flask, world: dict[str, Any], sign_in_as: Any) -> None:
    dpo = sign_in_as(world["dpo"])
    form = dpo.get("/records/controller/new")
    assert form.status_code == 200
    page = plain(form.get_data(as_text=True))
    assert 'value="Département des Alpes de Haute-Provence"' in page  # started from the organisation
    assert '<option selected value="public_task">' in page  # a public-interest mission by default

    created = dpo.post("/records/controller/new", data=controller_values())
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    record = the_record(world["controller"].id, RecordKind.CONTROLLER)
    assert created.headers["Location"].endswith(f"/records/{record.id}")

    first_edit = dpo.post(
        f"/records/{record.id}/edit",
        data=controller_values(
            purposes="Délivrer aux abonnés un bouquet de ressources numériques\nStatistiques semestrielles",
            base_number="1",
            change_note="Ajout des statistiques (art. 2 C)",
        ),
    )
    assert first_edit.status_code == 302, first_edit.get_data(as_text=True)[:2000]
    second_edit = dpo.post(
        f"/records/{record.id}/edit",
        data=controller_values(
            purposes="Délivrer aux abonnés un bouquet de ressources numériques\nStatistiques semestrielles",
            retention="Durée de la convention, puis anonymisation",
            transfers_outside_eu="y",
            transfers="États-Unis : fournisseur de vidéos, clauses contractuelles types",
            base_number="2",
            change_note="Nouveau fournisseur de vidéos",
        ),
    )
    assert second_edit.status_code == 302, second_edit.get_data(as_text=True)[:2000]

    versions = versions_of(record.id)
    assert [v.number for v in versions] == [1, 2, 3]
    assert all(v.saved_by == world["dpo"].email and v.saved_by_id == world["dpo"].id for v in versions)
    assert versions[0].purposes == "Délivrer aux abonnés un bouquet de ressources numériques"  # kept as saved
    assert versions[0].transfers_outside_eu is False
    assert versions[2].transfers_outside_eu is True
    assert versions[2].legal_basis == LegalBasis.PUBLIC_TASK

    # The current version is the latest.
    show = plain(dpo.get(f"/records/{record.id}").get_data(as_text=True))
    assert "États-Unis : fournisseur de vidéos" in show
    assert "Nouveau fournisseur de vidéos" in show

    # The history, the latest first, with the notes.
    history = plain(dpo.get(f"/records/{record.id}/history").get_data(as_text=True))
    order = re.findall(r'data-version="(\d+)"', history)
    assert order == ["3", "2", "1"]
    assert history.index("Nouveau fournisseur de vidéos") < history.index("Ajout des statistiques (art. 2 C)")
    assert history.index("Ajout des statistiques (art. 2 C)") < history.index("Création")

    # An earlier version, as it was.
    old = dpo.get(f"/records/{record.id}/versions/1")
    assert old.status_code == 200
    old_page = plain(old.get_data(as_text=True))
    assert french("This is version %(number)d, not the current one.", number=1) in old_page
    assert "Statistiques semestrielles" not in old_page
    assert dpo.get(f"/records/{record.id}/versions/4").status_code == 404

    # Versions 1 and 3 compared: the changed entries only, each side's text.
    compared = dpo.get(f"/records/{record.id}/compare?from=1&to=3")
    assert compared.status_code == 200
    page = plain(compared.get_data(as_text=True))
    changed = re.findall(r'class="changed-field" data-field="(\w+)"', page)
    assert set(changed) == {"purposes", "transfers_outside_eu", "transfers", "retention"}
    assert "<ins>Statistiques semestrielles</ins>" in page
    assert "<del>Aucun transfert</del>" in page or '<del class="prose">Aucun transfert</del>' in page
    # By default: the previous version against the current one.
    default = plain(dpo.get(f"/records/{record.id}/compare").get_data(as_text=True))
    assert set(re.findall(r'data-field="(\w+)"', default)) == {
        "transfers_outside_eu",
        "transfers",
        "retention",
    }
    # Given the other way round, the older still comes first.
    reverse = plain(dpo.get(f"/records/{record.id}/compare?from=3&to=1").get_data(as_text=True))
    assert set(re.findall(r'data-field="(\w+)"', reverse)) == set(changed)


def test_services_compare_field_by_field(world: dict[str, Any]) -> None:
    record = create_controller(world)
    services.save_version(
        world["dpo"], record, {**controller_values(), "recipients": "Bibliothèques partenaires"}, "Moins"
    )
    db.session.commit()
    v1, v2 = versions_of(record.id)
    rows = services.compare(v1, v2)
    assert [r.field.key for r in rows] == [f.key for f in services.CONTROLLER_FIELDS]
    assert services.changed_fields(v1, v2) == ["recipients"]
    recipients = next(r for r in rows if r.field.key == "recipients")
    assert recipients.lines == [
        ("removed", "Médiathèque départementale ; bibliothèques partenaires"),
        ("added", "Bibliothèques partenaires"),
    ]


# --- a partner's record through the forms --------------------------------------------------------------


def test_partner_writes_its_record(app: Flask, world: dict[str, Any], sign_in_as: Any) -> None:
    create_controller(world)
    set_dpo(world["pa"], world["a"], "Dominique Roux", "dpo@manosque.example", phone="04 92 00 00 00")
    add_sub_processor(
        world["pa"], world["a"], SubProcessorData(company="Décalog", service="SIGB", location="France")
    )
    db.session.commit()
    librarian = sign_in_as(world["pa"])

    index = plain(librarian.get("/records/").get_data(as_text=True))
    assert "Commune de Manosque" in index and "Commune de Sisteron" not in index
    new = librarian.get(f"/records/partners/{world['a'].id}/new")
    assert new.status_code == 200
    start = plain(new.get_data(as_text=True))
    # Started from what Vigie knows: its DPO and sub-processors, the controller's identity.
    assert 'value="Dominique Roux"' in start
    assert "dpo@manosque.example\n04 92 00 00 00" in start
    assert "Décalog — SIGB (France)" in start
    assert 'value="Portail lamédiathèque04.fr"' in start

    assert (
        librarian.post(f"/records/partners/{world['a'].id}/new", data=processor_values()).status_code == 302
    )
    record = the_record(world["a"].id, RecordKind.PROCESSOR)
    for number, measures in (
        (1, "Postes verrouillés, mots de passe"),
        (2, "Postes verrouillés, chiffrement"),
    ):
        response = librarian.post(
            f"/records/{record.id}/edit",
            data=processor_values(
                security_measures=measures, base_number=str(number), change_note=f"Revue {number}"
            ),
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    versions = versions_of(record.id)
    assert [(v.number, v.security_measures) for v in versions] == [
        (1, "Postes verrouillés"),
        (2, "Postes verrouillés, mots de passe"),
        (3, "Postes verrouillés, chiffrement"),
    ]
    assert {v.saved_by for v in versions} == {world["pa"].email}
    page = plain(librarian.get(f"/records/{record.id}/compare?from=2&to=3").get_data(as_text=True))
    assert re.findall(r'data-field="(\w+)"', page) == ["security_measures"]
    assert librarian.get(f"/records/{record.id}/history").status_code == 200


def test_dpo_writes_and_edits_a_partners_record(world: dict[str, Any], sign_in_as: Any) -> None:
    dpo = sign_in_as(world["dpo"])
    response = dpo.post(
        f"/records/partners/{world['b'].id}/new", data=processor_values(processor_name="Sisteron")
    )
    assert response.status_code == 302
    record = the_record(world["b"].id, RecordKind.PROCESSOR)
    # Asked again, the creation form leads to the record's edit form.
    again = dpo.get(f"/records/partners/{world['b'].id}/new")
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/records/{record.id}/edit")
    edit = dpo.post(
        f"/records/{record.id}/edit",
        data=processor_values(
            processor_name="Commune de Sisteron", base_number="1", change_note="Nom complet"
        ),
    )
    assert edit.status_code == 302
    assert [v.processor_name for v in versions_of(record.id)] == ["Sisteron", "Commune de Sisteron"]
    # A controller is not a partner: no processor record for it.
    assert dpo.get(f"/records/partners/{world['controller'].id}/new").status_code == 404


def test_index_lists_partners_without_a_record(world: dict[str, Any], sign_in_as: Any) -> None:
    create_processor(world, "a")
    page = plain(sign_in_as(world["dpo"]).get("/records/").get_data(as_text=True))
    assert re.findall(r'class="record-missing" data-organisation-id="(\d+)"', page) == [str(world["b"].id)]
    assert f"/records/partners/{world['b'].id}/new" in page
    assert "/records/controller/new" in page
    auditor = plain(sign_in_as(world["auditor"]).get("/records/").get_data(as_text=True))
    assert f"/records/partners/{world['b'].id}/new" not in auditor  # reads, never writes
    assert "/records/controller/new" not in auditor


# --- bad input -----------------------------------------------------------------------------------------


def test_empty_form_is_refused_with_every_error(world: dict[str, Any], sign_in_as: Any) -> None:
    dpo = sign_in_as(world["dpo"])
    response = dpo.post("/records/controller/new", data={"purposes": "Gardé tel quel", "change_note": ""})
    assert response.status_code == 422
    page = plain(response.get_data(as_text=True))
    for key in ("name", "controller_name", "dpo_name", "data_subjects", "retention", "change_note"):
        assert f'id="{key}-error"' in page, key
    assert "Gardé tel quel</textarea>" in page  # nothing lost
    assert db.session.scalar(sa.select(sa.func.count(ProcessingRecord.id))) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"transfers_outside_eu": "y", "transfers": ""}, "transfers"),
        ({"legal_basis": "legitimate_interests"}, "legal_basis"),
        ({"legal_basis": "public_task", "legal_basis_details": ""}, "legal_basis_details"),
        ({"legal_basis": "divine_right"}, "legal_basis"),
        ({"legal_basis": ""}, "legal_basis"),
        ({"name": "x" * 301}, "name"),
        ({"dpo_contact": "   "}, "dpo_contact"),
    ],
)
def test_bad_controller_entries(
    world: dict[str, Any], sign_in_as: Any, overrides: dict[str, str], field: str
) -> None:
    dpo = sign_in_as(world["dpo"])
    response = dpo.post(
        "/records/controller/new", data=controller_values(purposes="Texte saisi", **overrides)
    )
    assert response.status_code == 422
    page = plain(response.get_data(as_text=True))
    assert f'id="{field}-error"' in page
    assert "Texte saisi</textarea>" in page
    assert db.session.scalar(sa.select(sa.func.count(ProcessingRecordVersion.id))) == 0


def test_bad_edits_change_nothing(app: Flask, world: dict[str, Any], sign_in_as: Any) -> None:
    record = create_processor(world, "a")
    librarian = sign_in_as(world["pa"])
    no_note = librarian.post(
        f"/records/{record.id}/edit",
        data=processor_values(security_measures="Nouvelles mesures", change_note=" ", base_number="1"),
    )
    assert no_note.status_code == 422
    page = plain(no_note.get_data(as_text=True))
    assert 'id="change_note-error"' in page and "Nouvelles mesures</textarea>" in page
    same = librarian.post(
        f"/records/{record.id}/edit", data=processor_values(change_note="Relu", base_number="1")
    )
    assert same.status_code == 422
    assert french(
        "Nothing changed since version %(number)d: no new version was recorded.", number=1
    ) in plain(same.get_data(as_text=True))
    assert [v.number for v in versions_of(record.id)] == [1]


def test_a_version_saved_meanwhile_is_not_replaced(
    app: Flask, world: dict[str, Any], sign_in_as: Any
) -> None:
    record = create_processor(world, "a")
    # The DPO saves version 2 while the librarian still has version 1 open.
    services.save_version(world["dpo"], record, processor_values(sub_processors="Décalog"), "Ajout Décalog")
    db.session.commit()
    librarian = sign_in_as(world["pa"])
    stale = librarian.post(
        f"/records/{record.id}/edit",
        data=processor_values(security_measures="Mes mesures", change_note="Mes notes", base_number="1"),
    )
    assert stale.status_code == 409
    page = plain(stale.get_data(as_text=True))
    assert "Mes mesures</textarea>" in page  # what was typed stays
    assert 'name="base_number" type="hidden" value="2"' in page
    assert [v.number for v in versions_of(record.id)] == [1, 2]
    again = librarian.post(
        f"/records/{record.id}/edit",
        data=processor_values(
            sub_processors="Décalog",
            security_measures="Mes mesures",
            change_note="Mes notes",
            base_number="2",
        ),
    )
    assert again.status_code == 302
    assert [v.security_measures for v in versions_of(record.id)][-1] == "Mes mesures"


def test_compare_arguments(world: dict[str, Any], sign_in_as: Any) -> None:
    record = create_processor(world, "a")
    dpo = sign_in_as(world["dpo"])
    assert dpo.get(f"/records/{record.id}/compare?from=abc").status_code == 400
    assert dpo.get(f"/records/{record.id}/compare?from=1&to=7").status_code == 404
    single = dpo.get(f"/records/{record.id}/compare")  # one version: compared with itself
    assert single.status_code == 200
    assert "data-field" not in single.get_data(as_text=True)


# --- who reads and writes what -------------------------------------------------------------------------


def test_partner_isolation(world: dict[str, Any], sign_in_as: Any) -> None:
    controller = create_controller(world)
    theirs = create_processor(world, "b", dpo_name="Secret Voisin", security_measures="Coffre du voisin")
    mine = create_processor(world, "a")
    librarian = sign_in_as(world["pa"])
    for path in (
        f"/records/{theirs.id}",
        f"/records/{theirs.id}/history",
        f"/records/{theirs.id}/versions/1",
        f"/records/{theirs.id}/compare",
        f"/records/{theirs.id}/edit",
        f"/records/{theirs.id}/export.pdf",
        f"/records/{theirs.id}/export.csv",
    ):
        response = librarian.get(path)
        assert response.status_code == 404, path
        assert "Secret Voisin" not in response.get_data(as_text=True)
    assert (
        librarian.post(f"/records/{theirs.id}/edit", data=processor_values(base_number="1")).status_code
        == 404
    )
    assert librarian.get(f"/records/partners/{world['b'].id}/new").status_code == 403
    assert (
        librarian.post(f"/records/partners/{world['b'].id}/new", data=processor_values()).status_code == 403
    )
    # The controller's record: read (the partner carries out that processing), never written.
    assert librarian.get(f"/records/{controller.id}").status_code == 200
    assert librarian.get(f"/records/{controller.id}/history").status_code == 200
    assert librarian.get(f"/records/{controller.id}/edit").status_code == 403
    assert librarian.post(f"/records/{controller.id}/edit", data=controller_values()).status_code == 403
    assert librarian.get("/records/controller/new").status_code == 403
    # Its own record.
    assert librarian.get(f"/records/{mine.id}/edit").status_code == 200

    # The exports of the whole set: the controller's record and its own only.
    rows = read_csv(librarian.get("/records/export.csv"))
    assert [r[1] for r in rows[1:]] == ["Département des Alpes de Haute-Provence", "Commune de Manosque"]
    assert "Secret Voisin" not in "".join(map("".join, rows))
    index = plain(librarian.get("/records/").get_data(as_text=True))
    assert "Commune de Sisteron" not in index

    # The auditor reads everything and writes nothing; the committee has no compliance role.
    auditor = sign_in_as(world["auditor"])
    assert auditor.get(f"/records/{theirs.id}").status_code == 200
    assert auditor.get(f"/records/{theirs.id}/edit").status_code == 403
    assert auditor.get(f"/records/{controller.id}/edit").status_code == 403
    assert sign_in_as(world["committee"]).get(f"/records/{controller.id}").status_code == 403
    # The DPO writes every record.
    dpo = sign_in_as(world["dpo"])
    assert dpo.get(f"/records/{theirs.id}/edit").status_code == 200
    assert dpo.get(f"/records/{controller.id}/edit").status_code == 200


def test_services_refuse_writers_out_of_their_reach(world: dict[str, Any]) -> None:
    from vigie.errors import Forbidden

    controller = create_controller(world)
    with pytest.raises(Forbidden):
        services.create_record(world["pa"], world["b"], RecordKind.PROCESSOR, processor_values(), "x")
    with pytest.raises(Forbidden):
        services.save_version(world["pa"], controller, controller_values(purposes="Autre"), "x")
    with pytest.raises(Forbidden):
        services.create_record(world["auditor"], world["a"], RecordKind.PROCESSOR, processor_values(), "x")


def test_versions_are_never_changed_nor_deleted(world: dict[str, Any]) -> None:
    record = create_processor(world, "a")
    version = versions_of(record.id)[0]
    version.security_measures = "Réécriture de l'histoire"
    with pytest.raises(ImmutableVersion):
        db.session.flush()
    db.session.rollback()
    version = versions_of(record.id)[0]
    db.session.delete(version)
    with pytest.raises(ImmutableVersion):
        db.session.flush()
    db.session.rollback()
    assert versions_of(record.id)[0].security_measures == "Postes verrouillés"


def test_contact_details_are_encrypted_at_rest(world: dict[str, Any]) -> None:
    record = create_controller(world)
    raw = db.session.execute(
        sa.text(
            "SELECT dpo_name, dpo_contact, purposes FROM processing_record_version WHERE record_id = :id"
        ),
        {"id": record.id},
    ).one()
    assert "Camille Martin" not in raw[0] and "dpo@departement.example" not in raw[1]
    assert raw[2] == "Délivrer aux abonnés un bouquet de ressources numériques"


def test_user_text_is_escaped(world: dict[str, Any], sign_in_as: Any) -> None:
    record = create_processor(world, "a", security_measures=HOSTILE)
    page = sign_in_as(world["dpo"]).get(f"/records/{record.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- exports -------------------------------------------------------------------------------------------


def test_record_csv(app: Flask, world: dict[str, Any], sign_in_as: Any) -> None:
    record = create_controller(world, recipients='=HYPERLINK("http://evil.example")')
    services.save_version(world["dpo"], record, controller_values(retention="Cinq ans"), "Durée fixée")
    db.session.commit()
    dpo = sign_in_as(world["dpo"])
    response = dpo.get(f"/records/{record.id}/export.csv")
    assert response.headers["Content-Disposition"].startswith(
        f'attachment; filename="record-of-processing-{record.id}-v2-'
    )
    rows = read_csv(response)
    header, (row,) = rows[0], rows[1:]
    cell = dict(zip(header, row, strict=True))
    assert cell[french("Record")] == french("Controller's record (GDPR art. 30(1))")
    assert cell[french("Organisation")] == "Département des Alpes de Haute-Provence"
    assert cell[french("Version")] == "2"
    assert cell[french("Saved by")] == world["dpo"].email
    assert cell[french("Change note")] == "Durée fixée"
    assert cell[french("Retention periods")] == "Cinq ans"
    assert cell[french("Legal basis")] == french(
        "Task carried out in the public interest (GDPR art. 6(1)(e))"
    )
    assert cell[french("Transfers outside the European Union")] == french("no")
    assert cell[french("Data protection officer")] == "Camille Martin"
    # An earlier version on request; a formula is never run by the spreadsheet.
    first = dict(zip(header, read_csv(dpo.get(f"/records/{record.id}/export.csv?version=1"))[1], strict=True))
    assert first[french("Retention periods")] == "Durée de la convention"
    assert first[french("Categories of recipients")] == '\'=HYPERLINK("http://evil.example")'
    assert dpo.get(f"/records/{record.id}/export.csv?version=3").status_code == 404


def test_set_csv_for_the_dpo_and_the_auditor(app: Flask, world: dict[str, Any], sign_in_as: Any) -> None:
    create_processor(world, "b")
    create_controller(world)
    create_processor(world, "a")
    for who in ("dpo", "auditor"):
        rows = read_csv(sign_in_as(world[who]).get("/records/export.csv"))
        header = rows[0]
        assert [r[1] for r in rows[1:]] == [
            "Département des Alpes de Haute-Provence",
            "Commune de Manosque",
            "Commune de Sisteron",
        ]
        processing = header.index(french("Categories of processing carried out on behalf of the controller"))
        purposes = header.index(french("Purposes of the processing"))
        assert rows[1][purposes] and not rows[1][processing]
        assert rows[2][processing] == "Inscriptions des usagers au portail" and not rows[2][purposes]


def test_record_pdf(app: Flask, world: dict[str, Any], sign_in_as: Any) -> None:
    record = create_processor(world, "a", sub_processors="Décalog — SIGB")
    services.save_version(
        world["pa"],
        record,
        processor_values(processor_name="Commune de Manosque", sub_processors="Aucun"),
        "Fin du contrat",
    )
    db.session.commit()
    librarian = sign_in_as(world["pa"])
    response = librarian.get(f"/records/{record.id}/export.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert french("Processor's record (GDPR art. 30(2))") in text
    assert "Commune de Manosque" in text
    assert french("Categories of processing carried out on behalf of the controller") in text
    assert "Inscriptions des usagers au portail" in text
    assert "Fin du contrat" in text and "Aucun" in text and "Décalog" not in text
    old = pdf_text(librarian.get(f"/records/{record.id}/export.pdf?version=1").data)
    assert "Décalog — SIGB" in old
    assert french("not the current version (%(number)d)", number=2) in old


def test_set_pdf_is_scoped(world: dict[str, Any], sign_in_as: Any) -> None:
    create_controller(world)
    create_processor(world, "a", dpo_name="Dominique Roux")
    create_processor(world, "b", dpo_name="Secret Voisin")
    everything = pdf_text(sign_in_as(world["dpo"]).get("/records/export.pdf").data)
    assert "Camille Martin" in everything and "Dominique Roux" in everything and "Secret Voisin" in everything
    own = pdf_text(sign_in_as(world["pa"]).get("/records/export.pdf").data)
    assert "Camille Martin" in own and "Dominique Roux" in own
    assert "Secret Voisin" not in own and "Commune de Sisteron" not in own


# --- the demo ------------------------------------------------------------------------------------------


def _demo_people() -> None:
    """The demo's organisations and users (vigie.demo's lists), without the other features' loaders."""
    from vigie.auth.services import create_user
    from vigie.demo import DEMO_PASSWORD, ORGANISATIONS, USERS
    from vigie.orgs.services import create_organisation, organisation_by_siren

    for name, kind, siren, address, computerised in ORGANISATIONS:
        create_organisation(name, kind, siren, address, computerised)
    for email, name, siren, role in USERS:
        org = organisation_by_siren(siren)
        assert org is not None
        create_user(email, name, org, [role], DEMO_PASSWORD)
    db.session.commit()


def test_demo_loader_is_idempotent(app: Flask) -> None:
    from compliance.records.reference import load_reference_records
    from vigie.demo import _LOADERS

    assert load_reference_records in _LOADERS
    _demo_people()
    written = load_reference_records()
    db.session.commit()
    assert [v.record.kind for v in written] == [RecordKind.CONTROLLER, RecordKind.PROCESSOR]
    assert load_reference_records() == []
    db.session.commit()
    records = list(db.session.scalars(sa.select(ProcessingRecord).order_by(ProcessingRecord.id)))
    assert len(records) == 2
    assert db.session.scalar(sa.select(sa.func.count(ProcessingRecordVersion.id))) == 2

    controller, partner = records
    current = controller.current
    assert current is not None
    assert controller.organisation.siren == "220400014"
    assert current.legal_basis == LegalBasis.PUBLIC_TASK  # a public-interest mission (art. 11)
    assert "lamédiathèque04.fr" in (current.purposes or "")
    assert "72 heures" in (current.security_measures or "")
    assert current.saved_by == "dpo@vigie.example"
    theirs = partner.current
    assert theirs is not None
    assert partner.organisation.siren == "240400440"
    assert theirs.saved_by == "bibliotheque@forcalquier.example"
    assert theirs.controller_name == "Département des Alpes de Haute-Provence"
    assert "trois jours ouvrés" in (theirs.processing_categories or "")
