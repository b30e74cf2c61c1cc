"""The demo district's people: families drawn with plausible sizes, ages, health, schooling, labour and
work, each person with a valid ID number that no active member already has."""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import bulk
from app.models import Member
from app.models.enums import (
    CANNOT_WORK,
    Employment,
    Health,
    LabourCapacity,
    Relation,
    Schooling,
    SchoolLevel,
    Sex,
)
from app.pii import id_check_digit

SURNAMES = "李王张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗普矣鲁"
GIVEN = "文华明国建平秀英兰芳志强永福春梅丽红云海军伟玉珍凤桂"
# random.choices' weights as cumulative weights, summed once (it sums them at every call otherwise: a
# twentieth of demo-data's time); the draws are the same
HEALTH = tuple(Health)
HEALTH_FROM_40 = tuple(accumulate((46, 46, 2, 6)))
HEALTH_UNDER_40 = tuple(accumulate((84, 11, 1, 4)))
ABLE = (LabourCapacity.ordinary, LabourCapacity.skilled)
ABLE_WEIGHTS = tuple(accumulate((80, 20)))
EMPLOYMENT = tuple(Employment)
EMPLOYMENT_WEIGHTS = tuple(accumulate((45, 35, 20)))
SIZES = (1, 2, 3, 4, 5, 6)
SIZE_WEIGHTS = tuple(accumulate((14, 26, 26, 19, 10, 5)))
SEXES = tuple(Sex)


@dataclass
class Person:
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


# ID numbers' sequence digits are split into this many stripes: chunks of a district written at the same
# time draw from different stripes, so two of them never give one number to two people
STRIPES = 4


class PeopleGenerator:
    def __init__(self, seed: int, today: date, stripe: int | None = None) -> None:
        """`stripe` (0 … STRIPES - 1) limits the ID numbers drawn to that stripe; None draws from all."""
        self.rng = random.Random(seed)
        self.today = today
        self.used_ids: set[str] = set()
        self.sequences = range(500) if stripe is None else range(stripe, 500, STRIPES)

    def id_number(self, birth: date, sex: Sex) -> str:
        while True:
            seq = self.rng.choice(self.sequences) * 2 + (1 if sex == Sex.male else 0)
            first17 = f"530402{birth:%Y%m%d}{seq:03d}"
            number = first17 + id_check_digit(first17)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def birth(self, age_low: int, age_high: int) -> date:
        age_days = self.rng.randint(age_low * 365, age_high * 365 + 364)
        return self.today - timedelta(days=age_days)

    def person(self, relation: Relation, sex: Sex, birth: date, surname: str) -> Person:
        rng = self.rng
        age = (self.today - birth).days // 365
        health = rng.choices(HEALTH, cum_weights=HEALTH_FROM_40 if age >= 40 else HEALTH_UNDER_40)[0]
        if age < 16 or age >= 70 or health == Health.serious_illness:
            labour = LabourCapacity.none if age < 16 or age >= 70 else LabourCapacity.lost
        elif health == Health.disabled and rng.random() < 0.6:
            labour = LabourCapacity.lost
        else:
            labour = rng.choices(ABLE, cum_weights=ABLE_WEIGHTS)[0]
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
            employment = rng.choices(EMPLOYMENT, cum_weights=EMPLOYMENT_WEIGHTS)[0]
            months = rng.randint(3, 11) if employment == Employment.migrant else None
        name = surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        return Person(
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

    def family(self) -> list[Person]:
        rng = self.rng
        surname = rng.choice(SURNAMES)
        head_sex = Sex.male if rng.random() < 0.85 else Sex.female
        head_birth = self.birth(28, 80)
        people = [self.person(Relation.head, head_sex, head_birth, surname)]
        size = rng.choices(SIZES, cum_weights=SIZE_WEIGHTS)[0]
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
                sex = rng.choice(SEXES)
                relation = Relation.grandson if sex == Sex.male else Relation.granddaughter
                birth = self.birth(1, 17)
            elif head_age < 55 and rng.random() < 0.2:
                sex = rng.choice(SEXES)
                relation = Relation.father if sex == Sex.male else Relation.mother
                birth = self.birth(head_age + 20, min(head_age + 35, 95))
            else:
                sex = rng.choice(SEXES)
                relation = Relation.son if sex == Sex.male else Relation.daughter
                birth = self.birth(max(0, head_age - 45), max(1, head_age - 20))
            people.append(self.person(relation, sex, birth, surname))
        return people


def avoid_registered_ids(session: Session, gen: PeopleGenerator, cipher: Any, people: list[Person]) -> None:
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
                        Member.left_on.is_(None),
                        Member.id_number_hash.in_(bulk.listed("hashes", keys[start : start + 5000])),
                    )
                )
            )
        pending = [hashes[h] for h in taken]
        for person in pending:
            person.id_number = gen.id_number(person.birth, person.sex)
