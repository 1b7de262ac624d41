"""The record of processing as CSV and PDF: one record (its current version, or a chosen one) or the whole
set the user may read (the DPO and the auditor: the controller's record and every partner's; a partner:
the controller's and its own). The routes are in compliance.records.views; these build the documents.

CSV as French Excel opens it (UTF-8 with a byte-order mark, `;`, times Europe/Paris, formulas defused),
one line per record, one column per entry. PDFs go through vigie.pdf (autoescaped, no file or network
access; the printable page when there is no converter)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from werkzeug.wrappers import Response

from compliance.records.models import ProcessingRecord, ProcessingRecordVersion, RecordKind
from compliance.records.services import (
    ALL_KEYS,
    KIND_LABELS,
    RecordField,
    display_value,
    fields_for,
    label_of,
)
from vigie.database import utcnow
from vigie.deadlines.feeds import csv_cell
from vigie.pdf import pdf_response, render_pdf
from vigie.timeutil import to_paris


@dataclass(frozen=True)
class Entry:
    """One record as a document shows it: the version and its fields with their values."""

    record: ProcessingRecord
    version: ProcessingRecordVersion
    rows: list[tuple[RecordField, str]]

    @property
    def is_current(self) -> bool:
        current = self.record.current
        return current is not None and current.number == self.version.number


def entry(record: ProcessingRecord, version: ProcessingRecordVersion | None = None) -> Entry | None:
    version = version or record.current
    if version is None:
        return None
    rows = [(f, display_value(f, version.value(f.key))) for f in fields_for(record.kind)]
    return Entry(record, version, rows)


def entries(records: Iterable[ProcessingRecord]) -> list[Entry]:
    return [e for e in (entry(r) for r in records) if e is not None]


def _stamp() -> str:
    return f"{to_paris(utcnow()):%Y%m%d}"


def _paris(version: ProcessingRecordVersion) -> str:
    return to_paris(version.saved_at).strftime("%Y-%m-%d %H:%M")


# --- CSV ---


def csv_header() -> list[str]:
    return [
        _("Record"),
        _("Organisation"),
        _("Version"),
        _("Saved (Europe/Paris)"),
        _("Saved by"),
        _("Change note"),
        *(str(label_of(RecordKind.CONTROLLER, key)) for key in ALL_KEYS),
    ]


def csv_row(item: Entry) -> list[str]:
    values = dict((f.key, text) for f, text in item.rows)
    cells: list[object] = [
        KIND_LABELS[item.record.kind],
        item.record.organisation.name,
        item.version.number,
        _paris(item.version),
        item.version.saved_by,
        item.version.change_note,
        *(values.get(key, "") for key in ALL_KEYS),
    ]
    return [csv_cell(c) for c in cells]


def csv_response(items: list[Entry], filename: str) -> Response:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(csv_header())
    for item in items:
        writer.writerow(csv_row(item))
    response = Response(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def record_filename(item: Entry, extension: str) -> str:
    return f"record-of-processing-{item.record.id}-v{item.version.number}-{_stamp()}.{extension}"


def set_filename(extension: str) -> str:
    return f"records-of-processing-{_stamp()}.{extension}"


# --- PDF ---


def pdf(items: list[Entry], filename: str, whole_set: bool) -> Response:
    result = render_pdf(
        "records_pdf/records.html", entries=items, whole_set=whole_set, kind_labels=KIND_LABELS
    )
    return pdf_response(result, filename)
