"""Test data made through the services, so every invariant (and the audit trail) holds."""

from __future__ import annotations

import itertools
from typing import Any

from vigie.auth.models import User
from vigie.auth.services import create_api_token, create_user
from vigie.extensions import db
from vigie.orgs.models import Organisation
from vigie.orgs.services import create_organisation

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def valid_siren(seed: int) -> str:
    """A nine-digit SIREN with a correct Luhn check digit."""
    base = f"{seed:08d}"[-8:]
    for digit in range(10):
        candidate = base + str(digit)
        total = 0
        for index, char in enumerate(reversed(candidate)):
            d = int(char) * (2 if index % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


class Factory:
    def org(self, kind: str = "partner", name: str | None = None, **kwargs: Any) -> Organisation:
        n = next(_counter)
        org = create_organisation(
            name=name or f"Organisation {n}", kind=kind, siren=valid_siren(40000000 + n), **kwargs
        )
        db.session.commit()
        return org

    def user(
        self,
        *roles: str,
        org: Organisation | None = None,
        email: str | None = None,
        password: str = PASSWORD,
    ) -> User:
        n = next(_counter)
        if org is None:
            org = self.org("partner" if "partner" in roles else "controller")
        user = create_user(
            email=email or f"user{n}@example.fr",
            name=f"Utilisateur {n}",
            organisation=org,
            roles=roles or ("partner",),
            password=password,
        )
        db.session.commit()
        return user

    def token(self, user: User) -> str:
        _token, plaintext = create_api_token(user)
        db.session.commit()
        return plaintext
