"""The hash chain: how a row's hash is computed, and how the whole chain is verified."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def _at(value: datetime) -> str:
    # Microsecond precision is what both SQLite and PostgreSQL keep.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(row: Mapping[str, Any]) -> str:
    payload = {
        "seq": row["seq"],
        "at": _at(row["at"]),
        "actor_id": row["actor_id"],
        "actor_label": row["actor_label"],
        "action": row["action"],
        "entity": row["entity"],
        "entity_id": row["entity_id"],
        "organisation_id": row["organisation_id"],
        "fields": row["fields"],
        "prev_hash": row["prev_hash"],
    }
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


@dataclass
class VerifyResult:
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify_rows(rows: Iterable[Mapping[str, Any]]) -> VerifyResult:
    """Rows in seq order. The first row that does not follow from its predecessor is reported."""
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    for row in rows:
        if row["seq"] != expected_seq:
            return VerifyResult(
                checked, row["seq"], row["id"], f"expected seq {expected_seq}: rows are missing"
            )
        if row["prev_hash"] != prev_hash:
            return VerifyResult(checked, row["seq"], row["id"], "does not follow the previous row's hash")
        if row_hash(row) != row["hash"]:
            return VerifyResult(checked, row["seq"], row["id"], "content does not match its hash")
        prev_hash = row["hash"]
        expected_seq += 1
        checked += 1
    return VerifyResult(checked)
