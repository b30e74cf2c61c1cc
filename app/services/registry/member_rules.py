"""What makes a member valid and a household's members consistent: the cross-field rules of one member,
the birth date an ID number encodes, exactly one active head, no labour capacity; and a new member's row
(ID number encrypted and hashed). Pure: no session, no actor."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from app.clock import local_today
from app.errors import AppError, Invalid
from app.models import Member
from app.models.enums import CANNOT_WORK, Employment, Health, Relation, Schooling
from app.pii import PiiCipher, validate_id_number
from app.schemas.households import MemberCreate

# Member attributes copied verbatim between bodies, rows and audit entries.
MEMBER_PLAIN_FIELDS = (
    "relation",
    "sex",
    "ethnicity",
    "joined_on",
    "labour_capacity",
    "health",
    "disability_grade",
    "schooling",
    "school_level",
    "dropout_reason",
    "basic_medical_insurance",
    "serious_illness_insurance",
    "basic_pension",
    "dibao",
    "tekun",
    "employment",
    "migrant_months",
)


def member_problems(values: dict[str, Any], prefix: str) -> list[AppError]:
    """Cross-field rules of one member's (merged) values; each problem names its field."""
    problems: list[AppError] = []

    def bad(field: str, message: str) -> None:
        problems.append(Invalid(message, field=f"{prefix}{field}"))

    born = values.get("birth_date")
    if values.get("health") == Health.disabled:
        if values.get("disability_grade") is None:
            bad("disability_grade", "a disabled member needs a disability grade (1–4)")
    elif values.get("disability_grade") is not None:
        bad("disability_grade", "a disability grade is only for a member whose health is 残疾")
    schooling = values.get("schooling")
    if (schooling == Schooling.in_school) != (values.get("school_level") is not None):
        bad("school_level", "a school level is required for, and only for, a member in school (在校)")
    if (schooling == Schooling.dropped_out) != (values.get("dropout_reason") is not None):
        bad(
            "dropout_reason",
            "a dropout reason is required for, and only for, a member who dropped out (辍学)",
        )
    if values.get("migrant_months") is not None and values.get("employment") != Employment.migrant:
        bad("migrant_months", "migrant months are only for a member in migrant work (外出务工)")
    joined, left = values.get("joined_on"), values.get("left_on")
    if born is not None and joined is not None and joined < born:
        bad("joined_on", "joined_on must not be before the birth date")
    if left is not None:
        if values.get("left_reason") is None:
            bad("left_reason", "a member leaving needs a reason")
        if (joined is not None and left < joined) or (born is not None and left < born):
            bad("left_on", "left_on must not be before the member joined or was born")
    elif values.get("left_reason") is not None:
        bad("left_on", "a leaving reason needs the date the member left")
    return problems


def birth_date_problem(id_number: str, birth_date: date | None, field: str) -> tuple[date, AppError | None]:
    try:
        encoded = validate_id_number(id_number, today=local_today())
    except ValueError as exc:  # a stored number that passed older, looser checks (e.g. its area code)
        return birth_date or local_today(), Invalid(
            str(exc), field=field.removesuffix("birth_date") + "id_number"
        )
    if birth_date is not None and birth_date != encoded:
        return encoded, Invalid("birth_date does not match the ID number", field=field)
    return encoded, None


def validate_new_members(bodies: Sequence[MemberCreate], prefix: str) -> tuple[list[date], list[AppError]]:
    births: list[date] = []
    problems: list[AppError] = []
    for index, body in enumerate(bodies):
        field = f"{prefix}[{index}]." if prefix else ""
        born, problem = birth_date_problem(body.id_number, body.birth_date, f"{field}birth_date")
        births.append(born)
        if problem:
            problems.append(problem)
        problems.extend(member_problems(body.model_dump() | {"birth_date": born}, field))
        if body.effective_on is not None and body.effective_on < born:
            problems.append(
                Invalid("effective_on must not be before the birth date", field=f"{field}effective_on")
            )
    return births, problems


def active_members(members: Sequence[Member]) -> list[Member]:
    return [m for m in members if m.left_on is None]


def no_labour_capacity(members: Sequence[Member]) -> bool:
    active = active_members(members)
    return bool(active) and all(m.labour_capacity in CANNOT_WORK for m in active)


def check_one_head(members: Sequence[Member]) -> None:
    active = active_members(members)
    heads = sum(1 for m in active if m.relation == Relation.head)
    if active and heads != 1:
        raise Invalid(
            f"a household needs exactly one active head (户主); it would have {heads}", field="relation"
        )


def member_of(cipher: PiiCipher, body: MemberCreate, birth_date: date) -> Member:
    """A new member row, its ID number encrypted and hashed for look-ups."""
    return Member(
        name=body.name,
        id_number_encrypted=cipher.encrypt(body.id_number),
        id_number_hash=cipher.lookup_hash(body.id_number),
        birth_date=birth_date,
        **{name: getattr(body, name) for name in MEMBER_PLAIN_FIELDS},
    )
