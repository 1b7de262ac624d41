"""Scorecard pages: the network ordered by risk (the DPO, the auditor) and one partner's scorecard (the
DPO, the auditor, the partner itself). A partner asking for the network is sent to its own."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from compliance.scorecard import services
from vigie.auth.access import reaches_all_organisations, requires
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.orgs.services import partner_or_404

bp = Blueprint("scorecard", __name__, url_prefix="/scorecard")


def labels() -> dict[str, object]:
    return {
        "line_labels": services.LINE_LABELS,
        "line_codes": services.LINE_CODES,
        "status_labels": services.STATUS_LABELS,
        "risk_points": services.RISK_POINTS,
        "LineStatus": services.LineStatus,
    }


@bp.route("/")
@requires(Permission.COMPLIANCE_VIEW)
def index() -> Response | str:
    if not reaches_all_organisations(current_user, Permission.COMPLIANCE_VIEW):
        return redirect(url_for("scorecard.show", org_id=current_user.organisation_id))
    cards = services.network_scorecards(current_user, utcnow())
    return render_template("scorecard/index.html", cards=cards, **labels())


@bp.route("/<int:org_id>")
@requires(Permission.COMPLIANCE_VIEW, org_arg="org_id")
def show(org_id: int) -> str:
    organisation = partner_or_404(org_id)
    card = services.partner_scorecard(organisation, utcnow())
    network = reaches_all_organisations(current_user, Permission.COMPLIANCE_VIEW)
    return render_template(
        "scorecard/show.html", card=card, organisation=organisation, network=network, **labels()
    )
