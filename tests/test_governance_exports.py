"""The minutes as a French procès-verbal (PDF) and a meeting's calendar invitation (ICS): the reference
deliberation's own figures come out the same, user text is escaped and local files stay unread, a
printable page stands in when there is no converter, and who may download what (a partner: only the
published minutes of the bodies its organisation sits in).

The procès-verbal is always in French; its fixed wording is marked for translation with English msgids,
so the expected lines are looked up the way the template looks them up (`fr(...)`), and the French
wording itself is pinned where the catalog has it."""

from __future__ import annotations

import html
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from icalendar import Calendar
from pypdf import PdfReader

from governance.bodies import services
from governance.bodies.models import Meeting
from tests.test_governance_api import PROXIES, REFERENCE_PLACE, create_meeting, reference_meeting
from vigie.database import utcnow
from vigie.extensions import db
from vigie.timeutil import to_paris

HOSTILE = (
    '<b>Eve</b><iframe src="file:///etc/passwd" width="600" height="400"></iframe><script>alert(1)</script>'
)
MINUTES_TEXT = """Le Président ouvre la séance à 18 h.

## Convention de partenariat

Après en avoir délibéré, **le conseil communautaire** approuve la convention :

- d'approuver les termes de la convention ci annexée,
- d'autoriser le Président à la signer.
"""


def pdf_text(data: bytes) -> str:
    """The PDF's text, whitespace normalised (wkhtmltopdf places words apart: pypdf reads tabs)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def fr(msgid: str, **values: Any) -> str:
    """A line of the procès-verbal as the template writes it (in French, once the catalog has it)."""
    with force_locale("fr"):
        return " ".join(_(msgid, **values).split())


def label(msgid: str) -> str:
    """A count's label alone: "Suffrages exprimés :" of "Suffrages exprimés : %(count)d"."""
    return fr(msgid, count=0).removesuffix("0").strip()


def french_date(moment: datetime) -> str:
    with force_locale("fr"):
        return str(format_date(to_paris(moment).date(), "long"))


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
def reference(app: Flask, world: dict[str, Any], factory: Any) -> dict[str, Any]:
    """The reference deliberation as a meeting of a body partner A sits in, with written minutes."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {factory.token(world['committee'])}"
    ref = reference_meeting(client, organisation_id=world["a"].id)
    ref["client"] = client
    meeting = db.session.get(Meeting, ref["meeting"]["id"])
    assert meeting is not None
    services.save_minutes(meeting, MINUTES_TEXT)
    db.session.commit()
    ref["url"] = f"/governance/meetings/{meeting.id}/minutes.pdf"
    ref["ics"] = f"/governance/meetings/{meeting.id}/invitation.ics"
    return ref


def publish(ref: dict[str, Any]) -> None:
    approving = create_meeting(ref["client"], ref["body"]["id"], "2025-06-12T18:00:00+02:00")
    meeting = db.session.get(Meeting, ref["meeting"]["id"])
    at_meeting = db.session.get(Meeting, approving["id"])
    assert meeting is not None and at_meeting is not None
    services.submit_minutes(meeting)
    services.approve_minutes(meeting, at_meeting)
    services.publish_minutes(meeting)
    db.session.commit()


def download(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    return pdf_text(response.data)


def test_the_reference_deliberation_comes_out_with_its_figures(
    reference: dict[str, Any], world: dict[str, Any], sign_in_as: Any
) -> None:
    publish(reference)
    response = sign_in_as(world["committee"]).get(reference["url"])
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == "attachment; filename=pv-ccpfml-20250403.pdf"
    reader = PdfReader(io.BytesIO(response.data))
    assert float(reader.pages[0].mediabox.width) < float(reader.pages[0].mediabox.height)  # A4 portrait
    text = pdf_text(response.data)

    # The line of the reference deliberation, in its order, each figure in its place.
    line = [
        fr("Members in office: %(count)d", count=27),
        fr("Members present: %(count)d", count=22),
        fr("Proxies: %(count)d", count=5),
        fr("Votes cast: %(count)d", count=27),
    ]
    positions = [text.index(part) for part in line]
    assert positions == sorted(positions), text[:600]
    assert fr("FOR: %(count)d", count=27) in text
    assert fr("AGAINST: %(count)d", count=0) in text
    assert fr("ABSTENTIONS: %(count)d", count=0) in text
    # The French wording of the reference, once the catalog translates it (until then, the msgid).
    assert line[0] in ("Membres en exercice : 27", "Members in office: 27")
    assert line[1] in ("Membres présents : 22", "Members present: 22")
    assert line[2] in ("Pouvoirs : 5", "Proxies: 5")
    assert line[3] in ("Suffrages exprimés : 27", "Votes cast: 27")
    assert fr("FOR: %(count)d", count=27) in ("POUR : 27", "FOR: 27")

    # Header: the body, the date in French, the place.
    assert "Conseil communautaire" in text or "CONSEIL COMMUNAUTAIRE" in text
    assert fr("Minutes of the meeting of %(date)s", date="3 avril 2025") in text
    assert REFERENCE_PLACE in text and "18:00" in text
    assert (
        fr(
            "The quorum of %(required)d members being reached, the body could validly deliberate.",
            required=14,
        )
        in text
    )
    # Present, represented (who holds whose proxy).
    present = text[text.index(fr("Present:")) : text.index(fr("Represented:"))]
    assert "Gilbert BOYER" in present and "Philippe VUILQUE" in present and "LUTHRINGER" not in present
    for member, holder in PROXIES.items():
        assert fr("%(member)s gives a proxy to %(holder)s", member=member, holder=holder) in text
    # Agenda, the minutes' text rendered (Markdown), the vote, the decision with its register number.
    assert (
        fr("Agenda").upper() in text
        and "Convention de partenariat pour l'accès aux services numériques" in text
    )
    assert "Après en avoir délibéré, le conseil communautaire approuve la convention" in text
    assert "**" not in text and "## " not in text  # rendered, not shown as source
    assert fr("Adopted").upper() in text
    assert fr("Decision no. %(reference)s", reference="CCPFML-2025-001") in text
    assert "D'approuver les termes de la convention de partenariat ci annexée." in text
    # The state of the minutes, and the signature block (the chair named).
    assert (
        fr(
            "Minutes approved at the meeting of %(date)s and published on %(published)s.",
            date="12 juin 2025",
            published=french_date(utcnow()),
        )
        in text
    )
    assert fr("The chair") in text and "David GEHANT" in text[text.index(fr("The chair")) :]
    assert fr("The secretary of the meeting") in text


def test_draft_minutes_say_so_and_figures_follow_the_votes(
    reference: dict[str, Any], world: dict[str, Any], sign_in_as: Any
) -> None:
    client = reference["client"]
    meeting_id = reference["meeting"]["id"]
    payload = {"subject": "Motion", "for": 10, "against": 12, "abstentions": 5}
    assert client.post(f"/api/v1/meetings/{meeting_id}/votes", json=payload).status_code == 201
    text = download(sign_in_as(world["auditor"]), reference["url"])
    assert fr("Draft minutes (version %(version)d), not yet approved.", version=1) in text
    # Two votes with different votes cast: the figure goes with each vote, not in the header line.
    header = text[: text.index(fr("Present:"))]
    assert fr("Proxies: %(count)d", count=5) in header
    assert label("Votes cast: %(count)d") not in header
    assert fr("Votes cast: %(count)d", count=27) in text and fr("Votes cast: %(count)d", count=22) in text
    assert fr("Rejected").upper() in text and fr("AGAINST: %(count)d", count=12) in text


def test_without_a_converter_the_minutes_are_a_printable_page(
    app: Flask,
    reference: dict[str, Any],
    world: dict[str, Any],
    sign_in_as: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "WKHTMLTOPDF_PATH", str(tmp_path / "nowhere" / "wkhtmltopdf"))
    response = sign_in_as(world["legal"]).get(reference["url"])
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "Content-Disposition" not in response.headers
    page = response.get_data(as_text=True)
    assert 'class="pdf-notice"' in page
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    text = " ".join(html.unescape(page).split())
    assert fr("Members in office: %(count)d", count=27) in text
    assert fr("Members present: %(count)d", count=22) in text
    assert "CCPFML-2025-001" in text


def test_user_text_is_escaped_and_local_files_stay_unread(
    app: Flask,
    world: dict[str, Any],
    factory: Any,
    sign_in_as: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The control: this machine's /etc/passwd does hold the text looked for below.
    assert "root:x:0:0" in Path("/etc/passwd").read_text()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {factory.token(world['committee'])}"
    body = client.post(
        "/api/v1/bodies",
        json={"name": "Groupe <b>hostile</b>", "members": [{"name": HOSTILE[:200], "since": "2020-01-01"}]},
    ).json
    meeting = create_meeting(
        client, body["id"], place=HOSTILE[:300], agenda=[HOSTILE[:300]], title=HOSTILE[:300]
    )
    member_id = body["members"][0]["id"]
    put = client.put(
        f"/api/v1/meetings/{meeting['id']}/attendance",
        json={"entries": [{"member_id": member_id, "status": "present"}]},
    )
    assert put.status_code == 200
    vote = client.post(
        f"/api/v1/meetings/{meeting['id']}/votes",
        json={"subject": HOSTILE[:300], "for": 1, "against": 0, "abstentions": 0},
    ).json
    decided = client.post(
        f"/api/v1/meetings/{meeting['id']}/decisions", json={"text": HOSTILE, "vote_id": vote["id"]}
    )
    assert decided.status_code == 201
    stored = db.session.get(Meeting, meeting["id"])
    assert stored is not None
    services.save_minutes(
        stored, f"Texte\n\n{HOSTILE}\n\n[lien](javascript:alert(1)) ![x](file:///etc/passwd)"
    )
    db.session.commit()
    url = f"/governance/meetings/{meeting['id']}/minutes.pdf"
    web = sign_in_as(world["committee"])

    text = download(web, url)
    assert "root:x:0:0" not in text
    assert "<b>Eve</b><iframe" in text  # shown as text, not run as markup
    assert "<script>alert(1)</script>" in text

    monkeypatch.setitem(app.config, "WKHTMLTOPDF_PATH", str(tmp_path / "nowhere" / "wkhtmltopdf"))
    page = web.get(url).get_data(as_text=True)
    assert (
        "<iframe" not in page and "<script" not in page and "<b>Eve" not in page and "<b>hostile" not in page
    )
    assert "<img" not in page and "javascript:" not in page
    assert "&lt;iframe src=" in page
    assert "root:x:0:0" not in page
    assert HOSTILE in html.unescape(page)


def test_who_downloads_the_minutes(reference: dict[str, Any], world: dict[str, Any], sign_in_as: Any) -> None:
    url = reference["url"]

    def status(user: Any, target: str = url) -> int:
        response = sign_in_as(user).get(target)
        response.close()
        return int(response.status_code)

    # Draft minutes: the governance roles only; a partner of the body gets what a missing meeting gets.
    assert [status(world[r]) for r in ("committee", "legal", "auditor")] == [200, 200, 200]
    assert (status(world["pa"]), status(world["pb"])) == (404, 404)
    assert (status(world["dpo"]), status(world["admin"])) == (403, 403)
    publish(reference)
    # Published: partner A, whose organisation sits in the body, reads them; partner B still does not.
    assert "CCPFML-2025-001" in download(sign_in_as(world["pa"]), url)
    assert status(world["pb"]) == 404
    assert (status(world["dpo"]), status(world["admin"])) == (403, 403)
    missing = "/governance/meetings/999999/minutes.pdf"
    assert (status(world["committee"], missing), status(world["pa"], missing)) == (404, 404)


def test_a_meeting_without_minutes_or_votes_still_prints(
    reference: dict[str, Any], world: dict[str, Any], sign_in_as: Any
) -> None:
    empty = create_meeting(reference["client"], reference["body"]["id"], "2025-09-18T18:00:00+02:00")
    text = download(sign_in_as(world["committee"]), f"/governance/meetings/{empty['id']}/minutes.pdf")
    assert fr("No minutes have been written for this meeting yet.") in text
    assert fr("Members present: %(count)d", count=0) in text
    assert fr("Attendance not recorded:") in text
    assert label("Votes cast: %(count)d") not in text


def test_the_invitation_is_a_calendar_event_in_utc(
    reference: dict[str, Any], world: dict[str, Any], sign_in_as: Any
) -> None:
    response = sign_in_as(world["committee"]).get(reference["ics"])
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=meeting-{reference['meeting']['id']}.ics"
    )
    calendar = Calendar.from_ical(response.data)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    start = event.decoded("dtstart")
    assert start == datetime(2025, 4, 3, 16, 0, tzinfo=UTC)
    assert start.utcoffset().total_seconds() == 0
    assert b"DTSTART:20250403T160000Z" in response.data  # in UTC, said so
    assert str(event["location"]) == REFERENCE_PLACE
    assert str(event["summary"]) == "Délibération n°2025-37"
    assert "Convention de partenariat" in str(event["description"])


def test_who_downloads_the_invitation(
    reference: dict[str, Any], world: dict[str, Any], sign_in_as: Any
) -> None:
    for role, expected in (
        ("committee", 200),
        ("legal", 200),
        ("auditor", 200),
        ("pa", 403),
        ("pb", 403),
        ("dpo", 403),
        ("admin", 403),
    ):
        assert sign_in_as(world[role]).get(reference["ics"]).status_code == expected, role
    assert sign_in_as(world["committee"]).get("/governance/meetings/999999/invitation.ics").status_code == 404
