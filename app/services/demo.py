"""Demo mode: Hongta's regions, illustrative villages, one account per role, a plausible district.

Every generated row is written in bulk. The figures are plausible, not calibrated: incomes are drawn
within national rural income fifths scaled to Yunnan (≈ 75% of the national mean), see DOMAIN.md.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.clock import add_months, local_today
from app.config import Settings
from app.models import Household, Member, Region, Report, User
from app.models.base import utcnow
from app.models.enums import (
    CANNOT_WORK,
    Employment,
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
from app.schemas.reports import Income, ReportCreate, Spending
from app.security import generate_password, hash_password
from app.services import audit, regions
from app.services.access import Actor
from app.services.reports import body_hash

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
ILLUSTRATIVE_VILLAGES_PER_TOWNSHIP = 3
# National rural per-capita income by fifths, 2022 (DOMAIN.md), scaled to Yunnan.
FIFTH_MEANS = (5025, 11965, 17451, 24646, 46075)
YUNNAN_SCALE = 0.75
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
                is_demo=True,
                password_hash=hash_password(settings, password),
            )
            session.add(user)
        else:
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
        health = rng.choices(list(Health), weights=(60, 30, 5, 5) if age >= 40 else (90, 6, 2, 2))[0]
        if age < 16 or age >= 70 or health == Health.serious_illness:
            labour = LabourCapacity.none if age < 16 or age >= 70 else LabourCapacity.lost
        elif health == Health.disabled and rng.random() < 0.6:
            labour = LabourCapacity.lost
        else:
            labour = rng.choices((LabourCapacity.ordinary, LabourCapacity.skilled), weights=(80, 20))[0]
        schooling = level = None
        if 6 <= age <= 18:
            if rng.random() < 0.985:
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
        size = rng.choices((1, 2, 3, 4, 5, 6), weights=(10, 22, 25, 24, 13, 6))[0]
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

    def annual_per_capita(self, lifted: bool) -> float:
        fifth = self.rng.choices(range(5), weights=(34, 26, 18, 13, 9) if lifted else (20, 20, 20, 20, 20))[0]
        low = FIFTH_MEANS[fifth - 1] if fifth else FIFTH_MEANS[0] * 0.45
        high = FIFTH_MEANS[fifth + 1] if fifth < 4 else FIFTH_MEANS[4] * 1.6
        mean = FIFTH_MEANS[fifth]
        return self.rng.triangular(low, high, mean) * YUNNAN_SCALE


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
    quarter_count: int = 9,
    villages: list[str] | None = None,
) -> int:
    """Add `households` households with members and quarterly reports; returns the number added.

    Households are spread over `villages` (default: every village of the tree).
    """
    ensure_regions(session, settings)
    today = local_today()
    gen = _Generator(seed, today)
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
    existing = set(session.scalars(select(Member.id_number_hash).where(Member.left_on.is_(None))).all())
    household_rows = []
    for n, family in enumerate(families):
        for person in family:
            while cipher.lookup_hash(person.id_number) in existing:
                person.id_number = gen.id_number(person.birth, person.sex)
        lifted = rng.random() < 0.35
        phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
        status = rng.choices(list(MonitoringStatus), weights=(88, 2, 7, 3))[0]
        category = (
            MonitoringCategory.none
            if status == MonitoringStatus.not_monitored
            else rng.choice(
                [
                    MonitoringCategory.unstable if lifted else MonitoringCategory.marginal,
                    MonitoringCategory.sudden_hardship,
                ]
            )
        )
        household_rows.append(
            {
                "household_no": f"D{start_no + n:07d}",
                "village_code": villages[(start_no + n) % len(villages)],
                "address": f"{rng.randint(1, 120)}号",
                "phone_encrypted": cipher.encrypt(phone),
                "phone_masked": mask_phone(phone),
                "household_type": HouseholdType.lifted if lifted else HouseholdType.ordinary,
                "monitoring_category": category,
                "monitoring_status": status,
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
    member_rows = []
    report_rows = []
    audit_changes = []
    for hid, family, row in zip(ids, families, household_rows, strict=True):
        for p in family:
            member_rows.append(
                {
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
                    "basic_medical_insurance": rng.random() > 0.01,
                    "serious_illness_insurance": rng.random() > 0.05,
                    "basic_pension": (today - p.birth).days >= 60 * 365,
                    "dibao": None,
                    "tekun": None,
                    "employment": p.employment,
                    "migrant_months": p.migrant_months,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        per_capita = gen.annual_per_capita(row["household_type"] == HouseholdType.lifted)
        yearly = per_capita * len(family)
        transfer_share = rng.uniform(0.12, 0.35)
        for q, (start, end) in enumerate(periods):
            drift = (1.06 ** (q / 4)) * rng.uniform(0.8, 1.2) * (0.5 if rng.random() < 0.02 else 1)
            quarter = yearly / 4 * drift
            business = quarter * rng.uniform(0.2, 0.5)
            transfer = quarter * transfer_share
            wages = max(quarter - business - transfer, 0) * rng.uniform(0.85, 1.0)
            cost = business * rng.uniform(0.15, 0.35)
            body = ReportCreate.model_construct(
                client_ref=f"demo-{end:%Y}q{(end.month - 1) // 3 + 1}",
                period_start=start,
                period_end=end,
                income=Income.model_construct(
                    wages=_money(wages),
                    business=_money(business + cost),
                    property=_money(quarter * 0.02),
                    transfer=_money(transfer),
                    production_cost=_money(cost),
                ),
                insurance_payout=Decimal(0),
                spending=Spending.model_construct(
                    medical=_money(rng.uniform(0, 600)), education=_money(rng.uniform(0, 400))
                ),
                housing_grade=HousingGrade(rng.choices("ABCD", weights=(85, 12, 2, 1))[0]),
                drinking_water_safe=rng.random() > 0.01,
                food_secure=True,
                clothing_secure=True,
                events=[],
                supersedes=None,
            )
            report_rows.append(
                {
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
                    "drinking_water_safe": body.drinking_water_safe,
                    "food_secure": True,
                    "clothing_secure": True,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        audit_changes.append(
            audit.Change(
                "household.create",
                "household",
                hid,
                hid,
                {
                    "source": "demo-data",
                    "household_no": row["household_no"],
                    "members": len(family),
                    "reports": len(periods),
                },
            )
        )
    session.execute(insert(Member), member_rows)
    if report_rows:
        session.execute(insert(Report), report_rows)
    audit.record(session, settings, Actor.system("demo-data"), audit_changes)
    return len(ids)


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))
