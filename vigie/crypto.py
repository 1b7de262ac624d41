"""Encryption of personal data at rest (MultiFernet, newest key first) and key rotation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app

EXTENSION_KEY = "vigie.crypto"


class Keyring:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self.fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        return self.fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        return self.fernet.decrypt(token.encode("ascii")).decode("utf-8")

    def rotate(self, token: str) -> str:
        return self.fernet.rotate(token.encode("ascii")).decode("ascii")


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = Keyring(app.config["ENCRYPTION_KEYS"])


def keyring() -> Keyring:
    ring: Keyring = current_app.extensions[EXTENSION_KEY]
    return ring


# Values decrypted by EncryptedString in this process: a cheap counter, so tests and benchmarks can
# check that a feature decrypts only the rows it needs (not every row of a table).
_decrypted = [0]


@dataclass
class DecryptionCount:
    started_at: int
    ended_at: int | None = None

    @property
    def count(self) -> int:
        return (_decrypted[0] if self.ended_at is None else self.ended_at) - self.started_at


@contextmanager
def count_decryptions() -> Iterator[DecryptionCount]:
    """`with count_decryptions() as n: ...`, then `n.count`: the values decrypted inside the block."""
    counter = DecryptionCount(started_at=_decrypted[0])
    try:
        yield counter
    finally:
        counter.ended_at = _decrypted[0]


class EncryptedString(sa.types.TypeDecorator[str]):
    """Text encrypted with the application's keyring; the database only ever sees Fernet tokens.

    Encrypted columns cannot be searched or sorted in SQL: only personal data goes in them.
    """

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        if value is None:
            return None
        return keyring().encrypt(value)

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> str | None:
        if value is None:
            return None
        _decrypted[0] += 1
        try:
            return keyring().decrypt(value)
        except InvalidToken as exc:
            raise RuntimeError(
                "an encrypted value cannot be read with the configured VIGIE_ENCRYPTION_KEYS "
                "(was a key removed before `vigie keys rotate` ran?)"
            ) from exc


@dataclass
class RotationReport:
    tables: int
    values: int
    seconds: float


def encrypted_columns(metadata: sa.MetaData) -> dict[sa.Table, list[sa.Column[str]]]:
    found: dict[sa.Table, list[sa.Column[str]]] = {}
    for table in metadata.sorted_tables:
        cols = [c for c in table.columns if isinstance(c.type, EncryptedString)]
        if cols:
            found[table] = cols
    return found


def rotate_keys(connection: sa.Connection, metadata: sa.MetaData, batch: int = 500) -> RotationReport:
    """Re-encrypt every encrypted value with the newest key (raw tokens in, raw tokens out)."""
    ring = keyring()
    started = time.perf_counter()
    count = 0
    columns = encrypted_columns(metadata)
    for table, cols in columns.items():
        (pk,) = table.primary_key.columns
        # Read the tokens as plain text: no decryption round-trip through the ORM type.
        raw = sa.table(table.name, sa.column(pk.name), *(sa.column(c.name, sa.Text) for c in cols))
        last = None
        while True:
            stmt = sa.select(raw).order_by(raw.c[pk.name]).limit(batch)
            if last is not None:
                stmt = stmt.where(raw.c[pk.name] > last)
            rows = connection.execute(stmt).all()
            if not rows:
                break
            for row in rows:
                values = {
                    c.name: ring.rotate(row._mapping[c.name])
                    for c in cols
                    if row._mapping[c.name] is not None
                }
                if values:
                    connection.execute(
                        sa.update(raw).where(raw.c[pk.name] == row._mapping[pk.name]).values(**values)
                    )
                    count += len(values)
            last = rows[-1]._mapping[pk.name]
    return RotationReport(tables=len(columns), values=count, seconds=time.perf_counter() - started)
