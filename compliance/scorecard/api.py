"""The scorecard endpoints of the JSON API: the network ordered by risk (a partner: its own row only)
and one partner's scorecard. (A partner's sub-processors: compliance/processor/api.py.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import jsonify, url_for
from flask_login import current_user
from pydantic import BaseModel, Field
from werkzeug.wrappers import Response

from compliance.scorecard import services
from vigie.api.openapi import documented
from vigie.api.views import bp
from vigie.auth.access import requires
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.orgs.services import partner_or_404


class ScorecardLinkOut(BaseModel):
    id: str = Field(description="What the link leads to: processor_file, breaches, deadlines_…")
    label: str
    url: str | None = Field(description="The web page, when the application has it")
    api_url: str | None = Field(description="The API's list of the same records, when there is one")


class ScorecardFigureOut(BaseModel):
    id: str = Field(description="What is counted: overdue, met_late, reported, without_clauses…")
    value: int


class ScorecardLineOut(BaseModel):
    id: str = Field(description="dpo_contact, staff_review, breach_reports, inquiries or sub_processors")
    label: str
    status: services.LineStatus
    status_label: str
    explanation: str
    figures: list[ScorecardFigureOut] = Field(description="The counts the explanation gives")
    links: list[ScorecardLinkOut]


class ScorecardOut(BaseModel):
    id: int = Field(description="The partner organisation's id")
    organisation_id: int
    organisation_name: str
    risk_score: int = Field(description="10 a failing line, 1 a warning")
    failing: int
    warnings: int
    url: str = Field(description="The scorecard's web page")
    computed_at: datetime
    lines: list[ScorecardLineOut]


def scorecard_json(card: services.Scorecard) -> dict[str, Any]:
    lines = []
    for line in card.lines:
        links = [
            ScorecardLinkOut(id=link.key, label=link.label, url=link.url(), api_url=link.api_url())
            for link in line.links
        ]
        lines.append(
            ScorecardLineOut(
                id=line.code,
                label=line.label,
                status=line.status,
                status_label=line.status_label,
                explanation=line.explanation,
                figures=[ScorecardFigureOut(id=name, value=value) for name, value in line.figures.items()],
                links=[link for link in links if link.url or link.api_url],
            )
        )
    return ScorecardOut(
        id=card.organisation_id,
        organisation_id=card.organisation_id,
        organisation_name=card.organisation_name,
        risk_score=card.risk,
        failing=card.failing,
        warnings=card.warnings,
        url=url_for("scorecard.show", org_id=card.organisation_id),
        computed_at=card.computed_at,
        lines=lines,
    ).model_dump(mode="json")


@bp.route("/scorecard")
@requires(Permission.COMPLIANCE_VIEW)
@documented(
    "The obligations scorecard of every active partner, the highest risk first (a partner: its own only)",
    response=ScorecardOut,
    many=True,
)
def scorecard() -> Response:
    cards = services.network_scorecards(current_user, utcnow())
    return jsonify([scorecard_json(card) for card in cards])


@bp.route("/organisations/<int:org_id>/scorecard")
@requires(Permission.COMPLIANCE_VIEW, org_arg="org_id")
@documented("A partner's obligations scorecard", response=ScorecardOut)
def organisation_scorecard(org_id: int) -> Response:
    organisation = partner_or_404(org_id)
    return jsonify(scorecard_json(services.partner_scorecard(organisation, utcnow())))
