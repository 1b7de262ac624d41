"""Personal data at rest: never plaintext in the database; key rotation keeps every value readable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask

from vigie import crypto
from vigie.extensions import db
from vigie.orgs.models import Person
from vigie.orgs.services import add_person

SECRET_VALUES = ("Jeanne Confidentielle", "jeanne.confidentielle@example.fr", "+33 4 92 00 11 22")


def _raw_dump() -> str:
    """Every value of every table, as the database stores it (no ORM type processing)."""
    chunks = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(sa.text(f'SELECT * FROM "{table.name}"')):
                chunks.extend(str(v) for v in row)
    return "\n".join(chunks)


@pytest.fixture
def person(factory: Any) -> Person:
    org = factory.org("partner")
    name, email, phone = SECRET_VALUES
    p = add_person(org, name, email=email, phone=phone, function="Directrice")
    db.session.commit()
    return p


def test_raw_database_holds_no_plaintext_of_encrypted_fields(
    app: Flask, person: Person, factory: Any
) -> None:
    user = factory.user("partner")
    dump = _raw_dump()
    for value in (*SECRET_VALUES, user.name):
        assert value not in dump
    assert "Directrice" in dump  # the check itself sees clear columns
    if db.engine.dialect.name == "sqlite":
        raw_file = Path(db.engine.url.database or "").read_bytes()
        for value in SECRET_VALUES:
            assert value.encode() not in raw_file


def test_values_read_back_decrypted(person: Person) -> None:
    db.session.expire_all()
    loaded = db.session.get(Person, person.id)
    assert loaded is not None
    assert (loaded.name, loaded.email, loaded.phone) == SECRET_VALUES


@pytest.fixture
def keys(app: Flask) -> Iterator[list[str]]:
    """Lets a test change the keyring, and restores the original afterwards."""
    original = list(app.config["ENCRYPTION_KEYS"])
    yield original
    app.config["ENCRYPTION_KEYS"] = original
    crypto.init_app(app)


def _use_keys(app: Flask, keys: list[str]) -> None:
    app.config["ENCRYPTION_KEYS"] = keys
    crypto.init_app(app)


def _raw_names() -> list[str]:
    return [str(v) for v in db.session.execute(sa.text("SELECT name FROM person ORDER BY id")).scalars()]


def test_key_rotation_keeps_every_value_readable(app: Flask, person: Person, keys: list[str]) -> None:
    old_key = keys[0]
    before = _raw_names()
    new_key = Fernet.generate_key().decode()
    _use_keys(app, [new_key, old_key])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted" in result.output
    after = _raw_names()
    assert after != before
    # Old key gone: every value still reads, with the new key alone.
    _use_keys(app, [new_key])
    db.session.expire_all()
    loaded = db.session.get(Person, person.id)
    assert loaded is not None
    assert (loaded.name, loaded.email, loaded.phone) == SECRET_VALUES
    assert Fernet(new_key.encode()).decrypt(after[0].encode()).decode() == SECRET_VALUES[0]


def test_a_removed_key_without_rotation_is_reported_clearly(
    app: Flask, person: Person, keys: list[str]
) -> None:
    _use_keys(app, [Fernet.generate_key().decode()])
    db.session.expire_all()
    with pytest.raises(RuntimeError, match="vigie keys rotate"):
        db.session.get(Person, person.id)
    db.session.rollback()
