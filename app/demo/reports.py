"""The demo district's quarterly reports: the last complete quarters, one report row per household and
quarter from the simulated amounts (hashed as the API hashes a report), and their events."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import bulk
from app.clock import add_months
from app.demo import synthetic
from app.models import Base, Report
from app.models.enums import HousingGrade
from app.schemas.reports import EventIn, Income, ReportCreate, Spending
from app.services.registry.report_checks import body_hash

REPORT_TABLE = Base.metadata.tables["report"]
EVENT_TABLE = Base.metadata.tables["report_event"]


def quarters(today: date, count: int) -> list[tuple[date, date]]:
    """The last `count` complete calendar quarters, oldest first."""
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    result = []
    start = quarter_start
    for _ in range(count):
        start = add_months(start, -3)
        result.append((start, add_months(start, 3) - timedelta(days=1)))
    return result[::-1]


def report_row(
    hid: int,
    period: tuple[date, date],
    amounts: synthetic.Quarterly,
    cell: tuple[int, int],
    events: list[EventIn],
    housing: str,
    water_safe: bool,
    now: Any,
) -> dict[str, Any]:
    start, end = period
    n, q = cell
    body = ReportCreate.model_construct(
        client_ref=f"demo-{end:%Y}q{(end.month - 1) // 3 + 1}",
        period_start=start,
        period_end=end,
        income=Income.model_construct(
            wages=money(amounts.wages[n, q]),
            business=money(amounts.business[n, q]),
            property=money(amounts.property[n, q]),
            transfer=money(amounts.transfer[n, q]),
            production_cost=money(amounts.production_cost[n, q]),
        ),
        insurance_payout=Decimal(0),
        spending=Spending.model_construct(
            medical=money(amounts.medical[n, q]), education=money(amounts.education[n, q])
        ),
        housing_grade=HousingGrade(housing),
        drinking_water_safe=water_safe,
        food_secure=True,
        clothing_secure=True,
        events=events,
        supersedes=None,
    )
    return {
        "household_id": hid,
        "client_ref": body.client_ref,
        # the same hash the API computes, so a client re-sending this report is a replay
        "body_hash": body_hash(body),
        "period_start": start,
        "period_end": end,
        **body.income.model_dump(),
        "insurance_payout": body.insurance_payout,
        "spending_medical": body.spending.medical,
        "spending_education": body.spending.education,
        "housing_grade": body.housing_grade,
        "drinking_water_safe": water_safe,
        "food_secure": True,
        "clothing_secure": True,
        "created_at": now,
        "updated_at": now,
    }


def write_events(
    session: Session,
    ids: list[int],
    report_rows: list[dict[str, Any]],
    events: dict[tuple[int, int], list[EventIn]],
) -> None:
    """Attach each event to its quarter's report, found by household and client_ref."""
    if not events:
        return
    quarters_per_household = len(report_rows) // len(ids)
    wanted = {(n, q): report_rows[n * quarters_per_household + q] for n, q in events}
    report_ids = {
        (hid, ref): rid
        for rid, hid, ref in session.execute(
            select(Report.id, Report.household_id, Report.client_ref).where(
                Report.household_id.in_({row["household_id"] for row in wanted.values()})
            )
        )
    }
    rows = [
        {
            "report_id": report_ids[row["household_id"], row["client_ref"]],
            "kind": e.kind,
            "disaster_type": e.disaster_type,
            "occurred_on": e.occurred_on,
            "loss": e.loss,
        }
        for cell, row in wanted.items()
        for e in events[cell]
    ]
    bulk.insert_rows(session, EVENT_TABLE, rows)


def money(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))
