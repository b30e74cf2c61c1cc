"""帮扶责任人: the people paired with monitored households (结对帮扶), and the dated pairings.

Helpers are the district's roster: every reader of households sees them (a cadre must know whom to
call), with the phone masked unless revealed (audited). The township and the district register them and
pair them with households in their region; a pairing is never edited: reassigning ends the current one on
the new one's first day, so who helped whom, when, is kept."""

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.models import Helper, HelperAssignment, Household, User
from app.models.enums import MonitoringStatus, Role
from app.pii import cipher_for, mask_phone
from app.schemas.common import PageParams
from app.schemas.fieldwork import AssignmentCreate, AssignmentEnd, HelperCreate, HelperUpdate
from app.services.platform import access, audit
from app.services.platform.access import Actor
from app.services.registry import households

MANAGERS = frozenset({Role.township_reviewer, Role.district_officer})
READERS = frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer})


def create(session: Session, settings: Settings, actor: Actor, body: HelperCreate) -> Helper:
    access.require_role(actor, MANAGERS, "registering helpers")
    if body.user_id is not None:
        if session.get(User, body.user_id) is None:
            raise Invalid(f"user {body.user_id} does not exist", field="user_id")
        taken = session.scalar(select(Helper.id).where(Helper.user_id == body.user_id))
        if taken is not None:
            raise Conflict(f"user {body.user_id} is already helper {taken}", field="user_id")
    helper = Helper(
        name=body.name,
        unit=body.unit,
        phone_encrypted=cipher_for(settings).encrypt(body.phone),
        phone_masked=mask_phone(body.phone),
        user_id=body.user_id,
        region_code=actor.region_code,
    )
    session.add(helper)
    session.flush()
    _audit(session, settings, actor, "helper.create", helper, None, {"unit": helper.unit, "phone": "***"})
    return helper


def update(session: Session, settings: Settings, actor: Actor, helper_id: int, body: HelperUpdate) -> Helper:
    helper = _managed(session, actor, helper_id)
    if body.version != helper.version:
        raise Conflict(f"helper {helper_id} changed since version {body.version}", field="version")
    changes: dict[str, object] = {}
    if body.unit is not None and body.unit != helper.unit:
        helper.unit = changes["unit"] = body.unit
    if body.phone is not None:
        helper.phone_encrypted = cipher_for(settings).encrypt(body.phone)
        helper.phone_masked = mask_phone(body.phone)
        changes["phone"] = "***"
    if body.active is not None and body.active != helper.active:
        paired = _paired_counts(session, [helper.id]).get(helper.id, 0)
        if not body.active and paired:
            raise Conflict(
                f"helper {helper_id} is paired with {paired} households: pair them with others first",
                field="active",
            )
        helper.active = changes["active"] = body.active
    if changes:
        session.flush()
        _audit(session, settings, actor, "helper.update", helper, None, changes)
    return helper


def listing(
    session: Session, actor: Actor, page: PageParams, q: str | None, active: bool | None
) -> tuple[list[tuple[Helper, int]], int]:
    """Helpers by name, each with how many households it is paired with now."""
    access.require_role(actor, READERS, "reading helpers")
    stmt = select(Helper)
    if q:
        stmt = stmt.where(Helper.name.contains(q, autoescape=True) | Helper.unit.contains(q, autoescape=True))
    if active is not None:
        stmt = stmt.where(Helper.active == active)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(
        session.scalars(stmt.order_by(Helper.name, Helper.id).offset(page.offset).limit(page.page_size))
    )
    counts = _paired_counts(session, [h.id for h in rows])
    return [(h, counts.get(h.id, 0)) for h in rows], int(total)


def get(session: Session, actor: Actor, helper_id: int) -> tuple[Helper, int]:
    access.require_role(actor, READERS, "reading helpers")
    helper = session.get(Helper, helper_id)
    if helper is None:
        raise NotFound(f"helper {helper_id} not found", field="helper_id")
    return helper, _paired_counts(session, [helper.id]).get(helper.id, 0)


def reveal_phone(session: Session, settings: Settings, actor: Actor, helper_id: int) -> str:
    helper, _ = get(session, actor, helper_id)
    _audit(session, settings, actor, "pii.reveal", helper, None, {"fields": ["phone"]})
    return cipher_for(settings).decrypt(helper.phone_encrypted)


# ---- pairing with households ----------------------------------------------------------------------


def assign(
    session: Session, settings: Settings, actor: Actor, household_id: int, body: AssignmentCreate
) -> tuple[HelperAssignment, Helper]:
    """Pair the helper with the household from body.started_on, ending the current pairing that day."""
    household = _household(session, actor, household_id)
    helper = session.get(Helper, body.helper_id)
    if helper is None:
        raise Invalid(f"helper {body.helper_id} does not exist", field="helper_id")
    if not helper.active:
        raise Conflict(f"helper {helper.id} is no longer active", field="helper_id")
    current = _current(session, household.id)
    last_end = session.scalar(
        select(func.max(HelperAssignment.ended_on)).where(HelperAssignment.household_id == household.id)
    )
    if last_end is not None and body.started_on < last_end:
        raise Invalid(f"started_on is before the last pairing ended ({last_end})", field="started_on")
    if current is not None:
        if current.helper_id == helper.id:
            raise Conflict(f"helper {helper.id} is already the household's helper", field="helper_id")
        if body.started_on < current.started_on:
            raise Invalid(
                f"started_on is before the current helper's first day ({current.started_on})",
                field="started_on",
            )
        _end(current, actor, body.started_on, body.reason or "改派")
        session.flush()  # the partial unique index: one current pairing per household
    row = HelperAssignment(
        household_id=household.id, helper_id=helper.id, started_on=body.started_on, assigned_by=actor.username
    )
    session.add(row)
    session.flush()
    changes: dict[str, object] = {"helper_id": helper.id, "started_on": body.started_on}
    if current is not None:
        changes["replaces"] = current.helper_id
    _audit(session, settings, actor, "household.helper.assign", helper, household.id, changes)
    return row, helper


def end(
    session: Session, settings: Settings, actor: Actor, household_id: int, body: AssignmentEnd
) -> tuple[HelperAssignment, Helper]:
    household = _household(session, actor, household_id)
    current = _current(session, household.id)
    if current is None:
        raise Conflict("the household has no helper to end", field="ended_on")
    if body.ended_on < current.started_on:
        raise Invalid(f"ended_on is before the helper's first day ({current.started_on})", field="ended_on")
    _end(current, actor, body.ended_on, body.reason)
    session.flush()
    helper = session.get(Helper, current.helper_id)
    assert helper is not None
    _audit(
        session,
        settings,
        actor,
        "household.helper.end",
        helper,
        household.id,
        {"helper_id": helper.id, "ended_on": body.ended_on, "reason": body.reason},
    )
    return current, helper


def history(session: Session, actor: Actor, household_id: int) -> list[tuple[HelperAssignment, Helper]]:
    """The household's pairings, the current one first, then the ended ones from the latest."""
    access.require_role(actor, READERS, "reading helpers")
    households.load(session, actor, household_id, members=False)  # 404 outside the actor's region
    rows = session.execute(
        select(HelperAssignment, Helper)
        .join(Helper, Helper.id == HelperAssignment.helper_id)
        .where(HelperAssignment.household_id == household_id)
        .order_by(
            HelperAssignment.ended_on.is_not(None),
            HelperAssignment.started_on.desc(),
            HelperAssignment.id.desc(),
        )
    ).tuples()
    return list(rows)


def unpaired_monitored(villages: Select[tuple[str]]) -> Select[tuple[int]]:
    """Monitored households in these villages with no current helper: a gap in the mechanism."""
    paired = select(HelperAssignment.id).where(
        HelperAssignment.household_id == Household.id, HelperAssignment.ended_on.is_(None)
    )
    return select(Household.id).where(
        Household.village_code.in_(villages),
        Household.monitoring_status == MonitoringStatus.monitored,
        ~paired.exists(),
    )


def unpaired_monitored_count(session: Session, villages: Select[tuple[str]]) -> int:
    stmt = unpaired_monitored(villages)
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


# ---- helpers of this module ---------------------------------------------------------------------------


def _managed(session: Session, actor: Actor, helper_id: int) -> Helper:
    """A helper the actor may change: registered in its region (the district changes any)."""
    access.require_role(actor, MANAGERS, "changing helpers")
    helper = session.get(Helper, helper_id, with_for_update=True)
    if helper is None:
        raise NotFound(f"helper {helper_id} not found", field="helper_id")
    if not session.scalar(_within(actor, helper)):
        raise Forbidden(f"helper {helper_id} was registered outside your region")
    return helper


def _within(actor: Actor, helper: Helper) -> Select[tuple[bool]]:
    codes = access.regions_within(actor).subquery()
    return select(select(codes.c.code).where(codes.c.code == helper.region_code).exists())


def _household(session: Session, actor: Actor, household_id: int) -> Household:
    access.require_role(actor, MANAGERS, "pairing helpers with households")
    return households.load(session, actor, household_id, members=False, lock=True)  # 404 outside


def _current(session: Session, household_id: int) -> HelperAssignment | None:
    return session.scalars(
        select(HelperAssignment).where(
            HelperAssignment.household_id == household_id, HelperAssignment.ended_on.is_(None)
        )
    ).one_or_none()


def _end(row: HelperAssignment, actor: Actor, on: date, reason: str) -> None:
    row.ended_on, row.end_reason, row.ended_by = on, reason, actor.username


def _paired_counts(session: Session, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(
        select(HelperAssignment.helper_id, func.count())
        .where(HelperAssignment.helper_id.in_(ids), HelperAssignment.ended_on.is_(None))
        .group_by(HelperAssignment.helper_id)
    ).tuples()
    return {int(h): int(n) for h, n in rows}


def _audit(
    session: Session,
    settings: Settings,
    actor: Actor,
    action: str,
    helper: Helper,
    household_id: int | None,
    changes: dict[str, object],
) -> None:
    audit.record(session, settings, actor, [audit.Change(action, "helper", helper.id, household_id, changes)])
