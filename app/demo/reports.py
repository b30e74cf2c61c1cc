"""The demo district's quarterly reports: the last complete quarters, one report row per household and
quarter from the simulated amounts (hashed as the API hashes a report), and their events.

Rows are built column-wise: a district of a million households has twelve million of them."""

import hashlib
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import bulk
from app.clock import add_months
from app.demo import synthetic
from app.models import Base
from app.models.enums import HousingGrade
from app.schemas.reports import EventIn, Income, ReportCreate, Spending
from app.services.registry.report_checks import body_hash

REPORT_TABLE = Base.metadata.tables["report"]
EVENT_TABLE = Base.metadata.tables["report_event"]
REPORT_COLUMNS = (
    "household_id",
    "client_ref",
    "body_hash",
    "period_start",
    "period_end",
    "wages",
    "business",
    "property",
    "transfer",
    "production_cost",
    "insurance_payout",
    "spending_medical",
    "spending_education",
    "housing_grade",
    "drinking_water_safe",
    "food_secure",
    "clothing_secure",
    "created_at",
    "updated_at",
)
AMOUNTS = ("wages", "business", "property", "transfer", "production_cost", "medical", "education")
ZERO = Decimal("0.00")


def quarters(today: date, count: int) -> list[tuple[date, date]]:
    """The last `count` complete calendar quarters, oldest first."""
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    result = []
    start = quarter_start
    for _ in range(count):
        start = add_months(start, -3)
        result.append((start, add_months(start, 3) - timedelta(days=1)))
    return result[::-1]


def client_ref(period: tuple[date, date]) -> str:
    end = period[1]
    return f"demo-{end:%Y}q{(end.month - 1) // 3 + 1}"


def write_reports(
    session: Session,
    ids: list[int],
    periods: list[tuple[date, date]],
    amounts: synthetic.Quarterly,
    events: dict[tuple[int, int], list[EventIn]],
    conditions: tuple[list[str], list[bool]],
    now: Any,
) -> None:
    """Every household's report of every quarter (household n is ids[n]), then their events.

    `conditions` are each household's housing grade and whether its water is safe."""
    if not ids or not periods:
        return
    housing, water_safe = conditions
    columns = [_money_texts(getattr(amounts, name)) for name in AMOUNTS]
    refs = [client_ref(p) for p in periods]
    # the canonical JSON the API hashes (report_checks.body_hash), written here as text: the same bytes
    heads = [
        f'{{"client_ref":"{ref}","period_start":"{start}","period_end":"{end}","income":{{"wages":"'
        for ref, (start, end) in zip(refs, periods, strict=True)
    ]
    stamp = str(now)
    lines = []  # each report as a line of COPY text: every value here is digits, dates, letters or hex
    i = 0
    for n, hid in enumerate(ids):
        grade, safe = housing[n], water_safe[n]
        tail = (
            f'"housing_grade":"{grade}","drinking_water_safe":{"true" if safe else "false"},'
            '"food_secure":true,"clothing_secure":true,"events":[],"supersedes":null}'
        )
        row_tail = f"\t{grade}\t{'t' if safe else 'f'}\tt\tt\t{stamp}\t{stamp}\n"
        for q, (start, end) in enumerate(periods):
            w, b, p, t, c, m, e = (column[i] for column in columns)
            i += 1
            its_events = events.get((n, q))
            if its_events:
                texts = (w, b, p, t, c, m, e)
                digest = _hash_with_events(refs[q], (start, end), texts, its_events, grade, safe)
            else:
                canonical = (
                    f'{heads[q]}{w}","business":"{b}","property":"{p}","transfer":"{t}",'
                    f'"production_cost":"{c}"}},"insurance_payout":"0.00",'
                    f'"spending":{{"medical":"{m}","education":"{e}"}},{tail}'
                )
                digest = hashlib.sha256(canonical.encode()).hexdigest()
            lines.append(
                f"{hid}\t{refs[q]}\t{digest}\t{start}\t{end}\t{w}\t{b}\t{p}\t{t}\t{c}\t0.00\t{m}\t{e}{row_tail}"
            )
    if session.get_bind().dialect.name == "postgresql":
        bulk.copy_lines(session, REPORT_TABLE, REPORT_COLUMNS, lines)
    else:
        bulk.insert_rows(session, REPORT_TABLE, [_values(line, now) for line in lines])
    _write_events(session, ids, refs, events)


def _values(line: str, now: datetime) -> dict[str, Any]:
    """A report's COPY line as the values an INSERT takes (SQLite; its district is a small one)."""
    hid, ref, digest, start, end, *money_texts, grade, safe, _, _, _, _ = line.rstrip("\n").split("\t")
    return {
        "household_id": int(hid),
        "client_ref": ref,
        "body_hash": digest,
        "period_start": date.fromisoformat(start),
        "period_end": date.fromisoformat(end),
        **{name: Decimal(value) for name, value in zip(REPORT_COLUMNS[5:13], money_texts, strict=True)},
        "housing_grade": HousingGrade(grade),
        "drinking_water_safe": safe == "t",
        "food_secure": True,
        "clothing_secure": True,
        "created_at": now,
        "updated_at": now,
    }


def _money_texts(values: synthetic.FloatArray) -> list[str]:
    """Amounts as the API writes them, household by household and quarter by quarter: two decimals,
    never negative (nor "-0.00")."""
    return [f"{v:.2f}" for v in (np.maximum(values, 0.0) + 0.0).ravel().tolist()]


def _hash_with_events(
    ref: str,
    period: tuple[date, date],
    texts: tuple[str, ...],
    events: list[EventIn],
    grade: str,
    safe: bool,
) -> str:
    w, b, p, t, c, m, e = (Decimal(v) for v in texts)
    body = ReportCreate.model_construct(
        client_ref=ref,
        period_start=period[0],
        period_end=period[1],
        income=Income.model_construct(wages=w, business=b, property=p, transfer=t, production_cost=c),
        insurance_payout=ZERO,
        spending=Spending.model_construct(medical=m, education=e),
        housing_grade=HousingGrade(grade),
        drinking_water_safe=safe,
        food_secure=True,
        clothing_secure=True,
        events=events,
        supersedes=None,
    )
    return body_hash(body)


def _write_events(
    session: Session, ids: list[int], refs: list[str], events: dict[tuple[int, int], list[EventIn]]
) -> None:
    """Attach each event to its quarter's report, found by household and client_ref."""
    if not events:
        return
    # only the quarters with events, read through Core: the ORM's rows over every report of these
    # households were a tenth of demo-data's time
    wanted = {(ids[n], refs[q]) for n, q in events}
    found = session.connection().execute(
        select(REPORT_TABLE.c.id, REPORT_TABLE.c.household_id, REPORT_TABLE.c.client_ref).where(
            REPORT_TABLE.c.household_id.in_(bulk.listed("ids", sorted({hid for hid, _ in wanted}))),
            REPORT_TABLE.c.client_ref.in_(bulk.listed("refs", sorted({ref for _, ref in wanted}))),
        )
    )
    report_ids = {(hid, ref): rid for rid, hid, ref in found}
    rows = [
        {
            "report_id": report_ids[ids[n], refs[q]],
            "kind": e.kind,
            "disaster_type": e.disaster_type,
            "occurred_on": e.occurred_on,
            "loss": e.loss,
        }
        for (n, q), its_events in events.items()
        for e in its_events
    ]
    bulk.insert_rows(session, EVENT_TABLE, rows)


def money(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))
