"""The `vigie` console script's contracts: output, exit code 2 with a sentence, nothing half-saved."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from vigie.auth.models import User
from vigie.extensions import db
from vigie.orgs.models import Organisation


def _count(model: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


@pytest.fixture
def cli(app: Flask) -> Any:
    runner = app.test_cli_runner()

    def invoke(*args: str, input: str | None = None) -> Any:
        result = runner.invoke(args=list(args), input=input)
        db.session.expire_all()
        return result

    return invoke


def test_orgs_create_prints_the_new_id(cli: Any) -> None:
    result = cli(
        "orgs", "create", "--name", "Commune de Forcalquier", "--kind", "partner", "--siren", "240400440"
    )
    assert result.exit_code == 0, result.output
    org = db.session.get(Organisation, int(result.stdout.strip()))
    assert org is not None and org.siren == "240400440"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "partner", "--siren", "240400441"], "Luhn"),
        (["--kind", "partner", "--siren", "12345"], "nine digits"),
        (["--kind", "commune"], "controller, partner, other"),
    ],
)
def test_orgs_create_refuses_bad_input(cli: Any, args: list[str], message: str) -> None:
    result = cli("orgs", "create", "--name", "X", *args)
    assert result.exit_code == 2
    assert message in result.stderr or message.replace("nine digits", "neuf chiffres") in result.stderr
    assert _count(Organisation) == 0


def test_duplicate_siren_is_refused(cli: Any) -> None:
    assert cli("orgs", "create", "--name", "A", "--kind", "partner", "--siren", "240400440").exit_code == 0
    result = cli("orgs", "create", "--name", "B", "--kind", "partner", "--siren", "240400440")
    assert result.exit_code == 2
    assert "240400440" in result.stderr
    assert _count(Organisation) == 1


def test_users_create_reads_the_password_from_stdin(cli: Any, factory: Any) -> None:
    org = factory.org("partner")
    result = cli(
        "users",
        "create",
        "--email",
        "Marie@Example.fr",
        "--name",
        "Marie",
        "--org",
        org.siren,
        "--role",
        "partner",
        "--role",
        "committee",
        input="a long enough passphrase\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.get(User, int(result.stdout.strip()))
    assert user is not None
    assert user.email == "marie@example.fr"
    assert {r.value for r in user.roles} == {"partner", "committee"}
    assert user.organisation_id == org.id
    # By id as well as by SIREN.
    result = cli(
        "users",
        "create",
        "--email",
        "paul@example.fr",
        "--name",
        "Paul",
        "--org",
        str(org.id),
        "--role",
        "dpo",
        input="another long passphrase\n",
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("overrides", "password", "message"),
    [
        ({"--role": "superuser"}, "a long enough passphrase", "superuser"),
        ({"--email": "not-an-address"}, "a long enough passphrase", "not-an-address"),
        ({"--org": "999999"}, "a long enough passphrase", "999999"),
        ({}, "short", "12"),
    ],
)
def test_users_create_refuses_bad_input(
    cli: Any, factory: Any, overrides: dict[str, str], password: str, message: str
) -> None:
    org = factory.org("partner")
    options = {"--email": "marie@example.fr", "--name": "Marie", "--org": str(org.id), "--role": "partner"}
    options.update(overrides)
    args = [part for pair in options.items() for part in pair]
    result = cli("users", "create", *args, input=password + "\n")
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.strip().endswith((".", ")")) or "\n" in result.stderr.strip()
    assert _count(User) == 0


def test_tokens_create_then_deactivate_refuses_the_token(app: Flask, cli: Any, factory: Any) -> None:
    user = factory.user("dpo")
    result = cli("tokens", "create", "--email", user.email)
    assert result.exit_code == 0
    token = result.stdout.strip()
    client = app.test_client()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["email"] == user.email
    assert cli("users", "deactivate", "--email", user.email).exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert cli("users", "activate", "--email", user.email).exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_unknown_user_for_tokens_and_activation(cli: Any) -> None:
    for args in (["tokens", "create"], ["users", "deactivate"], ["users", "activate"]):
        result = cli(*args, "--email", "ghost@example.fr")
        assert result.exit_code == 2
        assert "ghost@example.fr" in result.stderr


def test_demo_is_idempotent_and_prints_logins(cli: Any) -> None:
    first = cli("demo")
    assert first.exit_code == 0, first.output
    from governance.bodies.models import Body, BodyMember

    counts = (_count(Organisation), _count(User), _count(Body), _count(BodyMember))
    second = cli("demo")
    assert second.exit_code == 0
    assert (_count(Organisation), _count(User), _count(Body), _count(BodyMember)) == counts
    # The bodies of the convention's art. 7: the steering committee (three statutory members) and two groups.
    codes = {b.code: b for b in db.session.scalars(sa.select(Body))}
    assert set(codes) == {"COPIL", "GTRL", "GTPNB"}
    assert sum(m.statutory for m in codes["COPIL"].members) == 3
    assert [m.role.value for m in codes["GTRL"].members].count("pilot") == 1
    assert "bibliotheque@forcalquier.example" in second.stdout
    org = db.session.scalar(sa.select(Organisation).where(Organisation.siren == "240400440"))
    assert org is not None and org.name == "Communauté de communes Pays de Forcalquier-Montagne de Lure"
    roles = {r.value for u in db.session.scalars(sa.select(User)) for r in u.roles}
    assert roles == {"admin", "dpo", "partner", "committee", "legal", "auditor"}
