"""The demo's records of processing, from the reference convention's art. 11 (in French, as the demo is):
the Département's record (GDPR 30(1)) and the Communauté de communes' record (30(2)).

Written through the services as the demo's DPO and the partner's librarian would write them, so the
history names them. Created once: run again, the loader finds them and changes nothing."""

from __future__ import annotations

import sqlalchemy as sa

from compliance.records import services
from compliance.records.models import LegalBasis, ProcessingRecordVersion, RecordKind
from vigie.audit.recorder import acting_as
from vigie.auth.models import User, UserRole
from vigie.auth.roles import Role
from vigie.extensions import db
from vigie.orgs.models import Organisation
from vigie.orgs.services import organisation_by_siren

CONTROLLER_SIREN = "220400014"
PARTNER_SIRENS = ("240400440",)  # the Communauté de communes Pays de Forcalquier-Montagne de Lure
PROCESSING = "Portail de ressources numériques lamédiathèque04.fr"
FIRST_NOTE = "Première version, établie d'après l'article 11 de la convention de partenariat."

CONTROLLER_DPO = "Délégué à la protection des données du Département des Alpes de Haute-Provence"
CONTROLLER_DPO_CONTACT = "dpo@vigie.example\n13 rue du Docteur Romieu, CS70216, 04995 Digne-les-Bains Cédex 9"

CONTROLLER_RECORD = {
    "name": PROCESSING,
    "controller_name": "Département des Alpes de Haute-Provence",
    "controller_contact": (
        "13 rue du Docteur Romieu, CS70216, 04995 Digne-les-Bains Cédex 9\n"
        "Représenté par sa Présidente, Mme Eliane BARREILLE ; traitement mis en œuvre par la "
        "Médiathèque départementale."
    ),
    "dpo_name": CONTROLLER_DPO,
    "dpo_contact": CONTROLLER_DPO_CONTACT,
    "purposes": (
        "Délivrer aux abonnés des bibliothèques du réseau départemental bas-alpin un bouquet de ressources "
        "numériques dénommé lamédiathèque04.fr (art. 11 de la convention) :\n"
        "- inscription des abonnés au portail par leur bibliothèque (cartes à usage unique pour les "
        "bibliothèques non informatisées, art. 3 et 4) ;\n"
        "- identification unique depuis le portail de la bibliothèque partenaire (art. 4) ;\n"
        "- accès aux ressources, dont celles consommant des unités de consultation prépayées (art. 4) ;\n"
        "- assistance aux utilisateurs ;\n"
        "- statistiques semestrielles d'utilisation par bibliothèque (art. 2 C)."
    ),
    "legal_basis": LegalBasis.PUBLIC_TASK.value,
    "legal_basis_details": (
        "Mission d'intérêt public de développement de la lecture publique (art. 11 de la convention) : "
        "articles L. 310-1 et L. 320-1 et suivants du Code du patrimoine ; plan de développement de la "
        "lecture publique approuvé par la délibération n° D-IV-MD-1 du 12/10/2018 du Conseil départemental."
    ),
    "data_subjects": (
        "Abonnés des bibliothèques du réseau départemental inscrits au portail lamédiathèque04.fr.\n"
        "Personnels des bibliothèques partenaires habilités à gérer les inscriptions et l'assistance."
    ),
    "data_categories": (
        "Identification de l'abonné : nom, prénom, adresse électronique, bibliothèque de rattachement, "
        "identifiant ou numéro de carte.\n"
        "Données d'utilisation du portail : connexions, ressources consultées, unités de consultation "
        "décomptées.\n"
        "Demandes d'assistance."
    ),
    "recipients": (
        "Personnels habilités de la Médiathèque départementale.\n"
        "Bibliothèques partenaires, sous-traitants du Département (art. 28 du RGPD) pour les inscriptions "
        "et l'assistance aux usagers de leur bibliothèque, et leurs propres sous-traitants, tenus aux mêmes "
        "obligations (art. 11).\n"
        "Aucune divulgation à des tiers en dehors des cas prévus à la convention ou par la loi (art. 11)."
    ),
    "transfers_outside_eu": False,
    "transfers": "Aucun transfert hors de l'Union européenne.",
    "retention": (
        "Données permettant l'identification des personnes conservées le temps nécessaire à l'exécution "
        "de la convention (conclue du 1er janvier 2025 au 31 décembre 2028, art. 9 et 11), puis supprimées "
        "ou anonymisées.\n"
        "Statistiques d'utilisation conservées sous forme agrégée, par bibliothèque et par semestre."
    ),
    "security_measures": (
        "Accès aux données réservé aux personnels dûment habilités, dans la stricte limite de leurs "
        "fonctions ; liste des personnes habilitées communiquée au Département à première demande.\n"
        "Données conservées et traitées séparément des données propres de chaque bibliothèque.\n"
        "Protection contre la destruction fortuite ou illicite, la perte accidentelle, l'altération, la "
        "divulgation ou l'accès non autorisé.\n"
        "Obligations de confidentialité, de sécurité et d'intégrité imposées aux sous-traitants ultérieurs.\n"
        "Violation de données : information immédiate du délégué à la protection des données du "
        "Département par courriel avec accusé de réception ; notification à la CNIL dans les 72 heures ; "
        "plan d'action commun (art. 11)."
    ),
}

PARTNER_RECORD = {
    "processing_categories": (
        "Pour le compte du Département et sur ses seules instructions écrites (art. 11) :\n"
        "- gestion des inscriptions des usagers de la bibliothèque au portail lamédiathèque04.fr (cartes à "
        "usage unique uniquement, art. 3) ;\n"
        "- assistance aux utilisateurs et transmission à la Médiathèque départementale des difficultés "
        "qu'ils expriment (art. 3) ;\n"
        "- communication au Département, dans les trois jours ouvrés de sa demande, des informations "
        "nécessaires pour répondre à une demande d'accès ; transmission sans délai de toute demande reçue "
        "directement (art. 11)."
    ),
    "sub_processors": (
        "Le cas échéant, le prestataire du logiciel et du portail de la bibliothèque (maintenance des "
        "connecteurs, art. 5), tenu aux mêmes obligations de confidentialité et de sécurité (art. 11)."
    ),
    "transfers_outside_eu": False,
    "transfers": "Aucun transfert hors de l'Union européenne.",
    "security_measures": (
        "Traitement sur instruction du Département uniquement ; aucun usage personnel ou commercial.\n"
        "Données conservées et traitées séparément des données propres de la bibliothèque.\n"
        "Accès réservé au personnel habilité en raison de ses fonctions ; liste des personnes habilitées "
        "communiquée au Département à première demande.\n"
        "Protection contre la destruction, la perte, l'altération, la divulgation ou l'accès non autorisé.\n"
        "Violation de données : information immédiate du délégué à la protection des données du "
        "Département par courriel avec accusé de réception (art. 11)."
    ),
}


def _user_with_role(organisation: Organisation, role: Role) -> User | None:
    return db.session.scalar(
        sa.select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.organisation_id == organisation.id, UserRole.role == role, User.active.is_(True))
        .order_by(User.id)
    )


def load_reference_records() -> list[ProcessingRecordVersion]:
    """The Département's record and each demo partner's; creates what is missing. Flushes, never commits.
    Returns the versions it wrote (none when everything was there, or the demo's people are missing)."""
    controller = organisation_by_siren(CONTROLLER_SIREN)
    if controller is None:
        return []
    dpo = _user_with_role(controller, Role.DPO)
    if dpo is None:
        return []
    written: list[ProcessingRecordVersion] = []
    if services.record_of(controller.id, RecordKind.CONTROLLER) is None:
        with acting_as(dpo.id, dpo.email):
            written.append(
                services.create_record(dpo, controller, RecordKind.CONTROLLER, CONTROLLER_RECORD, FIRST_NOTE)
            )
    for siren in PARTNER_SIRENS:
        partner = organisation_by_siren(siren)
        if partner is None or services.record_of(partner.id, RecordKind.PROCESSOR) is not None:
            continue
        author = _user_with_role(partner, Role.PARTNER) or dpo
        # What Vigie knows (its DPO and sub-processors from its processor file) over the generic text.
        known = {k: v for k, v in services.starting_values(partner, RecordKind.PROCESSOR).items() if v}
        values: dict[str, object] = {**PARTNER_RECORD, **known}
        values.setdefault("dpo_name", f"Délégué à la protection des données — {partner.name}")
        values.setdefault(
            "dpo_contact",
            "Coordonnées à fournir au Département dès la signature de la convention (art. 11).",
        )
        values.setdefault("processor_contact", partner.name)
        values.setdefault("name", PROCESSING)
        values.setdefault("controller_name", CONTROLLER_RECORD["controller_name"])
        values.setdefault("controller_contact", CONTROLLER_RECORD["controller_contact"])
        with acting_as(author.id, author.email):
            written.append(services.create_record(author, partner, RecordKind.PROCESSOR, values, FIRST_NOTE))
    return written
