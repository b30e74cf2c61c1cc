"""Reading indicator reports as clients see them: a report's columns, its events and spending, which report
corrects it, and its per-capita net income over the 12 months ending at its period_end against the year's
monitoring line, computed from the household's current records (its effective reports and its members).

Also the stored figures a submission checks against and answers with (report_checks.py,
report_submission.py): each report's net income by period, the corrections, the households' members.
"""

import operator
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import bulk
from app import income_rule as rule
from app.models import Member, Report, ReportEvent
from app.schemas.common import PageParams
from app.schemas.plain import of_tree
from app.schemas.policy import PolicyData
from app.schemas.reports import ReportRead
from app.services.platform import access
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor
from app.services.registry import households
from app.services.registry.income import Membership, PeriodIncome, income_window, per_capita

INCOME_FIELDS = ("wages", "business", "property", "transfer", "production_cost")


@dataclass
class StoredNet:
    """A report's net income for its period (the terms of income_rule.NET_INCOME_TERMS), by household."""

    id: int
    household_id: int
    period_start: date
    period_end: date
    net: Decimal


def _terms_getter(sign: int) -> Callable[[Any], tuple[Decimal, ...]]:
    """The columns of the terms of income_rule.NET_INCOME_TERMS with this sign, read from a row at once."""
    columns = [column for column, s in rule.NET_INCOME_TERMS.items() if s == sign]
    if not columns:
        return lambda _row: ()
    if len(columns) == 1:
        return lambda row: (getattr(row, columns[0]),)
    return operator.attrgetter(*columns)


if set(rule.NET_INCOME_TERMS.values()) - {1, -1}:
    raise ValueError("report_net adds and subtracts terms: NET_INCOME_TERMS has another sign")
_ADDED, _SUBTRACTED = _terms_getter(1), _terms_getter(-1)


def report_net(row: Any) -> Decimal:
    """A report's net income from its columns (a row read, or the values just stored): every term of
    income_rule.NET_INCOME_TERMS, read by its column's name, so a term added to the rule is read here too.
    Its sum without the rule's dict and products: a quarter of the time, for every report a batch reads."""
    return Decimal(sum(_ADDED(row))) - sum(_SUBTRACTED(row))


def window_start(period_end: date) -> date:
    return income_window(period_end)[0]


# the columns stored_net reads
STORED_NET_COLUMNS = (
    Report.id,
    Report.household_id,
    Report.period_start,
    Report.period_end,
    *(getattr(Report, column) for column in rule.NET_INCOME_TERMS),
)


def stored_net(row: Any) -> StoredNet:
    """A row holding STORED_NET_COLUMNS (among others) as its report's net income for its period."""
    return StoredNet(row.id, row.household_id, row.period_start, row.period_end, report_net(row))


def stored_reports(session: Session, hids: Sequence[int], since: date) -> list[StoredNet]:
    """The households' reports ending on or after `since` (superseded ones too), with their net income."""
    rows = session.execute(
        select(*STORED_NET_COLUMNS).where(
            Report.household_id.in_(bulk.listed("hids", hids)), Report.period_end >= since
        )
    )
    return [stored_net(r) for r in rows]


def corrections(session: Session, household_ids: Sequence[int]) -> dict[int, int]:
    """Superseded report id → the id of the report that corrects it, for these households."""
    rows = session.execute(
        select(Report.supersedes_id, Report.id).where(
            Report.household_id.in_(bulk.listed("hids", household_ids)), Report.supersedes_id.is_not(None)
        )
    )
    return {old: new for old, new in rows if old is not None}


def effective_incomes(stored: list[StoredNet], superseded: set[int]) -> dict[int, list[PeriodIncome]]:
    """Household → the incomes of its reports that no report corrects."""
    incomes: dict[int, list[PeriodIncome]] = defaultdict(list)
    for s in stored:
        if s.id not in superseded:
            incomes[s.household_id].append(PeriodIncome(s.id, s.period_start, s.period_end, s.net))
    return incomes


def memberships(session: Session, hids: Sequence[int]) -> dict[int, list[Membership]]:
    """Household → when each of its members joined and left."""
    members: dict[int, list[Membership]] = defaultdict(list)
    for hid, joined, left in session.execute(
        select(Member.household_id, Member.joined_on, Member.left_on).where(
            Member.household_id.in_(bulk.listed("hids", hids))
        )
    ):
        members[hid].append(Membership(joined, left))
    return members


def read_many(session: Session, report_ids: Sequence[int]) -> list[ReportRead]:
    """Reports as clients see them, with per-capita net income computed from the current records."""
    return [of_tree(ReportRead, values) for values in read_many_plain(session, report_ids)]


def read_many_plain(session: Session, report_ids: Sequence[int]) -> list[dict[str, Any]]:
    """`read_many` as ReportRead's plain form (schemas/plain.py): nested dicts, no model objects."""
    if not report_ids:
        return []
    wanted = set(report_ids)
    reports = {r.id: r for r in session.execute(select(Report.__table__).where(Report.id.in_(wanted)))}
    events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in session.execute(
        select(ReportEvent.__table__).where(ReportEvent.report_id.in_(wanted)).order_by(ReportEvent.id)
    ):
        events[e.report_id].append(event_values(e))
    earliest = min(window_start(r.period_end) for r in reports.values())
    hids = sorted({r.household_id for r in reports.values()})
    stored = stored_reports(session, hids, earliest)
    superseded_by = corrections(session, hids)
    incomes = effective_incomes(stored, set(superseded_by))
    members = memberships(session, hids)
    _, policy = policy_service.current_data(session)
    reads = []
    for rid in report_ids:
        row = reports[rid]
        hid = row.household_id
        net = report_net(row)
        reads.append(
            report_values(row, net, events[rid], incomes[hid], members[hid], superseded_by.get(rid), policy)
        )
    return reads


def event_values(event: Any) -> dict[str, Any]:
    """An event (a stored row, or one just sent) as EventOut's plain form."""
    return {
        "kind": event.kind,
        "disaster_type": event.disaster_type,
        "occurred_on": event.occurred_on,
        "loss": event.loss,
    }


def report_values(
    row: Any,
    net: Decimal,
    events: list[dict[str, Any]],
    incomes: list[PeriodIncome],
    members: list[Membership],
    superseded_by: int | None,
    policy: PolicyData,
) -> dict[str, Any]:
    """The response, as ReportRead's plain form, from a report's columns (a table row, or the values
    just stored) and its net income; the values come from the database, so no re-validation. The line
    is the policy's for the year of period_end, as the rules compare it."""
    result = per_capita(PeriodIncome(row.id, row.period_start, row.period_end, net), incomes, members)
    line = policy.line_for(row.period_end.year)
    figure = result.per_capita_net_income
    return {
        "id": row.id,
        "household_id": row.household_id,
        "client_ref": row.client_ref,
        "period_start": row.period_start,
        "period_end": row.period_end,
        "income": {f: getattr(row, f) for f in INCOME_FIELDS},
        "insurance_payout": row.insurance_payout,
        "spending": {"medical": row.spending_medical, "education": row.spending_education},
        "housing_grade": row.housing_grade,
        "drinking_water_safe": row.drinking_water_safe,
        "food_secure": row.food_secure,
        "clothing_secure": row.clothing_secure,
        "events": events,
        "supersedes": row.supersedes_id,
        "superseded_by": superseded_by,
        "created_at": row.created_at,
        "per_capita_net_income": result.per_capita_net_income,
        "income_basis": {
            "window_start": result.window_start,
            "window_end": result.window_end,
            "report_ids": result.report_ids,
            "covered_days": result.covered_days,
            "net_income": result.net_income,
            "household_size": result.household_size,
            "estimated": result.estimated,
        },
        "monitoring_line": line,
        "below_line": None if figure is None else figure < line,
    }


def list_for_household(
    session: Session, actor: Actor, household_id: int, page: PageParams, since: date | None = None
) -> tuple[list[ReportRead], int]:
    """A household's reports, newest period first, superseded ones included and marked."""
    households.load(session, actor, household_id, members=False)
    access.require_details(session, actor, household_id)
    stmt = select(Report.id).where(Report.household_id == household_id)
    if since is not None:
        stmt = stmt.where(Report.period_end >= since)
    ids = list(session.scalars(stmt.order_by(Report.period_end.desc(), Report.id.desc())).all())
    window = ids[page.offset : page.offset + page.page_size]
    return read_many(session, window), len(ids)
