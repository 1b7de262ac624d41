"""The breach register as CSV and PDF, and one breach's dossier as PDF: what they hold (every reported
breach, notified or not), for whom (a partner its own; the auditor without personal data), how (CSV for
French Excel, formulas defused; landscape PDF; the dossier in the CNIL form's order), escaped user text,
local files never read, and a printable page when there is no converter."""

from __future__ import annotations

import csv
import html
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader

from compliance.breaches import services
from compliance.breaches.models import Breach
from compliance.breaches.services import BreachData
from vigie.database import utcnow
from vigie.extensions import db

HOSTILE = (
    '<b>Eve</b><iframe src="file:///etc/passwd" width="600" height="400"></iframe><script>alert(1)</script>'
)


def pdf_text(data: bytes) -> str:
    """The PDF's text, whitespace normalised (wkhtmltopdf places words apart: pypdf reads tabs)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def world(factory: Any) -> dict[str, Any]:
    controller = factory.org("controller", name="Département des Hautes-Alpes")
    a = factory.org(
        "partner", name="Commune de Laragne-Montéglin", address="Place de la Mairie\n05300 Laragne"
    )
    b = factory.org("partner", name="Commune de Serres")
    return {
        "controller": controller,
        "a": a,
        "b": b,
        "dpo": factory.user("dpo", org=controller),
        "auditor": factory.user("auditor", org=controller),
        "pa": factory.user("partner", org=a),
        "pb": factory.user("partner", org=b),
    }


def declare(world: dict[str, Any], org: str = "a", submit: bool = True, **fields: Any) -> Breach:
    data = BreachData(
        summary=fields.pop("summary", "Vol d'un portable de prêt"),
        natures=fields.pop("natures", ["confidentiality"]),
        discovered_at=fields.pop("discovered_at", utcnow() - timedelta(hours=3)),
        **fields,
    )
    breach = services.create_breach(world[f"p{org}"], world[org], data, submit=submit)
    db.session.commit()
    return breach


def acknowledge(world: dict[str, Any], breach: Breach, aware_at: str | None = None) -> None:
    if aware_at:
        services.acknowledge_breach(world["dpo"], breach, at(aware_at), "Appel téléphonique")
    else:
        services.acknowledge_breach(world["dpo"], breach)
    db.session.commit()


def notified_late(world: dict[str, Any]) -> Breach:
    """Discovered and known on Friday 28 March 2025, notified long after the 72 hours, with reasons."""
    breach = declare(
        world,
        discovered_at=at("2025-03-28T08:30:00+01:00"),
        started_at=at("2025-03-27T22:00:00+01:00"),
        subjects_count=300,
        records_count=1200,
        data_categories="Nom, adresse, historique de prêt",
        contact_name="Camille Durand",
    )
    acknowledge(world, breach, "2025-03-28T10:00:00+01:00")
    services.assess_risk(world["dpo"], breach, "risk", "Adresses de 300 lecteurs")
    services.add_notification(
        world["dpo"],
        breach,
        "initial",
        utcnow() - timedelta(minutes=5),
        cnil_reference="CNIL-2025-0042",
        summary="Notification initiale",
        late_reasons="Le standard n'a transmis que le lundi.",
    )
    db.session.commit()
    return breach


def not_notified(world: dict[str, Any], org: str = "a") -> Breach:
    breach = declare(world, org=org, summary="Clé USB chiffrée égarée")
    acknowledge(world, breach)
    services.assess_risk(world["dpo"], breach, "none", "Chiffrée : aucun risque pour les personnes.")
    db.session.commit()
    return breach


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="vigie-breaches-')
    raw = response.data
    assert raw.startswith("\ufeff".encode())  # French Excel reads UTF-8 with its byte-order mark
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def by_reference(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    header = rows[0]
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}


# --- CSV ---


def test_register_csv_rows(world: dict[str, Any], sign_in_as: Any) -> None:
    late = notified_late(world)
    quiet = not_notified(world)
    pending = declare(world, org="b")
    declare(world, submit=False)  # a draft is not in the register

    rows = read_csv(sign_in_as(world["dpo"]).get("/breaches/register.csv"))
    header = rows[0]
    assert len(header) == 35 and header[1] == "Organisation" and header[2] == "Statut"  # French by default
    assert all(len(row) == len(header) for row in rows)
    found = by_reference(rows)
    assert list(found) == [late.reference, quiet.reference, pending.reference]  # in the order reported

    row = found[late.reference]  # type: ignore[index]
    assert row["Organisation"] == "Commune de Laragne-Montéglin"
    values = list(row.values())
    assert "2025-03-28 08:30" in values  # discovered, Paris time (UTC+1 then)
    assert "2025-03-28 10:00" in values  # the Département aware
    assert "2025-03-31 11:00" in values  # 72 hours later, Paris time (UTC+2 by then)
    assert "CNIL-2025-0042" in values
    assert "Le standard n'a transmis que le lundi." in values
    assert "300" in values and "1200" in values

    # Not notified (no risk): in the register all the same, with its reasoning.
    assert "Chiffrée : aucun risque pour les personnes." in found[quiet.reference].values()  # type: ignore[index]
    assert found[pending.reference]["Organisation"] == "Commune de Serres"  # type: ignore[index]


def test_register_csv_escapes_formulas_and_separators(world: dict[str, Any], sign_in_as: Any) -> None:
    tricky = declare(
        world,
        summary='=HYPERLINK("http://evil.example";"clic")',
        cause='+1; "quoted"; two\nlines',
        circumstances="@SUM(A1:A2)",
        measures_taken="-2+3",
    )
    rows = read_csv(sign_in_as(world["dpo"]).get("/breaches/register.csv"))
    values = list(by_reference(rows)[tricky.reference].values())  # type: ignore[index]
    assert '\'=HYPERLINK("http://evil.example";"clic")' in values
    assert '\'+1; "quoted"; two\nlines' in values  # one cell, separators and newline kept inside
    assert "'@SUM(A1:A2)" in values
    assert "'-2+3" in values
    assert not any(v.startswith(("=", "+", "@", "-")) for row in rows for v in row)


def test_register_filters(world: dict[str, Any], sign_in_as: Any) -> None:
    late = notified_late(world)
    quiet = not_notified(world, org="b")
    pending = declare(world)
    client = sign_in_as(world["dpo"])

    def refs(query: str) -> list[str]:
        return list(by_reference(read_csv(client.get(f"/breaches/register.csv?{query}"))))

    assert refs("risk=none") == [quiet.reference]
    assert refs("risk=risk") == [late.reference]
    assert refs("risk=pending") == [pending.reference]
    assert refs(f"organisation_id={world['a'].id}") == [late.reference, pending.reference]
    assert refs("status=submitted") == [pending.reference]
    assert refs("year=2020") == []
    for query in ("status=draft", "risk=medium", "colour=red", "year=abc"):
        response = client.get(f"/breaches/register.csv?{query}")
        assert response.status_code == 422, query
        assert response.mimetype == "text/html"


# --- Scope ---


def test_a_partner_exports_only_its_own_breaches(world: dict[str, Any], sign_in_as: Any) -> None:
    mine = declare(world, org="a", summary="Chez nous")
    theirs = declare(world, org="b", summary="Chez les voisins de Serres")
    client = sign_in_as(world["pa"])

    assert list(by_reference(read_csv(client.get("/breaches/register.csv")))) == [mine.reference]
    assert (
        list(by_reference(read_csv(client.get(f"/breaches/register.csv?organisation_id={world['b'].id}"))))
        == []
    )

    response = client.get("/breaches/register.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert mine.reference in text and theirs.reference not in text  # type: ignore[operator]
    assert "Serres" not in text

    response = client.get(f"/breaches/register.pdf?organisation_id={world['b'].id}")
    assert response.status_code == 200
    text = pdf_text(response.data)
    assert "Serres" not in text and theirs.reference not in text  # type: ignore[operator]

    response = client.get(f"/breaches/{theirs.id}/dossier.pdf")
    assert response.status_code == 404
    assert b"%PDF" not in response.data and b"Serres" not in response.data
    assert client.get(f"/breaches/{mine.id}/dossier.pdf").status_code == 200


def test_other_roles_and_visitors_get_no_export(
    world: dict[str, Any], factory: Any, app: Flask, sign_in_as: Any
) -> None:
    breach = declare(world)
    urls = ("/breaches/register.csv", "/breaches/register.pdf", f"/breaches/{breach.id}/dossier.pdf")
    for role in ("committee", "legal", "admin"):
        client = sign_in_as(factory.user(role, org=world["controller"]))
        for url in urls:
            assert client.get(url).status_code == 403, (role, url)
    for url in urls:
        response = app.test_client().get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_draft_is_its_authors_only(world: dict[str, Any], sign_in_as: Any) -> None:
    draft = declare(world, submit=False, summary="Brouillon")
    assert sign_in_as(world["dpo"]).get(f"/breaches/{draft.id}/dossier.pdf").status_code == 404
    response = sign_in_as(world["pa"]).get(f"/breaches/{draft.id}/dossier.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f"attachment; filename=breach-draft-{draft.id}.pdf"
    assert "Brouillon" in pdf_text(response.data)


def test_the_auditor_exports_without_personal_data(world: dict[str, Any], sign_in_as: Any) -> None:
    breach = notified_late(world)
    client = sign_in_as(world["auditor"])

    row = by_reference(read_csv(client.get("/breaches/register.csv")))[breach.reference]  # type: ignore[index]
    values = list(row.values())
    assert "(masqué)" in values or "(withheld)" in values
    assert "Vol d'un portable de prêt" not in values
    assert "Le standard n'a transmis que le lundi." not in values
    assert "CNIL-2025-0042" in values and "2025-03-31 11:00" in values  # the register's facts remain

    for url in ("/breaches/register.pdf", f"/breaches/{breach.id}/dossier.pdf"):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        text = pdf_text(response.data)
        assert breach.reference in text  # type: ignore[operator]
        assert "portable de prêt" not in text
        assert "Camille Durand" not in text
        assert "Le standard" not in text


# --- PDF ---


def test_register_pdf_is_a_landscape_table(world: dict[str, Any], sign_in_as: Any) -> None:
    late = notified_late(world)
    quiet = not_notified(world)
    response = sign_in_as(world["dpo"]).get("/breaches/register.pdf?year=" + str(utcnow().year))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=vigie-breaches-")
    reader = PdfReader(io.BytesIO(response.data))
    box = reader.pages[0].mediabox
    assert float(box.width) > float(box.height)  # landscape
    assert round(float(box.width) / 72 * 25.4) == 297  # A4
    text = pdf_text(response.data)
    assert late.reference in text and quiet.reference in text  # type: ignore[operator]
    assert "non notifiée" in text or "not notified" in text  # documented without notification
    assert "CNIL-2025-0042" in text


def test_dossier_pdf_follows_the_cnil_form(world: dict[str, Any], sign_in_as: Any) -> None:
    breach = notified_late(world)
    response = sign_in_as(world["dpo"]).get(f"/breaches/{breach.id}/dossier.pdf")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=breach-{breach.reference.lower()}.pdf"  # type: ignore[union-attr]
    )
    reader = PdfReader(io.BytesIO(response.data))
    assert float(reader.pages[0].mediabox.width) < float(reader.pages[0].mediabox.height)  # portrait
    text = pdf_text(response.data)
    assert breach.reference in text  # type: ignore[operator]
    for expected in (
        "Département des Hautes-Alpes",
        "Commune de Laragne-Montéglin",
        "Camille Durand",
        "Nom, adresse, historique de prêt",
        "CNIL-2025-0042",
        "Le standard n'a transmis que le lundi.",
        "Appel téléphonique",
        "Adresses de 300 lecteurs",
    ):
        assert expected in text, expected
    # The sections, numbered in the order of the CNIL's form, then the Département's follow-up.
    positions = [text.index(f"{n}. ") for n in range(1, 12)]
    assert positions == sorted(positions)
    # Times in Paris: the deadline is 11:00 on Monday 31 March (summer time by then).
    assert "31 mars 2025" in text and "11:00" in text


def test_fallback_without_converter_is_a_printable_page(
    app: Flask, world: dict[str, Any], sign_in_as: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    breach = notified_late(world)
    monkeypatch.setitem(app.config, "WKHTMLTOPDF_PATH", str(tmp_path / "nowhere" / "wkhtmltopdf"))
    client = sign_in_as(world["dpo"])
    for url in ("/breaches/register.pdf", f"/breaches/{breach.id}/dossier.pdf"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == "text/html"
        assert "Content-Disposition" not in response.headers
        page = response.get_data(as_text=True)
        assert 'class="pdf-notice"' in page
        assert breach.reference in page  # type: ignore[operator]
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_user_text_is_escaped_and_local_files_stay_unread(
    app: Flask, world: dict[str, Any], sign_in_as: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control: this machine's /etc/passwd does hold the text looked for below.
    assert "root:x:0:0" in Path("/etc/passwd").read_text()
    breach = declare(
        world,
        discovered_at=at("2025-03-28T08:30:00+01:00"),
        summary=HOSTILE,
        circumstances=HOSTILE,
        cause=HOSTILE,
        contact_name=HOSTILE,
        consequences=HOSTILE,
        measures_taken=HOSTILE,
    )
    acknowledge(world, breach, "2025-03-28T10:00:00+01:00")
    services.assess_risk(world["dpo"], breach, "risk", HOSTILE)
    services.add_notification(
        world["dpo"], breach, "initial", utcnow(), summary=HOSTILE, late_reasons=HOSTILE
    )
    services.add_action(world["dpo"], breach, HOSTILE, "<i>owner</i>", None)
    db.session.commit()
    client = sign_in_as(world["dpo"])

    for url in ("/breaches/register.pdf", f"/breaches/{breach.id}/dossier.pdf"):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "application/pdf", url
        text = pdf_text(response.data)
        assert "root:x:0:0" not in text
        assert "<b>Eve</b><iframe" in text  # shown as text, not run as markup
        assert "<script>alert(1)</script>" in text

    monkeypatch.setitem(app.config, "WKHTMLTOPDF_PATH", str(tmp_path / "nowhere" / "wkhtmltopdf"))
    for url in ("/breaches/register.pdf", f"/breaches/{breach.id}/dossier.pdf"):
        page = client.get(url).get_data(as_text=True)
        assert (
            "<iframe" not in page
            and "<script" not in page
            and "<b>Eve" not in page
            and "<i>owner" not in page
        )
        assert "&lt;iframe src=&#34;file:///etc/passwd&#34;" in page
        assert "root:x:0:0" not in page
        assert HOSTILE in html.unescape(page)
