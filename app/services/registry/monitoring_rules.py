"""What a household's monitoring record must satisfy, wherever it is set: at the district's decision on
a case, at the audited import of a household already monitored, and after a type correction."""

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import local_today
from app.errors import Invalid
from app.models import Household, Member
from app.models.enums import CANNOT_WORK, HouseholdType, LabourCapacity, MonitoringCategory
from app.risk import features
from app.services.platform import policy as policy_service

# DOMAIN.md: 脱贫不稳定户 are 脱贫户, 边缘易致贫户 are 一般农户; 突发严重困难户 may be either
CATEGORY_FOR_TYPE = {
    MonitoringCategory.unstable: HouseholdType.lifted,
    MonitoringCategory.marginal: HouseholdType.ordinary,
}


def category_fits(category: MonitoringCategory, household_type: HouseholdType) -> bool:
    needed = CATEGORY_FOR_TYPE.get(category)
    return needed is None or household_type == needed


def check_category(household: Household, category: MonitoringCategory) -> None:
    if not category_fits(category, household.household_type):
        needed = CATEGORY_FOR_TYPE[category]
        raise Invalid(
            f"{category.value} applies to {needed.value}; this household is {household.household_type}",
            field="monitoring_category",
        )


def category_after_type_change(household: Household, new_type: HouseholdType) -> MonitoringCategory:
    """The monitoring category that fits the household once its type is corrected: a 脱贫不稳定户 whose
    registry says 一般农户 after all is a 边缘易致贫户 (and the other way round); 突发严重困难户 fits
    either type."""
    category = household.monitoring_category
    if category == MonitoringCategory.none or category_fits(category, new_type):
        return category
    return next(c for c, t in CATEGORY_FOR_TYPE.items() if t == new_type)


def labour_problem(risk_types: Sequence[str], capacities: Sequence[LabourCapacity | None]) -> str | None:
    """DOMAIN.md's consistency rules for the labour-related risk types, on the active members' labour
    capacities (None: not recorded, which counts as not able to work)."""
    workers = sum(1 for c in capacities if c is not None and c not in CANNOT_WORK)
    if "因务工就业不稳" in risk_types and capacities and workers == 0:
        return "因务工就业不稳 needs a member able to work; none is"
    if "缺劳动力" in risk_types and capacities and workers * 4 > len(capacities):
        return f"缺劳动力 applies when at most ¼ of members can work; {workers} of {len(capacities)} can"
    return None


def check_risk_types(
    session: Session,
    household: Household,
    risk_types: Sequence[str],
    as_of: date | None = None,
    *,
    illness_evidence: bool = True,
) -> None:
    """The risk types must fit the household: its members' labour and, for 因病, compliant medical
    spending in the 12 months before `as_of` (default today; an imported record's own income year).
    `illness_evidence` False: a record decided elsewhere, whose evidence Shouwang does not hold."""
    members = session.scalars(
        select(Member).where(Member.household_id == household.id, Member.left_on.is_(None))
    ).all()
    problem = labour_problem(risk_types, [m.labour_capacity for m in members])
    if problem:
        raise Invalid(problem, field="risk_types")
    if "因病" in risk_types and illness_evidence:
        _, policy = policy_service.current_data(session)
        frame = features.build(session, policy, as_of or local_today(), [household.id])
        if not frame.columns["oop_medical"][0] > 0:
            raise Invalid(
                "因病 needs compliant out-of-pocket medical spending in the last 12 months",
                field="risk_types",
            )
