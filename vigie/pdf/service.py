"""PDF documents: a Jinja template rendered to HTML, converted by wkhtmltopdf, with a printable fallback.

The conversion is hardened because the HTML carries user text (names, addresses, minutes):
- the template goes through flask.render_template, so user text is autoescaped and never becomes markup;
- wkhtmltopdf runs with local file access and JavaScript disabled, and every network request goes to a
  proxy on a closed loopback port, so a document cannot read the server's files or fetch anything
  (only inline ``data:`` images render);
- it runs with a timeout, in a private temporary directory, with a minimal environment (our secrets and
  proxy variables are not handed to it);
- nothing raises: a missing binary, a timeout or a failed conversion gives a PdfResult without a PDF but
  with the HTML and a message, and pdf_response() then serves the printable page instead (never a 500).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pdfkit
from flask import Response, current_app, render_template
from flask_babel import gettext as _
from markupsafe import Markup

log = logging.getLogger(__name__)

# Nothing listens on the discard port of the loopback interface: every request wkhtmltopdf tries through
# this proxy is refused at once. (Host names are still looked up by Qt/WebKit before the proxy is used;
# autoescaping is what keeps user text from naming a host in the first place.)
BLOCKING_PROXY = "http://127.0.0.1:9"
DEFAULT_TIMEOUT_SECONDS = 30.0

WKHTMLTOPDF_OPTIONS: dict[str, str] = {
    "--disable-local-file-access": "",
    "--disable-javascript": "",
    "--proxy": BLOCKING_PROXY,
    "--encoding": "utf-8",
    "--page-size": "A4",
    "--margin-top": "15mm",
    "--margin-bottom": "15mm",
    "--margin-left": "15mm",
    "--margin-right": "15mm",
    "--quiet": "",
}

_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)

# The fallback page's own policy (see pdf_response): everything denied but the inline <style> of
# templates/pdf/base.html and inline data: images.
FALLBACK_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True)
class PdfResult:
    """The outcome of a conversion: the PDF when one was produced, always the HTML, else the reason."""

    pdf: bytes | None
    html: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.pdf is not None


def render_pdf(template_name: str, *, landscape: bool = False, **context: Any) -> PdfResult:
    """Render a template (autoescaped) and convert it to PDF (A4, portrait unless `landscape`: wkhtmltopdf
    ignores the CSS @page size). Never raises for a conversion problem."""
    context.setdefault("generated_at", datetime.now(UTC))
    html = render_template(template_name, **context)
    pdf, error = html_to_pdf(html, landscape=landscape)
    return PdfResult(pdf=pdf, html=html, error=error)


def find_wkhtmltopdf() -> str | None:
    """The configured wkhtmltopdf (WKHTMLTOPDF_PATH), or the one on PATH; None when there is none."""
    configured = current_app.config.get("WKHTMLTOPDF_PATH")
    if configured:
        path = str(configured)
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    return shutil.which("wkhtmltopdf")


def html_to_pdf(html: str, landscape: bool = False) -> tuple[bytes | None, str | None]:
    """Convert an HTML document; (pdf, None) on success, (None, message) otherwise.

    The HTML must already be safe (rendered from an autoescaped template): it is converted as is.
    """
    binary = find_wkhtmltopdf()
    if binary is None:
        log.warning(
            "wkhtmltopdf not found (WKHTMLTOPDF_PATH=%r); serving printable HTML instead",
            current_app.config.get("WKHTMLTOPDF_PATH"),
        )
        return None, _("The PDF converter (wkhtmltopdf) is not installed on the server.")
    timeout = float(current_app.config.get("PDF_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS)

    with tempfile.TemporaryDirectory(prefix="vigie-pdf-") as workdir:
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            "HOME": workdir,
            "TMPDIR": workdir,  # wkhtmltopdf copies stdin to a temporary file: keep it private
            "XDG_RUNTIME_DIR": workdir,  # Qt wants one (0700), and warns on stderr without it
        }
        # pdfkit builds the command from our configuration and options. It is given an empty document
        # on purpose: pdfkit reads wkhtmltopdf options from <meta name="pdfkit-..."> tags of the HTML it
        # is given, and a document must never choose options such as --enable-local-file-access.
        # We then run the command ourselves because PDFKit.to_pdf() has no timeout (it calls
        # Popen.communicate() without one), and a hung wkhtmltopdf must not hold a worker forever.
        config = pdfkit.configuration(wkhtmltopdf=binary, environ=env)
        options = {**WKHTMLTOPDF_OPTIONS, "--orientation": "Landscape" if landscape else "Portrait"}
        command = pdfkit.PDFKit("", "string", options=options, configuration=config).command()
        try:
            completed = subprocess.run(  # noqa: S603 (fixed command, our binary, no shell)
                command,
                input=html.encode("utf-8"),
                capture_output=True,
                timeout=timeout,
                env=env,
                cwd=workdir,
                check=False,
            )
        except subprocess.TimeoutExpired:
            log.error("wkhtmltopdf did not finish within %s s and was stopped", timeout)
            return None, _("The PDF took too long to produce.")
        except OSError as exc:
            log.error("wkhtmltopdf could not be started: %s", exc)
            return None, _("The PDF converter (wkhtmltopdf) could not be started.")

    output = completed.stdout
    stderr = completed.stderr.decode("utf-8", errors="replace").strip()
    if completed.returncode == 0 and output.startswith(b"%PDF-"):
        return output, None
    if completed.returncode > 0 and _is_complete_pdf(output):
        # Known wkhtmltopdf behaviour: a resource it may not load (a file: URL refused by
        # --disable-local-file-access, a request refused by the proxy, an unknown host) makes it exit 1
        # ("Exit with code 1 due to network error: ProtocolUnknownError", "HostNotFoundError", ...)
        # although it wrote the whole document without that resource. That is the outcome we want.
        log.warning(
            "wkhtmltopdf exited with %s but produced a PDF (a blocked resource was left out): %s",
            completed.returncode,
            stderr or "no message",
        )
        return output, None
    log.error(
        "wkhtmltopdf failed with exit code %s and %d bytes of output: %s",
        completed.returncode,
        len(output),
        stderr or "no message",
    )
    return None, _("The PDF converter failed.")


def _is_complete_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]


def pdf_response(result: PdfResult, filename: str) -> Response:
    """The PDF as a download; without one, the printable HTML with a notice on top (status 200)."""
    if result.pdf is not None:
        response = Response(result.pdf, mimetype="application/pdf")
        response.headers.set("Content-Disposition", "attachment", filename=filename)
        return response

    notice = Markup(
        '<div class="pdf-notice" role="alert"><p><strong>{}</strong> {}</p><p>{}</p></div>'
    ).format(
        _("The PDF could not be produced."),
        result.error or "",
        _("This page is the same document: print it from your browser (or save it as PDF from there)."),
    )
    # str(): Markup + str would escape the document itself. result.html comes from an autoescaped
    # template, so the first literal "<body" is the template's own tag, never user text.
    html, found = _BODY_OPEN.subn(lambda match: match.group(0) + str(notice), result.html, count=1)
    if not found:
        html = str(notice) + result.html
    response = Response(html, mimetype="text/html")
    # The document styles itself with an inline <style> (wkhtmltopdf cannot fetch our stylesheet), which
    # the app-wide CSP (style-src 'self') would block. Rather than make the document depend on the app
    # stylesheet, this response alone allows inline styles; scripts, frames, fonts and any fetch stay
    # denied (default-src 'none'), and user text is autoescaped, so it cannot add style or markup.
    response.headers["Content-Security-Policy"] = FALLBACK_CSP
    return response
