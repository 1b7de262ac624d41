"""The PDF service, against the real wkhtmltopdf: documents are produced, user text stays text,
blocked resources do not break a document, local files never leak, and without a converter the user
still gets a printable page (never a 500)."""

from __future__ import annotations

import html
import io
import logging
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from jinja2 import ChoiceLoader, DictLoader
from pypdf import PdfReader

from vigie.extensions import db
from vigie.orgs.services import add_person
from vigie.pdf import render_pdf
from vigie.pdf.service import html_to_pdf

WKHTMLTOPDF = shutil.which("wkhtmltopdf") or "/usr/bin/wkhtmltopdf"


def pdf_text(data: bytes) -> str:
    """The PDF's text, whitespace normalised (wkhtmltopdf places words apart: pypdf reads tabs)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


@pytest.fixture
def test_templates(app: Flask) -> Iterator[dict[str, str]]:
    """Templates of the test's own, found (by name) before the application's."""
    templates: dict[str, str] = {}
    original = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader([DictLoader(templates), original])  # type: ignore[list-item]
    app.jinja_env.cache = {}
    try:
        yield templates
    finally:
        app.jinja_env.loader = original
        app.jinja_env.cache = {}


def test_organisation_sheet_is_a_real_pdf(factory, sign_in_as):
    org = factory.org(name="Médiathèque de Laragne-Montéglin", address="12 rue du Collège\n05300 Laragne")
    add_person(org, "Camille Durand", function="Directrice", is_digital_referent=True)
    db.session.commit()
    client = sign_in_as(factory.user("partner", org=org))

    response = client.get(f"/organisations/{org.id}/sheet.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f"attachment; filename=organisation-{org.id}.pdf"
    assert response.data.startswith(b"%PDF-")
    text = pdf_text(response.data)
    assert "Médiathèque de Laragne-Montéglin" in text
    assert org.siren in text
    assert "Camille Durand" in text


def test_user_text_is_escaped_not_markup(app, factory):
    hostile = '<img src="file:///etc/passwd"><script>alert(1)</script>'
    org = factory.org(address=hostile)
    add_person(org, "<b>Eve</b>")
    db.session.commit()

    with app.test_request_context():
        result = render_pdf("pdf/organisation.html", org=org)

    assert "<img" not in result.html
    assert "<script" not in result.html
    assert "<b>" not in result.html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in result.html
    assert "&lt;b&gt;Eve&lt;/b&gt;" in result.html
    # ... and the PDF shows it as text.
    assert result.pdf is not None and result.error is None
    text = pdf_text(result.pdf)
    assert "<script>alert(1)</script>" in text
    assert "<b>Eve</b>" in text


def test_blocked_remote_resources_still_yield_a_pdf(app, test_templates, caplog):
    # A failed image is ignored by wkhtmltopdf (exit 0); a failed frame makes it exit 1 although it wrote
    # the whole document: the service must accept that PDF and say so in the log.
    test_templates["tests/remote.html"] = (
        '{% extends "pdf/base.html" %}{% block content %}<p>Text before the blocked resources.</p>'
        '<img src="http://example.invalid/x.png" alt="">'
        '<iframe src="http://example.invalid/frame"></iframe>'
        "<p>Text after them.</p>{% endblock %}"
    )
    caplog.set_level(logging.WARNING, logger="vigie.pdf.service")

    with app.test_request_context():
        result = render_pdf("tests/remote.html")

    assert result.error is None
    assert result.pdf is not None and result.pdf.startswith(b"%PDF-")
    text = pdf_text(result.pdf)
    assert "Text before the blocked resources." in text
    assert "Text after them." in text
    assert any("exited with 1 but produced a PDF" in r.getMessage() for r in caplog.records)


def test_local_files_are_not_read(app, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("LOCAL-SECRET-7f3a9c")
    stylesheet = tmp_path / "leak.css"
    stylesheet.write_text("h1:after { content: 'CSS-LEAK-51be02'; }")
    html = (
        f'<!doctype html><html><head><link rel="stylesheet" href="{stylesheet.as_uri()}"></head>'
        f'<body><h1>Visible</h1><iframe src="{secret.as_uri()}" width="600" height="200"></iframe>'
        f'<object data="{secret.as_uri()}"></object><img src="file:///etc/passwd" alt=""></body></html>'
    )

    # Control: the same page, converted with local file access allowed, does leak both files; so the
    # checks below would see a leak if there were one.
    leaked = subprocess.run(
        [WKHTMLTOPDF, "--quiet", "--enable-local-file-access", "-", "-"],
        input=html.encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert "LOCAL-SECRET-7f3a9c" in pdf_text(leaked.stdout)
    assert "CSS-LEAK-51be02" in pdf_text(leaked.stdout)

    pdf, error = html_to_pdf(html)

    assert error is None
    assert pdf is not None
    text = pdf_text(pdf)
    assert "Visible" in text
    assert "LOCAL-SECRET-7f3a9c" not in text
    assert "CSS-LEAK-51be02" not in text
    assert "root:" not in text


def test_missing_converter_gives_printable_page_not_500(app, factory, sign_in_as, tmp_path, monkeypatch):
    org = factory.org(name="Communauté de communes du Sisteronais-Buëch")
    client = sign_in_as(factory.user("dpo"))
    monkeypatch.setitem(app.config, "WKHTMLTOPDF_PATH", str(tmp_path / "nowhere" / "wkhtmltopdf"))

    response = client.get(f"/organisations/{org.id}/sheet.pdf")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "Content-Disposition" not in response.headers
    page = response.get_data(as_text=True)
    assert 'class="pdf-notice"' in page
    text = html.unescape(page)
    assert "Le PDF n'a pas pu être produit." in text  # French, the default language
    assert "wkhtmltopdf" in text  # the reason
    assert "imprimez-la depuis votre navigateur" in text
    assert "&lt;" not in page  # the document is served as markup, not escaped around the notice
    assert page.count("<body>") == 1
    assert page.index("<body>") < page.index('class="pdf-notice"')
    assert page.index('class="pdf-notice"') < page.index("Communauté de communes du Sisteronais-Buëch</h1>")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "style-src 'unsafe-inline'" in csp
    assert "script-src" not in csp  # scripts fall under default-src 'none'


def test_converter_not_on_path_is_a_message_not_an_exception(app, factory, tmp_path, monkeypatch):
    org = factory.org()
    monkeypatch.setitem(app.config, "WKHTMLTOPDF_PATH", None)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no wkhtmltopdf to find

    with app.test_request_context():
        result = render_pdf("pdf/organisation.html", org=org)

    assert result.pdf is None
    assert result.error and "wkhtmltopdf" in result.error
    assert org.name in result.html


def test_hung_converter_is_stopped(app, factory, tmp_path, monkeypatch):
    # Not a stand-in for the conversion (the other tests use the real wkhtmltopdf): a program that never
    # answers, to prove the timeout stops it instead of holding the request.
    hung = tmp_path / "wkhtmltopdf"
    hung.write_text("#!/bin/sh\nexec sleep 30\n")
    hung.chmod(0o755)
    monkeypatch.setitem(app.config, "WKHTMLTOPDF_PATH", str(hung))
    monkeypatch.setitem(app.config, "PDF_TIMEOUT_SECONDS", 0.5)
    org = factory.org()

    started = time.monotonic()
    with app.test_request_context():
        result = render_pdf("pdf/organisation.html", org=org)

    assert time.monotonic() - started < 10
    assert result.pdf is None
    assert result.error


def test_partner_cannot_get_another_partners_sheet(factory, sign_in_as):
    mine = factory.org()
    theirs = factory.org(name="Autre partenaire")
    client = sign_in_as(factory.user("partner", org=mine))

    response = client.get(f"/organisations/{theirs.id}/sheet.pdf")

    assert response.status_code == 403
    assert b"%PDF-" not in response.data
    assert b"Autre partenaire" not in response.data


def test_anonymous_visitor_is_sent_to_login(app, factory):
    org = factory.org()

    response = app.test_client().get(f"/organisations/{org.id}/sheet.pdf")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
