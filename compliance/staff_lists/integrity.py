"""The seal of a certified staff list: a canonical document, its SHA-256 hash and an HMAC-SHA256 signature.

The document is canonical JSON (keys sorted, no spaces, UTF-8) of: the scheme, the organisation (id and
name as certified), the request answered (or null), the certification time (UTC, to the second), the
certifier (user id and name) and the rows. Its SHA-256 is `content_hash`; `signature` is
HMAC-SHA256(server key, "v1:" + content_hash).

The server key is derived from the application's SECRET_KEY (VIGIE_SECRET_KEY) for this purpose only:
HMAC-SHA256(SECRET_KEY, "vigie/staff-list-snapshot/v1"). No new secret to deploy, and the session key is
never used as is. `key_id` (the first 16 hex digits of SHA-256 of the derived key) records which key signed
a snapshot: after a change of VIGIE_SECRET_KEY, older snapshots report "signed with another key" (not
verifiable here) rather than a false "tampered".

What it detects: rows (or the certifier, the time, the organisation) changed after certification — the
hash no longer matches; the rows and the hash changed together — the signature no longer matches (forging
one needs the server key, which the database does not hold); a stored value that no longer decrypts.
The rows are signed in clear and stored encrypted, so rotating the encryption keys keeps the seal valid.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app

SCHEME = "v1"
KEY_PURPOSE = b"vigie/staff-list-snapshot/v1"

# Reasons verify_snapshot() gives, in the order it checks.
UNREADABLE = "unreadable"  # the stored rows cannot be decrypted or parsed
CONTENT_CHANGED = "content_changed"  # the content no longer matches its hash
UNKNOWN_KEY = "unknown_key"  # signed with a server key this server does not hold
SIGNATURE_MISMATCH = "signature_mismatch"  # the hash is not the one the server signed
TAMPERED_REASONS = frozenset({UNREADABLE, CONTENT_CHANGED, SIGNATURE_MISMATCH})


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime refused: a certification time is aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def document(
    organisation_id: int,
    organisation_name: str,
    request_id: int | None,
    certified_at: datetime,
    certified_by_id: int | None,
    certified_by_name: str,
    rows: list[dict[str, Any]],
) -> str:
    """The canonical document that the hash covers."""
    return canonical_json(
        {
            "scheme": SCHEME,
            "organisation": {"id": organisation_id, "name": organisation_name},
            "request_id": request_id,
            "certified_at": timestamp(certified_at),
            "certified_by": {"id": certified_by_id, "name": certified_by_name},
            "rows": rows,
        }
    )


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def signing_key() -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(secret, KEY_PURPOSE, hashlib.sha256).digest()


def key_id(key: bytes | None = None) -> str:
    return hashlib.sha256(key if key is not None else signing_key()).hexdigest()[:16]


def sign(hash_hex: str, key: bytes | None = None) -> str:
    message = f"{SCHEME}:{hash_hex}".encode("ascii")
    return hmac.new(key if key is not None else signing_key(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Verification:
    valid: bool
    reason: str | None = None  # one of the reasons above when not valid

    @property
    def tampered(self) -> bool:
        return self.reason in TAMPERED_REASONS

    def __bool__(self) -> bool:
        return self.valid


def _same(expected: str, stored: str | None) -> bool:
    # Bytes: compare_digest refuses str holding non-ASCII characters (a tampered value may hold some).
    return hmac.compare_digest(expected.encode("utf-8"), (stored or "").encode("utf-8"))


def parse_rows(text: str) -> list[dict[str, Any]] | None:
    """The stored rows, or None when they are not the JSON list a snapshot holds."""
    try:
        rows = json.loads(text)
    except (TypeError, ValueError):
        return None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return None
    return rows


def verify(
    *,
    organisation_id: int,
    organisation_name: str,
    request_id: int | None,
    certified_at: datetime,
    certified_by_id: int | None,
    certified_by_name: str,
    rows_json: str,
    stored_hash: str,
    stored_signature: str,
    stored_key_id: str,
) -> Verification:
    rows = parse_rows(rows_json)
    if rows is None:
        return Verification(False, UNREADABLE)
    text = document(
        organisation_id, organisation_name, request_id, certified_at, certified_by_id, certified_by_name, rows
    )
    if not _same(content_hash(text), stored_hash):
        return Verification(False, CONTENT_CHANGED)
    key = signing_key()
    if not _same(sign(stored_hash, key), stored_signature):
        return Verification(False, UNKNOWN_KEY if stored_key_id != key_id(key) else SIGNATURE_MISMATCH)
    return Verification(True)
