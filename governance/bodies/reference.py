"""The bodies of the reference convention (art. 7), for `vigie demo`: the steering committee and its two
working groups. The convention names functions, not people: the members are recorded by function."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from governance.bodies.models import Body
from governance.bodies.services import MemberData, controller_organisation, create_body, ensure_yearly_duty
from vigie.database import utcnow
from vigie.extensions import db
from vigie.orgs.models import Organisation
from vigie.timeutil import to_paris

SINCE = date(2025, 1, 1)  # the convention's term begins (art. 9)
BD05_SIREN = "220500011"  # Bibliothèque départementale des Hautes-Alpes (in the demo's organisations)

MISSIONS_RL = (
    "Veiller à l'évolution de l'offre de ressources numériques ; faire des propositions d'évolution du "
    "contenu du portail ; développer la médiation numérique auprès des collègues des bibliothèques "
    "partenaires ; organiser une journée professionnelle annuelle autour de la médiation des ressources "
    "numériques."
)
MISSIONS_PNB = (
    "Procéder aux acquisitions de livres numériques ; veiller au renouvellement des livres épuisés ; "
    "sensibiliser et accompagner les usagers ; programmer des actions de formation ; partager les supports "
    "de formation ; faire le lien entre le libraire, les prestataires techniques et les bibliothèques."
)


def _group_members(md04: int | None, bd05: int | None) -> list[MemberData]:
    return [
        MemberData("Chef de projet ressources numériques (BD 05)", bd05, role="pilot", since=SINCE),
        MemberData("Bibliothécaire de la BD 05", bd05, since=SINCE),
        MemberData("Responsable des ressources numériques (MD 04)", md04, since=SINCE),
        MemberData("Bibliothécaire de la MD 04", md04, since=SINCE),
    ]


def load_reference_bodies() -> None:
    """Create the three bodies once (idempotent) and open this year's duties."""
    controller = controller_organisation()
    md04 = controller.id if controller else None
    bd05 = db.session.scalar(sa.select(Organisation.id).where(Organisation.siren == BD05_SIREN))
    if db.session.scalar(sa.select(Body.id).where(Body.code == "COPIL")) is None:
        create_body(
            "Comité de pilotage",
            [
                MemberData(
                    "Directeur de la Médiathèque départementale des Alpes de Haute-Provence",
                    md04,
                    role="chair",
                    statutory=True,
                    since=SINCE,
                ),
                MemberData(
                    "Directeur de la Bibliothèque départementale des Hautes-Alpes",
                    bd05,
                    statutory=True,
                    since=SINCE,
                ),
                MemberData(
                    "Chef de projet ressources numériques de la Médiathèque départementale",
                    md04,
                    statutory=True,
                    since=SINCE,
                ),
            ],
            code="COPIL",
            missions="Piloter le projet, prendre les décisions nécessaires au développement des ressources "
            "numériques et établir la feuille de route des deux groupes de travail (art. 7).",
            yearly_duty="yearly_meeting",
        )
    if db.session.scalar(sa.select(Body.id).where(Body.code == "GTRL")) is None:
        create_body(
            "Groupe de travail « Ressources en ligne »",
            _group_members(md04, bd05),
            code="GTRL",
            missions=MISSIONS_RL,
            yearly_duty="professional_day",
        )
    if db.session.scalar(sa.select(Body.id).where(Body.code == "GTPNB")) is None:
        create_body(
            "Groupe de travail « Prêt numérique en bibliothèque »",
            _group_members(md04, bd05),
            code="GTPNB",
            missions=MISSIONS_PNB,
        )
    year = to_paris(utcnow()).year
    ensure_yearly_duty("yearly_meeting", year)
    ensure_yearly_duty("professional_day", year)
