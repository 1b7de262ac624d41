"""The governance contracts of the JSON API (DESIGN.md, "Contracts"), end to end: bodies and their members'
ids, meetings with offset-aware times, attendance with proxies and the quorum (the reference
deliberation's own figures), votes (votes cast, majority, casting vote, refusals), the decision register
numbered without gaps or duplicates (also when recorded at once, on PostgreSQL), the read endpoints and
their filters, and who may do what."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from governance.bodies import services
from governance.bodies.models import Body, Decision, Meeting
from vigie.extensions import db

# The reference deliberation (shared/reference, Délibération n°2025-37): 27 in office, 22 present,
# 5 proxies each to a distinct holder, 27 votes cast, 27 for.
PRESENT = [
    "Gilbert BOYER",
    "David GEHANT",
    "Michel DALMASSO",
    "Thomas CHERBAKOW",
    "Sylvie SAMBAIN",
    "Caroline MASPER",
    "Karima COEURET",
    "Sandrine LEBRE",
    "Aurélie ANNEQUIN",
    "Camille FELLER",
    "Danièle KLINGLER",
    "Geoffroy GONZALEZ",
    "Lisa MARCEL",
    "François PREVOST",
    "Didier DERUPTY",
    "Maryse BLANC",
    "Robert USSEGLIO",
    "Christian CHIAPELLA",
    "Christophe LOPEZ",
    "Patricia PAUL",
    "François BERGNA",
    "Philippe VUILQUE",
]
PROXIES = {  # represented member -> proxy holder
    "Emmanuel LUTHRINGER": "Michel DALMASSO",
    "Michel CHAPUIS": "Thomas CHERBAKOW",
    "Antoine DE RUFFRAY": "Danièle KLINGLER",
    "Nadine CURNIER": "Camille FELLER",
    "Stéphane DERRIVES": "Christian CHIAPELLA",
}
REFERENCE_MEMBERS = PRESENT + list(PROXIES)
REFERENCE_STARTS_AT = "2025-04-03T18:00:00+02:00"
REFERENCE_PLACE = "Hôtel de Ville de Forcalquier"
REFERENCE_SUBJECT = (
    "Convention de partenariat pour l'accès aux services numériques de la Bibliothèque Départementale"
)
MEMBER_SINCE = "2020-07-15"


@pytest.fixture
def world(factory: Any) -> dict[str, Any]:
    controller = factory.org("controller", name="Département des Alpes de Haute-Provence")
    a = factory.org("partner", name="Communauté de communes Pays de Forcalquier-Montagne de Lure")
    b = factory.org("partner", name="Commune de Manosque")
    d: dict[str, Any] = {"controller": controller, "a": a, "b": b}
    for role in ("committee", "legal", "auditor", "dpo", "admin"):
        d[role] = factory.user(role, org=controller)
    d["pa"] = factory.user("partner", org=a)
    d["pb"] = factory.user("partner", org=b)
    return d


@pytest.fixture
def api(app: Flask, factory: Any) -> Any:
    def client_for(user: Any) -> Any:
        token = factory.token(user)
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return client

    return client_for


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    return response.json


def refused(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    error: dict[str, Any] = response.json["error"]
    assert set(error) == {"code", "message", "fields"} and error["message"]
    return error


def create_body(
    client: Any, name: str, members: list[str], organisation_id: int | None = None, **rules: Any
) -> dict[str, Any]:
    payload = {
        "name": name,
        "members": [
            {"name": n, "organisation_id": organisation_id, "since": MEMBER_SINCE}
            | ({"role": "chair"} if n == "David GEHANT" else {})
            for n in members
        ],
        **rules,
    }
    body: dict[str, Any] = ok(client.post("/api/v1/bodies", json=payload), 201)
    return body


def member_ids(body: dict[str, Any]) -> dict[str, int]:
    return {m["name"]: m["id"] for m in body["members"]}


def create_meeting(client: Any, body_id: int, starts_at: str = REFERENCE_STARTS_AT, **extra: Any) -> Any:
    payload = {"body_id": body_id, "starts_at": starts_at, "place": REFERENCE_PLACE, **extra}
    return ok(client.post("/api/v1/meetings", json=payload), 201)


def reference_entries(ids: dict[str, int]) -> list[dict[str, Any]]:
    return [{"member_id": ids[n], "status": "present"} for n in PRESENT] + [
        {"member_id": ids[n], "status": "represented", "proxy_holder_id": ids[holder]}
        for n, holder in PROXIES.items()
    ]


def reference_meeting(client: Any, organisation_id: int | None = None) -> dict[str, Any]:
    """The reference deliberation as a meeting: body, attendance, the vote of 27 for, its decision."""
    body = create_body(client, "Conseil communautaire", REFERENCE_MEMBERS, organisation_id, code="CCPFML")
    ids = member_ids(body)
    meeting = create_meeting(client, body["id"], agenda=[REFERENCE_SUBJECT], title="Délibération n°2025-37")
    put = client.put(f"/api/v1/meetings/{meeting['id']}/attendance", json={"entries": reference_entries(ids)})
    ok(put)
    vote = ok(
        client.post(
            f"/api/v1/meetings/{meeting['id']}/votes",
            json={
                "subject": REFERENCE_SUBJECT,
                "for": 27,
                "against": 0,
                "abstentions": 0,
                "agenda_item_id": meeting["agenda"][0]["id"],
            },
        ),
        201,
    )
    decision = ok(
        client.post(
            f"/api/v1/meetings/{meeting['id']}/decisions",
            json={
                "text": "D'approuver les termes de la convention de partenariat ci annexée.",
                "vote_id": vote["id"],
            },
        ),
        201,
    )
    return {"body": body, "ids": ids, "meeting": meeting, "vote": vote, "decision": decision}


def small_body(client: Any, name: str = "Groupe de travail", size: int = 27, **rules: Any) -> dict[str, Any]:
    body = create_body(client, name, [f"Membre {i:02d}" for i in range(1, size + 1)], **rules)
    body["ids"] = [m["id"] for m in body["members"]]
    return body


def attend(client: Any, meeting_id: int, present: list[int], **statuses: Any) -> Any:
    entries = [{"member_id": m, "status": "present"} for m in present] + statuses.get("others", [])
    return client.put(f"/api/v1/meetings/{meeting_id}/attendance", json={"entries": entries})


def vote(client: Any, meeting_id: int, votes_for: int, against: int, abstentions: int, **extra: Any) -> Any:
    payload = {"subject": "Le budget", "for": votes_for, "against": against, "abstentions": abstentions}
    return client.post(f"/api/v1/meetings/{meeting_id}/votes", json=payload | extra)


# --- Bodies -------------------------------------------------------------------------------------------


def test_create_body_returns_each_member_id_and_the_default_rules(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    response = client.post(
        "/api/v1/bodies",
        json={
            "name": "Comité de pilotage",
            "members": [
                {"name": "Eliane BARREILLE", "organisation_id": world["controller"].id},
                {"name": "David GEHANT", "organisation_id": world["a"].id},
                {"name": "Sophie MARTIN", "organisation_id": world["b"].id},
            ],
        },
    )
    body = ok(response, 201)
    assert response.headers["Location"].endswith(f"/api/v1/bodies/{body['id']}")
    assert isinstance(body["id"], int)
    ids = [m["id"] for m in body["members"]]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 3
    assert [m["organisation_id"] for m in body["members"]] == [
        world["controller"].id,
        world["a"].id,
        world["b"].id,
    ]
    # The French code for local councils: majority present, one proxy each, absolute majority of cast.
    assert body["quorum_rule"] == "majority_present"
    assert body["majority_rule"] == "absolute_of_cast"
    assert body["max_proxies_per_holder"] == 1
    assert body["chair_casting_vote"] is False
    assert body["code"] == "CP"  # the register prefix, derived from the name

    listed = ok(client.get("/api/v1/bodies"))
    assert [b["id"] for b in listed] == [body["id"]]
    assert [m["id"] for m in listed[0]["members"]] == ids
    assert ok(client.get(f"/api/v1/bodies/{body['id']}")) == listed[0]
    refused(client.get("/api/v1/bodies/999999"), 404)


def test_create_body_with_its_own_rules(world: dict[str, Any], api: Any) -> None:
    body = ok(
        api(world["committee"]).post(
            "/api/v1/bodies",
            json={
                "name": "Ressources en ligne",
                "code": "gtrl",
                "missions": "Choisir les ressources\nOrganiser la journée professionnelle",
                "quorum_rule": "majority_present_or_represented",
                "majority_rule": "two_thirds_of_cast",
                "max_proxies_per_holder": 2,
                "chair_casting_vote": True,
                "yearly_duty": "professional_day",
                "members": [
                    {
                        "name": "Claire DUPONT",
                        "organisation_id": world["a"].id,
                        "email": "claire.dupont@example.fr",
                        "role": "pilot",
                        "statutory": True,
                        "since": "2025-01-01",
                    },
                    {"name": "Paul ROUX", "organisation_id": None, "role": "rapporteur"},
                ],
            },
        ),
        201,
    )
    assert body["code"] == "GTRL"
    assert body["quorum_rule"] == "majority_present_or_represented"
    assert body["majority_rule"] == "two_thirds_of_cast"
    assert (body["max_proxies_per_holder"], body["chair_casting_vote"]) == (2, True)
    pilot, rapporteur = body["members"]
    assert (pilot["role"], pilot["statutory"], pilot["since"], pilot["email"]) == (
        "pilot",
        True,
        "2025-01-01",
        "claire.dupont@example.fr",
    )
    assert rapporteur["role"] == "rapporteur" and rapporteur["until"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"members": []}, "name"),
        ({"name": "G", "members": [{"name": "A", "organisation_id": 1}], "colour": "blue"}, "colour"),
        ({"name": "G", "members": [{"organisation_id": 1}]}, "members.0.name"),
        ({"name": "G", "members": [{"name": "A", "role": "king"}]}, "members.0.role"),
        ({"name": "G", "members": [{"name": "A", "email": "not-an-address"}]}, "members.0.email"),
        ({"name": "G", "members": [], "quorum_rule": "whoever_comes"}, "quorum_rule"),
        ({"name": "G", "members": [], "max_proxies_per_holder": -1}, "max_proxies_per_holder"),
        ({"name": "G", "members": [], "code": "no spaces"}, "code"),
        ({"name": "G", "members": [{"name": "A", "organisation_id": 999999}]}, "members.0.organisation_id"),
    ],
)
def test_create_body_refuses_bad_input(
    world: dict[str, Any], api: Any, payload: dict[str, Any], field: str
) -> None:
    error = refused(api(world["committee"]).post("/api/v1/bodies", json=payload))
    assert field in error["fields"], error
    assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.table("body"))) == 0


def test_a_body_name_is_unique(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    create_body(client, "Comité de pilotage", ["A"])
    error = refused(client.post("/api/v1/bodies", json={"name": "Comité de pilotage", "members": []}), 409)
    assert "name" in error["fields"]


# --- Meetings -----------------------------------------------------------------------------------------


def test_a_meeting_time_carries_its_offset(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    body = small_body(client, size=3)
    response = client.post(
        "/api/v1/meetings",
        json={"body_id": body["id"], "starts_at": "2025-04-03T18:00:00+02:00", "place": REFERENCE_PLACE},
    )
    meeting = ok(response, 201)
    assert response.headers["Location"].endswith(f"/api/v1/meetings/{meeting['id']}")
    assert meeting["starts_at"] == "2025-04-03T16:00:00+00:00"  # UTC, its offset spelled out
    assert meeting["place"] == REFERENCE_PLACE and meeting["body_id"] == body["id"]
    assert meeting["quorum"] == {
        "required": 2,
        "present": 0,
        "reached": False,
        "in_office": 3,
        "represented": 0,
    }

    for starts_at in ("2025-04-03T18:00:00", "2025-04-03", 1743696000, "jeudi soir"):
        error = refused(
            client.post(
                "/api/v1/meetings", json={"body_id": body["id"], "starts_at": starts_at, "place": "Mairie"}
            )
        )
        assert "starts_at" in error["fields"], starts_at
    error = refused(
        client.post("/api/v1/meetings", json={"body_id": body["id"], "starts_at": REFERENCE_STARTS_AT})
    )
    assert "place" in error["fields"]  # a place or a video link
    error = refused(
        client.post(
            "/api/v1/meetings", json={"body_id": 999999, "starts_at": REFERENCE_STARTS_AT, "place": "Mairie"}
        )
    )
    assert "body_id" in error["fields"]
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 1


def test_meeting_detail(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    ref = reference_meeting(client)
    detail = ok(client.get(f"/api/v1/meetings/{ref['meeting']['id']}"))
    assert detail["title"] == "Délibération n°2025-37"
    assert [(i["position"], i["title"]) for i in detail["agenda"]] == [(1, REFERENCE_SUBJECT)]
    assert len(detail["attendance"]) == 27
    proxies = {
        a["member_name"]: a["proxy_holder_name"] for a in detail["attendance"] if a["status"] == "represented"
    }
    assert proxies == PROXIES
    assert detail["quorum"]["required"] == 14 and detail["quorum"]["represented"] == 5
    assert [v["id"] for v in detail["votes"]] == [ref["vote"]["id"]]
    assert [(d["id"], d["number"]) for d in detail["decisions"]] == [(ref["decision"]["id"], 1)]
    assert detail["minutes"] is None
    refused(client.get("/api/v1/meetings/999999"), 404)


def test_meeting_list_filters(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    copil = small_body(client, "Comité de pilotage", size=3)
    group = small_body(client, "Ressources en ligne", size=3)
    early = create_meeting(client, copil["id"], "2025-03-10T09:30:00+01:00")
    late_evening = create_meeting(client, copil["id"], "2025-06-30T23:30:00+02:00")  # 30 June in Paris
    other = create_meeting(client, group["id"], "2025-05-15T14:00:00+02:00")

    def ids(query: str = "") -> list[int]:
        page = ok(client.get("/api/v1/meetings" + query))
        assert page["total"] == len(page["items"])
        return [m["id"] for m in page["items"]]

    assert ids() == [early["id"], other["id"], late_evening["id"]]  # in the order they are held
    assert ids(f"?body_id={copil['id']}") == [early["id"], late_evening["id"]]
    assert ids("?from=2025-04-01") == [other["id"], late_evening["id"]]
    assert ids("?to=2025-06-30") == [early["id"], other["id"], late_evening["id"]]  # a Paris day, included
    assert ids("?to=2025-06-29") == [early["id"], other["id"]]
    assert ids("?from=2025-05-15T12:00:00Z&to=2025-05-15T12:00:00Z") == [other["id"]]
    assert ids("?from=&to=") == ids()  # empty: no filter
    page = ok(client.get("/api/v1/meetings?per_page=2&page=2"))
    assert (page["page"], page["per_page"], page["total"], [m["id"] for m in page["items"]]) == (
        2,
        2,
        3,
        [late_evening["id"]],
    )
    for query, field in (
        ("?from=2025-04-01T10:00:00", "from"),  # a time without its offset
        ("?to=demain", "to"),
        ("?body_id=abc", "body_id"),
        ("?per_page=201", "per_page"),
        ("?bodyid=1", "bodyid"),
        ("?body_id=1&body_id=2", "body_id"),
    ):
        assert field in refused(client.get("/api/v1/meetings" + query))["fields"], query


# --- Attendance and quorum ----------------------------------------------------------------------------


def test_reference_attendance_reaches_the_quorum(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    body = create_body(client, "Conseil communautaire", REFERENCE_MEMBERS)
    ids = member_ids(body)
    meeting = create_meeting(client, body["id"])
    detail = ok(
        client.put(f"/api/v1/meetings/{meeting['id']}/attendance", json={"entries": reference_entries(ids)})
    )
    assert detail["id"] == meeting["id"]
    quorum = detail["quorum"]
    assert {k: quorum[k] for k in ("required", "present", "reached")} == {
        "required": 14,
        "present": 22,
        "reached": True,
    }
    assert (quorum["in_office"], quorum["represented"]) == (27, 5)


def test_a_second_proxy_to_the_same_holder_is_refused(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    body = create_body(client, "Conseil communautaire", REFERENCE_MEMBERS)
    ids = member_ids(body)
    meeting = create_meeting(client, body["id"])
    url = f"/api/v1/meetings/{meeting['id']}/attendance"
    ok(client.put(url, json={"entries": reference_entries(ids)}))

    entries = reference_entries(ids)
    entries[-1]["proxy_holder_id"] = ids["Michel DALMASSO"]  # who already holds Emmanuel LUTHRINGER's
    error = refused(client.put(url, json={"entries": entries}))
    assert set(error["fields"]) == {"entries.26.proxy_holder_id"}
    assert "Michel DALMASSO" in error["fields"]["entries.26.proxy_holder_id"]
    # Refused as a whole: the attendance recorded before is still there.
    assert ok(client.get(f"/api/v1/meetings/{meeting['id']}"))["quorum"]["represented"] == 5


def test_a_body_may_allow_two_proxies_per_holder(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    body = small_body(client, size=5, max_proxies_per_holder=2)
    meeting = create_meeting(client, body["id"])
    m = body["ids"]
    detail = ok(
        attend(
            client,
            meeting["id"],
            m[:3],
            others=[
                {"member_id": m[3], "status": "represented", "proxy_holder_id": m[0]},
                {"member_id": m[4], "status": "represented", "proxy_holder_id": m[0]},
            ],
        )
    )
    assert detail["quorum"]["represented"] == 2


@pytest.mark.parametrize("holder_status", ["absent", "excused", "represented"])
def test_a_proxy_holder_must_be_present(world: dict[str, Any], api: Any, holder_status: str) -> None:
    client = api(world["committee"])
    body = small_body(client, size=5)
    meeting = create_meeting(client, body["id"])
    m = body["ids"]
    holder_entry: dict[str, Any] = {"member_id": m[3], "status": holder_status}
    if holder_status == "represented":
        holder_entry["proxy_holder_id"] = m[0]
    error = refused(
        attend(
            client,
            meeting["id"],
            m[:3],
            others=[holder_entry, {"member_id": m[4], "status": "represented", "proxy_holder_id": m[3]}],
        )
    )
    assert "entries.4.proxy_holder_id" in error["fields"]


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"status": "represented"}, "entries.0.proxy_holder_id"),  # no holder named
        ({"status": "present", "proxy_holder_id": "self"}, "entries.0.proxy_holder_id"),
        ({"status": "late"}, "entries.0.status"),
        ({"status": "present", "seat": 3}, "entries.0.seat"),
    ],
)
def test_attendance_refuses_bad_entries(
    world: dict[str, Any], api: Any, entry: dict[str, Any], field: str
) -> None:
    client = api(world["committee"])
    body = small_body(client, size=3)
    meeting = create_meeting(client, body["id"])
    first, second = body["ids"][:2]
    if entry.get("proxy_holder_id") == "self":
        entry["proxy_holder_id"] = second
    payload = {"entries": [{"member_id": first, **entry}, {"member_id": second, "status": "present"}]}
    error = refused(client.put(f"/api/v1/meetings/{meeting['id']}/attendance", json=payload))
    assert field in error["fields"], error


def test_attendance_of_someone_else_or_of_no_meeting(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    body = small_body(client, size=3)
    stranger = small_body(client, "Autre groupe", size=1)["ids"][0]
    meeting = create_meeting(client, body["id"])
    error = refused(attend(client, meeting["id"], [stranger]))
    assert "entries.0.member_id" in error["fields"]
    refused(attend(client, 999999, body["ids"]), 404)


def test_a_member_not_yet_in_office_does_not_count(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    # Joined after the meeting: not a member on that day, not counted in office.
    late = ok(
        client.post(
            "/api/v1/bodies",
            json={"name": "Groupe tardif", "members": [{"name": "Nouveau", "since": "2026-01-01"}]},
        ),
        201,
    )
    meeting = create_meeting(client, late["id"], "2025-04-03T18:00:00+02:00")
    assert meeting["quorum"]["in_office"] == 0
    error = refused(attend(client, meeting["id"], [late["members"][0]["id"]]))
    assert "entries.0.member_id" in error["fields"]


# --- Votes --------------------------------------------------------------------------------------------


def test_the_reference_vote_is_adopted(world: dict[str, Any], api: Any) -> None:
    ref = reference_meeting(api(world["committee"]))
    created = ref["vote"]
    assert created["votes_cast"] == 27 and created["result"] == "adopted"
    assert (created["for"], created["against"], created["abstentions"]) == (27, 0, 0)
    assert created["meeting_id"] == ref["meeting"]["id"] and isinstance(created["id"], int)
    assert created["agenda_item_id"] == ref["meeting"]["agenda"][0]["id"]
    assert created["recorded_at"].endswith("+00:00")


def test_totals_above_the_members_present_and_represented_are_refused(
    world: dict[str, Any], api: Any
) -> None:
    client = api(world["committee"])
    ref = reference_meeting(client)
    meeting_id = ref["meeting"]["id"]
    error = refused(vote(client, meeting_id, 25, 2, 1))  # 28 votes, 22 + 5 voters
    assert "for" in error["fields"]
    assert "28" in error["message"] and "27" in error["message"]
    ok(vote(client, meeting_id, 20, 5, 2), 201)  # exactly 27: accepted


def test_no_vote_without_quorum(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    body = small_body(client, size=27)
    meeting = create_meeting(client, body["id"])
    m = body["ids"]
    detail = ok(
        attend(
            client,
            meeting["id"],
            m[:10],
            # Proxies do not count toward the quorum (CGCT L2121-17).
            others=[
                {"member_id": m[10 + i], "status": "represented", "proxy_holder_id": m[i]} for i in range(5)
            ],
        )
    )
    assert {k: detail["quorum"][k] for k in ("required", "present", "reached")} == {
        "required": 14,
        "present": 10,
        "reached": False,
    }
    error = refused(vote(client, meeting["id"], 10, 0, 0))
    assert "quorum" in error["fields"]
    assert not ok(client.get(f"/api/v1/meetings/{meeting['id']}"))["votes"]


def test_abstentions_are_not_votes_cast(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    ref = reference_meeting(client)
    created = ok(vote(client, ref["meeting"]["id"], 8, 7, 12), 201)
    assert created["votes_cast"] == 15 and created["result"] == "adopted"  # 8 of 15 cast: more than half
    created = ok(vote(client, ref["meeting"]["id"], 7, 8, 12), 201)
    assert created["votes_cast"] == 15 and created["result"] == "rejected"


def test_a_tie_is_rejected_without_a_casting_vote(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    ref = reference_meeting(client)
    created = ok(vote(client, ref["meeting"]["id"], 10, 10, 7), 201)
    assert (created["votes_cast"], created["result"], created["casting_vote_used"]) == (20, "rejected", False)
    # chair_vote is ignored where the body's rules give the chair no casting vote.
    created = ok(vote(client, ref["meeting"]["id"], 10, 10, 7, chair_vote="for"), 201)
    assert created["result"] == "rejected"


def test_a_tie_follows_the_chairs_casting_vote_where_the_rules_give_one(
    world: dict[str, Any], api: Any
) -> None:
    client = api(world["committee"])
    body = small_body(client, size=5, chair_casting_vote=True)
    meeting = create_meeting(client, body["id"])
    ok(attend(client, meeting["id"], body["ids"][:4]))
    error = refused(vote(client, meeting["id"], 2, 2, 0))
    assert "chair_vote" in error["fields"]
    created = ok(vote(client, meeting["id"], 2, 2, 0, chair_vote="for"), 201)
    assert (created["result"], created["casting_vote_used"]) == ("adopted", True)
    created = ok(vote(client, meeting["id"], 2, 2, 0, chair_vote="against"), 201)
    assert (created["result"], created["casting_vote_used"]) == ("rejected", True)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"subject": "X", "for": -1, "against": 0, "abstentions": 0}, "for"),
        ({"subject": "X", "for": 1, "against": 0}, "abstentions"),
        ({"subject": "X", "votes_for": 1, "for": 1, "against": 0, "abstentions": 0}, "votes_for"),
        ({"subject": "", "for": 1, "against": 0, "abstentions": 0}, "subject"),
        (
            {"subject": "X", "for": 1, "against": 0, "abstentions": 0, "agenda_item_id": 999999},
            "agenda_item_id",
        ),
        ({"subject": "X", "for": 1, "against": 0, "abstentions": 0, "chair_vote": "maybe"}, "chair_vote"),
    ],
)
def test_votes_refuse_bad_input(world: dict[str, Any], api: Any, payload: dict[str, Any], field: str) -> None:
    client = api(world["committee"])
    ref = reference_meeting(client)
    error = refused(client.post(f"/api/v1/meetings/{ref['meeting']['id']}/votes", json=payload))
    assert field in error["fields"], error


# --- Decisions ----------------------------------------------------------------------------------------


def test_decisions_are_numbered_per_body_and_year(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    ref = reference_meeting(client)
    meeting_id = ref["meeting"]["id"]
    first = ref["decision"]
    assert (first["number"], first["reference"], first["year"]) == (1, "CCPFML-2025-001", 2025)
    assert first["vote_id"] == ref["vote"]["id"] and first["vote"]["result"] == "adopted"
    url = f"/api/v1/meetings/{meeting_id}/decisions"
    second = ok(client.post(url, json={"text": "D'autoriser le Président à signer la convention."}), 201)
    third = ok(
        client.post(url, json={"text": "De charger le Président de l'exécution.", "vote_id": None}), 201
    )
    assert [second["number"], third["number"]] == [2, 3]
    assert third["reference"] == "CCPFML-2025-003"
    assert isinstance(third["id"], int)

    # A rejected vote makes no decision; another meeting's vote is not this one's.
    rejected = ok(vote(client, meeting_id, 1, 20, 0), 201)
    assert "vote_id" in refused(client.post(url, json={"text": "Non", "vote_id": rejected["id"]}))["fields"]
    other = reference_meeting_in_other_body(client)
    assert "vote_id" in refused(client.post(url, json={"text": "Non", "vote_id": other["vote"]}))["fields"]
    assert "text" in refused(client.post(url, json={"text": "  "}))["fields"]
    # The other body's register starts at 1, and next year's too.
    assert other["number"] == 1
    next_year = create_meeting(client, ref["body"]["id"], "2026-01-15T18:00:00+01:00")
    created = ok(
        client.post(f"/api/v1/meetings/{next_year['id']}/decisions", json={"text": "Nouvelle année"}), 201
    )
    assert created["reference"] == "CCPFML-2026-001"
    refused(client.post("/api/v1/meetings/999999/decisions", json={"text": "X"}), 404)


def reference_meeting_in_other_body(client: Any) -> dict[str, Any]:
    body = small_body(client, "Prêt numérique en bibliothèque", size=3)
    meeting = create_meeting(client, body["id"])
    ok(attend(client, meeting["id"], body["ids"]))
    created = ok(vote(client, meeting["id"], 3, 0, 0), 201)
    decision = ok(
        client.post(
            f"/api/v1/meetings/{meeting['id']}/decisions", json={"text": "Oui", "vote_id": created["id"]}
        ),
        201,
    )
    return {"vote": created["id"], "number": decision["number"]}


@pytest.mark.postgres_only
def test_decisions_recorded_at_once_are_numbered_without_gaps_or_duplicates(
    app: Flask, world: dict[str, Any], factory: Any
) -> None:
    token = factory.token(world["committee"])
    headers = {"Authorization": f"Bearer {token}"}
    setup = app.test_client()
    setup.environ_base["HTTP_AUTHORIZATION"] = headers["Authorization"]
    body = small_body(setup, size=3)
    meeting = create_meeting(setup, body["id"])
    db.session.rollback()  # this thread holds no transaction while the others race

    threads_count, per_thread = 8, 3
    barrier = threading.Barrier(threads_count)
    results: list[tuple[int, Any]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def record(index: int) -> None:
        try:
            client = app.test_client()  # each request in a context, and a session, of its own
            with app.app_context():
                barrier.wait(timeout=30)
                for n in range(per_thread):
                    response = client.post(
                        f"/api/v1/meetings/{meeting['id']}/decisions",
                        json={"text": f"Décision {index}.{n}"},
                        headers=headers,
                    )
                    with lock:
                        results.append((response.status_code, response.json))
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            with lock:
                failures.append(exc)

    threads = [threading.Thread(target=record, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert [status for status, _body in results] == [201] * threads_count * per_thread, results
    numbers = sorted(body["number"] for _status, body in results)
    assert numbers == list(range(1, threads_count * per_thread + 1))
    stored = db.session.scalars(sa.select(Decision.number).order_by(Decision.number)).all()
    assert stored == numbers
    assert len({body["reference"] for _status, body in results}) == threads_count * per_thread


def test_decision_list_filters_and_pages(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    ref = reference_meeting(client)
    url = f"/api/v1/meetings/{ref['meeting']['id']}/decisions"
    ok(client.post(url, json={"text": "Adhérer au bouquet de ressources numériques"}), 201)
    ok(client.post(url, json={"text": "Désigner un référent numérique, 50% du temps"}), 201)
    group = small_body(client, "Prêt numérique en bibliothèque", size=3)
    later = create_meeting(client, group["id"], "2026-02-10T10:00:00+01:00")
    group_decision = ok(
        client.post(f"/api/v1/meetings/{later['id']}/decisions", json={"text": "Ouvrir le prêt de liseuses"}),
        201,
    )

    def refs(query: str = "") -> list[str]:
        page = ok(client.get("/api/v1/decisions" + query))
        return [d["reference"] for d in page["items"]]

    assert refs() == [group_decision["reference"], "CCPFML-2025-003", "CCPFML-2025-002", "CCPFML-2025-001"]
    assert refs(f"?body_id={ref['body']['id']}") == ["CCPFML-2025-003", "CCPFML-2025-002", "CCPFML-2025-001"]
    assert refs("?year=2026") == [group_decision["reference"]]
    assert refs("?q=numérique") == ["CCPFML-2025-003", "CCPFML-2025-002"]
    assert refs("?q=50%") == ["CCPFML-2025-003"]  # a literal %, not a wildcard
    assert refs("?q=ccpfml-2025-001") == ["CCPFML-2025-001"]  # the reference, any case
    page = ok(client.get("/api/v1/decisions?per_page=3&page=2"))
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (4, 2, 3, 1)
    one = ok(client.get(f"/api/v1/decisions/{group_decision['id']}"))
    assert one["text"] == "Ouvrir le prêt de liseuses" and one["vote"] is None and one["action_items"] == []
    refused(client.get("/api/v1/decisions/999999"), 404)
    for query, field in (("?year=deux", "year"), ("?page=0", "page"), ("?sort=number", "sort")):
        assert field in refused(client.get("/api/v1/decisions" + query))["fields"], query


# --- Action items -------------------------------------------------------------------------------------


def test_action_items_filters(world: dict[str, Any], api: Any) -> None:
    client = api(world["committee"])
    ref = reference_meeting(client)
    body = db.session.get(Body, ref["body"]["id"])
    decision = db.session.get(Decision, ref["decision"]["id"])
    other_body = db.session.get(Body, small_body(client, "Autre", size=1)["id"])
    assert body is not None and decision is not None and other_body is not None
    sign = services.create_action_item(
        body, "Signer la convention", "David GEHANT", date(2025, 4, 30), decision
    )
    send = services.create_action_item(body, "Transmettre en préfecture", "Secrétariat", date(2025, 4, 15))
    later = services.create_action_item(other_body, "Préparer la journée professionnelle", "Claire DUPONT")
    services.set_action_status(send, "done", "Transmise le 15/04/2025")
    db.session.commit()

    def ids(query: str = "") -> list[int]:
        return [a["id"] for a in ok(client.get("/api/v1/action-items" + query))["items"]]

    assert ids() == [send.id, sign.id, later.id]  # soonest due first, undated last
    assert ids("?status=open") == [sign.id, later.id]
    assert ids("?status=done") == [send.id]
    assert ids(f"?body_id={other_body.id}") == [later.id]
    assert ids(f"?status=open&body_id={body.id}") == [sign.id]
    item = ok(client.get("/api/v1/action-items?status=done"))["items"][0]
    assert item["due_date"] == "2025-04-15" and "Transmise le 15/04/2025" in item["notes"]
    detail = ok(client.get(f"/api/v1/decisions/{decision.id}"))
    assert [a["id"] for a in detail["action_items"]] == [sign.id]
    assert "status" in refused(client.get("/api/v1/action-items?status=late"))["fields"]


# --- Who may do what ----------------------------------------------------------------------------------


def test_the_committee_writes_the_auditor_and_legal_read(world: dict[str, Any], api: Any) -> None:
    ref = reference_meeting(api(world["committee"]))
    meeting_id = ref["meeting"]["id"]
    for role in ("auditor", "legal"):
        client = api(world[role])
        assert ok(client.get("/api/v1/bodies"))[0]["id"] == ref["body"]["id"]
        assert ok(client.get(f"/api/v1/meetings/{meeting_id}"))["quorum"]["reached"] is True
        assert ok(client.get("/api/v1/meetings"))["total"] == 1
        assert ok(client.get("/api/v1/decisions"))["total"] == 1
        assert ok(client.get(f"/api/v1/decisions/{ref['decision']['id']}"))["action_items"] == []
        assert ok(client.get("/api/v1/action-items"))["total"] == 0
        refused(client.post("/api/v1/bodies", json={"name": "Intrus", "members": []}), 403)
        refused(client.post("/api/v1/meetings", json={}), 403)
        refused(client.put(f"/api/v1/meetings/{meeting_id}/attendance", json={"entries": []}), 403)
        refused(client.post(f"/api/v1/meetings/{meeting_id}/votes", json={}), 403)
        refused(client.post(f"/api/v1/meetings/{meeting_id}/decisions", json={"text": "X"}), 403)
    assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 1


@pytest.mark.parametrize("role", ["dpo", "admin"])
def test_the_dpo_and_the_administrator_have_no_governance_role(
    world: dict[str, Any], api: Any, role: str
) -> None:
    ref = reference_meeting(api(world["committee"]))
    client = api(world[role])
    for url in (
        "/api/v1/bodies",
        f"/api/v1/bodies/{ref['body']['id']}",
        "/api/v1/meetings",
        f"/api/v1/meetings/{ref['meeting']['id']}",
        "/api/v1/decisions",
        f"/api/v1/decisions/{ref['decision']['id']}",
        "/api/v1/action-items",
    ):
        refused(client.get(url), 403)


def publish_minutes_of(meeting_id: int, approving_meeting_id: int) -> None:
    meeting, approving = db.session.get(Meeting, meeting_id), db.session.get(Meeting, approving_meeting_id)
    assert meeting is not None and approving is not None
    services.save_minutes(meeting, "Le conseil approuve la convention.")
    services.submit_minutes(meeting)
    services.approve_minutes(meeting, approving)
    services.publish_minutes(meeting)
    db.session.commit()


def test_a_partner_reads_the_published_decisions_of_its_bodies_only(world: dict[str, Any], api: Any) -> None:
    committee = api(world["committee"])
    ours = reference_meeting(committee, organisation_id=world["a"].id)  # partner A sits in this body
    theirs = small_body(committee, "Groupe sans A", size=3)
    theirs_meeting = create_meeting(committee, theirs["id"])
    theirs_decision = ok(
        committee.post(f"/api/v1/meetings/{theirs_meeting['id']}/decisions", json={"text": "Autre"}), 201
    )
    partner = api(world["pa"])
    decision_url = f"/api/v1/decisions/{ours['decision']['id']}"

    # Minutes not yet published: nothing yet, and the decision is as absent as a missing one.
    assert ok(partner.get("/api/v1/decisions")) == {"items": [], "page": 1, "per_page": 50, "total": 0}
    refused(partner.get(decision_url), 404)

    approving = create_meeting(committee, ours["body"]["id"], "2025-06-12T18:00:00+02:00")
    publish_minutes_of(ours["meeting"]["id"], approving["id"])
    theirs_approving = create_meeting(committee, theirs["id"], "2025-06-12T18:00:00+02:00")
    publish_minutes_of(theirs_meeting["id"], theirs_approving["id"])

    page = ok(partner.get("/api/v1/decisions"))
    assert [d["id"] for d in page["items"]] == [ours["decision"]["id"]] and page["total"] == 1
    assert ok(partner.get(f"/api/v1/decisions?body_id={theirs['id']}"))["total"] == 0  # filters only narrow
    one = ok(partner.get(decision_url))
    assert one["reference"] == "CCPFML-2025-001" and one["vote"]["votes_cast"] == 27
    assert one["action_items"] is None  # the follow-up is the committee's
    refused(partner.get(f"/api/v1/decisions/{theirs_decision['id']}"), 404)
    # Partner B sits in neither body.
    assert ok(api(world["pb"]).get("/api/v1/decisions"))["total"] == 0
    refused(api(world["pb"]).get(decision_url), 404)
    # Everything else of governance stays closed to partners.
    for url in (
        "/api/v1/bodies",
        "/api/v1/meetings",
        f"/api/v1/meetings/{ours['meeting']['id']}",
        "/api/v1/action-items",
    ):
        refused(partner.get(url), 403)
    refused(partner.post("/api/v1/bodies", json={"name": "X", "members": []}), 403)


def test_openapi_documents_the_governance_contracts(app: Flask) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").json
    for path, method in (
        ("/api/v1/bodies", "post"),
        ("/api/v1/bodies", "get"),
        ("/api/v1/meetings", "post"),
        ("/api/v1/meetings/{meeting_id}/attendance", "put"),
        ("/api/v1/meetings/{meeting_id}/votes", "post"),
        ("/api/v1/meetings/{meeting_id}/decisions", "post"),
        ("/api/v1/decisions", "get"),
    ):
        assert method in doc["paths"][path], (path, method)
    schemas = doc["components"]["schemas"]
    assert {"subject", "for", "against", "abstentions"} <= set(schemas["VoteIn"]["required"])
    assert "for" in schemas["VoteOut"]["properties"] and "votes_for" not in schemas["VoteOut"]["properties"]
    assert schemas["AttendanceEntryIn"]["properties"]["status"]["enum"] == [
        "present",
        "represented",
        "excused",
        "absent",
    ]
