"""Staff-list pages: the life of a request and of a certified list through the forms (the DPO asks, the
partner certifies, the DPO reads), a withdrawal, bad input (422, nothing lost), a list changed behind the
application's back shown as TAMPERED, the PDF and CSV downloads, the changes between two lists, and each
partner kept to its own lists."""

from __future__ import annotations

import csv
import html
import io
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale
from pypdf import PdfReader

from compliance.processor import services as processor
from compliance.processor.services import GrantData
from compliance.staff_lists import integrity, review, services
from compliance.staff_lists.models import StaffListRequest, StaffListSnapshot, StaffRequestStatus
from tests.conftest import french
from vigie.crypto import keyring
from vigie.database import utcnow
from vigie.deadlines.calendar import paris_date
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.extensions import db
from vigie.mail.models import OutboxMessage


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def pdf_text(data: bytes) -> str:
    """The PDF's text, whitespace normalised (wkhtmltopdf places words apart: pypdf reads tabs)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


@pytest.fixture
def world(factory: Any) -> dict[str, Any]:
    controller = factory.org("controller", name="Département des Hautes-Alpes")
    library = factory.org("partner", name="Médiathèque de Gap")
    other = factory.org("partner", name="Bibliothèque de Veynes")
    return {
        "library": library,
        "other": other,
        "dpo": factory.user("dpo", org=controller),
        "auditor": factory.user("auditor", org=controller),
        "librarian": factory.user("partner", org=library),
        "neighbour": factory.user("partner", org=other),
    }


def grant(world: dict[str, Any], name: str, granted: date = date(2025, 1, 6), **kw: Any) -> Any:
    made = processor.grant_staff(
        world["librarian"], world["library"], GrantData(name=name, granted_on=granted, **kw)
    )
    db.session.commit()
    return made


def certify(world: dict[str, Any], who: str = "librarian", org: str = "library") -> StaffListSnapshot:
    snapshot = services.certify_staff_list(world[who], world[org], confirmed=True)
    db.session.commit()
    return snapshot


def requests_of(world: dict[str, Any]) -> list[StaffListRequest]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(StaffListRequest).order_by(StaffListRequest.id)))


# --- the life of a request and its answer -------------------------------------------------------------


def test_the_dpo_asks_and_the_partner_certifies_through_the_forms(
    app: Flask, world: dict[str, Any], sign_in_as: Any
) -> None:
    grant(world, "Alice Martin", email="alice@gap.example", function="Directrice", scope=["administration"])
    grant(world, "Bruno Durand", function="Agent d'accueil")
    org_id = world["library"].id
    dpo = sign_in_as(world["dpo"])

    # The form comes with the default date: three working days after today.
    page = dpo.get(f"/staff-lists/partners/{org_id}/ask")
    assert page.status_code == 200
    default = services.default_due_date(utcnow())
    assert f'value="{default.isoformat()}"' in text(page)

    # Bad input: 422, nothing saved, what was typed kept.
    for bad, message in (
        ("", "Give the date the list is due by."),
        ("2026-02-31", "Give a date, for example 31/05/2025."),
        (
            (paris_date(utcnow()) - timedelta(days=1)).isoformat(),
            "The list cannot be due before it is asked for.",
        ),
    ):
        refused = dpo.post(f"/staff-lists/partners/{org_id}/ask", {"due_date": bad, "note": "Pour le comité"})
        assert refused.status_code == 422, bad
        assert french(message) in text(refused) and "Pour le comité" in text(refused)
    assert requests_of(world) == []

    due = paris_date(utcnow()) + timedelta(days=10)
    asked = dpo.post(
        f"/staff-lists/partners/{org_id}/ask", {"due_date": due.isoformat(), "note": "Pour le comité"}
    )
    assert asked.status_code == 302 and asked.headers["Location"].endswith(f"/staff-lists/partners/{org_id}")
    (staff_request,) = requests_of(world)
    assert (staff_request.due_date, staff_request.status) == (due, StaffRequestStatus.PENDING)
    deadline = db.session.scalar(sa.select(Deadline).where(Deadline.kind == services.REQUEST_KIND))
    assert deadline is not None and deadline.due_date == due and deadline.organisation_id == org_id
    assert [m.recipient for m in db.session.scalars(sa.select(OutboxMessage))] == [world["librarian"].email]
    # Asking again while the list is awaited: a conflict, said on the page.
    again = dpo.post(f"/staff-lists/partners/{org_id}/ask", {"due_date": due.isoformat()})
    assert again.status_code == 409 and len(requests_of(world)) == 1
    assert "Médiathèque de Gap" in text(again)

    # The partner sees the request and today's list.
    partner = sign_in_as(world["librarian"])
    home = partner.get("/staff-lists/")
    assert home.status_code == 200 and "/staff-lists/certify" in text(home)
    assert f'datetime="{due.isoformat()}"' in text(home) and "Pour le comité" in text(home)
    form = partner.get("/staff-lists/certify")
    assert form.status_code == 200
    for expected in ("Alice Martin", "alice@gap.example", "Bruno Durand", "Pour le comité", due.isoformat()):
        assert expected in text(form)

    # Not ticked: refused, nothing frozen.
    unticked = partner.post("/staff-lists/certify", {})
    assert unticked.status_code == 422 and french("Tick the box to certify the list.") in text(unticked)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffListSnapshot)) == 0

    certified = partner.post("/staff-lists/certify", {"confirm": "y"})
    assert certified.status_code == 302
    snapshot = db.session.scalar(sa.select(StaffListSnapshot))
    assert snapshot is not None and certified.headers["Location"].endswith(
        f"/staff-lists/snapshots/{snapshot.id}"
    )
    shown = partner.get(certified.headers["Location"])
    assert shown.status_code == 200
    assert snapshot.content_hash in text(shown) and snapshot.signature in text(shown)
    assert f'status-met_on_time">{french("valid")}</span>' in text(shown) and "Alice Martin" in text(shown)

    (staff_request,) = requests_of(world)
    assert staff_request.status == StaffRequestStatus.FULFILLED
    db.session.refresh(deadline)
    assert deadline.state == DeadlineState.MET
    assert review.next_review(org_id) is not None

    # The DPO reads it in the partner's history and in the overview.
    history = dpo.get(f"/staff-lists/partners/{org_id}")
    assert history.status_code == 200
    assert f"/staff-lists/snapshots/{snapshot.id}" in text(history) and french("certified on time") in text(
        history
    )
    overview = dpo.get("/staff-lists/")
    assert overview.status_code == 200 and "Médiathèque de Gap" in text(overview)
    assert "Bibliothèque de Veynes" in text(overview)


def test_the_dpo_withdraws_a_request(app: Flask, world: dict[str, Any], sign_in_as: Any) -> None:
    staff_request = services.request_staff_list(world["dpo"], world["library"])
    db.session.commit()
    dpo = sign_in_as(world["dpo"])
    url = f"/staff-lists/requests/{staff_request.id}/cancel"
    assert sign_in_as(world["librarian"]).post(url, {"reason": "Non"}).status_code == 403
    empty = dpo.post(url, {"reason": " "})
    assert empty.status_code == 422
    assert requests_of(world)[0].status == StaffRequestStatus.PENDING
    done = dpo.post(url, {"reason": "Demandée par erreur"})
    assert done.status_code == 302
    (withdrawn,) = requests_of(world)
    assert (
        withdrawn.status == StaffRequestStatus.CANCELLED and withdrawn.cancel_reason == "Demandée par erreur"
    )
    deadline = db.session.scalar(sa.select(Deadline).where(Deadline.kind == services.REQUEST_KIND))
    assert deadline is not None and deadline.state == DeadlineState.CANCELLED
    assert dpo.post(url, {"reason": "Encore"}).status_code == 409
    assert "Demandée par erreur" in text(dpo.get(f"/staff-lists/partners/{world['library'].id}"))


def test_the_posts_need_the_csrf_token(world: dict[str, Any], sign_in_as: Any) -> None:
    partner = sign_in_as(world["librarian"])
    assert partner.client.post("/staff-lists/certify", data={"confirm": "y"}).status_code == 400
    dpo = sign_in_as(world["dpo"])
    due = (paris_date(utcnow()) + timedelta(days=5)).isoformat()
    assert (
        dpo.client.post(
            f"/staff-lists/partners/{world['library'].id}/ask", data={"due_date": due}
        ).status_code
        == 400
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffListSnapshot)) == 0
    assert requests_of(world) == []


# --- the seal on the pages and in the files -----------------------------------------------------------


def test_a_list_changed_after_certification_shows_as_tampered(
    app: Flask, world: dict[str, Any], sign_in_as: Any
) -> None:
    grant(world, "Alice Martin", function="Agent d'accueil")
    snapshot = certify(world)
    rows = services.snapshot_rows(snapshot)
    rows[0]["function"] = "Directrice"
    db.session.execute(
        sa.text("UPDATE staff_list_snapshot SET staff_rows = :rows WHERE id = :id"),
        {"rows": keyring().encrypt(integrity.canonical_json(rows)), "id": snapshot.id},
    )
    db.session.commit()
    dpo = sign_in_as(world["dpo"])
    page = text(dpo.get(f"/staff-lists/snapshots/{snapshot.id}"))
    assert french("TAMPERED") in page and "Directrice" in page
    assert french("The list no longer matches its hash: it was changed after certification.") in page
    assert french("TAMPERED") in text(dpo.get(f"/staff-lists/partners/{world['library'].id}"))
    assert french("TAMPERED") in pdf_text(dpo.get(f"/staff-lists/snapshots/{snapshot.id}/list.pdf").data)
    lines = list(
        csv.reader(
            io.StringIO(dpo.get(f"/staff-lists/snapshots/{snapshot.id}/list.csv").data.decode("utf-8-sig")),
            delimiter=";",
        )
    )
    assert [french("Seal"), french("TAMPERED")] in lines

    # The hash changed as well: the signature gives it away.
    new_hash = integrity.content_hash(
        integrity.document(
            snapshot.organisation_id,
            snapshot.organisation_name,
            snapshot.request_id,
            snapshot.certified_at,
            snapshot.certified_by_id,
            snapshot.certified_by_name,
            rows,
        )
    )
    db.session.execute(
        sa.text("UPDATE staff_list_snapshot SET content_hash = :hash WHERE id = :id"),
        {"hash": new_hash, "id": snapshot.id},
    )
    db.session.commit()
    page = text(dpo.get(f"/staff-lists/snapshots/{snapshot.id}"))
    assert new_hash in page and french("TAMPERED") in page
    assert (
        french(
            "The hash is not the one Vigie signed: the list and its hash were changed after certification.",
        )
        in page
    )


def test_the_pdf_carries_the_hash_who_and_when(app: Flask, world: dict[str, Any], sign_in_as: Any) -> None:
    grant(world, "Alice Martin", email="alice@gap.example", function="Directrice")
    snapshot = certify(world)
    response = sign_in_as(world["auditor"]).get(f"/staff-lists/snapshots/{snapshot.id}/list.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    content = pdf_text(response.data)
    for expected in (
        snapshot.content_hash,
        snapshot.signature,
        world["librarian"].name,
        "Médiathèque de Gap",
        "Alice Martin",
        "alice@gap.example",
        "Directrice",
        french("valid"),
    ):
        assert expected in content, expected
    with app.test_request_context(), force_locale("fr"):
        from vigie.web import paris

        assert paris(snapshot.certified_at, "full") in content


def test_the_csv_holds_the_facts_then_the_people(app: Flask, world: dict[str, Any], sign_in_as: Any) -> None:
    alice = grant(
        world,
        "Alice Martin",
        email="alice@gap.example",
        function='=HYPERLINK("http://x")',
        scope=["statistics"],
    )
    grant(world, "Bruno Durand", date(2025, 3, 3))
    snapshot = certify(world)
    response = sign_in_as(world["dpo"]).get(f"/staff-lists/snapshots/{snapshot.id}/list.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment")
    raw = response.data.decode("utf-8")
    assert raw.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(raw.lstrip("\ufeff")), delimiter=";"))
    facts = {line[0]: line[1] for line in lines[:7]}
    assert facts[french("Certified list of authorised staff")] == "Médiathèque de Gap"
    assert facts[french("Certified by")] == world["librarian"].name
    assert facts[french("SHA-256")] == snapshot.content_hash
    assert facts[french("Signature (HMAC-SHA256)")] == snapshot.signature
    assert facts[french("People")] == "2" and facts[french("Seal")] == french("valid")
    assert lines[7] == []
    assert lines[8][0] == french("Name")
    assert lines[9] == [
        "Alice Martin",
        "alice@gap.example",
        '\'=HYPERLINK("http://x")',  # a formula, defused
        french("Statistics"),
        "2025-01-06",
        alice.granted_by,
    ]
    assert lines[10][0] == "Bruno Durand" and lines[10][4] == "2025-03-03"


# --- what changed between two lists -------------------------------------------------------------------


def test_the_changes_between_two_lists(app: Flask, world: dict[str, Any], sign_in_as: Any) -> None:
    org_id = world["library"].id
    dpo = sign_in_as(world["dpo"])
    assert french("No list certified yet.") in text(dpo.get(f"/staff-lists/partners/{org_id}/changes"))

    alice = grant(world, "Alice Martin", email="alice@gap.example", function="Agent d'accueil")
    bruno = grant(world, "Bruno Durand", function="Bibliothécaire")
    first = certify(world)
    only_one = text(dpo.get(f"/staff-lists/partners/{org_id}/changes"))
    assert "Alice Martin" in only_one and "Bruno Durand" in only_one  # the first list: all new

    processor.revoke_staff(world["librarian"], bruno, date(2025, 9, 1), "Départ")
    processor.revoke_staff(world["librarian"], alice, date(2025, 9, 1), "Promotion")
    grant(world, "Alice Martin", date(2025, 9, 1), email="alice@gap.example", function="Directrice")
    grant(world, "Chloé Petit", date(2025, 9, 1), function="Médiatrice")
    second = certify(world)

    for query in ("", f"?before={first.id}&after={second.id}", f"?before={second.id}&after={first.id}"):
        response = dpo.get(f"/staff-lists/partners/{org_id}/changes{query}")
        assert response.status_code == 200
        page = text(response)
        added = page.split('class="dashboard-block diff-added"')[1].split("</section>")[0]
        removed = page.split('class="dashboard-block diff-removed"')[1].split("</section>")[0]
        changed = page.split('class="dashboard-block diff-changed"')[1].split("</section>")[0]
        assert "Chloé Petit" in added and "Alice Martin" not in added
        assert "Bruno Durand" in removed
        assert "Alice Martin" in changed and "Agent d'accueil" in changed and "Directrice" in changed
    snapshot_page = text(dpo.get(f"/staff-lists/snapshots/{second.id}"))
    assert f"before={first.id}" in snapshot_page and f"after={second.id}" in snapshot_page

    assert dpo.get(f"/staff-lists/partners/{org_id}/changes?before=abc").status_code == 400
    theirs = certify(world, "neighbour", "other")
    assert dpo.get(f"/staff-lists/partners/{org_id}/changes?before={theirs.id}").status_code == 404
    assert dpo.get(f"/staff-lists/partners/{org_id}/changes?after=999999").status_code == 404


# --- who sees what ------------------------------------------------------------------------------------


def test_each_partner_sees_only_its_own_lists(
    app: Flask, world: dict[str, Any], sign_in_as: Any, factory: Any
) -> None:
    grant(world, "Alice Martin")
    own = certify(world)
    theirs = certify(world, "neighbour", "other")
    org_id = world["library"].id
    neighbour = sign_in_as(world["neighbour"])
    for suffix in ("", "/list.pdf", "/list.csv"):
        assert neighbour.get(f"/staff-lists/snapshots/{own.id}{suffix}").status_code == 404
        assert neighbour.get(f"/staff-lists/snapshots/{theirs.id}{suffix}").status_code == 200
    assert neighbour.get(f"/staff-lists/partners/{org_id}").status_code == 403
    assert neighbour.get(f"/staff-lists/partners/{org_id}/changes").status_code == 403
    assert neighbour.get(f"/staff-lists/partners/{org_id}/ask").status_code == 403
    home = text(neighbour.get("/staff-lists/"))
    assert "Bibliothèque de Veynes" in home and "Médiathèque de Gap" not in home
    assert f'/staff-lists/snapshots/{own.id}"' not in home

    # The neighbour certifies its own list only: the page names no organisation.
    neighbour.post("/staff-lists/certify", {"confirm": "y"})
    assert {s.organisation_id for s in db.session.scalars(sa.select(StaffListSnapshot))} == {
        org_id,
        world["other"].id,
    }

    auditor = sign_in_as(world["auditor"])
    assert auditor.get(f"/staff-lists/snapshots/{own.id}").status_code == 200
    assert auditor.get(f"/staff-lists/partners/{org_id}").status_code == 200
    assert auditor.get(f"/staff-lists/partners/{org_id}/ask").status_code == 403
    assert auditor.get("/staff-lists/certify").status_code == 403
    assert sign_in_as(world["dpo"]).get("/staff-lists/certify").status_code == 403
    for role in ("admin", "committee", "legal"):
        outsider = sign_in_as(factory.user(role))
        assert outsider.get("/staff-lists/").status_code == 403
        assert outsider.get(f"/staff-lists/snapshots/{own.id}").status_code == 403


def test_a_non_partner_organisation_has_no_staff_list(
    world: dict[str, Any], sign_in_as: Any, factory: Any
) -> None:
    body = factory.org("other", name="Bibliothèque départementale")
    dpo = sign_in_as(world["dpo"])
    assert dpo.get(f"/staff-lists/partners/{body.id}").status_code == 404
    assert dpo.get(f"/staff-lists/partners/{body.id}/ask").status_code == 404
