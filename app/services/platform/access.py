"""The single place that turns an actor into what they may see and do.

Regions nest county → township → village; a household belongs to a village. A village cadre sees
their village, a township reviewer their township's villages, county-level roles the whole county.
"""

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import BindParameter, Select, select
from sqlalchemy.orm import Session, aliased

from app.errors import Forbidden
from app.models import Household, Referral, Region, Signal
from app.models.enums import RegionLevel, Role

T = TypeVar("T", bound=tuple[Any, ...])

# admin manages accounts only: no household data.
HOUSEHOLD_READERS = frozenset(
    {Role.village_cadre, Role.township_reviewer, Role.district_officer, Role.department_user}
)
HOUSEHOLD_WRITERS = frozenset({Role.village_cadre})
# Roles that may see full ID numbers and phones on a single-record read (each reveal is audited).
PII_REVEALERS = frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer})
# Roles that see members' names; others see them masked.
NAME_READERS = frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer})


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None
    username: str
    role: Role
    region_code: str
    region_level: RegionLevel
    department: str | None = None  # a department account's department (医保, 民政 …)

    @property
    def is_system(self) -> bool:
        return self.user_id is None

    @classmethod
    def system(cls, name: str, region_code: str = "") -> "Actor":
        """The actor for command-line and scheduled work (it has no user row)."""
        return cls(None, f"system:{name}", Role.admin, region_code, RegionLevel.county)


def visible_village_codes(actor: Actor) -> Select[tuple[str]]:
    """The codes of every village inside the actor's region."""
    return villages_within(actor.region_level, actor.region_code)


def villages_within(level: RegionLevel, region: str | BindParameter[str]) -> Select[tuple[str]]:
    """The codes of every village inside a region of that level (its code may be a bound parameter, for a
    statement built once and run for many callers)."""
    if level == RegionLevel.village:
        return select(Region.code).where(Region.code == region)
    if level == RegionLevel.township:
        return select(Region.code).where(Region.parent_code == region, Region.level == RegionLevel.village)
    township = aliased(Region)
    return (
        select(Region.code)
        .join(township, Region.parent_code == township.code)
        .where(township.parent_code == region, Region.level == RegionLevel.village)
    )


def regions_within(actor: Actor) -> Select[tuple[str]]:
    """The codes of the actor's region and every region below it."""
    township = aliased(Region)
    if actor.region_level == RegionLevel.village:
        return select(Region.code).where(Region.code == actor.region_code)
    if actor.region_level == RegionLevel.township:
        return select(Region.code).where(
            (Region.code == actor.region_code) | (Region.parent_code == actor.region_code)
        )
    return (
        select(Region.code)
        .outerjoin(township, Region.parent_code == township.code)
        .where(
            (Region.code == actor.region_code)
            | (Region.parent_code == actor.region_code)
            | (township.parent_code == actor.region_code)
        )
    )


def visible_households(stmt: Select[T], actor: Actor) -> Select[T]:
    """Restrict a query over Household to the actor's region."""
    require_role(actor, HOUSEHOLD_READERS)
    return stmt.where(Household.village_code.in_(visible_village_codes(actor)))


def require_role(actor: Actor, roles: frozenset[Role], action: str = "this action") -> None:
    if actor.role not in roles:
        raise Forbidden(f"role {actor.role.value} may not perform {action}")


def sees_details(session: Session, actor: Actor, household_id: int) -> bool:
    """Whether the actor may see the household's details (health, address, reports, risk reasons,
    assistance, history): every reader in region may, except a department, which sees them only for a
    household referred to it, or about which its own row opened or joined a case (a row below its
    threshold, kept on the record, grants nothing: a department cannot buy access with a 1-yuan row)."""
    if actor.role != Role.department_user:
        return True
    if actor.department is None:  # an account no admin has given a department sees no one's details
        return False
    referred = select(Referral.id).where(
        Referral.household_id == household_id, Referral.department == actor.department
    )
    if session.scalar(referred.limit(1)) is not None:
        return True
    known = select(Signal.id).where(
        Signal.household_id == household_id,
        Signal.source == "department",
        Signal.department == actor.department,
        Signal.outcome.in_(("opened", "attached", "monitored")),
    )
    return session.scalar(known.limit(1)) is not None


def require_details(session: Session, actor: Actor, household_id: int) -> None:
    if not sees_details(session, actor, household_id):
        raise Forbidden(
            "your department has no case or referral about this household: its details are not yours"
        )


def require_household_writer(actor: Actor, household: Household) -> None:
    """Only the household's own village cadres write; called after the household was found visible."""
    if actor.role not in HOUSEHOLD_WRITERS or household.village_code != actor.region_code:
        raise Forbidden(f"role {actor.role.value} may not change households")
