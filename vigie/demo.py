"""Demo data from the reference convention (a deliberation of the Communauté de communes Pays de
Forcalquier-Montagne de Lure approving the Département des Alpes de Haute-Provence's convention)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from vigie.auth.models import User
from vigie.auth.services import create_user, user_by_email
from vigie.database import utcnow
from vigie.orgs.models import Organisation
from vigie.orgs.services import add_person, create_organisation, organisation_by_siren

# A demo password, printed by `vigie demo`: it only ever protects a local trial database.
DEMO_PASSWORD = "demo-vigie-2025"  # noqa: S105

# (name, kind, SIREN, address, computerised libraries)
ORGANISATIONS = [
    (
        "Département des Alpes de Haute-Provence",
        "controller",
        "220400014",
        "13 rue du Docteur Romieu, CS70216, 04995 Digne-les-Bains Cédex 9",
        True,
    ),
    (
        "Communauté de communes Pays de Forcalquier-Montagne de Lure",
        "partner",
        "240400440",
        "1 place du Bourguet, 04300 Forcalquier",
        True,
    ),
    ("Commune de Sisteron", "partner", "210402095", "Place de la République, 04200 Sisteron", True),
    ("Commune de Riez", "partner", "210401667", "Place Maxime Javelly, 04500 Riez", False),
    (
        "Bibliothèque départementale des Hautes-Alpes",
        "other",
        "220500011",
        "8 ter rue Capitaine de Bresson, 05000 Gap",
        True,
    ),
    (
        "Commission nationale de l'informatique et des libertés",
        "other",
        "130002694",
        "3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07",
        True,
    ),
]

# The features' demo records (the reference convention…): each registers a loader from its init_app, so
# vigie/ fills them without importing the features. A loader creates what is missing, flushes, never
# commits, and changes nothing when run again.
DemoLoader = Callable[[], Any]
_LOADERS: list[DemoLoader] = []


def register_demo_loader(loader: DemoLoader) -> DemoLoader:
    """Add a loader (once: every app the process creates registers the same functions)."""
    if loader not in _LOADERS:
        _LOADERS.append(loader)
    return loader


CONTROLLER = "220400014"
FORCALQUIER = "240400440"
SISTERON = "210402095"

# (e-mail, name, organisation SIREN, role)
USERS = [
    ("admin@vigie.example", "Claire Administratrice", CONTROLLER, "admin"),
    ("dpo@vigie.example", "Délégué à la protection des données", CONTROLLER, "dpo"),
    ("bibliotheque@forcalquier.example", "Médiathèque intercommunale de Forcalquier", FORCALQUIER, "partner"),
    ("bibliotheque@sisteron.example", "Médiathèque de Sisteron", SISTERON, "partner"),
    ("copil@vigie.example", "Comité de pilotage", CONTROLLER, "committee"),
    ("juridique@vigie.example", "Service juridique", CONTROLLER, "legal"),
    ("auditeur@vigie.example", "Auditeur", CONTROLLER, "auditor"),
]

CONTACTS = [
    (CONTROLLER, "Eliane BARREILLE", "Présidente du Conseil départemental", False),
    (FORCALQUIER, "David GEHANT", "Président de la Communauté de communes", False),
    (FORCALQUIER, "Responsable de la médiathèque intercommunale", "Directrice de bibliothèque", True),
]


def _organisation(siren: str) -> Organisation:
    org = organisation_by_siren(siren)
    assert org is not None, siren  # noqa: S101  (created just before)
    return org


def _demo_deadlines() -> None:
    """A few clocks, relative to today, so the dashboards show something on a first visit."""
    import sqlalchemy as sa

    from vigie.deadlines.calendar import calendar_for_app, end_of_day, working_days_deadline
    from vigie.deadlines.models import Deadline
    from vigie.deadlines.services import open_deadline
    from vigie.extensions import db

    now = utcnow()
    cal = calendar_for_app()
    inquiry_date, inquiry_due = working_days_deadline(now - timedelta(days=1), 3, cal)
    review_date = (now + timedelta(days=20)).date()
    wanted = [
        (
            "processor.dpo_contact",
            SISTERON,
            "Coordonnées du DPO de la commune de Sisteron",
            now - timedelta(days=30),
            None,
        ),
        (
            "access.inquiry",
            FORCALQUIER,
            "Demande d'accès : informations détenues par la médiathèque",
            inquiry_due,
            inquiry_date,
        ),
        (
            "processor.staff_review",
            FORCALQUIER,
            "Revue annuelle des habilitations",
            end_of_day(review_date),
            review_date,
        ),
    ]
    for kind, siren, title, due_at, due_date in wanted:
        org = _organisation(siren)
        exists = db.session.scalar(
            sa.select(Deadline.id).where(Deadline.kind == kind, Deadline.organisation_id == org.id)
        )
        if exists is None:
            open_deadline(kind, org, title, due_at, due_date=due_date)


def load_demo() -> list[tuple[str, str, str]]:
    """Create what is missing; running it twice changes nothing. Returns (email, role, password)."""
    for name, kind, siren, address, computerised in ORGANISATIONS:
        if organisation_by_siren(siren) is None:
            org = create_organisation(name, kind, siren, address, computerised)
            for contact_siren, person, function, referent in CONTACTS:
                if contact_siren == siren:
                    add_person(org, person, function=function, is_digital_referent=referent)
    logins = []
    for email, name, siren, role in USERS:
        user: User | None = user_by_email(email)
        if user is None:
            create_user(email, name, _organisation(siren), [role], DEMO_PASSWORD)
        logins.append((email, role, DEMO_PASSWORD))
    _demo_deadlines()
    for loader in _LOADERS:  # in the order the features registered them
        loader()
    return logins
