"""Processor-file pages: the life of each record through the forms (the DPO set then replaced, a grant
then its revocation seen on both sides of each date, a sub-processor added, corrected and ended), bad
input (422, nothing saved, nothing typed lost), an invalid day, a partner kept to its own file, and the
index's query count as the partners grow."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import force_locale, format_date, ngettext

from compliance.processor import services
from compliance.processor.forms import SCOPE_LABELS, WARNING_LABELS
from compliance.processor.models import PartnerDpo, StaffGrant, SubProcessor
from compliance.processor.services import GrantData, SubProcessorData
from tests.conftest import french
from vigie.extensions import db
from vigie.orgs.services import add_person

# --- helpers ---------------------------------------------------------------------------------------


def shown(day: date, fmt: str = "medium") -> str:
    """A day as the French pages show it."""
    with current_app.test_request_context(), force_locale("fr"):
        return format_date(day, fmt)


def plain(page: str) -> str:
    return html.unescape(page)


def prefixed(prefix: str, **fields: Any) -> dict[str, Any]:
    return {f"{prefix}-{name}": value for name, value in fields.items()}


def rows_of(model: type[Any]) -> list[Any]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(model).order_by(model.id)))


def section(page: str, ident: str) -> str:
    """The HTML of one <section id=...> of the file page."""
    match = re.search(rf'<section[^>]*id="{ident}".*?</section>', page, re.S)
    assert match, f"no section {ident}"
    return plain(match.group(0))


def staff_table(page: str) -> str:
    match = re.search(r'<table class="staff">.*?</table>', page, re.S)
    assert match, "no staff table"
    return plain(match.group(0))


def index_row(page: str, org_id: int) -> str:
    match = re.search(rf'<tr class="processor-file" data-org-id="{org_id}">.*?</tr>', page, re.S)
    assert match, f"no row for {org_id}"
    return plain(match.group(0))


def cell(row: str, css: str) -> str:
    match = re.search(rf'<td class="[^"]*{css}[^"]*">(.*?)</td>', row, re.S)
    assert match, f"no cell {css}"
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip()


@contextmanager
def count_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def before_cursor_execute(*args: Any) -> None:
        statements.append(str(args[2]))

    sa.event.listen(db.engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before_cursor_execute)


@pytest.fixture
def cast(factory: Any) -> dict[str, Any]:
    library = factory.org("partner", name="Médiathèque de Manosque")
    neighbour_org = factory.org("partner", name="Bibliothèque de Sisteron")
    return {
        "library": library,
        "librarian": factory.user("partner", org=library),
        "neighbour_org": neighbour_org,
        "neighbour": factory.user("partner", org=neighbour_org),
        "dpo": factory.user("dpo"),
        "auditor": factory.user("auditor"),
    }


def file_url(org: Any, suffix: str = "") -> str:
    return f"/processor/{org.id}{suffix}"


# --- the DPO ---------------------------------------------------------------------------------------


def test_the_dpo_set_then_replaced_keeps_the_history(cast: dict[str, Any], sign_in_as: Any) -> None:
    web = sign_in_as(cast["librarian"])
    library = cast["library"]
    first = web.post(
        file_url(library, "/dpo"),
        prefixed(
            "dpo",
            name="Marie Dubois",
            email="DPO@Manosque.example",
            phone="04 92 70 00 00",
            address="Place de l'Hôtel de ville\n04100 Manosque",
            cnil_designation="DPO-12345",
            since="2025-05-01",
        ),
    )
    assert first.status_code == 302
    assert first.headers["Location"].endswith(f"/processor/{library.id}#dpo")
    page = web.get(file_url(library))
    assert page.status_code == 200
    dpo = section(page.get_data(as_text=True), "dpo")
    for typed in ("Marie Dubois", "DPO@manosque.example", "04 92 70 00 00", "04100 Manosque", "DPO-12345"):
        assert typed in dpo
    assert french("Former data protection officers") not in dpo
    flashes = plain(page.get_data(as_text=True))
    recorded = french(
        "%(name)s is recorded as the data protection officer of %(org)s.",
        name="Marie Dubois",
        org="Médiathèque de Manosque",
    )
    assert recorded in flashes

    second = web.post(
        file_url(library, "/dpo"),
        prefixed("dpo", name="Paul Roux", email="paul.roux@manosque.example", since="2026-01-01"),
    )
    assert second.status_code == 302
    dpo = section(web.get(file_url(library)).get_data(as_text=True), "dpo")
    current, history = dpo.split(french("Former data protection officers"), 1)
    assert "Paul Roux" in current and "Marie Dubois" not in current
    assert (
        "Marie Dubois" in history
        and shown(date(2026, 1, 1)) in history
        and shown(date(2025, 5, 1)) in history
    )
    assert [(d.name, d.since, d.until) for d in rows_of(PartnerDpo)] == [
        ("Marie Dubois", date(2025, 5, 1), date(2026, 1, 1)),
        ("Paul Roux", date(2026, 1, 1), None),
    ]


def test_a_bad_dpo_form_is_shown_again_and_nothing_is_saved(cast: dict[str, Any], sign_in_as: Any) -> None:
    web = sign_in_as(cast["librarian"])
    response = web.post(
        file_url(cast["library"], "/dpo"),
        prefixed("dpo", name="", email="pas-une-adresse", phone="04 92 70 11 11", since="demain"),
    )
    assert response.status_code == 422
    page = plain(response.get_data(as_text=True))
    assert french("Give the DPO's name.") in page
    assert french("Give a valid e-mail address.") in page
    assert french("Give a date, for example 31/05/2025.") in page
    assert 'value="04 92 70 11 11"' in page and 'value="pas-une-adresse"' in page  # nothing typed lost
    summary = re.escape(french("Record the data protection officer"))
    assert re.search(rf'<details class="action-form" open>\s*<summary>{summary}', page)
    assert rows_of(PartnerDpo) == []


# --- authorised staff ------------------------------------------------------------------------------


def test_a_grant_then_its_revocation_through_the_forms(cast: dict[str, Any], sign_in_as: Any) -> None:
    web = sign_in_as(cast["librarian"])
    library = cast["library"]
    granted = web.post(
        file_url(library, "/staff"),
        prefixed(
            "grant",
            name="Alice Martin",
            email="alice@manosque.example",
            function="Bibliothécaire",
            scope=["registrations", "statistics"],
            granted_on="2025-01-06",
        ),
    )
    assert granted.status_code == 302 and granted.headers["Location"].endswith("#staff")
    (grant,) = rows_of(StaffGrant)
    assert grant.scope == "registrations,statistics"
    assert grant.granted_by == cast["librarian"].email

    today = staff_table(web.get(file_url(library)).get_data(as_text=True))
    assert "Alice Martin" in today and "alice@manosque.example" in today and "Bibliothécaire" in today
    assert f"{french('Registrations')}, {french('Statistics')}" in today
    assert cast["librarian"].email in today  # granted by

    def listed(day: str) -> bool:
        response = web.get(file_url(library, f"?on={day}"))
        assert response.status_code == 200
        return "Alice Martin" in staff_table(response.get_data(as_text=True))

    assert not listed("2025-01-05") and listed("2025-01-06")

    revoked = web.post(
        file_url(library, f"/staff/{grant.id}/revoke"),
        prefixed(f"revoke-{grant.id}", revoked_on="2025-06-01", reason="Mutation à Digne"),
    )
    assert revoked.status_code == 302
    assert listed("2025-05-31") and not listed("2025-06-01")  # a revocation takes effect on its day
    before = staff_table(web.get(file_url(library, "?on=2025-05-31")).get_data(as_text=True))
    assert "Mutation à Digne" in before  # revoked on, by and why
    assert french("on %(day)s by %(who)s", day=shown(date(2025, 6, 1)), who=cast["librarian"].email) in before
    assert "Alice Martin" not in staff_table(web.get(file_url(library)).get_data(as_text=True))
    (grant,) = rows_of(StaffGrant)  # kept, with its end
    assert (grant.revoked_on, grant.revoked_by, grant.revocation_reason) == (
        date(2025, 6, 1),
        cast["librarian"].email,
        "Mutation à Digne",
    )


def test_bad_grants_are_refused_and_nothing_is_saved(cast: dict[str, Any], sign_in_as: Any) -> None:
    web = sign_in_as(cast["librarian"])
    url = file_url(cast["library"], "/staff")
    tomorrow = (services.today() + timedelta(days=1)).isoformat()
    cases = [
        (
            {"name": "Alice Martin", "scope": ["registrations"], "granted_on": tomorrow},
            french("An authorisation is recorded once granted, not in advance."),
        ),
        (
            {"name": "", "scope": ["registrations"], "granted_on": "2025-01-06"},
            french("Give the person's name."),
        ),
        ({"name": "Alice Martin", "granted_on": "2025-01-06"}, french("Tick at least one.")),
        ({"name": "Alice Martin", "scope": ["everything"], "granted_on": "2025-01-06"}, "everything"),
        (
            {"name": "Alice Martin", "scope": ["registrations"], "granted_on": ""},
            french("Give the day the authorisation starts."),
        ),
        (
            {
                "name": "Alice Martin",
                "email": "alice@",
                "scope": ["registrations"],
                "granted_on": "2025-01-06",
            },
            french("Give a valid e-mail address."),
        ),
    ]
    for fields, message in cases:
        response = web.post(url, prefixed("grant", function="Bibliothécaire", **fields))
        page = plain(response.get_data(as_text=True))
        assert response.status_code == 422, fields
        assert message in page, (fields, message)
        assert 'value="Bibliothécaire"' in page  # what was typed is still there
    assert rows_of(StaffGrant) == []


def test_bad_revocations_change_nothing(cast: dict[str, Any], sign_in_as: Any) -> None:
    grant = services.grant_staff(
        cast["librarian"], cast["library"], GrantData("Alice Martin", date(2025, 1, 6))
    )
    db.session.commit()
    web = sign_in_as(cast["librarian"])
    url = file_url(cast["library"], f"/staff/{grant.id}/revoke")
    before = web.post(url, prefixed(f"revoke-{grant.id}", revoked_on="2025-01-01", reason="Départ"))
    assert before.status_code == 422
    assert french("An authorisation cannot end before it was granted.") in plain(
        before.get_data(as_text=True)
    )
    no_reason = web.post(url, prefixed(f"revoke-{grant.id}", revoked_on="2025-02-01", reason=" "))
    assert no_reason.status_code == 422
    assert french("Say why the authorisation ends.") in plain(no_reason.get_data(as_text=True))
    no_day = web.post(url, prefixed(f"revoke-{grant.id}", revoked_on="", reason="Départ"))
    assert no_day.status_code == 422
    (kept,) = rows_of(StaffGrant)
    assert kept.revoked_on is None and kept.revocation_reason is None

    assert (
        web.post(url, prefixed(f"revoke-{grant.id}", revoked_on="2025-02-01", reason="Départ")).status_code
        == 302
    )
    twice = web.post(url, prefixed(f"revoke-{grant.id}", revoked_on="2025-03-01", reason="Encore"))
    assert twice.status_code == 409
    assert french("This authorisation is revoked already.") in plain(twice.get_data(as_text=True))
    (kept,) = rows_of(StaffGrant)
    assert kept.revoked_on == date(2025, 2, 1) and kept.revocation_reason == "Départ"


def test_an_invalid_day_gives_a_message_not_a_list(cast: dict[str, Any], sign_in_as: Any) -> None:
    services.grant_staff(cast["librarian"], cast["library"], GrantData("Alice Martin", date(2025, 1, 6)))
    db.session.commit()
    web = sign_in_as(cast["dpo"])
    for raw in ("31/05/2025", "2025-02-30", "<b>hier</b>"):
        response = web.get(file_url(cast["library"]), query_string={"on": raw})
        assert response.status_code == 400, raw
        page = response.get_data(as_text=True)
        assert '<table class="staff">' not in page
        assert french("“%(value)s” is not a date: give it as YYYY-MM-DD.", value=raw) in plain(page)
        assert "<b>hier</b>" not in page  # escaped
    assert "Alice Martin" in staff_table(web.get(file_url(cast["library"])).get_data(as_text=True))


def test_the_default_day_is_today_in_paris(
    cast: dict[str, Any], sign_in_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Just after midnight in Paris (22:30 UTC, summer time since that night), the default list is the
    Paris day's: a person authorised from that day is listed, one whose authorisation ends that day is not."""
    monkeypatch.setattr(services, "utcnow", lambda: datetime(2025, 3, 30, 22, 30, tzinfo=UTC))
    assert services.today() == date(2025, 3, 31)
    library = cast["library"]
    services.grant_staff(cast["librarian"], library, GrantData("Nouvelle Recrue", date(2025, 3, 31)))
    leaving = services.grant_staff(cast["librarian"], library, GrantData("Agent Sortant", date(2025, 1, 6)))
    services.revoke_staff(cast["librarian"], leaving, date(2025, 3, 31), "Départ")
    db.session.commit()
    page = sign_in_as(cast["dpo"]).get(file_url(library)).get_data(as_text=True)
    listed = staff_table(page)
    assert "Nouvelle Recrue" in listed and "Agent Sortant" not in listed
    assert 'name="on" value="2025-03-31"' in page


# --- sub-processors --------------------------------------------------------------------------------


def test_a_sub_processor_added_with_warnings_edited_then_ended(cast: dict[str, Any], sign_in_as: Any) -> None:
    web = sign_in_as(cast["librarian"])
    library = cast["library"]
    added = web.post(
        file_url(library, "/sub-processors"),
        prefixed(
            "sub",
            company="CloudCorp",
            service="Sauvegardes",
            data_concerned="Fichier des lecteurs",
            data_outside_eu="y",
            location="États-Unis",
        ),
    )
    assert added.status_code == 302 and added.headers["Location"].endswith("#sub-processors")
    (sub,) = rows_of(SubProcessor)
    assert sub.warnings == ["clauses_missing", "outside_eu"]
    subs = section(web.get(file_url(library)).get_data(as_text=True), "sub-processors")
    assert "CloudCorp" in subs and "Fichier des lecteurs" in subs and "États-Unis" in subs
    assert str(WARNING_LABELS["clauses_missing"]) in subs and str(WARNING_LABELS["outside_eu"]) in subs

    edit_url = file_url(library, f"/sub-processors/{sub.id}/edit")
    form = web.get(edit_url)
    assert form.status_code == 200 and 'value="CloudCorp"' in form.get_data(as_text=True)
    edited = web.post(
        edit_url,
        {
            "company": "CloudCorp Europe",
            "service": "Sauvegardes",
            "clauses_in_place": "y",
            "clauses_signed_on": "2025-03-01",
            "location": "Irlande",
        },
    )
    assert edited.status_code == 302
    (sub,) = rows_of(SubProcessor)
    assert (sub.company, sub.clauses_signed_on, sub.data_outside_eu, sub.data_concerned) == (
        "CloudCorp Europe",
        date(2025, 3, 1),
        False,
        None,
    )
    subs = section(web.get(file_url(library)).get_data(as_text=True), "sub-processors")
    assert "Irlande" in subs and str(WARNING_LABELS["outside_eu"]) not in subs
    assert f'class="warnings"><span class="muted">{french("none")}' in subs

    ended = web.post(
        file_url(library, f"/sub-processors/{sub.id}/end"),
        prefixed(f"end-{sub.id}", ended_on=services.today().isoformat()),
    )
    assert ended.status_code == 302
    (sub,) = rows_of(SubProcessor)
    assert sub.ended_on == services.today()
    page = web.get(file_url(library)).get_data(as_text=True)
    current = re.search(r'<table class="sub-processors">.*?</table>', page, re.S)
    assert current and "CloudCorp" not in current.group(0)
    assert french("Former sub-processors") in page and "CloudCorp Europe" in page
    # An ended sub-processor is not changed any more.
    late = web.post(edit_url, {"company": "Autre", "service": "Autre"})
    assert late.status_code == 302
    assert rows_of(SubProcessor)[0].company == "CloudCorp Europe"
    again = web.post(
        file_url(library, f"/sub-processors/{sub.id}/end"), prefixed(f"end-{sub.id}", ended_on="2025-01-01")
    )
    assert again.status_code == 409 and rows_of(SubProcessor)[0].ended_on == services.today()


def test_bad_sub_processor_input_is_refused_and_nothing_is_saved(
    cast: dict[str, Any], sign_in_as: Any
) -> None:
    web = sign_in_as(cast["librarian"])
    library = cast["library"]
    no_date = web.post(
        file_url(library, "/sub-processors"),
        prefixed("sub", company="Hébergeur SAS", service="Hébergement", clauses_in_place="y"),
    )
    assert no_date.status_code == 422
    page = plain(no_date.get_data(as_text=True))
    assert french("Give the date the clauses were signed.") in page and 'value="Hébergeur SAS"' in page
    no_company = web.post(file_url(library, "/sub-processors"), prefixed("sub", company=" ", service="X"))
    assert no_company.status_code == 422
    assert french("Give the company's name.") in plain(no_company.get_data(as_text=True))
    assert rows_of(SubProcessor) == []

    sub = services.add_sub_processor(
        cast["librarian"], library, SubProcessorData("Hébergeur SAS", "Hébergement")
    )
    db.session.commit()
    edit_url = file_url(library, f"/sub-processors/{sub.id}/edit")
    bad_edit = web.post(edit_url, {"company": "Hébergeur SAS", "service": "", "location": "Lyon"})
    assert bad_edit.status_code == 422
    page = plain(bad_edit.get_data(as_text=True))
    assert french("Say what service it provides.") in page and 'value="Lyon"' in page
    service_rule = web.post(
        edit_url, {"company": "Hébergeur SAS", "service": "Hébergement", "clauses_in_place": "y"}
    )
    assert service_rule.status_code == 422
    assert french("Give the date the clauses were signed.") in plain(service_rule.get_data(as_text=True))
    future = (services.today() + timedelta(days=2)).isoformat()
    end = web.post(
        file_url(library, f"/sub-processors/{sub.id}/end"), prefixed(f"end-{sub.id}", ended_on=future)
    )
    assert end.status_code == 422
    assert french("The date is in the future.") in plain(end.get_data(as_text=True))
    (kept,) = rows_of(SubProcessor)
    assert (kept.service, kept.location, kept.clauses_in_place, kept.ended_on) == (
        "Hébergement",
        None,
        False,
        None,
    )


# --- who reaches what ------------------------------------------------------------------------------


def test_a_partner_keeps_to_its_own_file(cast: dict[str, Any], sign_in_as: Any) -> None:
    library, own = cast["library"], cast["neighbour_org"]
    grant = services.grant_staff(cast["librarian"], library, GrantData("Alice Martin", date(2025, 1, 6)))
    sub = services.add_sub_processor(
        cast["librarian"], library, SubProcessorData("Hébergeur SAS", "Hébergement")
    )
    services.set_dpo(cast["librarian"], library, "Marie Dubois", "dpo@manosque.example")
    db.session.commit()
    web = sign_in_as(cast["neighbour"])

    index = web.get("/processor/")
    assert index.status_code == 302 and index.headers["Location"].endswith(f"/processor/{own.id}")
    mine = web.get(file_url(own)).get_data(as_text=True)
    assert "Alice Martin" not in mine and "Marie Dubois" not in mine and "Hébergeur SAS" not in mine
    assert french("Processor files") not in mine  # no way to the index

    # The other partner's file: refused by its organisation id.
    assert web.get(file_url(library)).status_code == 403
    assert (
        web.post(file_url(library, "/dpo"), prefixed("dpo", name="X", email="x@example.fr")).status_code
        == 403
    )
    assert (
        web.post(
            file_url(library, "/staff"),
            prefixed("grant", name="X", scope=["registrations"], granted_on="2025-01-06"),
        ).status_code
        == 403
    )
    assert (
        web.post(file_url(library, "/sub-processors"), prefixed("sub", company="X", service="Y")).status_code
        == 403
    )
    # Its own organisation id with the other partner's records: as absent as missing ones.
    revoke = prefixed(f"revoke-{grant.id}", revoked_on="2025-02-01", reason="x")
    assert web.post(file_url(own, f"/staff/{grant.id}/revoke"), revoke).status_code == 404
    assert web.post(file_url(library, f"/staff/{grant.id}/revoke"), revoke).status_code == 403
    assert web.get(file_url(own, f"/sub-processors/{sub.id}/edit")).status_code == 404
    assert (
        web.post(
            file_url(own, f"/sub-processors/{sub.id}/edit"), {"company": "X", "service": "Y"}
        ).status_code
        == 404
    )
    end = prefixed(f"end-{sub.id}", ended_on="2025-02-01")
    assert web.post(file_url(own, f"/sub-processors/{sub.id}/end"), end).status_code == 404

    assert [(g.name, g.revoked_on) for g in rows_of(StaffGrant)] == [("Alice Martin", None)]
    assert [(s.company, s.service, s.ended_on) for s in rows_of(SubProcessor)] == [
        ("Hébergeur SAS", "Hébergement", None)
    ]
    assert [(d.name, d.organisation_id) for d in rows_of(PartnerDpo)] == [("Marie Dubois", library.id)]


def test_the_dpo_cannot_mix_a_record_with_another_partners_url(cast: dict[str, Any], sign_in_as: Any) -> None:
    library, other = cast["library"], cast["neighbour_org"]
    grant = services.grant_staff(cast["librarian"], library, GrantData("Alice Martin", date(2025, 1, 6)))
    sub = services.add_sub_processor(
        cast["librarian"], library, SubProcessorData("Hébergeur SAS", "Hébergement")
    )
    db.session.commit()
    web = sign_in_as(cast["dpo"])
    revoke = prefixed(f"revoke-{grant.id}", revoked_on="2025-02-01", reason="x")
    assert web.post(file_url(other, f"/staff/{grant.id}/revoke"), revoke).status_code == 404
    assert web.get(file_url(other, f"/sub-processors/{sub.id}/edit")).status_code == 404
    assert rows_of(StaffGrant)[0].revoked_on is None
    # The DPO writes every partner's file, in the right URL.
    assert web.post(file_url(library, f"/staff/{grant.id}/revoke"), revoke).status_code == 302
    assert rows_of(StaffGrant)[0].revoked_by == cast["dpo"].email
    # Only partners have a file.
    controller = cast["dpo"].organisation
    assert web.get(file_url(controller)).status_code == 404
    assert (
        web.post(file_url(controller, "/dpo"), prefixed("dpo", name="X", email="x@example.fr")).status_code
        == 404
    )


def test_the_auditor_reads_every_file_without_a_form(
    cast: dict[str, Any], sign_in_as: Any, factory: Any
) -> None:
    library = cast["library"]
    grant = services.grant_staff(
        cast["librarian"],
        library,
        GrantData("Alice Martin", date(2025, 1, 6), email="alice@manosque.example"),
    )
    services.set_dpo(
        cast["librarian"], library, "Marie Dubois", "dpo@manosque.example", phone="04 92 70 00 00"
    )
    add_person(
        library,
        "Camille Durand",
        email="camille@manosque.example",
        function="Directrice",
        is_digital_referent=True,
    )
    add_person(library, "Jean Autre", function="Agent d'accueil")
    db.session.commit()
    web = sign_in_as(cast["auditor"])
    page = web.get(file_url(library)).get_data(as_text=True)
    assert "Alice Martin" in page and "Marie Dubois" in page and "04 92 70 00 00" in page
    referents = section(page, "referents")
    assert (
        "Camille Durand" in referents
        and "Directrice" in referents
        and "camille@manosque.example" in referents
    )
    assert "Jean Autre" not in referents
    assert '<form method="post"' not in page.split('<main id="main">')[1]
    assert web.get("/processor/").status_code == 200
    assert web.post(file_url(library, f"/staff/{grant.id}/revoke"), {}).status_code == 403
    for role in ("admin", "committee", "legal"):
        assert sign_in_as(factory.user(role)).get(file_url(library)).status_code == 403


def test_names_are_escaped(cast: dict[str, Any], sign_in_as: Any) -> None:
    web = sign_in_as(cast["librarian"])
    response = web.post(
        file_url(cast["library"], "/staff"),
        prefixed("grant", name="<script>alert(1)</script>", scope=["registrations"], granted_on="2025-01-06"),
    )
    assert response.status_code == 302
    page = web.get(file_url(cast["library"])).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_every_scope_has_a_label() -> None:
    assert set(SCOPE_LABELS) == set(services.SCOPES)


# --- the index -------------------------------------------------------------------------------------


def _fill(partner: Any, actor: Any, n: int) -> None:
    """A DPO (replaced once: one former), three grants (one revoked), two sub-processors (one warned)."""
    services.set_dpo(actor, partner, f"Ancien DPO {n}", f"ancien{n}@example.fr", since=date(2024, 1, 1))
    services.set_dpo(actor, partner, f"DPO {n}", f"dpo{n}@example.fr", since=date(2025, 1, 1))
    for name in ("A", "B", "C"):
        services.grant_staff(actor, partner, GrantData(f"{name} {n}", date(2025, 1, 6)))
    revoked = services.grant_staff(actor, partner, GrantData(f"Parti {n}", date(2025, 1, 6)))
    services.revoke_staff(actor, revoked, date(2025, 2, 1), "Départ")
    services.add_sub_processor(actor, partner, SubProcessorData(f"Hébergeur {n}", "Hébergement"))
    services.add_sub_processor(
        actor,
        partner,
        SubProcessorData(
            f"Sauvegarde {n}", "Sauvegardes", clauses_in_place=True, clauses_signed_on=date(2025, 1, 1)
        ),
    )
    ended = services.add_sub_processor(actor, partner, SubProcessorData(f"Ancien {n}", "Ancien"))
    services.end_sub_processor(actor, ended, date(2025, 3, 1))


def test_the_index_shows_each_file_in_a_fixed_number_of_queries(
    app: Flask, cast: dict[str, Any], factory: Any, sign_in_as: Any
) -> None:
    dpo = cast["dpo"]
    _fill(cast["library"], dpo, 0)
    db.session.commit()
    web = sign_in_as(dpo)

    def measure() -> tuple[int, str]:
        web.get("/processor/")  # warm up
        with count_queries() as statements:
            response = web.get("/processor/")
        assert response.status_code == 200
        return len(statements), response.get_data(as_text=True)

    few, page = measure()
    row = index_row(page, cast["library"].id)
    assert "DPO 0" in row and "Ancien DPO 0" not in row
    assert (cell(row, "staff-count"), cell(row, "sub-count"), cell(row, "warning-count")) == ("3", "2", "1")
    empty = index_row(page, cast["neighbour_org"].id)
    assert (
        french("missing") in empty
        and cell(empty, "staff-count") == "0"
        and cell(empty, "warning-count") == "0"
    )

    partners = [factory.org("partner") for _ in range(12)]
    for n, partner in enumerate(partners, start=1):
        _fill(partner, dpo, n)
    db.session.commit()
    many, page = measure()
    assert many == few and few <= 8, (few, many)  # the user, the partners, then one query a column
    with current_app.test_request_context(), force_locale("fr"):
        assert ngettext("%(num)d partner.", "%(num)d partners.", 14) in page
    row = index_row(page, partners[-1].id)
    assert "DPO 12" in row and cell(row, "staff-count") == "3" and cell(row, "warning-count") == "1"
    assert cast["dpo"].organisation.name not in re.sub(r"<header.*?</header>", "", page, flags=re.S)
