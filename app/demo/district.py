"""Demo mode: Hongta's regions, illustrative villages, one account per role, a plausible district.

Every generated row is written in bulk. People (sizes, ages, health, labour) are drawn here; their
incomes follow the calibrated dynamics of demo/synthetic.py (README: "Synthetic district").
"""

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app import bulk
from app.clock import add_months, local_today
from app.config import Settings
from app.demo import synthetic
from app.models import Base, Household, Member, Region, Report, User
from app.models.base import utcnow
from app.models.enums import (
    CANNOT_WORK,
    ROLE_REGION_LEVEL,
    DisasterType,
    Employment,
    EventKind,
    Health,
    HouseholdType,
    HousingGrade,
    LabourCapacity,
    MonitoringCategory,
    MonitoringStatus,
    RegionLevel,
    Relation,
    Role,
    Schooling,
    SchoolLevel,
    Sex,
)
from app.pii import cipher_for, id_check_digit, mask_phone
from app.schemas.case_actions import ACTIONS
from app.schemas.reports import EventIn, Income, ReportCreate, Spending
from app.security import generate_password, hash_password
from app.services.platform import audit
from app.services.platform.access import Actor
from app.services.registry import regions
from app.services.registry.reports import body_hash

COUNTY = "530402000000"
DEMO_TOWNSHIP = "530402202000"
DEMO_VILLAGE = "530402202201"
DEMO_ACCOUNTS = (
    ("demo-admin", Role.admin, COUNTY),
    ("demo-district", Role.district_officer, COUNTY),
    ("demo-department", Role.department_user, COUNTY),
    ("demo-township", Role.township_reviewer, DEMO_TOWNSHIP),
    ("demo-cadre", Role.village_cadre, DEMO_VILLAGE),
    ("demo-platform", Role.platform_client, COUNTY),
)
DEMO_DEPARTMENT = {"demo-department": "医保"}
ILLUSTRATIVE_VILLAGES_PER_TOWNSHIP = 3
SURNAMES = "李王张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗普矣鲁"
GIVEN = "文华明国建平秀英兰芳志强永福春梅丽红云海军伟玉珍凤桂"


def ensure_regions(session: Session, settings: Settings) -> None:
    """Load Hongta's tree if no region exists, then give every village-less township illustrative villages."""
    actor = Actor.system("demo")
    audit.lock_chain(session)  # two demo starts at once would both add the same villages
    if regions.count(session) == 0:
        regions.import_rows(session, settings, actor, regions.parse_csv(regions.shipped_hongta_csv()))
    townships = session.scalars(select(Region).where(Region.level == RegionLevel.township)).all()
    with_villages = set(
        session.scalars(
            select(Region.parent_code).where(Region.level == RegionLevel.village).distinct()
        ).all()
    )
    rows = []
    for township in townships:
        if township.code in with_villages:
            continue
        for i in range(1, ILLUSTRATIVE_VILLAGES_PER_TOWNSHIP + 1):
            rows.append(
                regions.RegionRow(
                    code=township.code[:9] + f"{200 + i:03d}",
                    name=f"{township.name[:2]}示例{i}村",
                    level=RegionLevel.village,
                    parent_code=township.code,
                    code_source="illustrative (demo data, not an official village)",
                    illustrative=True,
                )
            )
    if rows:
        regions.import_rows(session, settings, actor, rows)


def reset_demo_accounts(session: Session, settings: Settings) -> list[tuple[str, str, Role, str]]:
    """Create the demo accounts, or give them fresh passwords; returns (username, password, role, region)."""
    audit.lock_chain(session)
    accounts = []
    for username, role, region in DEMO_ACCOUNTS:
        password = generate_password()
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is None:
            user = User(
                username=username,
                role=role,
                region_code=region,
                department=DEMO_DEPARTMENT.get(username),
                is_demo=True,
                password_hash=hash_password(settings, password),
            )
            session.add(user)
        else:
            user.department = DEMO_DEPARTMENT.get(username)
            user.password_hash = hash_password(settings, password)
            user.active, user.failed_logins, user.locked_until = True, 0, None
        accounts.append((username, password, role, region))
    session.flush()
    audit.record(
        session,
        settings,
        Actor.system("demo"),
        [audit.Change("user.demo_reset", "user", None, None, {"usernames": [a[0] for a in accounts]})],
    )
    return accounts


# The demo village's cases at every step of the procedure: cadre reports played through the real case
# code at the days they would have happened (clock.replaying), so every date, deadline, notice period
# and overdue mark is the rules' own. Each script: how many cases, then (action, days ago) in order.
CASE_SCRIPTS: tuple[tuple[int, tuple[tuple[str, int], ...]], ...] = (
    (2, (("report", 2),)),  # 入户核实, due in 8 days
    (2, (("report", 13),)),  # 入户核实, overdue: escalated to the township
    (2, (("report", 6), ("verify", 4))),  # 民主评议
    (2, (("report", 7), ("verify", 5), ("review", 3))),  # 公示 to announce
    (2, (("report", 8), ("verify", 6), ("review", 4), ("notice", 2))),  # 乡镇审核, the notice still runs
    (3, (("report", 12), ("verify", 10), ("review", 9), ("notice", 7))),  # 乡镇审核, notice over
    (2, (("report", 16), ("verify", 14), ("review", 13), ("notice", 12))),  # 乡镇审核, overdue
    (2, (("report", 12), ("verify", 11), ("review", 10), ("notice", 9), ("approve", 1))),  # 县级审定
    (1, (("report", 15), ("verify", 13), ("review", 12), ("notice", 11), ("approve", 4))),  # overdue
    (1, (("report", 30), ("verify", 28), ("review", 27), ("notice", 26), ("approve", 20), ("confirm", 19))),
)
DIFFICULTIES = (
    ("户主外出务工受伤，近三个月没有收入", "因意外事故"),
    ("家中老人患大病住院，自付医疗费用较多", "因病"),
    ("务工返乡后一直未再就业，家庭收入明显下降", "因务工就业不稳"),
    ("烤烟遭冰雹，今年收成大减", "因自然灾害"),
    ("两个子女同时上学，教育支出增加", "因学"),
    ("生猪养殖亏损，欠下饲料款", "因产业项目失败"),
)
VISITORS = (("李文华", "普建平"), ("王秀英", "矣志强"), ("张永福",))


def stage_cases(session: Session, settings: Settings, seed: int = 1) -> int:
    """Put the demo village's cases at every step (CASE_SCRIPTS), by the demo accounts, through the case
    procedure's own code; then escalate what is overdue, as the scheduler would. Returns how many."""
    from app.clock import replaying
    from app.services.cases import case_actions, cases, escalation

    users = {u.role: u for u in session.scalars(select(User).where(User.is_demo.is_(True)))}
    actors = {
        role: Actor(u.id, u.username, u.role, u.region_code, ROLE_REGION_LEVEL[u.role])
        for role, u in users.items()
    }
    wanted = sum(count for count, _ in CASE_SCRIPTS)
    candidates = list(
        session.scalars(
            select(Household)
            .where(
                Household.village_code == DEMO_VILLAGE,
                Household.monitoring_status == MonitoringStatus.not_monitored,
            )
            .order_by(Household.id)
        )
    )
    rng = random.Random(seed)
    chosen = iter(rng.sample(_poorest(session, candidates, wanted), min(wanted, len(candidates))))
    start = utcnow()
    staged = 0
    for count, script in CASE_SCRIPTS:
        for _ in range(count):
            household = next(chosen, None)
            if household is None:
                return staged
            case_id = None
            for action, days_ago in script:
                with replaying(start - timedelta(days=days_ago)):
                    if action == "report":
                        text, risk_type = rng.choice(DIFFICULTIES)
                        signal = cases.report_by_cadre(
                            session,
                            settings,
                            actors[Role.village_cadre],
                            household.id,
                            "high",
                            text,
                            risk_type,
                        )
                        case_id = signal.case_id
                        continue
                    assert case_id is not None
                    actor = actors[_ACTOR_OF[action]]
                    case = case_actions.check(session, actor, case_id, action)
                    body = _case_body(session, action, household, rng)
                    case_actions.apply(session, settings, actor, case, ACTIONS[action].model_validate(body))
            staged += 1
    escalation.escalate_overdue(session, settings)
    return staged


def _poorest(session: Session, households: list[Household], count: int) -> list[Household]:
    """The `count` households with the lowest per-capita net income in their latest report: the ones a
    cadre would report."""
    from app.services.registry import reports

    latest = dict(
        session.execute(
            select(Report.household_id, func.max(Report.id))
            .where(Report.household_id.in_([h.id for h in households]))
            .group_by(Report.household_id)
        )
        .tuples()
        .all()
    )
    income = {
        r.household_id: r.per_capita_net_income for r in reports.read_many(session, list(latest.values()))
    }
    ranked = sorted(households, key=lambda h: (income.get(h.id) is None, income.get(h.id) or 0, h.id))
    return ranked[:count]


_ACTOR_OF = {
    "verify": Role.village_cadre,
    "review": Role.village_cadre,
    "notice": Role.village_cadre,
    "approve": Role.township_reviewer,
    "confirm": Role.district_officer,
}


def _case_body(session: Session, action: str, household: Household, rng: random.Random) -> dict[str, Any]:
    today = local_today().isoformat()
    if action == "verify":
        return {
            "action": "verify",
            "visited_on": today,
            "visitors": list(rng.choice(VISITORS)),
            "findings": "入户核实，情况属实，家庭收入较上年明显下降",
            "consent_signed": True,
        }
    if action == "review":
        return {"action": "review", "held_on": today, "outcome": "agreed", "attendees": rng.randint(15, 40)}
    if action == "notice":
        return {"action": "notice", "starts_on": today, "objections": ""}
    if action == "approve":
        return {"action": "approve", "comment": "公示无异议，同意上报"}
    workers = session.scalar(
        select(func.count())
        .select_from(Member)
        .where(
            Member.household_id == household.id,
            Member.left_on.is_(None),
            Member.labour_capacity.not_in(CANNOT_WORK),
        )
    )
    lifted = household.household_type == HouseholdType.lifted
    return {
        "action": "confirm",
        "monitoring_category": (MonitoringCategory.unstable if lifted else MonitoringCategory.marginal).value,
        "risk_types": ["因务工就业不稳"] if workers else ["缺劳动力"],
    }


def active_demo_accounts(session: Session) -> list[str]:
    return list(
        session.scalars(select(User.username).where(User.is_demo.is_(True), User.active.is_(True))).all()
    )


@dataclass
class _Person:
    name: str
    id_number: str
    relation: Relation
    sex: Sex
    birth: date
    labour: LabourCapacity
    health: Health
    schooling: Schooling | None
    school_level: SchoolLevel | None
    employment: Employment | None
    migrant_months: int | None


class _Generator:
    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self.used_ids: set[str] = set()

    def id_number(self, birth: date, sex: Sex) -> str:
        while True:
            seq = self.rng.randrange(0, 500) * 2 + (1 if sex == Sex.male else 0)
            first17 = f"530402{birth:%Y%m%d}{seq:03d}"
            number = first17 + id_check_digit(first17)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def birth(self, age_low: int, age_high: int) -> date:
        age_days = self.rng.randint(age_low * 365, age_high * 365 + 364)
        return self.today - timedelta(days=age_days)

    def person(self, relation: Relation, sex: Sex, birth: date, surname: str) -> _Person:
        rng = self.rng
        age = (self.today - birth).days // 365
        health = rng.choices(list(Health), weights=(46, 46, 2, 6) if age >= 40 else (84, 11, 1, 4))[0]
        if age < 16 or age >= 70 or health == Health.serious_illness:
            labour = LabourCapacity.none if age < 16 or age >= 70 else LabourCapacity.lost
        elif health == Health.disabled and rng.random() < 0.6:
            labour = LabourCapacity.lost
        else:
            labour = rng.choices((LabourCapacity.ordinary, LabourCapacity.skilled), weights=(80, 20))[0]
        schooling = level = None
        if 6 <= age <= 18:
            if rng.random() < 0.998:
                schooling = Schooling.in_school
                level = (
                    SchoolLevel.primary
                    if age < 12
                    else SchoolLevel.junior
                    if age < 15
                    else SchoolLevel.senior
                )
            else:
                schooling = Schooling.dropped_out
        employment = months = None
        if labour not in CANNOT_WORK:
            employment = rng.choices(list(Employment), weights=(45, 35, 20))[0]
            months = rng.randint(3, 11) if employment == Employment.migrant else None
        name = surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        return _Person(
            name,
            self.id_number(birth, sex),
            relation,
            sex,
            birth,
            labour,
            health,
            schooling,
            level,
            employment,
            months,
        )

    def family(self) -> list[_Person]:
        rng = self.rng
        surname = rng.choice(SURNAMES)
        head_sex = Sex.male if rng.random() < 0.85 else Sex.female
        head_birth = self.birth(28, 80)
        people = [self.person(Relation.head, head_sex, head_birth, surname)]
        size = rng.choices((1, 2, 3, 4, 5, 6), weights=(14, 26, 26, 19, 10, 5))[0]
        head_age = (self.today - head_birth).days // 365
        if size >= 2:
            spouse_sex = Sex.female if head_sex == Sex.male else Sex.male
            people.append(
                self.person(
                    Relation.spouse,
                    spouse_sex,
                    self.birth(max(20, head_age - 6), head_age + 3),
                    rng.choice(SURNAMES),
                )
            )
        for _ in range(size - len(people)):
            if head_age > 62 and rng.random() < 0.5:
                sex = rng.choice(list(Sex))
                relation = Relation.grandson if sex == Sex.male else Relation.granddaughter
                birth = self.birth(1, 17)
            elif head_age < 55 and rng.random() < 0.2:
                sex = rng.choice(list(Sex))
                relation = Relation.father if sex == Sex.male else Relation.mother
                birth = self.birth(head_age + 20, min(head_age + 35, 95))
            else:
                sex = rng.choice(list(Sex))
                relation = Relation.son if sex == Sex.male else Relation.daughter
                birth = self.birth(max(0, head_age - 45), max(1, head_age - 20))
            people.append(self.person(relation, sex, birth, surname))
        return people


def quarters(today: date, count: int) -> list[tuple[date, date]]:
    """The last `count` complete calendar quarters, oldest first."""
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    result = []
    start = quarter_start
    for _ in range(count):
        start = add_months(start, -3)
        result.append((start, add_months(start, 3) - timedelta(days=1)))
    return result[::-1]


def generate(
    session: Session,
    settings: Settings,
    *,
    households: int,
    seed: int,
    quarter_count: int = 12,
    villages: list[str] | None = None,
) -> int:
    """Add `households` households with members and quarterly reports; returns the number added.

    Households are spread over `villages` (default: every village of the tree). Incomes follow the
    calibrated dynamics of demo/synthetic.py; the same seed gives the same district.
    """
    ensure_regions(session, settings)
    today = local_today()
    gen = _Generator(seed, today)
    np_rng = np.random.default_rng(seed)
    cipher = cipher_for(settings)
    villages = villages or list(
        session.scalars(
            select(Region.code).where(Region.level == RegionLevel.village).order_by(Region.code)
        ).all()
    )
    last_no = session.scalar(
        select(func.max(Household.household_no)).where(Household.household_no.like("D%"))
    )
    start_no = int(last_no[1:]) + 1 if last_no and last_no[1:].isdigit() else 1
    periods = quarters(today, quarter_count)
    now = utcnow()
    rng = gen.rng

    families = [gen.family() for _ in range(households)]
    _avoid_registered_ids(session, gen, cipher, [p for family in families for p in family])
    village_of = [villages[(start_no + n) % len(villages)] for n in range(households)]
    profile = _profile(families, village_of, villages, rng, today)
    amounts = synthetic.simulate(np_rng, profile, periods)
    household_rows = []
    for n, family in enumerate(families):
        lifted = bool(profile.lifted[n])
        phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
        status, category = _monitoring(rng, lifted, amounts, n, len(family))
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
    ids = list(
        session.scalars(
            insert(Household).returning(Household.id, sort_by_parameter_order=True), household_rows
        )
    )
    member_rows = [
        _member_row(hid, p, bool(profile.safety_net[n]), rng, cipher, today, now)
        for n, (hid, family) in enumerate(zip(ids, families, strict=True))
        for p in family
    ]
    bulk.insert_rows(session, MEMBER_TABLE, member_rows)
    housing = np_rng.choice(np.array(list("ABCD")), size=len(ids), p=HOUSING_GRADES)
    water_safe = np_rng.random(len(ids)) >= UNSAFE_WATER
    events: dict[tuple[int, int], list[EventIn]] = defaultdict(list)
    for e in amounts.events:
        events[e.household, e.quarter].append(
            EventIn.model_construct(
                kind=EventKind(e.kind),
                disaster_type=DisasterType(e.disaster_type) if e.disaster_type else None,
                occurred_on=e.occurred_on,
                loss=_money(e.loss),
            )
        )
    report_rows = [
        _report_row(
            hid,
            periods[q],
            amounts,
            (n, q),
            events.get((n, q), []),
            str(housing[n]),
            bool(water_safe[n]),
            now,
        )
        for n, hid in enumerate(ids)
        for q in range(len(periods))
    ]
    bulk.insert_rows(session, REPORT_TABLE, report_rows)
    _write_events(session, ids, report_rows, events)
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
REPORT_TABLE = Base.metadata.tables["report"]
EVENT_TABLE = Base.metadata.tables["report_event"]


def _avoid_registered_ids(session: Session, gen: _Generator, cipher: Any, people: list[_Person]) -> None:
    """Give a new ID number to anyone whose number an active member already has (an earlier run's).

    Only the new numbers are looked up, so each chunk of a large district costs the same."""
    pending = people
    while pending:
        hashes = {cipher.lookup_hash(p.id_number): p for p in pending}
        taken: set[str] = set()
        keys = list(hashes)
        for start in range(0, len(keys), 5000):
            taken |= set(
                session.scalars(
                    select(Member.id_number_hash).where(
                        Member.left_on.is_(None), Member.id_number_hash.in_(keys[start : start + 5000])
                    )
                )
            )
        pending = [hashes[h] for h in taken]
        for person in pending:
            person.id_number = gen.id_number(person.birth, person.sex)


def _profile(
    families: list[list[_Person]], village_of: list[str], villages: list[str], rng: random.Random, today: date
) -> synthetic.Households:
    index = {code: i for i, code in enumerate(villages)}

    def count(family: list[_Person], test: Callable[[_Person], bool]) -> int:
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


def _monitoring(
    rng: random.Random, lifted: bool, amounts: synthetic.Quarterly, n: int, size: int
) -> tuple[MonitoringStatus, MonitoringCategory]:
    """Households that were poor in the first year are more often already under monitoring."""
    first_year = slice(0, 4)
    net = (
        amounts.wages[n, first_year].sum()
        + amounts.business[n, first_year].sum()
        - amounts.production_cost[n, first_year].sum()
        + amounts.transfer[n, first_year].sum()
    )
    poor = net / size < 9000  # near or under the line of the time
    # no household is under verification without its case: cases come from the first scoring run
    weights = (63, 0, 30, 7) if poor else (95, 0, 3, 2)
    status = rng.choices(list(MonitoringStatus), weights=weights)[0]
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
    rng: random.Random, status: MonitoringStatus, family: list[_Person], today: date
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


def _member_row(
    hid: int,
    p: _Person,
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


def _report_row(
    hid: int,
    period: tuple[date, date],
    amounts: synthetic.Quarterly,
    cell: tuple[int, int],
    events: list[EventIn],
    housing: str,
    water_safe: bool,
    now: Any,
) -> dict[str, Any]:
    start, end = period
    n, q = cell
    body = ReportCreate.model_construct(
        client_ref=f"demo-{end:%Y}q{(end.month - 1) // 3 + 1}",
        period_start=start,
        period_end=end,
        income=Income.model_construct(
            wages=_money(amounts.wages[n, q]),
            business=_money(amounts.business[n, q]),
            property=_money(amounts.property[n, q]),
            transfer=_money(amounts.transfer[n, q]),
            production_cost=_money(amounts.production_cost[n, q]),
        ),
        insurance_payout=Decimal(0),
        spending=Spending.model_construct(
            medical=_money(amounts.medical[n, q]), education=_money(amounts.education[n, q])
        ),
        housing_grade=HousingGrade(housing),
        drinking_water_safe=water_safe,
        food_secure=True,
        clothing_secure=True,
        events=events,
        supersedes=None,
    )
    return {
        "household_id": hid,
        "client_ref": body.client_ref,
        # the same hash the API computes, so a client re-sending this report is a replay
        "body_hash": body_hash(body),
        "period_start": start,
        "period_end": end,
        **body.income.model_dump(),
        "insurance_payout": body.insurance_payout,
        "spending_medical": body.spending.medical,
        "spending_education": body.spending.education,
        "housing_grade": body.housing_grade,
        "drinking_water_safe": water_safe,
        "food_secure": True,
        "clothing_secure": True,
        "created_at": now,
        "updated_at": now,
    }


def _write_events(
    session: Session,
    ids: list[int],
    report_rows: list[dict[str, Any]],
    events: dict[tuple[int, int], list[EventIn]],
) -> None:
    """Attach each event to its quarter's report, found by household and client_ref."""
    if not events:
        return
    quarters_per_household = len(report_rows) // len(ids)
    wanted = {(n, q): report_rows[n * quarters_per_household + q] for n, q in events}
    report_ids = {
        (hid, ref): rid
        for rid, hid, ref in session.execute(
            select(Report.id, Report.household_id, Report.client_ref).where(
                Report.household_id.in_({row["household_id"] for row in wanted.values()})
            )
        )
    }
    rows = [
        {
            "report_id": report_ids[row["household_id"], row["client_ref"]],
            "kind": e.kind,
            "disaster_type": e.disaster_type,
            "occurred_on": e.occurred_on,
            "loss": e.loss,
        }
        for cell, row in wanted.items()
        for e in events[cell]
    ]
    bulk.insert_rows(session, EVENT_TABLE, rows)


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))
