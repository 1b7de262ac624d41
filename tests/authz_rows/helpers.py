"""The row builders of the authorisation table (shared by test_authz.py and the feature modules)."""

ROLES = ("anon", "admin", "dpo", "partner", "committee", "legal", "auditor")


def row(anon: int, default: int, **per_role: int) -> dict[str, int]:
    table = {"anon": anon} | {role: default for role in ROLES[1:]}
    table.update(per_role)
    return table


def only(anon: int, allowed: int, roles: tuple[str, ...], refused: int = 403) -> dict[str, int]:
    return {"anon": anon} | {r: (allowed if r in roles else refused) for r in ROLES[1:]}
