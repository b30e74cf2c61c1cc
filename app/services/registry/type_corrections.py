"""户类型 is registry history, not a cadre's field: the village proposes a correction with its reason, the
township reviewer of the household's township approves or rejects it, and only an approval changes the
household — audited, with the reason, and only if its monitoring category still fits the new type."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import Conflict, Forbidden, NotFound
from app.models import Household, HouseholdTypeCorrection
from app.models.base import utcnow
from app.models.enums import HouseholdType, Role
from app.schemas.common import PageParams
from app.schemas.type_corrections import TypeCorrectionCreate, TypeCorrectionDecision
from app.services.platform import access, audit, paging
from app.services.platform.access import Actor
from app.services.registry import households, monitoring_rules

DECIDERS = frozenset({Role.township_reviewer})


def propose(
    session: Session, settings: Settings, actor: Actor, household_id: int, body: TypeCorrectionCreate
) -> HouseholdTypeCorrection:
    household = households.load(session, actor, household_id, members=False, lock=True)
    access.require_household_writer(actor, household)
    if body.household_type == household.household_type:
        raise Conflict(f"the household is already {body.household_type.value}", field="household_type")
    pending = session.scalar(
        select(HouseholdTypeCorrection.id).where(
            HouseholdTypeCorrection.household_id == household.id, HouseholdTypeCorrection.status == "proposed"
        )
    )
    if pending is not None:
        raise Conflict(f"correction {pending} awaits the township's decision", field="household_type")
    row = HouseholdTypeCorrection(
        household_id=household.id,
        from_type=household.household_type,
        to_type=body.household_type,
        reason=body.reason,
        status="proposed",
        proposed_by=actor.username,
    )
    if household.provisional:
        # a provisional household's type is a placeholder, not registry history: the village's visit sets it
        _apply(household, body.household_type)
        row.status, row.decided_by, row.decided_at = "approved", actor.username, utcnow()
        row.decision_note = "provisional household: the type is set at the village's visit"
    session.add(row)
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "household.type_correction.propose" if row.status == "proposed" else "household.type_set",
                "household_type_correction",
                row.id,
                household.id,
                {"from": row.from_type.value, "to": row.to_type.value, "reason": row.reason},
            )
        ],
    )
    return row


def decide(
    session: Session, settings: Settings, actor: Actor, correction_id: int, body: TypeCorrectionDecision
) -> HouseholdTypeCorrection:
    row = session.get(HouseholdTypeCorrection, correction_id, with_for_update=True)
    if row is None:
        raise NotFound(f"correction {correction_id} not found", field="correction_id")
    household = households.load(session, actor, row.household_id, members=False, lock=True)  # 404 outside
    if actor.role not in DECIDERS:
        raise Forbidden("the township reviewer of the household's township decides a type correction")
    if row.status != "proposed":
        raise Conflict(f"correction {correction_id} was already {row.status}", field="decision")
    category_before = household.monitoring_category
    if body.decision == "approve":
        if household.household_type != row.from_type:
            raise Conflict("the household's type changed since the proposal", field="decision")
        _apply(household, row.to_type)  # bumps the household's version: stale edits are refused
    row.status = "approved" if body.decision == "approve" else "rejected"
    row.decided_by, row.decided_at, row.decision_note = actor.username, utcnow(), body.note
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                f"household.type_correction.{row.status}",
                "household_type_correction",
                row.id,
                household.id,
                {
                    "from": row.from_type.value,
                    "to": row.to_type.value,
                    "reason": row.reason,
                    "note": body.note,
                    "monitoring_category": {
                        "before": category_before.value,
                        "after": household.monitoring_category.value,
                    },
                },
            )
        ],
    )
    return row


def _apply(household: Household, household_type: HouseholdType) -> None:
    """The new type, and with it the monitoring category that fits it (audited with the decision)."""
    household.monitoring_category = monitoring_rules.category_after_type_change(household, household_type)
    household.household_type = household_type


READERS = frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer})


def for_household(session: Session, actor: Actor, household_id: int) -> list[HouseholdTypeCorrection]:
    household = households.load(session, actor, household_id, members=False)
    access.require_role(actor, READERS, "reading type corrections")
    stmt = select(HouseholdTypeCorrection).where(HouseholdTypeCorrection.household_id == household.id)
    return list(session.scalars(stmt.order_by(HouseholdTypeCorrection.id)))


def listing(
    session: Session, actor: Actor, page: PageParams, status: str | None
) -> tuple[list[HouseholdTypeCorrection], int]:
    """Corrections in the actor's region (a township's queue: status=proposed)."""
    access.require_role(actor, READERS, "reading type corrections")
    stmt = select(HouseholdTypeCorrection).join(
        Household, Household.id == HouseholdTypeCorrection.household_id
    )
    stmt = access.visible_households(stmt, actor)
    if status is not None:
        stmt = stmt.where(HouseholdTypeCorrection.status == status)
    return paging.page_of(session, stmt, page, HouseholdTypeCorrection.id)
