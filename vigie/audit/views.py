from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, render_template, request

from vigie.audit.services import AuditFilter, entity_names, filtered_events
from vigie.auth.access import requires
from vigie.auth.roles import Permission
from vigie.extensions import db
from vigie.timeutil import PARIS

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE_SIZE = 50


def _day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time.min, tzinfo=PARIS)


@bp.route("/")
@requires(Permission.AUDIT_VIEW)
def index() -> str:
    args = request.args
    until = _day(args.get("until"))
    flt = AuditFilter(
        entity=args.get("entity") or None,
        action=args.get("action") or None,
        actor=args.get("actor") or None,
        since=_day(args.get("since")),
        until=until + timedelta(days=1) if until else None,
    )
    page = db.paginate(filtered_events(flt), per_page=PAGE_SIZE, max_per_page=PAGE_SIZE)
    return render_template("audit/index.html", page=page, flt=flt, entities=entity_names(), args=args)
