"""A realistic Vigie database at a chosen scale, built through the services.

    python -m bench.generate --scale 1 --seed 1 --database-url sqlite:////tmp/bench/bench1.sqlite3

1x is one Département (40 partners, about 2,000 deadlines, 200 breaches, 500 access requests,
100 meetings); 100x a region (200 partners, about 100,000 deadlines, 20,000 breaches, 50,000 access
requests, 1,000 meetings). Other scales are interpolated (0.02 makes a tiny network for the smoke test).

Four years of a network's life (from 2 January 2023 until now) are simulated in time order: every
breach, request, meeting and partner is a process (a generator) that sleeps until its next step; the
scheduler moves a simulated clock (time-machine) to that moment and runs the step through the same
services the pages call, under the user who would act. So every invariant holds: the audit chain, the
deadlines and their events, the e-mails of the outbox, the reminders of `vigie deadlines notify` (run
every simulated morning, like the cron job), the register numbers. Nothing is inserted behind the
services' back, with one exception said aloud: the e-mails are not sent (no SMTP server here), and once
the simulation ends the outbox rows are marked delivered at the time they were queued.

Reproducible: the same seed and scale give the same records (times are simulated; only the end of the
simulation, "now", moves with the day it runs).
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import math
import random
import sys
import time
import unicodedata
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa

from bench import names

# Every account the bench signs in with has this password; the other accounts are invited (no password
# yet), which also spares an argon2 hash per account.
BENCH_PASSWORD = "bench-vigie-2026"  # noqa: S105  (a bench database's password, printed in bench/README.md)
START = datetime(2023, 1, 2, 7, 0, tzinfo=UTC)  # Monday 2 January 2023, 08:00 in Paris
CONTROLLER_SIREN = "220400014"
CONTROLLER_NAME = "Département des Alpes-de-Haute-Provence"
CONTROLLER_DOMAIN = "le04.example"


# --- the scale ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    partners: int
    breaches: int
    requests: int
    meetings: int
    deadlines: int  # the target: inquiries fill what the other clocks leave
    dpos: int
    bodies: int

    @property
    def departments(self) -> list[str]:
        wanted = 1 if self.partners <= len(names.COMMUNES["04"]) else len(names.COMMUNES)
        return list(names.COMMUNES)[:wanted]


ONE = Profile(partners=40, breaches=200, requests=500, meetings=100, deadlines=2_000, dpos=2, bodies=5)
HUNDRED = Profile(
    partners=200, breaches=20_000, requests=50_000, meetings=1_000, deadlines=100_000, dpos=3, bodies=12
)


def profile(scale: float) -> Profile:
    """1 and 100 are the issue's; between them each count is interpolated geometrically; below 1 the
    counts shrink linearly, with a floor that keeps every kind of record present."""
    if scale <= 0:
        raise ValueError("the scale is a positive number")
    if scale <= 1:

        def at(one: int, floor: int) -> int:
            return max(floor, round(one * scale))

        return Profile(
            partners=at(ONE.partners, 3),
            breaches=at(ONE.breaches, 4),
            requests=at(ONE.requests, 8),
            meetings=at(ONE.meetings, 4),
            deadlines=at(ONE.deadlines, 30),
            dpos=ONE.dpos,
            bodies=3 if scale < 0.5 else ONE.bodies,
        )
    t = math.log(min(scale, 100)) / math.log(100)

    def between(a: int, b: int) -> int:
        return round(a * (b / a) ** t * (scale / 100 if scale > 100 else 1))

    return Profile(
        partners=between(ONE.partners, HUNDRED.partners),
        breaches=between(ONE.breaches, HUNDRED.breaches),
        requests=between(ONE.requests, HUNDRED.requests),
        meetings=between(ONE.meetings, HUNDRED.meetings),
        deadlines=between(ONE.deadlines, HUNDRED.deadlines),
        dpos=round(ONE.dpos + (HUNDRED.dpos - ONE.dpos) * t),
        bodies=round(ONE.bodies + (HUNDRED.bodies - ONE.bodies) * t),
    )


# --- small helpers --------------------------------------------------------------------------------


def ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join("".join(c if c.isalnum() else " " for c in plain).split())


def luhn_siren(prefix8: str) -> str:
    for digit in "0123456789":
        candidate = prefix8 + digit
        total = 0
        for index, char in enumerate(reversed(candidate)):
            d = int(char) * (2 if index % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def phone_number(rng: random.Random, prefix: str) -> str:
    return " ".join([prefix, *(f"{rng.randint(10, 99)}" for _n in range(4))])


def paris_tz() -> Any:
    from vigie.timeutil import PARIS

    return PARIS


def office(moment: datetime, rng: random.Random) -> datetime:
    """The moment itself in office hours (Monday-Friday, 08:30-18:00 Paris), else the next working
    morning at a random time: people act at work."""
    local = moment.astimezone(paris_tz())
    if local.weekday() < 5 and (8, 30) <= (local.hour, local.minute) < (18, 0):
        return moment
    day = local.date() + timedelta(days=0 if local.hour < 8 else 1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    minutes = rng.randint(30, 150)
    start = datetime(day.year, day.month, day.day, 8, 0, tzinfo=paris_tz()) + timedelta(minutes=minutes)
    return start.astimezone(UTC)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def days(value: float) -> timedelta:
    return timedelta(days=value)


# --- the scheduler --------------------------------------------------------------------------------

# A process yields (when, actor): run my next step at `when`, as `actor` (a User, or None for the system).
Step = tuple[datetime, Any]
Process = Generator[Step, None, None]


@dataclass
class Stats:
    steps: int = 0
    commits: int = 0
    dropped: int = 0  # steps that would happen after "now"
    by_kind: dict[str, int] = field(default_factory=dict)


class Simulation:
    """Runs processes in time order on a simulated clock; commits every `commit_every` steps."""

    def __init__(self, end: datetime, commit_every: int = 400) -> None:
        self.end = end
        self.commit_every = commit_every
        self.queue: list[tuple[datetime, int, Process, Any]] = []
        self.counter = itertools.count()
        self.stats = Stats()
        self.now = START

    def spawn(self, at: datetime, actor: Any, process: Process) -> None:
        if at > self.end:
            self.stats.dropped += 1
            process.close()
            return
        heapq.heappush(self.queue, (at, next(self.counter), process, actor))

    def run(self, traveller: Any, progress: Callable[[Simulation], None] | None = None) -> None:
        from vigie.audit.recorder import acting_as
        from vigie.extensions import db

        since_commit = 0
        while self.queue:
            at, _n, process, actor = heapq.heappop(self.queue)
            if at < self.now:
                at = self.now  # a step asked for the past runs now (the clock never goes back)
            self.now = at
            traveller.move_to(at)
            label = (actor.id, actor.email) if actor is not None else (None, "cron")
            with acting_as(*label):
                try:
                    wake = next(process)
                except StopIteration:
                    wake = None
            self.stats.steps += 1
            since_commit += 1
            if wake is not None:
                self.spawn(wake[0], wake[1], process)
            if since_commit >= self.commit_every:
                db.session.commit()
                self.stats.commits += 1
                since_commit = 0
                if progress is not None:
                    progress(self)
        db.session.commit()
        self.stats.commits += 1


# --- the world ------------------------------------------------------------------------------------


@dataclass
class PartnerInfo:
    org: Any
    department: str
    users: list[Any]
    weight: float
    joined: datetime


@dataclass
class World:
    rng: random.Random
    profile: Profile
    sim: Simulation
    controller: Any = None
    dpos: list[Any] = field(default_factory=list)
    committee: Any = None
    legal: Any = None
    auditor: Any = None
    admin: Any = None
    partners: list[PartnerInfo] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)
    pending_minutes: dict[int, list[Any]] = field(default_factory=dict)  # body id -> submitted minutes
    inquiries_per_request: float = 1.0
    siren_counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def person_name(self) -> str:
        return f"{self.rng.choice(names.FIRST_NAMES)} {self.rng.choice(names.SURNAMES)}"

    def dpo(self) -> Any:
        return self.rng.choice(self.dpos)

    def partner(self, joined_before: datetime) -> PartnerInfo:
        """A partner already in the network, the larger ones more often (weights)."""
        candidates = [p for p in self.partners if p.joined <= joined_before]
        return self.rng.choices(candidates, weights=[p.weight for p in candidates])[0]

    def next_siren(self, kind_prefix: str, department: str) -> str:
        return luhn_siren(f"{kind_prefix}{department}{next(self.siren_counter) % 10_000:04d}")


def _user(world: World, email: str, name: str, org: Any, role: str, password: str | None) -> Any:
    from vigie.auth.services import create_user

    return create_user(email=email, name=name, organisation=org, roles=[role], password=password)


def setup(world: World) -> None:
    """The Département, its staff, the other bodies' organisations, the partners and the governance bodies
    (at the start of the simulation, 2 January 2023)."""
    from governance.bodies.services import MemberData, create_body
    from vigie.orgs.services import add_person, create_organisation

    rng = world.rng
    world.controller = create_organisation(
        CONTROLLER_NAME,
        "controller",
        CONTROLLER_SIREN,
        "13 rue du Docteur Romieu, CS70216, 04995 Digne-les-Bains Cédex 9",
    )
    add_person(world.controller, "Eliane Barreille", function="Présidente du Conseil départemental")
    bd05 = create_organisation(
        "Bibliothèque départementale des Hautes-Alpes",
        "other",
        "220500011",
        "8 ter rue Capitaine de Bresson, 05000 Gap",
    )
    create_organisation(
        "Commission nationale de l'informatique et des libertés",
        "other",
        "130002694",
        "3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07",
    )
    staff = [("admin", "admin"), ("committee", "copil"), ("legal", "juridique"), ("auditor", "audit")]
    for role, local in staff:
        user = _user(
            world, f"{local}@{CONTROLLER_DOMAIN}", world.person_name(), world.controller, role, BENCH_PASSWORD
        )
        setattr(world, role, user)
    for n in range(world.profile.dpos):
        world.dpos.append(
            _user(
                world,
                f"dpo{n + 1}@{CONTROLLER_DOMAIN}",
                world.person_name(),
                world.controller,
                "dpo",
                BENCH_PASSWORD if n == 0 else None,
            )
        )
    _partners(world)
    members_since = START.date()
    copil = [
        MemberData(
            "Directeur de la Médiathèque départementale",
            world.controller.id,
            role="chair",
            statutory=True,
            since=members_since,
        ),
        MemberData("Directeur de la BD des Hautes-Alpes", bd05.id, statutory=True, since=members_since),
        MemberData(
            "Chef de projet ressources numériques", world.controller.id, statutory=True, since=members_since
        ),
    ]
    founders = [p for p in world.partners if p.joined <= START]
    bodies = [
        ("Comité de pilotage", "COPIL", "yearly_meeting", copil),
        ("Groupe de travail « Ressources en ligne »", "GTRL", "professional_day", []),
        ("Groupe de travail « Prêt numérique en bibliothèque »", "GTPNB", None, []),
    ]
    for n in range(3, world.profile.bodies):
        department = world.profile.departments[n % len(world.profile.departments)]
        bodies.append((f"Commission territoriale n° {n - 2} ({department})", f"CT{n - 2:02d}", None, []))
    for name, code, duty, members in bodies:
        if not members:
            members = [
                MemberData(
                    world.person_name(),
                    world.controller.id,
                    role="pilot",
                    email=f"pilote.{code.lower()}@{CONTROLLER_DOMAIN}",
                    since=members_since,
                )
            ]
            chosen = rng.sample(founders, k=min(len(founders), rng.randint(5, 9)))
            for index, partner in enumerate(chosen):
                members.append(
                    MemberData(
                        world.person_name(),
                        partner.org.id,
                        role="rapporteur" if index == 0 else "member",
                        email=partner.users[0].email if rng.random() < 0.7 else None,
                        since=members_since,
                    )
                )
        world.bodies.append(create_body(name, members, code=code, yearly_duty=duty))


def _partners(world: World) -> None:
    from vigie.orgs.services import add_person, create_organisation

    rng = world.rng
    departments = world.profile.departments
    pool = [(d, commune, postcode) for d in departments for commune, postcode in names.COMMUNES[d]]
    end = world.sim.end
    span = (end - START).total_seconds()
    for index in range(world.profile.partners):
        department, commune, postcode = pool[index % len(pool)]
        round_ = index // len(pool)
        if round_ == 0:
            name, prefix = f"Commune de {commune}", "21"
        else:
            name, prefix = f"Communauté de communes du Pays de {commune}" + " (bis)" * (round_ - 1), "24"
        siren = world.next_siren(prefix, department)
        street = rng.choice(names.STREETS)
        org = create_organisation(
            name,
            "partner",
            siren,
            f"{rng.randint(1, 40)} {street}, {postcode} {commune}",
            computerised_libraries=rng.random() < 0.85,
        )
        slug = ascii_slug(commune) + ("" if round_ == 0 else f"-cc{round_}")
        users = []
        for n in range(1 if rng.random() < 0.4 else 2):
            local = "bibliotheque" if n == 0 else f"agent{n}"
            users.append(
                _user(
                    world,
                    f"{local}@{slug}.example",
                    world.person_name(),
                    org,
                    "partner",
                    BENCH_PASSWORD if index == 0 else None,
                )
            )
        director = world.person_name()
        add_person(
            org,
            director,
            email=f"direction@{slug}.example",
            phone=phone_number(rng, "04"),
            function=rng.choice(names.FUNCTIONS[:2]),
            is_digital_referent=True,
        )
        # Founders sign in the first quarter of 2023; the others join along the four years.
        joined = (
            START
            if index < max(3, int(world.profile.partners * 0.6))
            else START + timedelta(seconds=rng.uniform(0.05, 0.9) * span)
        )
        # Zipf-like: the first (largest) communes report more breaches and receive more requests.
        world.partners.append(PartnerInfo(org, department, users, 1 / (index + 1) ** 0.5, joined))
        world.sim.spawn(office(joined, rng), users[0], partner_life(world, world.partners[-1]))


# --- processes ------------------------------------------------------------------------------------


def partner_life(world: World, p: PartnerInfo) -> Process:
    """Joining: the processor file, the convention (deliberation, signatures, prefecture), the staff
    list kept up to date, the evaluation two months before the term ends."""
    from compliance.processor.services import (
        GrantData,
        SubProcessorData,
        add_sub_processor,
        grant_staff,
        revoke_staff,
        set_dpo,
    )
    from governance.conventions import services as conventions

    rng = world.rng
    user = p.users[0]
    today = _today()
    grants = []
    for _n in range(rng.randint(2, 5)):
        grants.append(
            grant_staff(
                user,
                p.org,
                GrantData(
                    name=world.person_name(),
                    granted_on=today - timedelta(days=rng.randint(0, 60)),
                    email=None,
                    function=rng.choice(names.FUNCTIONS),
                    scope=rng.sample(["registrations", "user_support", "statistics"], k=rng.randint(1, 2)),
                ),
            )
        )
    if rng.random() < 0.5:
        add_sub_processor(
            user,
            p.org,
            SubProcessorData(
                company=rng.choice(["Decalog", "C3rb Informatique", "BibLibre", "Archimed", "Infor"]),
                service="Hébergement et maintenance du logiciel de la bibliothèque",
                data_concerned="Comptes lecteurs, historique de prêts",
                clauses_in_place=True,
                clauses_signed_on=today - timedelta(days=rng.randint(100, 900)),
                location="France",
            ),
        )
    has_dpo = rng.random() < 0.9
    if has_dpo:
        set_dpo(user, p.org, world.person_name(), f"dpo@{p.org.siren}.example", since=today)
    # The convention: drafted now, approved by the council a few weeks later, signed, transmitted.
    start = date(_today().year, 1, 1)
    convention = conventions.create_convention(
        world.controller,
        p.org,
        "Convention de partenariat pour l'accès aux services numériques de la Bibliothèque départementale",
        start,
        date(start.year + 3, 12, 31),
        reference=f"BD04-NUM-{start.year}-{p.org.siren}",
    )
    yield office(world.sim.now + days(rng.uniform(14, 45)), rng), world.legal
    adopted = _today()
    number = f"{adopted.year}-{rng.randint(10, 140)}"
    present = rng.randint(15, 30)
    deliberation = conventions.create_deliberation(
        conventions.DeliberationData(
            organisation_id=p.org.id,
            assembly="Conseil municipal" if p.org.siren.startswith("21") else "Conseil communautaire",
            number=number,
            adopted_on=adopted,
            subject="Convention de partenariat pour l'accès aux services numériques de la BD 04",
            members_in_office=present + rng.randint(0, 6),
            members_present=present,
            members_represented=0,
            votes_for=present - 1,
            abstentions=1,
            secretary=world.person_name(),
        )
    )
    conventions.approve_convention(convention, deliberation)
    yield office(world.sim.now + days(rng.uniform(3, 15)), rng), world.legal
    conventions.sign_convention(convention, _today(), _today(), world.person_name(), world.person_name())
    yield office(world.sim.now + days(rng.uniform(2, 10)), rng), world.legal
    ack_number = number.split("-", 1)[1] + "-" + number.split("-", 1)[0]
    acknowledgement = f"0{p.department}-{p.org.siren}-{adopted:%Y%m%d}-{ack_number}-DE"
    conventions.record_transmission(convention, acknowledgement, _today(), published_on=_today())
    if not has_dpo:  # the signature opened the (overdue) DPO deadline: supplied weeks later
        yield office(world.sim.now + days(rng.uniform(10, 60)), rng), user
        set_dpo(user, p.org, world.person_name(), f"dpo@{p.org.siren}.example")
    # Each year the staff list changes a little; the evaluation comes before the term ends.
    evaluation_at = datetime.combine(
        convention.evaluation_due_date - timedelta(days=rng.randint(5, 50)), datetime.min.time(), UTC
    )
    while True:
        wake = office(world.sim.now + days(rng.uniform(150, 400)), rng)
        if wake >= evaluation_at:
            break
        yield wake, user
        current = [g for g in grants if g.revoked_on is None]
        if current and rng.random() < 0.6:
            leaving = rng.choice(current)
            revoke_staff(user, leaving, _today(), "Départ de l'agent")
        grants.append(
            grant_staff(
                user,
                p.org,
                GrantData(
                    name=world.person_name(), granted_on=_today(), function=rng.choice(names.FUNCTIONS)
                ),
            )
        )
    yield office(evaluation_at, rng), world.legal
    decision = rng.choices(["renew", "renegotiate", "end"], weights=[85, 10, 5])[0]
    conventions.record_evaluation(
        convention,
        conventions.EvaluationData(
            evaluated_on=_today(),
            findings="Ressources numériques utilisées ; obligations du sous-traitant tenues.",
            decision=decision,
            usage="Usage en hausse régulière",
        ),
    )


def breach_life(world: World, p: PartnerInfo, discovered: datetime) -> Process:
    """Declared by the partner, acknowledged by the DPO (72 h clock), assessed, notified to the CNIL,
    the people informed when the risk is high, the joint action plan, the closure."""
    from compliance.breaches import services as breaches
    from compliance.breaches.models import BreachStatus

    rng = world.rng
    reporter = rng.choice(p.users)
    delay = rng.choices(
        [rng.uniform(0.5, 6), rng.uniform(6, 24), rng.uniform(24, 120)], weights=[75, 15, 10]
    )[0]
    yield office(discovered + hours(delay), rng), reporter
    started = discovered - days(rng.uniform(0, 10))
    draft = rng.random() < 0.02
    breach = breaches.create_breach(
        reporter,
        p.org,
        breaches.BreachData(
            summary=rng.choice(names.BREACH_SUMMARIES),
            circumstances="Constaté par un agent de la bibliothèque lors de l'ouverture au public.",
            cause=rng.choice(names.BREACH_CAUSES),
            natures=rng.sample(["confidentiality", "integrity", "availability"], k=rng.randint(1, 2)),
            started_at=started,
            ended_at=discovered + hours(rng.uniform(0.1, delay)) if rng.random() < 0.4 else None,
            discovered_at=discovered,
            data_categories=rng.choice(names.DATA_CATEGORIES),
            subject_categories=rng.choice(names.SUBJECT_CATEGORIES),
            subjects_count=rng.choice([3, 12, 40, 150, 600, 2500]),
            records_count=rng.choice([3, 12, 40, 150, 600, 2500, 9000]),
            consequences="Risque d'hameçonnage ciblé des usagers.",
            measures_taken=rng.choice(names.MEASURES),
            contact_name=reporter.name,
            contact_email=reporter.email,
            contact_phone="04 92 00 00 00",
        ),
        submit=not draft,
    )
    if draft:
        return
    reported = world.sim.now
    dpo = world.dpo()
    yield office(reported + hours(rng.uniform(0.3, 20)), rng), dpo
    if rng.random() < 0.03:  # a phone call warned the DPO before the e-mail was read
        aware = max(discovered, reported - hours(rng.uniform(0, 2)))
        breaches.acknowledge_breach(dpo, breach, aware, "Appel téléphonique de la médiathèque")
    else:
        breaches.acknowledge_breach(dpo, breach)
    aware_at = breach.aware_at
    assert aware_at is not None
    yield world.sim.now + hours(rng.uniform(2, 30)), dpo
    level = rng.choices(["none", "risk", "high"], weights=[40, 45, 15])[0]
    communication_due = _today() + timedelta(days=rng.randint(5, 12)) if level == "high" else None
    breaches.assess_risk(dpo, breach, level, names.RISK_REASONINGS[level], communication_due)
    for _n in range(rng.randint(0, 2)):
        breaches.add_action(
            dpo,
            breach,
            rng.choice(names.MEASURES),
            reporter.name,
            _today() + timedelta(days=rng.randint(10, 60)),
        )
    if level != "none":
        late = rng.random() < 0.08
        target = aware_at + (hours(rng.uniform(73, 120)) if late else hours(rng.uniform(12, 70)))
        yield max(target, world.sim.now + hours(0.5)), dpo
        notified = world.sim.now
        breaches.add_notification(
            dpo,
            breach,
            "initial",
            notified,
            cnil_reference=f"CNIL-{notified:%Y%m%d}-{breach.id:06d}",
            summary="Notification initiale par le téléservice de la CNIL.",
            late_reasons="Informations recueillies auprès du prestataire du partenaire."
            if notified > aware_at + hours(72)
            else None,
        )
        if rng.random() < 0.2:
            yield office(world.sim.now + days(rng.uniform(5, 20)), rng), dpo
            breaches.add_notification(
                dpo, breach, "complementary", world.sim.now, summary="Compléments sur les mesures prises."
            )
    if level == "high" and communication_due is not None:
        on_time = datetime.combine(communication_due, datetime.min.time(), UTC) - days(rng.uniform(0, 3))
        yield max(office(on_time, rng), world.sim.now + hours(1)), dpo
        breaches.record_communication(
            dpo,
            breach,
            world.sim.now,
            "Courrier et courriel aux usagers concernés",
            breach.subjects_count or 0,
        )
    for action in list(breach.actions):
        if rng.random() < 0.85:
            yield office(world.sim.now + days(rng.uniform(5, 40)), rng), reporter
            breaches.set_action_status(reporter, action, "done")
    if rng.random() < 0.9:
        yield office(world.sim.now + days(rng.uniform(20, 100)), rng), dpo
        if breach.status == BreachStatus.ASSESSED:
            breaches.close_breach(dpo, breach, "Mesures mises en œuvre ; dossier clos.")


def request_life(world: World, received: datetime) -> Process:
    """Received by the Département or a partner (forwarded in the same step), partners asked what they
    hold (3 working days), the answer to the person within the month (sometimes extended)."""
    from compliance.access_requests import services as requests

    rng = world.rng
    dpo = world.dpo()
    at_partner = rng.random() < 0.6
    partner = world.partner(received) if at_partner else None
    recorder = rng.choice(partner.users) if partner else dpo
    delay = rng.uniform(1, 30) if partner else rng.uniform(0, 4)
    yield office(received + hours(delay), rng), recorder
    first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.SURNAMES)
    request = requests.record_request(
        recorder,
        requests.RequestData(
            right=rng.choices(
                ["access", "rectification", "erasure", "objection", "portability", "restriction"],
                weights=[50, 15, 20, 8, 5, 2],
            )[0],
            subject_name=f"{first} {last}",
            received_at=received,
            received_by=partner.org if partner else world.controller,
            subject_email=f"{ascii_slug(first)}.{ascii_slug(last)}@courriel.example",
            subject_phone=phone_number(rng, "06"),
            subject_address=f"{rng.randint(1, 90)} {rng.choice(names.STREETS)}",
            request_text=rng.choice(names.REQUEST_TEXTS),
            channel=rng.choice(["courriel", "courrier", "guichet", "formulaire en ligne"]),
        ),
    )
    if rng.random() < 0.1:
        yield office(world.sim.now + days(rng.uniform(0.5, 2)), rng), dpo
        checked = world.sim.now
        requests.record_identity_check(
            dpo, request, checked, checked, "Copie d'une pièce d'identité demandée"
        )
    count = int(world.inquiries_per_request) + (rng.random() < world.inquiries_per_request % 1)
    asked_partners: list[PartnerInfo] = []
    if count:
        yield office(world.sim.now + hours(rng.uniform(2, 30)), rng), dpo
        candidates = [q for q in world.partners if q.joined <= world.sim.now]
        if partner is not None:
            asked_partners.append(partner)
        others = [q for q in candidates if q is not partner]
        weights = [q.weight for q in others]
        while len(asked_partners) < min(count, len(candidates)):
            pick = rng.choices(others, weights=weights)[0]
            if pick not in asked_partners:
                asked_partners.append(pick)
        for asked in asked_partners:
            inquiry = requests.open_inquiry(
                dpo, request, asked.org, f"Nom : {first} {last} ; carte de lecteur éventuelle", world.sim.now
            )
            answerer = rng.choice(asked.users)
            world.sim.spawn(
                _inquiry_answer_time(world, inquiry.requested_at),
                answerer,
                inquiry_life(world, inquiry, answerer),
            )
    if rng.random() < 0.04:
        yield office(request.received_at + days(rng.uniform(12, 20)), rng), dpo
        requests.extend_response(
            dpo, request, "Demande complexe : plusieurs bibliothèques interrogées", world.sim.now
        )
    roll = rng.random()
    if roll < 0.015:
        return  # never answered: an overdue deadline the DPO sees on the dashboard
    limit = 80 if request.extended_at else 28
    answer_after = rng.uniform(32, 45) if roll < 0.055 else rng.uniform(6, limit)
    yield office(max(request.received_at + days(answer_after), world.sim.now + hours(1)), rng), dpo
    outcome = rng.choices(["granted", "partial", "refused"], weights=[85, 10, 5])[0]
    requests.answer_request(
        dpo,
        request,
        outcome,
        world.sim.now,
        rng.choice(["courriel", "courrier recommandé"]),
        answer_text="Veuillez trouver ci-joint les données vous concernant.",
        legal_ground=None
        if outcome == "granted"
        else "Article 12(5) du RGPD : demande manifestement excessive",
    )


def _inquiry_answer_time(world: World, requested_at: datetime) -> datetime:
    rng = world.rng
    roll = rng.random()
    if roll < 0.02:
        return datetime.max.replace(tzinfo=UTC)  # never answered (dropped: past the end)
    delay = days(rng.uniform(4, 9)) if roll < 0.14 else hours(rng.uniform(2, 60))
    return office(requested_at + delay, rng)


def inquiry_life(world: World, inquiry: Any, actor: Any) -> Process:
    from compliance.access_requests import services as requests

    holds = world.rng.random() < 0.4
    requests.answer_inquiry(
        actor,
        inquiry,
        holds,
        "Compte lecteur actif, 14 prêts en cours d'année." if holds else None,
    )
    return
    yield  # a generator


def meeting_life(world: World, body: Any, starts_at: datetime, duty: str | None) -> Process:
    """Convened weeks ahead (agenda, invitation with its ICS), held (attendance, quorum, votes, the decision
    register, action items), its minutes written, approved at the next meeting and published."""
    from governance.bodies import services as gov

    rng = world.rng
    who = world.committee
    remote = rng.random() < 0.25
    meeting = gov.create_meeting(
        body,
        starts_at,
        place=None if remote else rng.choice(names.MEETING_PLACES),
        video_link=f"https://visio.{CONTROLLER_DOMAIN}/{body.code.lower()}" if remote else None,
        title=f"{body.name} — séance du {starts_at.astimezone(paris_tz()):%d/%m/%Y}",
        agenda=rng.sample(names.AGENDA_ITEMS, k=rng.randint(3, 5)),
        ends_at=starts_at + hours(2),
        fulfils_duty=duty,
    )
    if rng.random() < 0.6:
        gov.send_invitation(meeting)
    yield starts_at + hours(2), who
    day = gov.meeting_day(meeting)
    members = gov.members_in_office(body, day)
    entries: list[gov.AttendanceEntry] = []
    present: list[Any] = []
    for member in members:
        roll = rng.random()
        status = "present" if roll < 0.72 else "excused" if roll < 0.92 else "absent"
        entries.append(gov.AttendanceEntry(member.id, status))
        if status == "present":
            present.append(member)
    holders = list(present)
    for entry in entries:
        if entry.status == "excused" and holders and rng.random() < 0.4:
            entry.status = "represented"
            entry.proxy_holder_id = holders.pop(rng.randrange(len(holders))).id
    quorum = gov.set_attendance(meeting, entries)
    for earlier in world.pending_minutes.pop(body.id, []):
        gov.approve_minutes(earlier, meeting)
        gov.publish_minutes(earlier)
    if quorum.reached:
        voters = quorum.present + quorum.represented
        for item in meeting.agenda[: rng.randint(1, 3)]:
            against = rng.randint(0, max(0, voters // 4))
            abstentions = rng.randint(0, max(0, (voters - against) // 5))
            vote = gov.record_vote(
                meeting, item.title, voters - against - abstentions, against, abstentions, item.id
            )
            if vote.adopted:
                decision = gov.record_decision(meeting, rng.choice(names.DECISIONS), vote.id)
                if rng.random() < 0.6:
                    owner = rng.choice(world.partners[: max(3, len(world.partners) // 4)])
                    action = gov.create_action_item(
                        body,
                        rng.choice(names.ACTIONS),
                        owner.users[0].name,
                        _today() + timedelta(days=rng.randint(14, 60)),
                        decision=decision,
                        owner_organisation_id=owner.org.id if rng.random() < 0.5 else None,
                    )
                    world.sim.spawn(_action_done_time(world, action), who, action_life(world, action))
    yield office(world.sim.now + days(rng.uniform(2, 7)), rng), who
    lines = [f"# {meeting.title}", "", "## Présents", *(f"- {m.name}" for m in present), "", "## Débats"]
    lines += [f"- {i.title} : échanges et vote." for i in meeting.agenda]
    gov.save_minutes(meeting, "\n".join(lines))
    gov.submit_minutes(meeting)
    world.pending_minutes.setdefault(body.id, []).append(meeting)


def _action_done_time(world: World, action: Any) -> datetime:
    rng = world.rng
    due = datetime.combine(action.due_date, datetime.min.time(), UTC)
    roll = rng.random()
    if roll < 0.05:
        return datetime.max.replace(tzinfo=UTC)
    return office(due + (days(rng.uniform(1, 20)) if roll < 0.2 else -days(rng.uniform(0, 12))), rng)


def action_life(world: World, action: Any) -> Process:
    from governance.bodies import services as gov

    gov.set_action_status(action, "done" if world.rng.random() < 0.95 else "cancelled", "Fait.")
    return
    yield


def yearly_duties(world: World) -> Process:
    """`vigie governance duties` from cron, each 2 January."""
    from governance.bodies.services import YEARLY_DUTIES, ensure_yearly_duty

    while True:
        for duty in YEARLY_DUTIES:
            ensure_yearly_duty(duty, _today().year)
        yield datetime(_today().year + 1, 1, 2, 6, 0, tzinfo=UTC), None


def reminders(world: World, every: timedelta) -> Process:
    """`vigie deadlines notify` from cron (each morning by default)."""
    from vigie.deadlines.reminders import notify
    from vigie.extensions import db

    while True:
        db.session.commit()  # notify commits per reminder and may roll back: keep the batch safe
        notify()
        yield world.sim.now + every, None


def _today() -> date:
    from vigie.database import utcnow
    from vigie.timeutil import to_paris

    return to_paris(utcnow()).date()


# --- the plan -------------------------------------------------------------------------------------


def expected_other_deadlines(pr: Profile, years: float) -> float:
    """The clocks other than inquiries, as the processes above open them (for the inquiry count)."""
    cnil = pr.breaches * 0.98
    communication = pr.breaches * 0.15 * 0.98
    responses = pr.requests
    actions = pr.meetings * 0.9 * 2 * 0.8 * 0.6  # quorum, votes, adopted, with an action item
    duties = 2 * math.ceil(years)
    evaluations = pr.partners * 1.05
    dpo_contacts = pr.partners * 0.1
    return cnil + communication + responses + actions + duties + evaluations + dpo_contacts


def plan(world: World) -> None:
    """Spawn the processes: arrivals spread over the four years (a little more each year)."""
    rng = world.rng
    pr = world.profile
    end = world.sim.end
    span = (end - START).total_seconds()
    years = span / (365.25 * 86400)
    others = expected_other_deadlines(pr, years)
    world.inquiries_per_request = max(0.0, (pr.deadlines - others) / pr.requests)

    growth = 0.5  # the activity rises by half over the period

    def arrival() -> datetime:
        # Inverse transform of the density 1 + growth * x on [0, 1].
        u = rng.random()
        x = (-1 + math.sqrt(1 + 2 * growth * u * (1 + growth / 2))) / growth
        return START + timedelta(seconds=x * (span - 3 * 86400))

    for _n in range(pr.breaches):
        discovered = arrival() + timedelta(days=3)
        partner = world.partner(discovered)
        world.sim.spawn(discovered, None, _deferred(partial(breach_life, world, partner, discovered)))
    for _n in range(pr.requests):
        received = arrival() + timedelta(days=3)
        world.sim.spawn(received, None, _deferred(partial(request_life, world, received)))
    per_body = _meeting_counts(pr.meetings, len(world.bodies))
    for body, count in zip(world.bodies, per_body, strict=True):
        duty_years: set[int] = set()
        for k in range(count):
            day = START + timedelta(seconds=(k + rng.uniform(0.1, 0.9)) / count * (span + 40 * 86400))
            starts_at = office(day.replace(hour=8), rng)
            year = starts_at.astimezone(paris_tz()).year
            duty = None
            if body.yearly_duty and year not in duty_years and starts_at.astimezone(paris_tz()).month >= 5:
                duty = body.yearly_duty
                duty_years.add(year)
            convene = starts_at - days(rng.uniform(14, 35))
            world.sim.spawn(
                max(convene, START),
                world.committee,
                _deferred(partial(meeting_life, world, body, starts_at, duty)),
            )
    world.sim.spawn(START, None, yearly_duties(world))


def _meeting_counts(total: int, bodies: int) -> list[int]:
    # The steering committee meets least; the working groups and commissions share the rest.
    base = [max(1, total // (bodies + 1))] + [0] * (bodies - 1)
    rest = total - base[0]
    for i in range(1, bodies):
        base[i] = rest // (bodies - 1) + (1 if i <= rest % (bodies - 1) else 0)
    return base


def _deferred(make: Callable[[], Process]) -> Process:
    """A process created when it first runs (so that random draws happen in time order)."""
    inner = make()
    yield from inner


# --- entry points ---------------------------------------------------------------------------------


@dataclass
class Summary:
    scale: float
    seed: int
    seconds: float
    steps: int
    counts: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "seed": self.seed,
            "seconds": round(self.seconds, 1),
            "steps": self.steps,
            "counts": self.counts,
        }


def count_rows() -> dict[str, int]:
    from vigie.extensions import db

    tables = [
        "organisation",
        "user_account",
        "deadline",
        "deadline_event",
        "deadline_reminder",
        "breach",
        "access_request",
        "inquiry",
        "meeting",
        "decision",
        "convention",
        "outbox_message",
        "audit_event",
    ]
    return {t: int(db.session.scalar(sa.text(f'SELECT count(*) FROM "{t}"')) or 0) for t in tables}  # noqa: S608


def generate(
    scale: float,
    seed: int,
    end: datetime | None = None,
    notify_every: timedelta | None = timedelta(days=1),
    commit_every: int = 400,
    progress: Callable[[str], None] | None = None,
) -> Summary:
    """Fill the (empty, migrated) database of the current app context. `end` is the simulation's "now"
    (default: the real now)."""
    import time_machine
    from flask import current_app

    from vigie.database import utcnow
    from vigie.extensions import db

    began = time.perf_counter()
    end = end or utcnow() - timedelta(minutes=5)
    if db.session.scalar(sa.text("SELECT count(*) FROM organisation")):
        raise SystemExit("The database is not empty: the generator fills a freshly migrated database.")
    send_on_commit = current_app.config.get("MAIL_SEND_ON_COMMIT", True)
    current_app.config["MAIL_SEND_ON_COMMIT"] = False  # no SMTP server: see the module's docstring
    db.session.close()  # back to the pool, so that replacing the pool closes it (no connection orphaned)
    _no_wait_for_disk(db.engine)
    # The processes hold their records across the batch commits: no reload of each after every commit
    # (what the records hold is what the services wrote; the database changes only through them).
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    rng = random.Random(seed)
    world = World(rng=rng, profile=profile(scale), sim=Simulation(end, commit_every))
    try:
        with time_machine.travel(START, tick=False) as traveller:
            from vigie.audit.recorder import acting_as

            with acting_as(None, "bench-setup"):
                setup(world)
                db.session.commit()
            plan(world)
            if notify_every is not None:
                world.sim.spawn(START + hours(0.5), None, reminders(world, notify_every))

            def report(sim: Simulation) -> None:
                if progress is not None and sim.stats.commits % 25 == 0:
                    progress(
                        f"{sim.now:%Y-%m-%d} steps={sim.stats.steps} queue={len(sim.queue)} "
                        f"{time.perf_counter() - began:.0f}s"
                    )

            world.sim.run(traveller, report)
        _deliver_outbox()
    finally:
        current_app.config["MAIL_SEND_ON_COMMIT"] = send_on_commit
        session.expire_on_commit = expire_on_commit
    return Summary(scale, seed, time.perf_counter() - began, world.sim.stats.steps, count_rows())


def _sqlite_no_wait(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


def _postgresql_no_wait(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET synchronous_commit TO off")
    cursor.close()
    dbapi_connection.commit()


def _no_wait_for_disk(engine: sa.Engine) -> None:
    """The generator's commits do not wait for the disk (SQLite synchronous=OFF, PostgreSQL
    synchronous_commit=off): a crash mid-way loses the database anyway, and a commit still commits."""
    # Module-level listeners: a second run on the same engine finds its listener already there.
    configure = {"sqlite": _sqlite_no_wait, "postgresql": _postgresql_no_wait}.get(engine.dialect.name)
    if configure is not None and not sa.event.contains(engine, "connect", configure):
        sa.event.listen(engine, "connect", configure)
    engine.dispose()  # the connections opened so far reconnect with the setting


def _deliver_outbox() -> None:
    """What an SMTP server would have done: each queued e-mail delivered when it was queued."""
    from vigie.extensions import db
    from vigie.mail.models import OutboxMessage, OutboxStatus

    table: sa.Table = OutboxMessage.__table__  # type: ignore[assignment]
    db.session.execute(
        sa.update(table)
        .where(table.c.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.SENT, attempts=1, sent_at=table.c.created_at)
    )
    db.session.commit()


def build_app(database_url: str | None) -> Any:
    from vigie import create_app

    overrides: dict[str, Any] = {}
    if database_url:
        overrides["SQLALCHEMY_DATABASE_URI"] = database_url
    return create_app(overrides)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 (a Département), 100 (a region), 0.02…")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=None, help="default: VIGIE_DATABASE_URL")
    parser.add_argument(
        "--end",
        default=None,
        help="the simulation's now, ISO 8601 with offset (default: the real now; fix it to reproduce)",
    )
    parser.add_argument("--upgrade", action="store_true", help="run the migrations first (upgrade heads)")
    parser.add_argument(
        "--notify-every-days",
        type=float,
        default=1.0,
        help="simulated cron of `vigie deadlines notify` (0: off)",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="write a pyinstrument profile of the run (.html, or text)"
    )
    args = parser.parse_args(argv)
    app = build_app(args.database_url)
    with app.app_context():
        if args.upgrade:
            from flask_migrate import upgrade

            upgrade(revision="heads")
        every = timedelta(days=args.notify_every_days) if args.notify_every_days > 0 else None

        def run() -> Summary:
            end = datetime.fromisoformat(args.end) if args.end else None
            return generate(
                args.scale, args.seed, end=end, notify_every=every, progress=lambda m: print(m, flush=True)
            )

        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.005)
            with profiler:
                summary = run()
            with open(args.profile, "w", encoding="utf-8") as out:
                html = args.profile.endswith(".html")
                out.write(profiler.output_html() if html else profiler.output_text(show_all=False))
        else:
            summary = run()
    print(json.dumps(summary.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
