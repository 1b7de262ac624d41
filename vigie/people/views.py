from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from vigie.auth.access import requires
from vigie.auth.roles import Permission
from vigie.errors import ValidationFailed
from vigie.extensions import db
from vigie.people.forms import PersonSearchForm
from vigie.people.services import PersonSearchResult, find_person

bp = Blueprint("people", __name__, url_prefix="/people")


@bp.route("/search", methods=["GET", "POST"])
@requires(Permission.PEOPLE_SEARCH)
def search() -> tuple[str, int]:
    # POST, not GET: the name or address searched must not end up in the URL (browser history, the
    # reverse proxy's access log).
    form = PersonSearchForm()
    result: PersonSearchResult | None = None
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                result = find_person(current_user, form.q.data or "")
                db.session.commit()  # the search log
            except ValidationFailed as err:
                db.session.rollback()
                form.q.errors = [*form.q.errors, err.fields.get("q", err.message)]
        if form.q.errors:
            status = 422
    return render_template("people/search.html", form=form, result=result), status
