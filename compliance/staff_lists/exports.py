"""A certified staff list as CSV and as PDF, each carrying what makes it a certified document: the partner,
who certified it and when (Europe/Paris), the SHA-256 content hash, the signature and its status when the
file was produced (valid, or TAMPERED when the stored list no longer matches what was certified).

The CSV opens in French Excel (UTF-8 with a byte-order mark, `;`, formula cells neutralised): a block of
facts, an empty line, then one line a person. The routes are in views.py; these build the documents.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from compliance.staff_lists.forms import SEAL_EXPLANATIONS, SEAL_LABELS, scope_label
from compliance.staff_lists.integrity import Verification
from compliance.staff_lists.models import StaffListSnapshot
from vigie.deadlines.feeds import csv_cell
from vigie.pdf import PdfResult, render_pdf
from vigie.timeutil import to_paris


def _paris(value: datetime) -> str:
    return to_paris(value).strftime("%Y-%m-%d %H:%M:%S")


def filename(snapshot: StaffListSnapshot, extension: str) -> str:
    day = to_paris(snapshot.certified_at).strftime("%Y%m%d")
    return f"staff-list-{snapshot.organisation_id}-{day}-{snapshot.id}.{extension}"


def csv_header() -> list[str]:
    return [_("Name"), _("E-mail"), _("Function"), _("Scope"), _("Authorised since"), _("Authorised by")]


def csv_row(row: dict[str, Any]) -> list[str]:
    cells: list[object] = [
        row.get("name"),
        row.get("email"),
        row.get("function"),
        ", ".join(scope_label(str(s)) for s in row.get("scope") or []),
        row.get("granted_on"),
        row.get("granted_by"),
    ]
    return [csv_cell(c) for c in cells]


def snapshot_csv(snapshot: StaffListSnapshot, rows: list[dict[str, Any]], seal: Verification) -> str:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    facts: list[tuple[str, object]] = [
        (_("Certified list of authorised staff"), snapshot.organisation_name),
        (_("Certified on (Europe/Paris)"), _paris(snapshot.certified_at)),
        (_("Certified by"), snapshot.certified_by_name),
        (_("People"), len(rows)),
        (_("SHA-256"), snapshot.content_hash),
        (_("Signature (HMAC-SHA256)"), snapshot.signature),
        (_("Seal"), SEAL_LABELS[seal.reason]),
    ]
    for label, value in facts:
        writer.writerow([csv_cell(label), csv_cell(value)])
    writer.writerow([])
    writer.writerow(csv_header())
    for row in rows:
        writer.writerow(csv_row(row))
    return buffer.getvalue()


def snapshot_pdf(snapshot: StaffListSnapshot, rows: list[dict[str, Any]], seal: Verification) -> PdfResult:
    return render_pdf(
        "staff_lists_pdf/snapshot.html",
        snapshot=snapshot,
        rows=rows,
        seal=seal,
        seal_label=SEAL_LABELS[seal.reason],
        seal_explanation=SEAL_EXPLANATIONS[seal.reason],
        scope_label=scope_label,
    )
