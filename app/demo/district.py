"""The demo district: households spread over the villages, with their members and quarterly reports, and
whether they are monitored.

Every generated row is written in bulk. People (sizes, ages, health, labour) are drawn in demo/people.py;
their incomes follow the calibrated dynamics of demo/synthetic.py (README: "Synthetic district"), and become
reports in demo/reports.py. The regions, accounts and staged cases are in demo/regions.py, accounts.py and
cases.py.
"""

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import bulk
from app.clock import local_today
from app.config import Settings
from app.demo import synthetic
from app.demo.people import PeopleGenerator, Person, avoid_registered_ids
from app.demo.regions import ensure_regions
from app.demo.reports import money, quarters, write_reports
from app.models import Base, Household, Region
from app.models.base import utcnow
from app.models.enums import (
    CANNOT_WORK,
    DisasterType,
    Employment,
    EventKind,
    Health,
    HouseholdType,
    MonitoringCategory,
    MonitoringStatus,
    RegionLevel,
    Relation,
    Schooling,
)
from app.pii import cipher_for, mask_phone
from app.schemas.reports import EventIn
from app.services.platform import audit
from app.services.platform.access import Actor
from app.services.registry import member_facts


@dataclass(frozen=True)
class Chunk:
    """A part of a district written in its own transaction, maybe beside others (demo/chunks.py)."""

    number: int
    first_no: int  # its first household number (D0000001 is 1)
    households: int
    stripe: int  # of the ID numbers (people.STRIPES): chunks written at once have different stripes
    today: date  # the whole district's, so every chunk reports the same quarters
    now: datetime
    of: int  # chunks in the district


def next_household_no(session: Session) -> int:
    """The number after the last demo household's (D0000001, D0000002, …)."""
    last_no = session.scalar(
        select(func.max(Household.household_no)).where(Household.household_no.like("D%"))
    )
    return int(last_no[1:]) + 1 if last_no and last_no[1:].isdigit() else 1


def generate(
    session: Session,
    settings: Settings,
    *,
    households: int,
    seed: int,
    quarter_count: int = 12,
    villages: list[str] | None = None,
    chunk: Chunk | None = None,
) -> int:
    """Add `households` households with members and quarterly reports; returns the number added.

    Households are spread over `villages` (default: every village of the tree). Incomes follow the
    calibrated dynamics of demo/synthetic.py; the same seed gives the same district. A `chunk` of a larger
    district says where its household numbers start, its stripe of ID numbers and the run's day.
    """
    if chunk is None:  # a chunk's district has them already: ensuring them locks the audit chain
        ensure_regions(session, settings)
    today = chunk.today if chunk else local_today()
    gen = PeopleGenerator(seed, today, chunk.stripe if chunk else None)
    np_rng = np.random.default_rng(seed)
    cipher = cipher_for(settings)
    villages = villages or list(
        session.scalars(
            select(Region.code).where(Region.level == RegionLevel.village).order_by(Region.code)
        ).all()
    )
    start_no = chunk.first_no if chunk else next_household_no(session)
    periods = quarters(today, quarter_count)
    now = chunk.now if chunk else utcnow()
    rng = gen.rng

    families = [gen.family() for _ in range(households)]
    avoid_registered_ids(session, gen, cipher, [p for family in families for p in family])
    village_of = [villages[(start_no + n) % len(villages)] for n in range(households)]
    profile = _profile(families, village_of, villages, rng, today)
    amounts = synthetic.simulate(np_rng, profile, periods)
    household_rows = []
    first_year_net = _first_year_net(amounts).tolist()
    for n, family in enumerate(families):
        lifted = bool(profile.lifted[n])
        phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
        status, category = _monitoring(rng, lifted, first_year_net[n], len(family))
        risk_types, since = _monitoring_record(rng, status, family, today)
        household_rows.append(
            {
                "household_no": f"D{start_no + n:07d}",
                "village_code": village_of[n],
                "address": f"{rng.randint(1, 120)}号",
                "phone_encrypted": cipher.encrypt(phone),
                "phone_masked": mask_phone(phone),
                "household_type": HouseholdType.lifted if lifted else HouseholdType.ordinary,
                "monitoring_category": category,
                "monitoring_status": status,
                "risk_types": risk_types,
                "monitored_since": since,
                "no_labour_capacity": all(p.labour in CANNOT_WORK for p in family),
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    ids = bulk.insert_returning_ids(session, HOUSEHOLD_TABLE, household_rows)
    member_rows = [
        _member_row(hid, p, bool(profile.safety_net[n]), rng, cipher, today, now)
        for n, (hid, family) in enumerate(zip(ids, families, strict=True))
        for p in family
    ]
    member_ids = bulk.insert_returning_ids(session, MEMBER_TABLE, member_rows)
    bulk.insert_rows(session, FACT_TABLE, _fact_rows(member_ids, member_rows, now))
    housing = np_rng.choice(np.array(list("ABCD")), size=len(ids), p=HOUSING_GRADES)
    water_safe = np_rng.random(len(ids)) >= UNSAFE_WATER
    events: dict[tuple[int, int], list[EventIn]] = defaultdict(list)
    for e in amounts.events:
        events[e.household, e.quarter].append(
            EventIn.model_construct(
                kind=EventKind(e.kind),
                disaster_type=DisasterType(e.disaster_type) if e.disaster_type else None,
                occurred_on=e.occurred_on,
                loss=money(e.loss),
            )
        )
    write_reports(
        session,
        ids,
        periods,
        amounts,
        events,
        ([str(g) for g in housing.tolist()], [bool(w) for w in water_safe.tolist()]),
        now,
    )
    audit.record(
        session,
        settings,
        Actor.system("demo-data"),
        [
            audit.Change(
                "household.create",
                "household",
                hid,
                hid,
                {"source": "demo-data", "household_no": row["household_no"], "members": len(family)},
            )
            for hid, family, row in zip(ids, families, household_rows, strict=True)
        ],
    )
    return len(ids)


# Persistent household conditions. Hongta rebuilt its unsafe housing and piped its water during
# poverty alleviation, so few remain (rates are guesses to confirm with the district).
HOUSING_GRADES = (0.86, 0.135, 0.004, 0.001)
UNSAFE_WATER = 0.003
UNINSURED_PERSON = 0.002  # basic medical insurance covers ≥ 99.5 % of the rural population
MEMBER_TABLE = Base.metadata.tables["member"]
FACT_TABLE = Base.metadata.tables["member_fact"]
HOUSEHOLD_TABLE = Base.metadata.tables["household"]


def _profile(
    families: list[list[Person]], village_of: list[str], villages: list[str], rng: random.Random, today: date
) -> synthetic.Households:
    index = {code: i for i, code in enumerate(villages)}

    def count(family: list[Person], test: Callable[[Person], bool]) -> int:
        return sum(1 for p in family if test(p))

    size = np.array([len(f) for f in families], dtype=np.int64)
    workers = np.array([count(f, lambda p: p.labour not in CANNOT_WORK) for f in families], dtype=np.int64)
    lifted = np.array([rng.random() < 0.35 for _ in families], dtype=bool)
    # 低保 / 特困: most households with no one able to work, a few others
    safety_net = np.array([rng.random() < (0.7 if w == 0 else 0.03) for w in workers.tolist()], dtype=bool)
    return synthetic.Households(
        size=size,
        workers=workers,
        migrants=np.array([count(f, lambda p: p.employment == Employment.migrant) for f in families]),
        elderly=np.array([count(f, lambda p: (today - p.birth).days >= 60 * 365) for f in families]),
        chronic=np.array([count(f, lambda p: p.health == Health.chronic) for f in families]),
        serious=np.array(
            [count(f, lambda p: p.health in (Health.serious_illness, Health.disabled)) for f in families]
        ),
        head_birth_year=np.array([f[0].birth.year for f in families], dtype=np.int64),
        lifted=lifted,
        safety_net=safety_net,
        village=np.array([index[v] for v in village_of], dtype=np.int64),
    )


def _first_year_net(amounts: synthetic.Quarterly) -> synthetic.FloatArray:
    """Each household's net income over the first four quarters."""
    first_year = slice(0, 4)
    net: synthetic.FloatArray = (
        amounts.wages[:, first_year].sum(axis=1)
        + amounts.business[:, first_year].sum(axis=1)
        - amounts.production_cost[:, first_year].sum(axis=1)
        + amounts.transfer[:, first_year].sum(axis=1)
    )
    return net


STATUSES = tuple(MonitoringStatus)
# no household is under verification without its case: cases come from the first scoring run
STATUS_IF_POOR = tuple(accumulate((63, 0, 30, 7)))
STATUS_OTHERWISE = tuple(accumulate((95, 0, 3, 2)))


def _monitoring(
    rng: random.Random, lifted: bool, first_year_net: float, size: int
) -> tuple[MonitoringStatus, MonitoringCategory]:
    """Households that were poor in the first year are more often already under monitoring."""
    poor = first_year_net / size < 9000  # near or under the line of the time
    status = rng.choices(STATUSES, cum_weights=STATUS_IF_POOR if poor else STATUS_OTHERWISE)[0]
    if status == MonitoringStatus.not_monitored:
        return status, MonitoringCategory.none
    category = rng.choice(
        [
            MonitoringCategory.unstable if lifted else MonitoringCategory.marginal,
            MonitoringCategory.sudden_hardship,
        ]
    )
    return status, category


def _monitoring_record(
    rng: random.Random, status: MonitoringStatus, family: list[Person], today: date
) -> tuple[list[str] | None, date | None]:
    """A monitored (or once monitored) household's risk types and identification date, as the decision
    that made it monitored would have recorded them (consistent with its members)."""
    if status not in (MonitoringStatus.monitored, MonitoringStatus.risk_eliminated):
        return None, None
    workers = sum(1 for p in family if p.labour not in CANNOT_WORK)
    if workers == 0 or workers * 4 <= len(family):
        risk_types = ["缺劳动力"]
    else:
        risk_types = ["因务工就业不稳"]
    if any(p.schooling == Schooling.in_school for p in family) and rng.random() < 0.3:
        risk_types.append("因学")
    return risk_types, today - timedelta(days=rng.randrange(200, 1000))


def _fact_rows(
    member_ids: list[int], member_rows: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """The members' recorded fields as facts holding from their birth: a generated person's health and
    labour are drawn once and shape their whole simulated history."""
    return [
        {
            "member_id": member_id,
            "fact": kind,
            "value": member_facts.as_text(row[kind]),
            "valid_from": row["birth_date"],
            "recorded_at": now,
            "recorded_by": "system:demo-data",
        }
        for member_id, row in zip(member_ids, member_rows, strict=True)
        for kind in member_facts.DATED_FIELDS
        if row[kind] is not None
    ]


def _member_row(
    hid: int,
    p: Person,
    safety_net: bool,
    rng: random.Random,
    cipher: Any,
    today: date,
    now: Any,
) -> dict[str, Any]:
    return {
        "household_id": hid,
        "name": p.name,
        "id_number_encrypted": cipher.encrypt(p.id_number),
        "id_number_hash": cipher.lookup_hash(p.id_number),
        "relation": p.relation,
        "sex": p.sex,
        "ethnicity": rng.choice(("汉族", "汉族", "彝族")),
        "birth_date": p.birth,
        "labour_capacity": p.labour,
        "health": p.health,
        "disability_grade": rng.randint(1, 4) if p.health == Health.disabled else None,
        "schooling": p.schooling,
        "school_level": p.school_level,
        "dropout_reason": "因经济困难" if p.schooling == Schooling.dropped_out else None,
        "basic_medical_insurance": rng.random() >= UNINSURED_PERSON,
        "serious_illness_insurance": rng.random() > 0.05,
        "basic_pension": (today - p.birth).days >= 60 * 365,
        "dibao": True if safety_net and p.relation == Relation.head else None,
        "tekun": None,
        "employment": p.employment,
        "migrant_months": p.migrant_months,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
