"""Reading households: one household or member as the actor may see them (masked unless revealed,
audited when revealed), the filtered and searched list with its extras (risk level, staleness, open case,
head's name), a household's audited history, and the look-up of a person by ID number."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from app import income_rule as rule
from app.clock import local_today
from app.config import Settings
from app.errors import Forbidden, NotFound
from app.models import AuditEntry, Case, Household, Member, PolicyVersion, Region, RiskResult, Visit
from app.models.enums import HouseholdType, MonitoringCategory, MonitoringStatus, Relation, Role
from app.pii import PiiCipher, cipher_for, mask_id_number, mask_name
from app.schemas.common import PageParams
from app.schemas.households import HouseholdRead, HouseholdSummary, MemberFactRead, MemberRead
from app.services.platform import access, audit, paging
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor
from app.services.registry import member_facts, risk_results, visits
from app.services.registry.duplicates import check_not_registered, is_visible_village, require_probe_budget
from app.services.registry.households import load, visible_query
from app.services.registry.member_rules import MEMBER_PLAIN_FIELDS

# what a department that sent no signal about a household does not see of its members
HEALTH_FIELDS = ("health", "disability_grade", "dropout_reason", "serious_illness_insurance")
# the history entries a department reads (of a household its case or referral concerns)
DEPARTMENT_HISTORY = ("household.create", "household.update", "member.", "report.", "assistance.")
# who reads what a case found (visits, reviews, decisions): the procedure's own people
CASE_FINDING_READERS = frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer})
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


# --- members and households --------------------------------------------------------------------


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


def facts(session: Session, actor: Actor, household_id: int, member_id: int) -> list[MemberFactRead]:
    """A member's dated facts as recorded (those superseded by later changes last); a department that
    sent no signal about the household does not see its health facts."""
    household = load(session, actor, household_id)
    if not any(m.id == member_id for m in household.members):
        raise NotFound(f"member {member_id} not found in household {household_id}", field="member_id")
    rows = member_facts.history(session, member_id)
    if not access.sees_details(session, actor, household.id):
        rows = [row for row in rows if row.fact.value not in HEALTH_FIELDS]
    return [
        MemberFactRead(
            fact=row.fact,
            value=member_facts.from_text(row.fact, row.value),
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            recorded_at=row.recorded_at,
            recorded_by=row.recorded_by,
            superseded_at=row.superseded_at,
        )
        for row in rows
    ]


def member_read(settings: Settings, member: Member) -> MemberRead:
    """A member as the cadre who just changed them sees it (masked, names shown)."""
    return member_view(member, cipher_for(settings), reveal=False, show_name=True, today=local_today())


def _size_today(members: Sequence[Member], today: date) -> int:
    """The household's size today by the income rule's count of members (income_rule.member_on)."""
    return sum(rule.member_on(m.joined_on or date.min, m.left_on or date.max, today) for m in members)


def household_view(
    session: Session, settings: Settings, actor: Actor, household: Household, *, reveal: bool
) -> HouseholdRead:
    """A single household as the actor may see it; reveal shows ID numbers and phone in full, audited."""
    if reveal:
        access.require_role(actor, access.PII_REVEALERS, "revealing personal data")
    cipher = cipher_for(settings)
    today = local_today()
    show_names = actor.role in access.NAME_READERS
    extras = list_extras(session, actor, [household.id], township=True).get(household.id, {})
    township = extras.pop("township_code", None)
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
    summary |= extras
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


# --- lists and search --------------------------------------------------------------------------


def list_households(
    session: Session, actor: Actor, filters: HouseholdFilters, page: PageParams
) -> tuple[list[HouseholdSummary], int]:
    today = local_today()
    if actor.role == Role.department_user and (filters.risk_level is not None or filters.reason is not None):
        field = "reason" if filters.reason is not None else "risk_level"
        raise Forbidden("a department does not search households by risk findings", field=field)
    stmt = visible_query(actor)
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


def list_extras(
    session: Session, actor: Actor, ids: Sequence[int], *, township: bool = False
) -> dict[int, dict[str, Any]]:
    """What a list shows of each household beyond its row, in one statement for the whole page: the
    current run's level, whether it is stale (visits' rule), its last report's end and last visit, its
    open case and step, the head's name; with `township`, its township's code. Only for the procedure's
    own people (a department's list carries none of it); names for LIST_NAME_READERS only."""
    readers = actor.role in CASE_FINDING_READERS
    if not ids or not (readers or township):
        return {}
    stmt = _extras_statement(township, readers, readers and actor.role in LIST_NAME_READERS)
    rows = session.execute(stmt, {"ids": list(ids)}).all()
    extras: dict[int, dict[str, Any]] = {}
    cutoff = _stale_cutoff(rows[0][-1]) if readers and rows else None
    for row in rows:
        values = list(row[1:-1] if readers else row[1:])
        extra: dict[str, Any] = {"township_code": values.pop(0)} if township else {}
        if readers:
            level, last_end, last_visit, case_id, step, *name = values
            extra |= {
                "risk_level": level,
                "stale": visits.is_stale(last_end, last_visit, cutoff),  # type: ignore[arg-type]
                "last_report_end": last_end,
                "last_visit_on": last_visit,
                "open_case_id": case_id,
                "open_case_step": step,
            }
            if name:
                extra["head_name"] = name[0]
        extras[row[0]] = extra
    return extras


@lru_cache(maxsize=8)
def _extras_statement(township: bool, readers: bool, names: bool) -> Select[Any]:
    """Built once per kind of caller: building it and its cache key took a third of a household read."""
    columns: list[Any] = [Household.id]
    if township:
        columns.append(_correlated(select(Region.parent_code).where(Region.code == Household.village_code)))
    if readers:
        columns += _extra_columns(names)
        # the policy's values, for the staleness rule: in this statement rather than one more round trip
        columns.append(
            select(PolicyVersion.data).order_by(PolicyVersion.version.desc()).limit(1).scalar_subquery()
        )
    return select(*columns).where(Household.id.in_(bindparam("ids", expanding=True)))


def _stale_cutoff(policy: dict[str, Any] | None) -> date:
    if policy is None:
        raise NotFound("no policy version exists; run the migrations", field="policy")
    return visits.cutoff_of(policy_service.checked(policy).stale_report_months, local_today())


def _extra_columns(names: bool) -> list[Any]:
    def newest_open(column: Any) -> Select[Any]:  # the newest open case wins
        open_cases = select(column).where(Case.household_id == Household.id, Case.status == "open")
        return open_cases.order_by(Case.id.desc()).limit(1)

    columns = [
        _correlated(
            select(RiskResult.level).where(
                RiskResult.run_id == risk_results.current_run_id(), RiskResult.household_id == Household.id
            )
        ),
        _correlated(visits.last_report_end_of(Household.id)),
        _correlated(select(func.max(Visit.visited_on)).where(Visit.household_id == Household.id)),
        _correlated(newest_open(Case.id)),
        _correlated(newest_open(Case.step)),
    ]
    if names:
        head = _active_head_name().where(Member.household_id == Household.id).order_by(Member.id.desc())
        columns.append(_correlated(head.with_only_columns(Member.name).limit(1)))
    return columns


def _correlated(stmt: Select[Any]) -> Any:
    return stmt.correlate(Household).scalar_subquery()


# --- history and look-up -----------------------------------------------------------------------


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
    require_probe_budget(session, settings, actor, "id_number")
    id_hash = cipher_for(settings).lookup_hash(id_number)
    matches = session.execute(
        select(Household.id, Household.village_code)
        .join(Member, Member.household_id == Household.id)
        .where(Member.id_number_hash == id_hash, Member.left_on.is_(None))
    ).all()
    visible = [hid for hid, village in matches if is_visible_village(session, actor, village)]
    if matches and not visible:
        check_not_registered(session, settings, actor, {id_hash: "id_number"})
    if not visible:
        return []
    items, _ = list_households(
        session, actor, HouseholdFilters(ids=frozenset(visible)), PageParams(page=1, page_size=500)
    )
    return items
