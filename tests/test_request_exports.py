"""The requests from data subjects as CSV, and the DPO's answer letter as PDF: content, scope (a partner
exports only the requests it recorded, and never gets the letter), French Excel conventions, formula
injection, escaping, and the printable page when wkhtmltopdf is missing."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader

from compliance.access_requests import services
from compliance.access_requests.models import AccessRequest, Inquiry
from compliance.access_requests.services import RequestData
from vigie.database import utcnow
from vigie.extensions import db
from vigie.orgs.models import Organisation

CSV_URL = "/access-requests/export.csv"


def pdf_text(data: bytes) -> str:
    """The PDF's text, whitespace normalised (wkhtmltopdf places words apart)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def normalised(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def world(factory: Any) -> dict[str, Any]:
    dept = factory.org(
        "controller",
        name="Département des Hautes-Alpes",
        address="Place Saint-Arnoux\nCS 66005\n05008 Gap Cedex",
    )
    a = factory.org("partner", name="Médiathèque de Gap")
    b = factory.org("partner", name="Bibliothèque de Briançon")
    return {
        "dept": dept,
        "a": a,
        "b": b,
        "dpo": factory.user("dpo", org=dept),
        "auditor": factory.user("auditor", org=dept),
        "user_a": factory.user("partner", org=a),
        "user_b": factory.user("partner", org=b),
    }


def record(actor: Any, org: Organisation, name: str, received_at: datetime, **fields: Any) -> AccessRequest:
    request = services.record_request(
        actor,
        RequestData(right="access", subject_name=name, received_at=received_at, received_by=org, **fields),
    )
    db.session.commit()
    return request


def ask(dpo: Any, request: AccessRequest, org: Organisation, search: str = "Nom, prénom") -> Inquiry:
    inquiry = services.open_inquiry(dpo, request, org, search, utcnow() - timedelta(minutes=5))
    db.session.commit()
    return inquiry


def answer(user: Any, inquiry: Inquiry, holds_data: bool, details: str | None = None) -> None:
    services.answer_inquiry(user, inquiry, holds_data, details)
    db.session.commit()


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())  # the byte-order mark French Excel needs
    return list(csv.reader(io.StringIO(raw.decode("utf-8")[1:]), delimiter=";"))


# --- CSV ---


def test_csv_for_the_dpo(world: dict[str, Any], sign_in_as: Any) -> None:
    dpo = world["dpo"]
    winter = record(dpo, world["dept"], "Camille Martin", datetime.fromisoformat("2025-01-31T10:00:00+01:00"))
    summer = record(
        world["user_a"],
        world["a"],
        '=HYPERLINK("http://evil.example";"clic")',
        datetime.fromisoformat("2025-07-01T08:00:00+00:00"),  # 10:00 in Paris
        subject_email="+33 6 00 00 00 00@example.org",
        channel="@accueil",
    )
    answer(world["user_a"], ask(dpo, winter, world["a"]), True, "Compte lecteur")
    ask(dpo, winter, world["b"])

    response = sign_in_as(dpo).get(CSV_URL)
    assert response.headers["Content-Disposition"].startswith('attachment; filename="vigie-access-requests-')
    header, *rows = read_csv(response)
    assert len(header) == 20 and all(";" not in cell for cell in header)
    assert [r[1] for r in rows] == [summer.reference, winter.reference]  # newest received first
    by_ref = {r[1]: dict(zip(header, r, strict=True)) for r in rows}

    first = list(by_ref[winter.reference].values())
    assert "2025-01-31 10:00" in first  # Paris time
    assert "Camille Martin" in first and "Département des Hautes-Alpes" in first
    assert "2025-02-28" in first  # the answer's last day
    assert first[15:17] == ["2", "1"]  # two inquiries, one answered

    second = list(by_ref[summer.reference].values())
    assert "2025-07-01 10:00" in second  # 08:00 UTC is 10:00 in Paris in summer
    # Cells a spreadsheet would run as formulas are neutralised with a leading apostrophe.
    assert '\'=HYPERLINK("http://evil.example";"clic")' in second
    assert "'@accueil" in second
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    # The API's filters apply; a misspelt one is refused rather than ignored.
    _, *answered = read_csv(sign_in_as(dpo).get(f"{CSV_URL}?status=answered"))
    assert answered == []
    _, *from_a = read_csv(sign_in_as(dpo).get(f"{CSV_URL}?organisation_id={world['a'].id}"))
    assert {r[1] for r in from_a} == {summer.reference, winter.reference}  # received, or asked
    assert sign_in_as(dpo).get(f"{CSV_URL}?status=closed").status_code == 422
    assert sign_in_as(dpo).get(f"{CSV_URL}?page=2").status_code == 422


def test_a_partners_csv_holds_only_the_requests_it_recorded(world: dict[str, Any], sign_in_as: Any) -> None:
    dpo = world["dpo"]
    mine = record(world["user_a"], world["a"], "Alice Lectrice", utcnow() - timedelta(hours=30))
    theirs = record(world["user_b"], world["b"], "Bruno Lecteur", utcnow() - timedelta(hours=2))
    at_dept = record(dpo, world["dept"], "Chloé Usagère", utcnow() - timedelta(days=2))
    # A is asked about the Département's request, and B about A's: neither shows in the other's export.
    answer(world["user_a"], ask(dpo, at_dept, world["a"]), True, "Compte n° C-7731")
    answer(world["user_b"], ask(dpo, mine, world["b"]), True, "Fiche B-secret")
    ask(dpo, mine, world["a"])

    response = sign_in_as(world["user_a"]).get(CSV_URL)
    text = response.get_data(as_text=True)
    header, *rows = read_csv(response)
    assert [r[1] for r in rows] == [mine.reference]
    row = dict(zip(header, rows[0], strict=True))
    assert "Alice Lectrice" in row.values()  # the partner met the person: its own record shows the name
    assert list(row.values())[9] == "yes" or list(row.values())[9] == "oui"  # forwarded after 30 h: late
    assert list(row.values())[15:17] == ["1", "0"]  # its own inquiry only, not B's answer
    for secret in (
        "Bruno Lecteur",
        "Chloé Usagère",
        theirs.reference,
        at_dept.reference,
        "B-secret",
        "C-7731",
    ):
        assert secret not in text

    _, *all_rows = read_csv(sign_in_as(world["auditor"]).get(CSV_URL))
    assert len(all_rows) == 3


@pytest.mark.parametrize("role", ["admin", "committee", "legal"])
def test_roles_without_compliance_get_no_csv(
    world: dict[str, Any], factory: Any, sign_in_as: Any, role: str
) -> None:
    assert sign_in_as(factory.user(role, org=world["dept"])).get(CSV_URL).status_code == 403


# --- The letter ---


def _answered_file(world: dict[str, Any], **answer_fields: Any) -> AccessRequest:
    dpo = world["dpo"]
    request = record(
        dpo,
        world["dept"],
        "Camille Martin",
        utcnow() - timedelta(days=10),
        subject_address="4 rue Carnot\n05000 Gap",
    )
    answer(world["user_a"], ask(dpo, request, world["a"]), True, "Compte lecteur n° 0042 ; 12 prêts en 2024.")
    answer(world["user_b"], ask(dpo, request, world["b"]), False)
    if answer_fields:
        services.answer_request(
            dpo, request, sent_at=utcnow() - timedelta(hours=1), channel="courrier", **answer_fields
        )
        db.session.commit()
    return request


def test_the_letter_is_a_pdf_with_the_libraries_answers(world: dict[str, Any], sign_in_as: Any) -> None:
    request = _answered_file(world)
    response = sign_in_as(world["dpo"]).get(f"/access-requests/{request.id}/letter.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f"attachment; filename={request.reference}-letter.pdf"
    text = pdf_text(response.data)
    for expected in (
        "Département des Hautes-Alpes",  # the letterhead
        "05008 Gap Cedex",
        "Camille Martin",  # to the person, at their address
        "4 rue Carnot",
        request.reference,
        "Médiathèque de Gap",  # which library holds what
        "Compte lecteur n° 0042 ; 12 prêts en 2024.",
        "Bibliothèque de Briançon",
        "3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07",  # the CNIL, for a complaint
        "www.cnil.fr",
    ):
        assert expected in text, expected
    # The auditor may read it too.
    assert sign_in_as(world["auditor"]).get(f"/access-requests/{request.id}/letter.pdf").status_code == 200


def test_a_refusal_states_its_legal_ground(world: dict[str, Any], sign_in_as: Any) -> None:
    ground = "Demande manifestement excessive par son caractère répétitif (RGPD, art. 12(5))."
    request = _answered_file(world, outcome="refused", legal_ground=ground)
    text = pdf_text(sign_in_as(world["dpo"]).get(f"/access-requests/{request.id}/letter.pdf").data)
    assert ground in text
    assert "75334 Paris Cedex 07" in text


def test_without_wkhtmltopdf_the_letter_is_a_printable_page(
    app: Flask, world: dict[str, Any], sign_in_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = _answered_file(world, outcome="partial", legal_ground="Secret des affaires d'un tiers.")
    monkeypatch.setitem(app.config, "WKHTMLTOPDF_PATH", "/nonexistent/wkhtmltopdf")

    response = sign_in_as(world["dpo"]).get(f"/access-requests/{request.id}/letter.pdf")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'class="pdf-notice"' in page
    assert "Camille Martin" in page and "Médiathèque de Gap" in page
    assert "Secret des affaires d&#39;un tiers." in page


def test_html_in_a_field_is_escaped(
    app: Flask, world: dict[str, Any], sign_in_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dpo = world["dpo"]
    hostile = '<img src="file:///etc/passwd"><script>alert(1)</script>'
    request = record(dpo, world["dept"], "<b>Eve</b>", utcnow() - timedelta(days=1), subject_address=hostile)
    answer(world["user_a"], ask(dpo, request, world["a"]), True, "<iframe src=x></iframe>")
    client = sign_in_as(dpo)
    url = f"/access-requests/{request.id}/letter.pdf"

    text = pdf_text(client.get(url).data)  # shown as text in the PDF
    assert "<b>Eve</b>" in text and "<script>alert(1)</script>" in text and "<iframe src=x></iframe>" in text

    monkeypatch.setitem(app.config, "WKHTMLTOPDF_PATH", "/nonexistent/wkhtmltopdf")
    page = client.get(url).get_data(as_text=True)
    assert "<b>Eve" not in page and "<script>" not in page and "<img" not in page and "<iframe" not in page
    assert "&lt;b&gt;Eve&lt;/b&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;iframe src=x&gt;&lt;/iframe&gt;" in page


def test_partners_never_get_the_letter(world: dict[str, Any], sign_in_as: Any) -> None:
    at_dept = _answered_file(world)
    own = record(world["user_a"], world["a"], "Alice Lectrice", utcnow() - timedelta(hours=1))
    client = sign_in_as(world["user_a"])
    # Asked about the first, recorder of the second: the letter is the DPO's all the same.
    for request in (at_dept, own):
        assert client.get(f"/access-requests/{request.id}/letter.pdf").status_code == 403
    assert client.get("/access-requests/999999/letter.pdf").status_code == 403
    assert sign_in_as(world["dpo"]).get("/access-requests/999999/letter.pdf").status_code == 404


def test_the_letter_of_an_unanswered_file_lists_the_pending_library(
    app: Flask, world: dict[str, Any], sign_in_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dpo = world["dpo"]
    request = record(dpo, world["dept"], "Camille Martin", utcnow() - timedelta(days=1))
    answer(world["user_a"], ask(dpo, request, world["a"]), False)
    ask(dpo, request, world["b"])
    monkeypatch.setitem(app.config, "WKHTMLTOPDF_PATH", "/nonexistent/wkhtmltopdf")
    page = normalised(sign_in_as(dpo).get(f"/access-requests/{request.id}/letter.pdf").get_data(as_text=True))
    # Rendered in French whatever the DPO's language: the sentences come from the catalog.
    assert 'lang="fr"' in page
    assert "Médiathèque de Gap" in page and "Bibliothèque de Briançon" in page
