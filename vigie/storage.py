"""Uploaded files: kept outside the web root, encrypted, size- and type-limited, named by the system.

A file is stored under DATA_DIR/files/<random key>; the name the user gave is kept only as metadata
(its directory part dropped), so nothing a user sends can choose where a file is written. The content
is encrypted with the application keyring, like every other piece of personal data.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from flask import current_app
from flask_babel import gettext as _

from vigie.crypto import keyring
from vigie.errors import ValidationFailed

# Content types accepted for exports a partner attaches, by extension (the browser's type is not trusted).
ALLOWED_TYPES = {
    ".pdf": "application/pdf",
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".json": "application/json",
    ".xml": "application/xml",
    ".zip": "application/zip",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
# Magic numbers, so a renamed executable is not accepted as a PDF.
_SIGNATURES = {
    ".pdf": (b"%PDF-",),
    ".zip": (b"PK\x03\x04",),
    ".ods": (b"PK\x03\x04",),
    ".odt": (b"PK\x03\x04",),
    ".xlsx": (b"PK\x03\x04",),
    ".docx": (b"PK\x03\x04",),
}
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    key: str
    filename: str
    content_type: str
    size: int


def _root() -> Path:
    root = Path(current_app.config["DATA_DIR"]) / "files"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _path_of(key: str) -> Path:
    # Keys are ours (token_hex), but check anyway: a key never leaves the storage folder.
    if not key or not all(c in "0123456789abcdef" for c in key):
        raise ValueError("invalid storage key")
    return _root() / key


def check_upload(filename: str, content: bytes) -> tuple[str, str]:
    """The cleaned file name and its content type; ValidationFailed with the reason otherwise."""
    field = "attachment"
    if any(sep in filename for sep in ("/", "\\")) or filename in {"", ".", ".."} or "\x00" in filename:
        raise ValidationFailed(
            _("A file name cannot contain a path: give the file alone."), {field: _("Invalid file name.")}
        )
    name = PureWindowsPath(PurePosixPath(filename).name).name.strip()[:200]
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_TYPES:
        raise ValidationFailed(
            _("This type of file is refused: send %(types)s.", types=", ".join(sorted(ALLOWED_TYPES))),
            {field: _("Refused type.")},
        )
    limit = int(current_app.config.get("UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES))
    if len(content) > limit:
        size = (
            _("%(n)d MB", n=limit // (1024 * 1024))
            if limit >= 1024 * 1024
            else _("%(n)d KB", n=max(1, limit // 1024))
        )
        raise ValidationFailed(
            _("The file is too large: %(limit)s at most.", limit=size),
            {field: _("Too large.")},
        )
    if not content:
        raise ValidationFailed(_("The file is empty."), {field: _("Empty file.")})
    signatures = _SIGNATURES.get(suffix)
    if signatures and not content.startswith(signatures):
        raise ValidationFailed(
            _("The file's content does not match its extension %(suffix)s.", suffix=suffix),
            {field: _("Refused type.")},
        )
    return name, ALLOWED_TYPES[suffix]


def store(filename: str, content: bytes) -> StoredFile:
    name, content_type = check_upload(filename, content)
    key = secrets.token_hex(16)
    token = keyring().fernet.encrypt(content)
    path = _path_of(key)
    path.write_bytes(token)
    path.chmod(0o600)
    return StoredFile(key=key, filename=name, content_type=content_type, size=len(content))


def read(key: str) -> bytes:
    return keyring().fernet.decrypt(_path_of(key).read_bytes())


def delete(key: str) -> None:
    _path_of(key).unlink(missing_ok=True)
