"""Households already monitored elsewhere (the national system, a county spreadsheet) enter Shouwang's
monitoring here, and only here, outside the case procedure: with their category, risk types and the date
they were identified, so that 缺什么补什么 gaps and elimination work on them as on any other."""

from collections.abc import Sequence
from datetime import date
from typing import get_args

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import local_today
from app.config import Settings
from app.errors import Conflict, Invalid, NotFound
from app.models import Case, Household
from app.models.enums import MonitoringCategory, MonitoringStatus
from app.schemas.case_actions import RiskType
from app.services.platform import audit
from app.services.platform.access import Actor
from app.services.registry import monitoring_rules

# the mechanism (防止返贫动态监测和帮扶机制) dates from 2020: no household was identified before it
EARLIEST_IDENTIFICATION = date(2020, 1, 1)
RISK_TYPES = TypeAdapter(list[RiskType])


def import_monitored(
    session: Session,
    settings: Settings,
    actor: Actor,
    *,
    household_no: str,
    category: MonitoringCategory,
    risk_types: Sequence[str],
    identified_on: date,
    note: str,
    eliminated_on: date | None = None,
    evidence_as_of: date | None = None,
    illness_evidence: bool = True,
) -> Household:
    """Monitor a registered household as the record elsewhere says: since `identified_on`, and, when
    `eliminated_on` is given, with its risk eliminated that day. The risk types are checked against the
    household's members and, for 因病, its medical spending before `evidence_as_of` (default today) —
    unless `illness_evidence` is False: a file's record without its income figures, decided by the
    county on evidence Shouwang does not hold."""
    household = session.scalars(
        select(Household).where(Household.household_no == household_no).with_for_update()
    ).one_or_none()
    if household is None:
        raise NotFound(f"household {household_no} is not registered", field="household_no")
    # a household made monitored before the procedure was enforced, with no risk types or date, may have
    # its record completed here: without them its gaps are never computed and it can never be eliminated
    incomplete = household.monitoring_status == MonitoringStatus.monitored and (
        not household.risk_types or household.monitored_since is None
    )
    if household.monitoring_status != MonitoringStatus.not_monitored and not incomplete:
        raise Conflict(
            f"household {household_no} is already {household.monitoring_status.value}", field="household_no"
        )
    if session.scalar(select(Case.id).where(Case.household_id == household.id, Case.status == "open")):
        raise Conflict(f"household {household_no} has an open case: let it decide", field="household_no")
    if category == MonitoringCategory.none:
        raise Invalid("a monitoring category is required", field="monitoring_category")
    try:
        types = RISK_TYPES.validate_python(list(risk_types))
    except ValidationError:
        raise Invalid(f"risk types are among: {', '.join(get_args(RiskType))}", field="risk_types") from None
    if not 1 <= len(types) <= 5 or len(set(types)) != len(types):
        raise Invalid("one to five risk types, each once", field="risk_types")
    if not EARLIEST_IDENTIFICATION <= identified_on <= local_today():
        raise Invalid(
            f"the identification date lies between {EARLIEST_IDENTIFICATION} and today", field="identified_on"
        )
    if eliminated_on is not None and not identified_on <= eliminated_on <= local_today():
        raise Invalid(
            f"the risk was eliminated between its identification ({identified_on}) and today",
            field="risk_eliminated_on",
        )
    if not note.strip():
        raise Invalid("say where the record comes from", field="note")
    monitoring_rules.check_category(household, category)
    monitoring_rules.check_risk_types(
        session, household, types, evidence_as_of, illness_evidence=illness_evidence
    )
    household.monitoring_status = (
        MonitoringStatus.monitored if eliminated_on is None else MonitoringStatus.risk_eliminated
    )
    household.monitoring_category = category
    household.risk_types = list(types)
    household.monitored_since = identified_on
    household.risk_eliminated_on = eliminated_on
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "household.complete_monitoring_record" if incomplete else "household.import_monitored",
                "household",
                household.id,
                household.id,
                {
                    "monitoring_status": household.monitoring_status.value,
                    "monitoring_category": category.value,
                    "risk_types": list(types),
                    "monitored_since": identified_on.isoformat(),
                    **({"risk_eliminated_on": eliminated_on.isoformat()} if eliminated_on else {}),
                    "note": note.strip(),
                },
            )
        ],
    )
    return household
