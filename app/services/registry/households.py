"""Households and their members: register, read, list, change, members joining and leaving."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.clock import local_today
from app.config import Settings
from app.errors import AppError, Conflict, Forbidden, Invalid, NotFound, TooManyRequests, combine
from app.models import AuditEntry, Case, Household, Member, Region, RiskResult
from app.models.base import utcnow
from app.models.enums import (
    CANNOT_WORK,
    Employment,
    Health,
    HouseholdType,
    MonitoringCategory,
    MonitoringStatus,
    Relation,
    Role,
    Schooling,
    Sex,
)
from app.pii import PiiCipher, cipher_for, mask_id_number, mask_name, mask_phone, validate_id_number
from app.schemas.common import PageParams
from app.schemas.households import (
    HouseholdCreate,
    HouseholdRead,
    HouseholdSummary,
    HouseholdUpdate,
    MemberCreate,
    MemberRead,
    MemberUpdate,
)
from app.services.platform import access, audit, paging, rates
from app.services.platform.access import Actor
from app.services.platform.concurrency import check_version
from app.services.registry import risk_results, visits

PROBE_WINDOW = timedelta(hours=1)

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
# what a department that sent no signal about a household does not see of its members
HEALTH_FIELDS = ("health", "disability_grade", "dropout_reason", "serious_illness_insurance")
# the history entries a department reads (of a household its case or referral concerns)
DEPARTMENT_HISTORY = ("household.create", "household.update", "member.", "report.", "assistance.")
# who reads what a case found (visits, reviews, decisions): the procedure's own people
CASE_FINDING_READERS = frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer})
HOUSEHOLD_FIELDS = ("address", "household_type", "monitoring_category", "monitoring_status")
# whose household lists carry the head's name and can be searched by it: the village's own cadre, who
# walks from house to house; everyone else's lists stay without names
LIST_NAME_READERS = frozenset({Role.village_cadre})


@dataclass(frozen=True, slots=True)
class HouseholdFilters:
    township: str | None = None
    village: str | None = None
    status: MonitoringStatus | None = None
    category: MonitoringCategory | None = None
    household_type: HouseholdType | None = None
    household_no: str | None = None
    no_labour_capacity: bool | None = None
    ids: frozenset[int] | None = None
    risk_level: str | None = None
    reason: str | None = None
    q: str | None = None  # part of the household number, or of the head's name (for LIST_NAME_READERS)


# --- loading -----------------------------------------------------------------------------------


def _visible_query(actor: Actor) -> Select[tuple[Household]]:
    return access.visible_households(select(Household), actor)


def load(
    session: Session, actor: Actor, household_id: int, *, members: bool = True, lock: bool = False
) -> Household:
    """The household if the actor may see it; 404 otherwise (it may exist outside their region)."""
    stmt = _visible_query(actor).where(Household.id == household_id)
    if members:
        stmt = stmt.options(selectinload(Household.members))
    if lock:
        stmt = stmt.with_for_update(of=Household)
    household = session.scalars(stmt).one_or_none()
    if household is None:
        raise NotFound(f"household {household_id} not found", field="household_id")
    return household


def _is_visible_village(session: Session, actor: Actor, village_code: str) -> bool:
    stmt = access.visible_village_codes(actor).where(Region.code == village_code)
    return session.scalar(stmt) is not None


# --- rules -------------------------------------------------------------------------------------


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


def _birth_date_problem(id_number: str, birth_date: date | None, field: str) -> tuple[date, AppError | None]:
    try:
        encoded = validate_id_number(id_number, today=local_today())
    except ValueError as exc:  # a stored number that passed older, looser checks (e.g. its area code)
        return birth_date or local_today(), Invalid(
            str(exc), field=field.removesuffix("birth_date") + "id_number"
        )
    if birth_date is not None and birth_date != encoded:
        return encoded, Invalid("birth_date does not match the ID number", field=field)
    return encoded, None


def _active(members: Sequence[Member]) -> list[Member]:
    return [m for m in members if m.left_on is None]


def _no_labour_capacity(members: Sequence[Member]) -> bool:
    active = _active(members)
    return bool(active) and all(m.labour_capacity in CANNOT_WORK for m in active)


def _check_one_head(members: Sequence[Member]) -> None:
    active = _active(members)
    heads = sum(1 for m in active if m.relation == Relation.head)
    if active and heads != 1:
        raise Invalid(
            f"a household needs exactly one active head (户主); it would have {heads}", field="relation"
        )


# --- duplicates --------------------------------------------------------------------------------


def _require_probe_budget(session: Session, settings: Settings, actor: Actor, field: str) -> str:
    """Refuse every person check once the actor has had too many "registered elsewhere" answers.

    Refusing only checks of registered people would itself answer the probe, so over the limit all
    checks (look-ups, registrations, new members) wait, whatever their answer would be.
    """
    key = f"probe:{actor.username}"
    if rates.recent_count(session, key, PROBE_WINDOW) >= settings.probe_limit_per_hour:
        raise TooManyRequests(
            "too many look-ups of people registered elsewhere; try again later",
            field=field,
            headers={"Retry-After": "3600"},
        )
    return key


def _check_not_registered(
    session: Session,
    settings: Settings,
    actor: Actor,
    hashes: dict[str, str],
    *,
    exclude_member_id: int | None = None,
) -> None:
    """Refuse a person already active in a household; name that household only inside the actor's scope."""
    if not hashes:
        return
    key = _require_probe_budget(session, settings, actor, next(iter(hashes.values())))
    stmt = (
        select(Member.id_number_hash, Household.household_no, Household.village_code)
        .join(Household, Member.household_id == Household.id)
        .where(Member.id_number_hash.in_(hashes), Member.left_on.is_(None))
    )
    if exclude_member_id is not None:
        stmt = stmt.where(Member.id != exclude_member_id)
    errors: list[AppError] = []
    elsewhere = False
    for id_hash, household_no, village_code in session.execute(stmt):
        field = hashes[id_hash]
        if _is_visible_village(session, actor, village_code):
            errors.append(
                Conflict(f"this person is already an active member of household {household_no}", field=field)
            )
        else:
            elsewhere = True
            errors.append(Conflict("this person is already registered in another household", field=field))
    if not errors:
        return
    if elsewhere:
        error = combine(errors, "person already registered")
        error.after_rollback = lambda s: rates.hit(s, key, PROBE_WINDOW)
        raise error
    raise combine(errors, "person already registered")


# --- views -------------------------------------------------------------------------------------


def member_view(
    member: Member, cipher: PiiCipher, *, reveal: bool, show_name: bool, today: date
) -> MemberRead:
    """A member as a reader sees them. Unrevealed: masked ID number and birth year only, since the
    masked digits (7–14) of an ID number are the birth date."""
    values = {name: getattr(member, name) for name in MEMBER_PLAIN_FIELDS}
    id_number = cipher.decrypt(member.id_number_encrypted)
    return MemberRead(
        id=member.id,
        name=member.name if show_name else mask_name(member.name),
        id_number=id_number if reveal else mask_id_number(id_number),
        birth_date=member.birth_date if reveal else None,
        birth_year=member.birth_date.year,
        left_on=member.left_on,
        left_reason=member.left_reason,
        active=member.left_on is None or member.left_on > today,
        version=member.version,
        **values,
    )


def member_read(settings: Settings, member: Member) -> MemberRead:
    """A member as the cadre who just changed them sees it (masked, names shown)."""
    return member_view(member, cipher_for(settings), reveal=False, show_name=True, today=local_today())


def _size_today(members: Sequence[Member], today: date) -> int:
    return sum(
        1
        for m in members
        if (m.joined_on is None or m.joined_on <= today) and (m.left_on is None or m.left_on > today)
    )


def household_view(
    session: Session, settings: Settings, actor: Actor, household: Household, *, reveal: bool
) -> HouseholdRead:
    """A single household as the actor may see it; reveal shows ID numbers and phone in full, audited."""
    if reveal:
        access.require_role(actor, access.PII_REVEALERS, "revealing personal data")
    cipher = cipher_for(settings)
    today = local_today()
    show_names = actor.role in access.NAME_READERS
    township = session.scalar(select(Region.parent_code).where(Region.code == household.village_code))
    members = [
        member_view(m, cipher, reveal=reveal, show_name=show_names, today=today) for m in household.members
    ]
    details = access.sees_details(session, actor, household.id)
    if not details:  # a department with no signal about it: no health details, no address
        members = [m.model_copy(update=dict.fromkeys(HEALTH_FIELDS)) for m in members]
    phone = household.phone_masked
    if reveal and household.phone_encrypted is not None:
        phone = cipher.decrypt(household.phone_encrypted)
    if reveal:
        audit.record(
            session,
            settings,
            actor,
            [
                audit.Change(
                    "household.reveal",
                    "household",
                    household.id,
                    household.id,
                    {"fields": ["members.id_number", "phone"]},
                )
            ],
        )
    summary = _summary_values(household, township, _size_today(household.members, today))
    summary |= list_extras(session, actor, [household.id]).get(household.id, {})
    return HouseholdRead(
        **(summary if details else summary | {"address": ""}),
        phone=phone,
        members=members,
        revealed=reveal,
        can_reveal=actor.role in access.PII_REVEALERS,
    )


def _summary_values(household: Household, township: str | None, size: int) -> dict[str, Any]:
    return {
        "id": household.id,
        "household_no": household.household_no,
        "village_code": household.village_code,
        "township_code": township,
        "address": household.address,
        "household_type": household.household_type,
        "monitoring_category": household.monitoring_category,
        "monitoring_status": household.monitoring_status,
        "no_labour_capacity": household.no_labour_capacity,
        "size": size,
        "version": household.version,
        "created_at": household.created_at,
        "updated_at": household.updated_at,
    }


def list_households(
    session: Session, actor: Actor, filters: HouseholdFilters, page: PageParams
) -> tuple[list[HouseholdSummary], int]:
    today = local_today()
    if actor.role == Role.department_user and (filters.risk_level is not None or filters.reason is not None):
        field = "reason" if filters.reason is not None else "risk_level"
        raise Forbidden("a department does not search households by risk findings", field=field)
    stmt = _visible_query(actor)
    conditions: list[ColumnElement[bool]] = []
    if filters.village:
        conditions.append(Household.village_code == filters.village)
    if filters.township:
        conditions.append(
            Household.village_code.in_(select(Region.code).where(Region.parent_code == filters.township))
        )
    if filters.status:
        conditions.append(Household.monitoring_status == filters.status)
    if filters.category:
        conditions.append(Household.monitoring_category == filters.category)
    if filters.household_type:
        conditions.append(Household.household_type == filters.household_type)
    if filters.household_no:
        conditions.append(Household.household_no == filters.household_no)
    if filters.risk_level is not None or filters.reason is not None:
        conditions.append(Household.id.in_(risk_results.households_with(filters.risk_level, filters.reason)))
    if filters.ids is not None:
        conditions.append(Household.id.in_(filters.ids))
    if filters.no_labour_capacity is not None:
        conditions.append(Household.no_labour_capacity == filters.no_labour_capacity)
    if filters.q:
        conditions.append(_matches(actor, filters.q))
    stmt = stmt.where(*conditions)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    size = (
        select(func.count(Member.id))
        .where(
            Member.household_id == Household.id,
            (Member.joined_on.is_(None)) | (Member.joined_on <= today),
            (Member.left_on.is_(None)) | (Member.left_on > today),
        )
        .correlate(Household)
        .scalar_subquery()
    )
    rows = session.execute(
        stmt.add_columns(Region.parent_code, size)
        .join(Region, Region.code == Household.village_code)
        .order_by(Household.id)
        .offset(page.offset)
        .limit(page.page_size)
    ).all()
    extras = list_extras(session, actor, [h.id for h, _, _ in rows])
    items = [
        HouseholdSummary(**_summary_values(h, township, n), **extras.get(h.id, {}), phone=h.phone_masked)
        for h, township, n in rows
    ]
    if actor.role == Role.department_user:  # a department's list has no addresses
        items = [item.model_copy(update={"address": ""}) for item in items]
    return items, total


def _active_head_name() -> Select[tuple[int, str]]:
    return select(Member.household_id, Member.name).where(
        Member.relation == Relation.head, Member.left_on.is_(None)
    )


def _matches(actor: Actor, q: str) -> ColumnElement[bool]:
    """Households whose number contains q, or (for those who see names in lists) whose head's does."""
    by_number = Household.household_no.contains(q, autoescape=True)
    if actor.role not in LIST_NAME_READERS:
        return by_number
    # correlated: only the heads of the households already in the caller's region are read (an IN over
    # every head of the district read them all)
    head_matches = (
        select(Member.id)
        .where(
            Member.household_id == Household.id,
            Member.relation == Relation.head,
            Member.left_on.is_(None),
            Member.name.contains(q, autoescape=True),
        )
        .correlate(Household)
        .exists()
    )
    return or_(by_number, head_matches)


def list_extras(session: Session, actor: Actor, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """What a list shows of each household beyond its row, in one query per kind for the whole page:
    the current run's level, whether it is stale (visits' rule) and its last report's end, its open
    case and step, the head's name. Only for the procedure's own people (a department's list carries
    none of it); names for LIST_NAME_READERS only."""
    if not ids or actor.role not in CASE_FINDING_READERS:
        return {}
    extras: dict[int, dict[str, Any]] = {
        i: {
            "risk_level": None,
            "stale": True,
            "last_report_end": None,
            "open_case_id": None,
            "open_case_step": None,
        }
        for i in ids
    }
    levels = select(RiskResult.household_id, RiskResult.level).where(
        RiskResult.run_id == risk_results.current_run_id(), RiskResult.household_id.in_(ids)
    )
    for hid, level in session.execute(levels):
        extras[hid]["risk_level"] = level
    _, cutoff = visits.stale_cutoff(session, local_today())
    for hid, last_end in session.execute(visits.last_report_ends(ids)):
        extras[hid] |= {"stale": visits.is_stale(last_end, cutoff), "last_report_end": last_end}
    cases = (
        select(Case.household_id, Case.id, Case.step)
        .where(Case.household_id.in_(ids), Case.status == "open")
        .order_by(Case.id)
    )
    for hid, case_id, step in session.execute(cases):  # the newest open case wins
        extras[hid] |= {"open_case_id": case_id, "open_case_step": step}
    if actor.role in LIST_NAME_READERS:
        for hid, name in session.execute(_active_head_name().where(Member.household_id.in_(ids))):
            extras[hid]["head_name"] = name
    return extras


# --- writes ------------------------------------------------------------------------------------


def _hidden(_value: object) -> str:
    return "***"


# How personal fields appear in audit rows: changes are detected on the raw values, recorded masked.
AUDIT_MASKS: dict[str, Callable[[Any], str]] = {
    "name": mask_name,
    "id_number": mask_id_number,
    "phone": mask_phone,
    "birth_date": lambda d: f"{d:%Y}-**-**",
    "health": _hidden,
    "disability_grade": _hidden,
    "dibao": _hidden,
    "tekun": _hidden,
    "dropout_reason": _hidden,
}


def _masked(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v if v is None or k not in AUDIT_MASKS else AUDIT_MASKS[k](v) for k, v in values.items()}


def _masked_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The changed fields, compared raw and recorded masked."""
    changed = [name for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]
    old, new = _masked({n: before.get(n) for n in changed}), _masked({n: after.get(n) for n in changed})
    return {n: {"before": audit.jsonable(old[n]), "after": audit.jsonable(new[n])} for n in changed}


def _member_values(member: Member, cipher: PiiCipher) -> dict[str, Any]:
    """The member's values, raw (ID number decrypted): for change detection, never stored as is."""
    values = {name: getattr(member, name) for name in MEMBER_PLAIN_FIELDS}
    return values | {
        "birth_date": member.birth_date,
        "name": member.name,
        "id_number": cipher.decrypt(member.id_number_encrypted),
        "left_on": member.left_on,
        "left_reason": member.left_reason,
    }


def _household_values(household: Household, cipher: PiiCipher) -> dict[str, Any]:
    values = {name: getattr(household, name) for name in HOUSEHOLD_FIELDS}
    phone = household.phone_encrypted
    return values | {
        "household_no": household.household_no,
        "village_code": household.village_code,
        "phone": cipher.decrypt(phone) if phone is not None else None,
        "no_labour_capacity": household.no_labour_capacity,
    }


def member_of(cipher: PiiCipher, body: MemberCreate, birth_date: date) -> Member:
    """A new member row, its ID number encrypted and hashed for look-ups."""
    return Member(
        name=body.name,
        id_number_encrypted=cipher.encrypt(body.id_number),
        id_number_hash=cipher.lookup_hash(body.id_number),
        birth_date=birth_date,
        **{name: getattr(body, name) for name in MEMBER_PLAIN_FIELDS},
    )


def register_provisional(
    session: Session,
    settings: Settings,
    *,
    household_no: str,
    village_code: str,
    name: str,
    id_number: str,
    address: str = "",
    phone: str | None = None,
) -> Household:
    """A provisional household for a person registered nowhere, found by a department's list or by their
    own application: its head only, type 一般农户 until the village's visit completes it (members, type)."""
    cipher = cipher_for(settings)
    born = validate_id_number(id_number, today=local_today())
    household = Household(
        household_no=household_no,
        village_code=village_code,
        address=address,
        household_type=HouseholdType.ordinary,
        monitoring_status=MonitoringStatus.not_monitored,
        provisional=True,
    )
    set_phone(household, cipher, phone)
    head = MemberCreate(
        name=name,
        id_number=id_number,
        relation=Relation.head,
        sex=Sex.male if int(id_number[16]) % 2 else Sex.female,  # GB 11643: the 17th digit, odd for men
        birth_date=born,
    )
    household.members.append(member_of(cipher, head, born))
    session.add(household)
    session.flush()
    return household


def _validate_new_members(bodies: Sequence[MemberCreate], prefix: str) -> tuple[list[date], list[AppError]]:
    births: list[date] = []
    problems: list[AppError] = []
    for index, body in enumerate(bodies):
        field = f"{prefix}[{index}]." if prefix else ""
        born, problem = _birth_date_problem(body.id_number, body.birth_date, f"{field}birth_date")
        births.append(born)
        if problem:
            problems.append(problem)
        problems.extend(member_problems(body.model_dump() | {"birth_date": born}, field))
    return births, problems


def _require_village_writer(session: Session, actor: Actor, village_code: str) -> None:
    if session.get(Region, village_code) is None:
        raise Invalid(f"village {village_code} does not exist", field="village_code")
    if actor.role not in access.HOUSEHOLD_WRITERS or actor.region_code != village_code:
        raise Forbidden("you may register households only in your own village", field="village_code")


def register(session: Session, settings: Settings, actor: Actor, body: HouseholdCreate) -> Household:
    """Register a household with its members, in the actor's own village."""
    household, _ = register_once(session, settings, actor, body)
    return household


def _body_hash(cipher: PiiCipher, body: HouseholdCreate) -> str:
    """The body's identity, keyed (it holds ID numbers): the same draft sent again has the same hash."""
    return cipher.lookup_hash(body.model_dump_json())


def register_once(
    session: Session, settings: Settings, actor: Actor, body: HouseholdCreate
) -> tuple[Household, bool]:
    """Register a household, or, when the village already has one registered with this client_ref and
    the same body, answer that one (False: nothing stored); a different body is a 409 on client_ref."""
    _require_village_writer(session, actor, body.village_code)
    if body.client_ref is not None:
        known = session.scalars(
            select(Household)
            .where(Household.village_code == body.village_code, Household.client_ref == body.client_ref)
            .options(selectinload(Household.members))
        ).one_or_none()
        if known is not None:
            if known.client_body_hash != _body_hash(cipher_for(settings), body):
                raise Conflict(
                    "client_ref was already used for a different household registration", field="client_ref"
                )
            return known, False
    return _register(session, settings, actor, body), True


def _register(session: Session, settings: Settings, actor: Actor, body: HouseholdCreate) -> Household:
    births, problems = _validate_new_members(body.members, "members")
    heads = [i for i, m in enumerate(body.members) if m.relation == Relation.head]
    if len(heads) != 1:
        field = f"members[{heads[1]}].relation" if len(heads) > 1 else "members"
        problems.append(
            Invalid(f"a household needs exactly one head (户主); {len(heads)} given", field=field)
        )
    seen: dict[str, int] = {}
    for index, member in enumerate(body.members):
        if member.id_number in seen:
            problems.append(
                Invalid(
                    f"the same ID number as members[{seen[member.id_number]}]",
                    field=f"members[{index}].id_number",
                )
            )
        seen.setdefault(member.id_number, index)
    if problems:
        raise combine(problems, "the household is invalid")
    if session.scalar(select(Household.id).where(Household.household_no == body.household_no)) is not None:
        raise Conflict(f"household number {body.household_no} is already registered", field="household_no")
    cipher = cipher_for(settings)
    _check_not_registered(
        session,
        settings,
        actor,
        {cipher.lookup_hash(m.id_number): f"members[{i}].id_number" for i, m in enumerate(body.members)},
    )

    household = Household(
        household_no=body.household_no,
        village_code=body.village_code,
        address=body.address,
        household_type=body.household_type,
        client_ref=body.client_ref,
        client_body_hash=_body_hash(cipher, body) if body.client_ref is not None else None,
    )
    set_phone(household, cipher, body.phone)
    members = [member_of(cipher, m, born) for m, born in zip(body.members, births, strict=True)]
    household.no_labour_capacity = _no_labour_capacity(members)
    session.add(household)
    session.flush()
    for new_member in members:
        new_member.household_id = household.id
    session.add_all(members)
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "household.create",
                "household",
                household.id,
                household.id,
                _masked(_household_values(household, cipher)),
            ),
            *(
                audit.Change(
                    "member.create", "member", m.id, household.id, _masked(_member_values(m, cipher))
                )
                for m in members
            ),
        ],
    )
    session.refresh(household, attribute_names=["members"])
    return household


def set_phone(household: Household, cipher: PiiCipher, phone: str | None) -> None:
    household.phone_encrypted = cipher.encrypt(phone) if phone else None
    household.phone_masked = mask_phone(phone) if phone else None


def _flush_versioned(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("the record was changed by someone else; read it again", field="version") from None


def update(
    session: Session,
    settings: Settings,
    actor: Actor,
    household_id: int,
    body: HouseholdUpdate,
    if_match: str | None,
) -> Household:
    household = load(session, actor, household_id)
    access.require_household_writer(actor, household)
    check_version(household.version, body.version, if_match)
    fields = body.model_dump(exclude_unset=True, exclude={"version"})
    if "address" in fields and fields["address"] is None:
        raise Invalid("address must not be null", field="address")
    cipher = cipher_for(settings)
    before = _household_values(household, cipher)
    if "address" in fields and fields["address"] != before["address"]:
        household.address = fields["address"]
    if "phone" in fields and fields["phone"] != before["phone"]:
        set_phone(household, cipher, fields["phone"])
    changes = _masked_diff(before, _household_values(household, cipher))
    if not changes:
        return household
    _flush_versioned(session)
    audit.record(
        session,
        settings,
        actor,
        [audit.Change("household.update", "household", household.id, household.id, changes)],
    )
    return household


def _touch(household: Household) -> None:
    """Member changes change the household: bump its version so stale household edits are refused."""
    household.no_labour_capacity = _no_labour_capacity(household.members)
    household.updated_at = utcnow()


def add_member(
    session: Session, settings: Settings, actor: Actor, household_id: int, body: MemberCreate
) -> Member:
    household = load(session, actor, household_id, lock=True)
    access.require_household_writer(actor, household)
    births, problems = _validate_new_members([body], "")
    if problems:
        raise combine(problems, "the member is invalid")
    if body.relation == Relation.head and any(
        m.relation == Relation.head for m in _active(household.members)
    ):
        raise Conflict(
            "the household already has an active head; to change head, the head leaves "
            "naming a successor_head_id",
            field="relation",
        )
    cipher = cipher_for(settings)
    _check_not_registered(session, settings, actor, {cipher.lookup_hash(body.id_number): "id_number"})
    member = member_of(cipher, body, births[0])
    member.household_id = household.id
    session.add(member)
    household.members.append(member)
    _check_one_head(household.members)
    _touch(household)
    _flush_versioned(session)
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "member.create", "member", member.id, household.id, _masked(_member_values(member, cipher))
            )
        ],
    )
    return member


def update_member(
    session: Session,
    settings: Settings,
    actor: Actor,
    household_id: int,
    member_id: int,
    body: MemberUpdate,
    if_match: str | None,
) -> Member:
    """Change a member, or record them leaving (left_on + left_reason; a leaving head names a successor)."""
    household = load(session, actor, household_id, lock=True)
    member = next((m for m in household.members if m.id == member_id), None)
    if member is None:
        raise NotFound(f"member {member_id} not found in household {household_id}", field="member_id")
    access.require_household_writer(actor, household)
    check_version(member.version, body.version, if_match)
    fields = body.model_dump(exclude_unset=True, exclude={"version", "successor_head_id"})
    for name in ("name", "id_number", "relation", "sex", "birth_date"):
        if name in fields and fields[name] is None:
            raise Invalid(f"{name} must not be null", field=name)
    had_left = member.left_on is not None
    if had_left and set(fields) - {"left_on", "left_reason"}:
        raise Conflict(
            "this member has left the household; only left_on and left_reason can be corrected "
            "(both null if the leaving was recorded by mistake)",
            field=next(iter(set(fields) - {"left_on", "left_reason"})),
        )
    cipher = cipher_for(settings)
    merged = {
        name: getattr(member, name) for name in (*MEMBER_PLAIN_FIELDS, "birth_date", "left_on", "left_reason")
    }
    merged |= fields
    problems = member_problems(merged, "")
    if "id_number" in fields or "birth_date" in fields:
        id_number = fields.get("id_number") or cipher.decrypt(member.id_number_encrypted)
        born, problem = _birth_date_problem(
            id_number, fields.get("birth_date", merged["birth_date"]), "birth_date"
        )
        merged["birth_date"] = born
        if problem:
            problems.append(problem)
    if problems:
        raise combine(problems, "the member is invalid")
    if (
        "relation" in fields
        and fields["relation"] != member.relation
        and Relation.head in (fields["relation"], member.relation)
    ):
        raise Conflict(
            "the head changes only when the head leaves, naming successor_head_id", field="relation"
        )
    if "id_number" in fields:
        _check_not_registered(
            session,
            settings,
            actor,
            {cipher.lookup_hash(fields["id_number"]): "id_number"},
            exclude_member_id=member.id,
        )

    before = _member_values(member, cipher)
    if had_left and "left_on" in fields and fields["left_on"] is None:
        # the leaving is undone: the person becomes active here again, so they must not be active elsewhere
        _check_not_registered(
            session, settings, actor, {member.id_number_hash: "left_on"}, exclude_member_id=member.id
        )
    leaving_head = not had_left and fields.get("left_on") is not None and member.relation == Relation.head
    successor = _successor(household, member, body.successor_head_id, leaving_head)
    for name in (*MEMBER_PLAIN_FIELDS, "name", "sex", "left_on", "left_reason"):
        if name in fields and fields[name] != before[name]:
            setattr(member, name, fields[name])
    if merged["birth_date"] != member.birth_date:
        member.birth_date = merged["birth_date"]
    if "id_number" in fields and fields["id_number"] != before["id_number"]:
        member.id_number_encrypted = cipher.encrypt(fields["id_number"])
        member.id_number_hash = cipher.lookup_hash(fields["id_number"])
    changes: list[audit.Change] = []
    if successor is not None:
        _flush_versioned(session)  # the leaving head frees the head slot before the successor takes it
        successor_before = _member_values(successor, cipher)
        successor.relation = Relation.head
        changes.append(
            audit.Change(
                "member.update",
                "member",
                successor.id,
                household.id,
                _masked_diff(successor_before, _member_values(successor, cipher)),
            )
        )
    own_changes = _masked_diff(before, _member_values(member, cipher))
    if not own_changes and not changes:
        return member
    _check_one_head(household.members)
    _touch(household)
    _flush_versioned(session)
    action = (
        "member.leave_corrected" if had_left else "member.leave" if "left_on" in fields else "member.update"
    )
    changes.insert(0, audit.Change(action, "member", member.id, household.id, own_changes))
    audit.record(session, settings, actor, changes)
    return member


def _successor(
    household: Household, member: Member, successor_id: int | None, leaving_head: bool
) -> Member | None:
    if not leaving_head:
        if successor_id is not None:
            raise Invalid("successor_head_id is only for the head leaving", field="successor_head_id")
        return None
    others = [m for m in _active(household.members) if m.id != member.id]
    if not others:
        return None
    if successor_id is None:
        raise Invalid("the head is leaving: name the member who becomes head", field="successor_head_id")
    successor = next((m for m in others if m.id == successor_id), None)
    if successor is None:
        raise Invalid(
            "successor_head_id must be another active member of this household", field="successor_head_id"
        )
    return successor


def history(
    session: Session, actor: Actor, household_id: int, page: PageParams
) -> tuple[list[AuditEntry], int]:
    """Every audited change of the household: who, when, what (personal data masked). A department reads
    it only for a household its case or referral concerns, and then only the registry's own changes
    (household, members, reports, measures): never cases' findings, type corrections' reasons, other
    departments' referrals or relief applications."""
    load(session, actor, household_id, members=False)
    access.require_details(session, actor, household_id)
    stmt = select(AuditEntry).where(AuditEntry.household_id == household_id)
    if actor.role not in CASE_FINDING_READERS:
        stmt = stmt.where(or_(*(AuditEntry.action.startswith(p) for p in DEPARTMENT_HISTORY)))
    return paging.page_of(session, stmt, page, AuditEntry.seq)


def lookup(session: Session, settings: Settings, actor: Actor, id_number: str) -> list[HouseholdSummary]:
    """Households in the actor's scope where the person is an active member (exact keyed-hash match)."""
    access.require_role(actor, access.HOUSEHOLD_READERS, "look-up")
    _require_probe_budget(session, settings, actor, "id_number")
    id_hash = cipher_for(settings).lookup_hash(id_number)
    matches = session.execute(
        select(Household.id, Household.village_code)
        .join(Member, Member.household_id == Household.id)
        .where(Member.id_number_hash == id_hash, Member.left_on.is_(None))
    ).all()
    visible = [hid for hid, village in matches if _is_visible_village(session, actor, village)]
    if matches and not visible:
        _check_not_registered(session, settings, actor, {id_hash: "id_number"})
    if not visible:
        return []
    items, _ = list_households(
        session, actor, HouseholdFilters(ids=frozenset(visible)), PageParams(page=1, page_size=500)
    )
    return items
