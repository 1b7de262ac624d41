"""The reference convention (DESIGN.md, `reference/`): the partnership convention between the Département
des Alpes de Haute-Provence and the Communauté de communes Pays de Forcalquier-Montagne de Lure, with the
deliberation n°2025-37 of 3 April 2025 that approved it and the prefecture's acknowledgement of receipt.

The texts are the reference's own words, in French (they are the record, not interface text), condensed
only where an article lists many items. load_reference_convention() builds it through the services, so
every rule holds (the acknowledgement id is checked, the evaluation deadline is opened by the
transmission); `vigie demo` calls it through vigie.demo's loader registry.

The reference leaves the signature dates blank ("Fait à Forcalquier le ../../...."): the demo's dates
(8 and 10 April 2025, between the deliberation and its transmission) are illustrative.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from governance.conventions import services
from governance.conventions.models import Convention, Deliberation
from governance.conventions.services import ArticleData, DeliberationData
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.deadlines.services import cancel_deadline
from vigie.extensions import db
from vigie.orgs.services import organisation_by_siren

CONTROLLER_SIREN = "220400014"  # Département des Alpes de Haute-Provence
PARTNER_SIREN = "240400440"  # Communauté de communes Pays de Forcalquier-Montagne de Lure

TITLE = (
    "Convention de partenariat pour l'accès aux services numériques de la Bibliothèque départementale "
    "des Alpes de Haute-Provence"
)
REFERENCE = "BD04-NUM-2025-240400440"
START = date(2025, 1, 1)  # art. 9
END = date(2028, 12, 31)  # art. 9

DELIBERATION: dict[str, Any] = {
    "assembly": "Conseil communautaire",
    "number": "2025-37",
    "adopted_on": date(2025, 4, 3),
    "theme": "SPORT ET CULTURE 5",
    "subject": (
        "Convention de partenariat pour l'accès aux services numériques de la Bibliothèque "
        "Départementale des Alpes de Haute-Provence"
    ),
    "members_in_office": 27,
    "members_present": 22,
    "members_represented": 5,  # "Pouvoirs : 5"
    "votes_for": 27,
    "votes_against": 0,
    "abstentions": 0,
    "secretary": "Aurélie ANNEQUIN",
}

CONTROLLER_SIGNATORY = "Eliane BARREILLE"  # sa Présidente en exercice
PARTNER_SIGNATORY = "David GEHANT"  # son Président
CONTROLLER_SIGNED_ON = date(2025, 4, 10)  # illustrative: the reference leaves the date blank
PARTNER_SIGNED_ON = date(2025, 4, 8)  # illustrative

ACKNOWLEDGEMENT_ID = "004-240400440-20250403-37-2025-DE"
RECEIVED_ON = date(2025, 4, 15)  # "Date de réception préfecture : 15/04/2025"
PUBLISHED_ON = date(2025, 4, 15)  # "Acte publié le : 15 AVR. 2025"

ARTICLES: list[tuple[int, str, str]] = [
    (
        1,
        "Objet de la présente convention",
        "La présente convention a pour objet d'établir les conditions de partenariat entre le Département "
        "des Alpes de Haute-Provence et la Communauté de communes Pays de Forcalquier-Montagne de Lure pour "
        "mettre en œuvre et distribuer une offre de services numériques commune sur l'ensemble du "
        "territoire départemental, ainsi qu'une démarche conjointe de valorisation de ces ressources auprès "
        "des usagers des bibliothèques partenaires.",
    ),
    (
        2,
        "Engagements du Département",
        "Le Département des Alpes de Haute-Provence s'engage à :\n"
        "A. Développer un service de prêt de valises numériques thématiques aux bibliothèques du réseau "
        "départemental : maintenir à jour une offre de matériels et de contenus, assurer la programmation et "
        "la logistique de leur circulation, accompagner les personnels (présentations, ateliers, "
        "formations), fournir une documentation.\n"
        "B. Coordonner un programme de formation et d'ateliers numériques à l'échelle du département : les "
        "publier dans le catalogue de formation de la Médiathèque départementale, en assurer la "
        "coordination et le financement.\n"
        "C. Mettre en œuvre un site de ressources numériques destiné aux abonnés des bibliothèques du "
        "réseau départemental bas-alpin : constituer le bouquet de ressources avec les bibliothèques "
        "partenaires, assurer la part administrative (marchés publics, financement), prendre en charge les "
        "interconnexions entre les logiciels et portails des bibliothèques et le portail départemental, "
        "assurer le pilotage technique selon les orientations du comité de pilotage, former les personnels, "
        "fournir des supports de communication, fournir des statistiques semestrielles et par bibliothèque "
        "de l'utilisation des ressources, s'assurer de la conformité des traitements des fichiers usagers au "
        "règlement général sur la protection des données (RGPD).",
    ),
    (
        3,
        "Engagements de la Collectivité",
        "La Communauté de communes Pays de Forcalquier-Montagne de Lure s'engage à :\n"
        "- proposer un accès internet public permettant l'usage des services numériques dans la "
        "bibliothèque (si les conditions matérielles le permettent) ;\n"
        "- désigner un ou plusieurs interlocuteurs référents pour la gestion de ces services numériques (le "
        "directeur ou la directrice étant l'interlocuteur par défaut) ;\n"
        "- participer aux réunions et formations proposées en lien avec ces services ;\n"
        "- assurer la promotion et la médiation des ressources numériques auprès des populations ;\n"
        "- fournir à la demande des éléments de diagnostic et de bilan ;\n"
        "- valoriser le partenariat au sein de la collectivité et auprès des médias locaux ;\n"
        "- assurer une utilisation respectueuse et assurer le matériel prêté par la Médiathèque "
        "départementale à hauteur des montants qui lui seront communiqués ;\n"
        "- respecter les modalités de prêt et de programmation définies avec la Médiathèque "
        "départementale ;\n"
        "- garantir l'utilisation des matériels et contenus web par les publics dans le respect du cadre "
        "légal ;\n"
        "- gérer les inscriptions (cartes à usage unique uniquement) au portail de ressources numériques "
        "pour les usagers de sa bibliothèque ;\n"
        "- transmettre à la Médiathèque départementale les difficultés exprimées par les utilisateurs.",
    ),
    (
        4,
        "Modalités d'accès au portail de ressources numériques",
        "Le portail est accessible soit directement par tout usager d'une des bibliothèques partenaires à "
        "partir d'un site internet dédié (https://lamediatheque04.fr), soit depuis le portail de la "
        "bibliothèque de la Collectivité, qui redirige l'utilisateur vers le portail départemental.\n"
        "Pour les abonnés passant par le portail de leur bibliothèque, un procédé d'identification unique "
        "permet d'accéder à tous leurs services. Les abonnés des bibliothèques non informatisées se "
        "procurent un formulaire-carte à usage unique auprès de leur bibliothèque : l'abonné conserve "
        "la partie carte, la bibliothèque reçoit la partie formulaire, détachable.\n"
        "Certains contenus fonctionnent sur le principe d'un forfait pré-payé d'unités de consultation "
        "(vidéo, presse, etc.). Si le forfait souscrit par le Département est épuisé en cours d'année, aucun "
        "forfait supplémentaire ne pourra être pris et l'accès à la ressource sera suspendu jusqu'à "
        "l'échéance initiale du contrat d'abonnement ; les partenaires s'engagent alors à se réunir pour "
        "tenter de trouver une solution collective qui éviterait la rupture du service.",
    ),
    (
        5,
        "Dispositions financières",
        "L'ensemble des services en objet de cette convention a été mis en œuvre grâce à des soutiens "
        "financiers de l'État et de la Région ; pour favoriser l'égalité entre les territoires et en accord "
        "avec le Plan de développement de la lecture publique, ces services sont intégralement portés par le "
        "Département.\n"
        "Selon le succès du portail auprès des usagers, le Département se réserve la possibilité de "
        "demander, dans le cadre d'une nouvelle convention, une participation à l'acquisition des "
        "ressources numériques.\n"
        "Le Département a pris en charge les frais des connecteurs entre les logiciels et portails des "
        "bibliothèques et le portail départemental (avec une demande de subvention auprès de la DRAC PACA). "
        "Maître d'ouvrage, il reste propriétaire de ces connecteurs, qu'il met à disposition de la "
        "Communauté de communes Pays de Forcalquier-Montagne de Lure ; leur maintenance est à la charge de "
        "la Communauté de communes.",
    ),
    (
        6,
        "Communication",
        "Chacune des parties s'engage à mentionner dans toute opération et support de communication le "
        "partenariat avec le Département des Alpes de Haute-Provence.",
    ),
    (
        7,
        "Gouvernance",
        "Un comité de pilotage réunissant les différents partenaires assure le pilotage du projet, prend "
        "les décisions nécessaires au développement des ressources numériques dans les bibliothèques "
        "publiques des Alpes de Haute-Provence et établit la feuille de route des deux groupes de travail. "
        "Il est composé du directeur de la Médiathèque départementale des Alpes de Haute-Provence ou son "
        "représentant, du directeur de la Bibliothèque départementale des Hautes-Alpes ou son représentant "
        "et du chef de projet ressources numériques de la Médiathèque départementale des Alpes de "
        "Haute-Provence.\n"
        "Il est assisté de deux groupes de travail :\n"
        "- le groupe « Ressources en ligne » (veille sur l'offre, propositions d'évolution du portail, "
        "médiation numérique auprès des collègues, organisation d'une journée professionnelle annuelle), "
        "piloté par le chef de projet ressources numériques de la Bibliothèque départementale des "
        "Hautes-Alpes ;\n"
        "- le groupe « Prêt numérique en bibliothèque » (PNB) (acquisitions de livres numériques, "
        "renouvellement des titres épuisés, accompagnement des usagers, formation des collègues, lien entre "
        "le libraire, les prestataires techniques et les bibliothèques), piloté et composé selon les mêmes "
        "modalités.\n"
        "Chaque groupe de travail désigne un rapporteur, chargé de diffuser auprès de l'ensemble des "
        "professionnels de lecture publique les actions pratiques induites par ses missions.",
    ),
    (
        8,
        "Suivi de la convention",
        "Les parties s'engagent à se rencontrer autant que de besoin pour assurer la tenue des engagements "
        "cités aux articles 2 et 3.\n"
        "Chacune des parties s'engage à réunir au minimum une fois par an l'ensemble des bibliothèques "
        "partenaires du projet, pour évaluer la pertinence des ressources, définir les éventuels besoins en "
        "formation et communication, présenter, le cas échéant, de nouvelles ressources et définir "
        "communément les règles de gestion des ressources pour les usagers.",
    ),
    (
        9,
        "Durée de la convention",
        "La présente convention est conclue du 1er janvier 2025 au 31 décembre 2028.\n"
        "Au plus tard 2 mois avant son échéance, il sera procédé à une évaluation du service afin "
        "d'envisager les conditions d'une éventuelle reconduction.",
    ),
    (
        10,
        "Résiliation",
        "En cas de non-respect, par l'une des parties, de ses obligations contractuelles, l'autre partie "
        "pourra résilier la présente convention par lettre recommandée avec accusé de réception.\n"
        "La résiliation prendra effet à compter de la notification de la décision. Néanmoins, préalablement "
        "à toute résiliation, une mise en demeure restée infructueuse pendant 30 jours est nécessaire.",
    ),
    (
        11,
        "Protection des données à caractère personnel",
        "Le Département met en œuvre un traitement de données à caractère personnel dont la finalité est de "
        "délivrer aux abonnés des bibliothèques du réseau départemental un bouquet de ressources numériques "
        "(lamédiathèque04.fr), dans le cadre d'une mission d'intérêt public. La bibliothèque partenaire, qui "
        "gère les inscriptions et participe à l'assistance des usagers, agit comme sous-traitant du "
        "Département (article 28 du RGPD) et s'engage à :\n"
        "- ne traiter les données que sur instruction écrite du Département et pour l'exécution de la "
        "convention, sans aucun usage personnel ou commercial ;\n"
        "- ne conserver les données permettant l'identification des personnes que le temps nécessaire à "
        "l'exécution de la convention ;\n"
        "- communiquer, au plus tard dans un délai de trois (3) jours ouvrés à compter de la demande du "
        "Département, toutes les informations lui permettant de satisfaire une demande de droit d'accès, et "
        "informer sans délai le Département de toute demande qui lui serait adressée directement ;\n"
        "- conserver et traiter ces données séparément de ses propres données, et les protéger contre toute "
        "destruction, perte, altération, divulgation ou accès non autorisé ;\n"
        "- ne les rendre accessibles qu'à son seul personnel dûment habilité, et communiquer au Département "
        "la liste des personnes ainsi habilitées à première demande ;\n"
        "- ne les divulguer à aucun tiers hors des cas prévus par la convention ou par la loi, et imposer "
        "les mêmes obligations à ses propres sous-traitants, dont elle se porte fort ;\n"
        "- en cas de faille de sécurité présentant un risque pour les données, en informer le Département "
        "immédiatement par courriel avec accusé de réception, à l'attention de son délégué à la protection "
        "des données ;\n"
        "- fournir au Département les coordonnées de son délégué à la protection des données dès la "
        "signature de la convention.\n"
        "Le Département, responsable du traitement, notifie la Commission nationale de l'informatique et "
        "des libertés dans les soixante-douze (72) heures à compter de sa connaissance de l'événement. Les "
        "parties établissent ensemble un plan d'action pour limiter le risque ; la responsabilité de la "
        "bibliothèque partenaire peut être engagée en cas de faille résultant de sa négligence.",
    ),
    (
        12,
        "Litiges",
        "Les parties privilégieront la recherche de solutions amiables pour la résolution des litiges.\n"
        "En cas d'échec de la procédure de règlement amiable, les parties pourront saisir le juge compétent "
        "et, pour les personnes publiques, dont le Département, émettre le cas échéant un titre exécutoire.\n"
        "La présente convention ne sera exécutoire qu'après transmission au représentant de l'État dans le "
        "département.",
    ),
]


def _legacy_evaluation_deadlines(partner_id: int) -> list[Deadline]:
    """Evaluation clocks opened by hand by earlier demo databases (no subject): the transmission now
    opens the convention's own."""
    return list(
        db.session.scalars(
            sa.select(Deadline).where(
                Deadline.kind == services.EVALUATION_KIND,
                Deadline.organisation_id == partner_id,
                Deadline.subject_type.is_(None),
                Deadline.state == DeadlineState.OPEN,
            )
        )
    )


def load_reference_convention() -> Convention | None:
    """The reference convention, approved, signed and transmitted; created once (running it again finds
    it and changes nothing). None when the demo's two parties are missing. Flushes, never commits."""
    controller = organisation_by_siren(CONTROLLER_SIREN)
    partner = organisation_by_siren(PARTNER_SIREN)
    if controller is None or partner is None:
        return None
    deliberation = db.session.scalar(
        sa.select(Deliberation).where(
            Deliberation.organisation_id == partner.id, Deliberation.number == DELIBERATION["number"]
        )
    )
    if deliberation is not None:
        existing = db.session.scalar(
            sa.select(Convention).where(Convention.deliberation_id == deliberation.id).order_by(Convention.id)
        )
        if existing is not None:
            return existing
    else:
        deliberation = services.create_deliberation(
            DeliberationData(organisation_id=partner.id, **DELIBERATION)
        )
    convention = services.create_convention(
        controller,
        partner,
        TITLE,
        START,
        END,
        reference=REFERENCE,
        articles=[ArticleData(number, title, text) for number, title, text in ARTICLES],
    )
    services.approve_convention(convention, deliberation)
    services.sign_convention(
        convention, CONTROLLER_SIGNED_ON, PARTNER_SIGNED_ON, CONTROLLER_SIGNATORY, PARTNER_SIGNATORY
    )
    for legacy in _legacy_evaluation_deadlines(partner.id):
        cancel_deadline(legacy, _("Replaced by the deadline the convention's transmission opens."))
    services.record_transmission(convention, ACKNOWLEDGEMENT_ID, RECEIVED_ON, PUBLISHED_ON)
    return convention
