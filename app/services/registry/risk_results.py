"""Sub-queries over the current scoring run's results, for other services' filters (imports models only)."""

from sqlalchemy import ScalarSelect, Select, func, select

from app.models import RiskResult, RiskRun


def current_run_id() -> ScalarSelect[int]:
    """A subquery: the id of the run whose results are in force."""
    return select(func.max(RiskRun.id)).where(RiskRun.status == "completed").scalar_subquery()


def households_with(level: str | None, reason: str | None) -> Select[tuple[int]]:
    """A subquery of household ids whose current result has the level and/or the reason."""
    stmt = select(RiskResult.household_id).where(RiskResult.run_id == current_run_id())
    if level is not None:
        stmt = stmt.where(RiskResult.level == level)
    if reason is not None:
        stmt = stmt.where(RiskResult.reason_codes.like(f"%|{reason}|%"))
    return stmt
