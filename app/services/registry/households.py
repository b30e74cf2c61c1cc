"""Households: loading one the actor may see, registering (in full, once per client_ref, or provisionally
for a person found by a department or an application) and changing them, and how households' and members'
values are compared raw and recorded masked in the audit trail. Members' own changes are in members.py,
reading and listing in household_views.py."""

from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Select, String, bindparam, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.clock import local_today
from app.config import Settings
from app.errors import Conflict, Forbidden, Invalid, NotFound, combine
from app.models import Household, Member, Region
from app.models.enums import HouseholdType, MonitoringStatus, RegionLevel, Relation, Sex
from app.pii import PiiCipher, cipher_for, mask_id_number, mask_name, mask_phone, validate_id_number
from app.schemas.households import HouseholdCreate, HouseholdUpdate, MemberCreate
from app.services.platform import access, audit
from app.services.platform.access import Actor
from app.services.platform.concurrency import check_version
from app.services.registry import member_facts
from app.services.registry.duplicates import check_not_registered
from app.services.registry.member_rules import (
    MEMBER_PLAIN_FIELDS,
    member_of,
    no_labour_capacity,
    validate_new_members,
)

HOUSEHOLD_FIELDS = ("address", "household_type", "monitoring_category", "monitoring_status")


# --- loading -----------------------------------------------------------------------------------


def visible_query(actor: Actor) -> Select[tuple[Household]]:
    return access.visible_households(select(Household), actor)


def load(
    session: Session, actor: Actor, household_id: int, *, members: bool = True, lock: bool = False
) -> Household:
    """The household if the actor may see it; 404 otherwise (it may exist outside their region)."""
    access.require_role(actor, access.HOUSEHOLD_READERS)
    stmt = _load_statement(actor.region_level, members, lock)
    found = session.scalars(stmt, {"region": actor.region_code, "household_id": household_id})
    household = found.unique().one_or_none()
    if household is None:
        raise NotFound(f"household {household_id} not found", field="household_id")
    return household


@lru_cache(maxsize=32)
def _load_statement(level: RegionLevel, members: bool, lock: bool) -> Select[tuple[Household]]:
    """Built once per kind of caller, the region and household bound at run time: building a statement
    and its cache key anew cost a fifth of a household read."""
    region = bindparam("region", type_=String)
    stmt = select(Household).where(
        Household.village_code.in_(access.villages_within(level, region)),
        Household.id == bindparam("household_id", type_=Integer),
    )
    if members:  # joined: one statement, not two (a household has a handful of members)
        stmt = stmt.options(joinedload(Household.members))
    if lock:
        stmt = stmt.with_for_update(of=Household)
    return stmt


# --- audit values ------------------------------------------------------------------------------


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


def masked(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v if v is None or k not in AUDIT_MASKS else AUDIT_MASKS[k](v) for k, v in values.items()}


def masked_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The changed fields, compared raw and recorded masked."""
    changed = [name for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]
    old, new = masked({n: before.get(n) for n in changed}), masked({n: after.get(n) for n in changed})
    return {n: {"before": audit.jsonable(old[n]), "after": audit.jsonable(new[n])} for n in changed}


def member_values(member: Member, cipher: PiiCipher) -> dict[str, Any]:
    """The member's values, raw (ID number decrypted): for change detection, never stored as is."""
    values = {name: getattr(member, name) for name in MEMBER_PLAIN_FIELDS}
    return values | {
        "birth_date": member.birth_date,
        "name": member.name,
        "id_number": cipher.decrypt(member.id_number_encrypted),
        "left_on": member.left_on,
        "left_reason": member.left_reason,
    }


def created_values(member: Member, cipher: PiiCipher, facts_from: date) -> dict[str, Any]:
    """A new member's values as audited (masked), with the day its dated facts hold from."""
    return masked(member_values(member, cipher)) | {"effective_on": facts_from.isoformat()}


def household_values(household: Household, cipher: PiiCipher) -> dict[str, Any]:
    values = {name: getattr(household, name) for name in HOUSEHOLD_FIELDS}
    phone = household.phone_encrypted
    return values | {
        "household_no": household.household_no,
        "village_code": household.village_code,
        "phone": cipher.decrypt(phone) if phone is not None else None,
        "no_labour_capacity": household.no_labour_capacity,
    }


# --- writes ------------------------------------------------------------------------------------


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
    # a member's effective_on came later: left out when not given, so a draft sent before hashes the same
    unset = {i: {"effective_on"} for i, m in enumerate(body.members) if m.effective_on is None}
    return cipher.lookup_hash(body.model_dump_json(exclude={"members": unset}))


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
    births, problems = validate_new_members(body.members, "members")
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
    check_not_registered(
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
    household.no_labour_capacity = no_labour_capacity(members)
    session.add(household)
    session.flush()
    for new_member in members:
        new_member.household_id = household.id
    session.add_all(members)
    session.flush()
    facts_from = [m.effective_on or local_today() for m in body.members]
    for new_member, day in zip(members, facts_from, strict=True):
        member_facts.open_facts(session, new_member, day, actor.username)
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
                masked(household_values(household, cipher)),
            ),
            *(
                audit.Change("member.create", "member", m.id, household.id, created_values(m, cipher, day))
                for m, day in zip(members, facts_from, strict=True)
            ),
        ],
    )
    session.refresh(household, attribute_names=["members"])
    return household


def set_phone(household: Household, cipher: PiiCipher, phone: str | None) -> None:
    household.phone_encrypted = cipher.encrypt(phone) if phone else None
    household.phone_masked = mask_phone(phone) if phone else None


def flush_versioned(session: Session) -> None:
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
    before = household_values(household, cipher)
    if "address" in fields and fields["address"] != before["address"]:
        household.address = fields["address"]
    if "phone" in fields and fields["phone"] != before["phone"]:
        set_phone(household, cipher, fields["phone"])
    changes = masked_diff(before, household_values(household, cipher))
    if not changes:
        return household
    flush_versioned(session)
    audit.record(
        session,
        settings,
        actor,
        [audit.Change("household.update", "household", household.id, household.id, changes)],
    )
    return household
