"""Members' changes: a member joining a household, a member's details corrected, a member leaving (a
leaving head names the successor), each audited masked and bumping the household's version. The rules
they check are in member_rules.py."""

from sqlalchemy.orm import Session

from app.clock import local_today
from app.config import Settings
from app.errors import Conflict, Invalid, NotFound, combine
from app.models import Household, Member
from app.models.base import utcnow
from app.models.enums import Relation
from app.pii import cipher_for
from app.schemas.households import MemberCreate, MemberUpdate
from app.services.platform import access, audit
from app.services.platform.access import Actor
from app.services.platform.concurrency import check_version
from app.services.registry import member_facts
from app.services.registry.duplicates import check_not_registered
from app.services.registry.households import (
    created_values,
    flush_versioned,
    load,
    masked,
    masked_diff,
    member_values,
)
from app.services.registry.member_rules import (
    MEMBER_PLAIN_FIELDS,
    active_members,
    birth_date_problem,
    check_one_head,
    member_of,
    member_problems,
    no_labour_capacity,
    validate_new_members,
)


def _touch(household: Household) -> None:
    """Member changes change the household: bump its version so stale household edits are refused."""
    household.no_labour_capacity = no_labour_capacity(household.members)
    household.updated_at = utcnow()


def add_member(
    session: Session, settings: Settings, actor: Actor, household_id: int, body: MemberCreate
) -> Member:
    household = load(session, actor, household_id, lock=True)
    access.require_household_writer(actor, household)
    births, problems = validate_new_members([body], "")
    if problems:
        raise combine(problems, "the member is invalid")
    if body.relation == Relation.head and any(
        m.relation == Relation.head for m in active_members(household.members)
    ):
        raise Conflict(
            "the household already has an active head; to change head, the head leaves "
            "naming a successor_head_id",
            field="relation",
        )
    cipher = cipher_for(settings)
    check_not_registered(session, settings, actor, {cipher.lookup_hash(body.id_number): "id_number"})
    member = member_of(cipher, body, births[0])
    member.household_id = household.id
    session.add(member)
    household.members.append(member)
    check_one_head(household.members)
    _touch(household)
    flush_versioned(session)
    facts_from = body.effective_on or local_today()
    member_facts.open_facts(session, member, facts_from, actor.username)
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "member.create", "member", member.id, household.id, created_values(member, cipher, facts_from)
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
    fields = body.model_dump(exclude_unset=True, exclude={"version", "successor_head_id", "effective_on"})
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
        born, problem = birth_date_problem(
            id_number, fields.get("birth_date", merged["birth_date"]), "birth_date"
        )
        merged["birth_date"] = born
        if problem:
            problems.append(problem)
    if problems:
        raise combine(problems, "the member is invalid")
    facts_from = member_facts.effective_day(body.effective_on, merged["birth_date"])
    if (
        "relation" in fields
        and fields["relation"] != member.relation
        and Relation.head in (fields["relation"], member.relation)
    ):
        raise Conflict(
            "the head changes only when the head leaves, naming successor_head_id", field="relation"
        )
    if "id_number" in fields:
        check_not_registered(
            session,
            settings,
            actor,
            {cipher.lookup_hash(fields["id_number"]): "id_number"},
            exclude_member_id=member.id,
        )

    before = member_values(member, cipher)
    if had_left and "left_on" in fields and fields["left_on"] is None:
        # the leaving is undone: the person becomes active here again, so they must not be active elsewhere
        check_not_registered(
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
        flush_versioned(session)  # the leaving head frees the head slot before the successor takes it
        successor_before = member_values(successor, cipher)
        successor.relation = Relation.head
        changes.append(
            audit.Change(
                "member.update",
                "member",
                successor.id,
                household.id,
                masked_diff(successor_before, member_values(successor, cipher)),
            )
        )
    own_changes = masked_diff(before, member_values(member, cipher))
    redated = set(fields) & set(member_facts.DATED_FIELDS) if body.effective_on is not None else set()
    dated = member_facts.changed_fields(session, member, before, redated, facts_from)
    if not own_changes and not changes and not dated:
        return member
    if dated and not own_changes:
        member.updated_at = utcnow()  # re-dating a fact changes the member: its version moves
    check_one_head(household.members)
    _touch(household)
    flush_versioned(session)
    member_facts.record_changes(session, member, dated, facts_from, actor.username)
    for name in dated:  # a fact given again with an earlier date: the same value, now held from then
        unchanged = audit.jsonable(masked({name: before[name]})[name])
        own_changes.setdefault(name, {"before": unchanged, "after": unchanged})
    if dated:
        own_changes["effective_on"] = {"before": None, "after": facts_from.isoformat()}
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
    others = [m for m in active_members(household.members) if m.id != member.id]
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
