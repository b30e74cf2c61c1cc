"""Indicator reports: immutable, dated, idempotent by client_ref, corrected only by superseding.

One report or a batch of up to 1,000 goes through the same path: every item is checked first, and
either all new reports are written or none is.
"""

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app import bulk
from app.config import Settings
from app.errors import AppError, Conflict, Forbidden, Invalid, NotFound, combine
from app.models import Base, Household, Member, Report, ReportEvent
from app.models.base import utcnow
from app.schemas.common import PageParams
from app.schemas.policy import PolicyData
from app.schemas.reports import (
    EventOut,
    IncomeBasis,
    IncomeOut,
    ReportCreate,
    ReportPreview,
    ReportRead,
    SpendingOut,
)
from app.services.platform import access, audit
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor
from app.services.registry import households
from app.services.registry.income import Membership, PeriodIncome, income_window, net_income, per_capita

INCOME_FIELDS = ("wages", "business", "property", "transfer", "production_cost")
NET_FIELDS = (*INCOME_FIELDS, "insurance_payout")  # the columns of net_income, in its order
# Core tables for bulk writes: the ORM's bulk path costs more per row and adds nothing here.
REPORT_TABLE = Base.metadata.tables["report"]
EVENT_TABLE = Base.metadata.tables["report_event"]
EXCLUDE_FROM_HASH = {"household_id", "household_no"}


@dataclass
class Item:
    """One report to store, with where its errors are reported."""

    body: ReportCreate
    prefix: str
    household_id: int | None = None
    household_no: str | None = None
    resolved: bool = False


@dataclass
class _Stored:
    id: int
    household_id: int
    period_start: date
    period_end: date
    net: Decimal


@dataclass
class _Plan:
    """What the batch will do per item: reuse a stored report (replay) or insert a new one."""

    household_id: int
    body: ReportCreate
    body_hash: str
    replay_id: int | None = None
    new_index: int | None = None
    events: list[dict[str, Any]] = field(default_factory=list)


def body_hash(body: ReportCreate) -> str:
    """Identity of a report's content: amounts are normalised, so 100 and "100.00" are the same.

    pydantic writes fields in schema order, so the JSON is canonical for a given schema version.
    """
    canonical = body.model_dump_json(exclude=EXCLUDE_FROM_HASH)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _overlaps(a_start: date, a_end: date, b_start: date, b_end: date) -> bool:
    return a_start <= b_end and b_start <= a_end


def _resolve_households(
    session: Session, actor: Actor, items: Sequence[Item]
) -> tuple[dict[int, Household], list[AppError]]:
    """The households the items name, visible to and writable by the actor, locked until commit."""
    ids = {i.household_id for i in items if i.household_id is not None}
    nos = {i.household_no for i in items if i.household_no is not None}
    stmt = (
        access.visible_households(select(Household), actor)
        .where(or_(Household.id.in_(ids), Household.household_no.in_(nos)))
        .order_by(Household.id)
        .with_for_update(of=Household)
    )
    households = session.scalars(stmt).all()
    by_id = {h.id: h for h in households}
    by_no = {h.household_no: h for h in households}
    errors: list[AppError] = []
    resolved: dict[int, Household] = {}
    for item in items:
        if (item.household_id is None) == (item.household_no is None):
            errors.append(
                Invalid(
                    "give exactly one of household_id and household_no", field=f"{item.prefix}household_id"
                )
            )
            continue
        found = (
            by_id.get(item.household_id)
            if item.household_id is not None
            else by_no.get(item.household_no or "")
        )
        if found is None:
            name = "household_id" if item.household_id is not None else "household_no"
            errors.append(NotFound("household not found", field=f"{item.prefix}{name}"))
            continue
        if actor.role not in access.HOUSEHOLD_WRITERS or found.village_code != actor.region_code:
            raise Forbidden(
                f"role {actor.role.value} may not submit reports for this household",
                field=f"{item.prefix}household_id",
            )
        item.household_id, item.resolved = found.id, True
        resolved[found.id] = found
    return resolved, errors


@dataclass
class _Context:
    """What the stored data says about the households a batch touches."""

    existing_refs: dict[tuple[int, str], tuple[int, str]]  # (household, client_ref) -> (report id, hash)
    stored: list[_Stored]  # reports recent enough to matter for overlaps and income windows
    superseded: set[int]
    targets: dict[int, tuple[int, date, date]]  # superseded-to-be report -> (household, start, end)
    effective: dict[int, list[tuple[date, date, int | None]]]  # household -> periods (None: in this batch)
    batch_refs: dict[tuple[int, str], tuple[str, int]] = field(default_factory=dict)


def submit(
    session: Session,
    settings: Settings,
    actor: Actor,
    items: Sequence[Item],
    *,
    invalid: Sequence[AppError] = (),
) -> tuple[list[ReportRead], int]:
    """Store the items' new reports (all or none) and return every item's report; also the count created.

    `invalid` are errors of items that did not even parse: nothing is stored, but the other items are
    still checked so that one answer names every problem.
    """
    hids, context, plans, to_insert = _check(session, actor, items, invalid)
    now = utcnow()
    ids = _insert(session, settings, actor, to_insert, now)
    return _answers(session, hids, context, plans, to_insert, ids, now), len(to_insert)


def _check(
    session: Session, actor: Actor, items: Sequence[Item], invalid: Sequence[AppError] = ()
) -> tuple[list[int], _Context, list[_Plan], list[_Plan]]:
    """Every check a submission makes, storing nothing: the households, the context and the plans."""
    households, errors = _resolve_households(session, actor, items)
    errors[:0] = invalid
    items = [i for i in items if i.resolved]
    if not items:
        raise combine(errors, f"{len(errors)} report error(s); nothing was stored")
    hids = list(households)
    context = _load_context(session, hids, items)
    plans: list[_Plan] = []
    to_insert: list[_Plan] = []
    for item in items:
        plan = _plan(item, context, to_insert, errors)
        if plan is not None:
            plans.append(plan)
    if errors:
        raise combine(errors, f"{len(errors)} report error(s); nothing was stored")
    return hids, context, plans, to_insert


# the id a report being previewed has in the income window (real ids start at 1)
PREVIEW_ID = 0


def preview(session: Session, actor: Actor, household_id: int, body: ReportCreate) -> ReportPreview:
    """The per-capita income, line and below_line a report would give if sent now; nothing is stored.
    Refused exactly as a submission would be (same 403/404/409/422)."""
    item = Item(body=body, prefix="", household_id=household_id)
    hids, context, plans, to_insert = _check(session, actor, [item])
    plan = plans[0]
    if plan.replay_id is not None:
        stored = read_many(session, [plan.replay_id])[0]
        return ReportPreview.model_construct(
            per_capita_net_income=stored.per_capita_net_income,
            monitoring_line=stored.monitoring_line,
            below_line=stored.below_line,
            income_basis=stored.income_basis,
            stored_report_id=stored.id,
        )
    read = _answers(session, hids, context, plans, to_insert, [PREVIEW_ID], utcnow())[0]
    basis = read.income_basis
    basis.report_ids = [r for r in basis.report_ids if r != PREVIEW_ID]
    return ReportPreview.model_construct(
        per_capita_net_income=read.per_capita_net_income,
        monitoring_line=read.monitoring_line,
        below_line=read.below_line,
        income_basis=basis,
        stored_report_id=None,
    )


def _load_context(session: Session, hids: list[int], items: Sequence[Item]) -> _Context:
    refs = {i.body.client_ref for i in items}
    existing_refs = {
        (hid, ref): (rid, digest)
        for rid, hid, ref, digest in session.execute(
            select(Report.id, Report.household_id, Report.client_ref, Report.body_hash).where(
                Report.household_id.in_(hids), Report.client_ref.in_(refs)
            )
        )
    }
    stored = _stored_reports(session, hids, min(_window_start(i.body.period_end) for i in items))
    superseded = set(corrections(session, hids))
    wanted = {i.body.supersedes for i in items if i.body.supersedes is not None}
    targets: dict[int, tuple[int, date, date]] = {}
    if wanted:
        rows = session.execute(
            select(Report.id, Report.household_id, Report.period_start, Report.period_end).where(
                Report.id.in_(wanted)
            )
        )
        targets = {rid: (hid, start, end) for rid, hid, start, end in rows}
    effective: dict[int, list[tuple[date, date, int | None]]] = defaultdict(list)
    for r in stored:
        if r.id not in superseded:
            effective[r.household_id].append((r.period_start, r.period_end, r.id))
    return _Context(existing_refs, stored, superseded, targets, effective)


def _plan(item: Item, context: _Context, to_insert: list[_Plan], errors: list[AppError]) -> _Plan | None:
    """What to do with one item: replay a stored report, insert a new one, or refuse (errors grow)."""
    body, prefix = item.body, item.prefix
    assert item.household_id is not None
    hid = item.household_id
    digest = body_hash(body)
    plan = _Plan(household_id=hid, body=body, body_hash=digest)
    previous: str | None = None
    if (known := context.existing_refs.get((hid, body.client_ref))) is not None:
        plan.replay_id, previous = known
    elif (in_batch := context.batch_refs.get((hid, body.client_ref))) is not None:
        previous, plan.new_index = in_batch
    if previous is not None:
        if previous == digest:
            return plan
        errors.append(
            Conflict("client_ref was already used for a different report", field=f"{prefix}client_ref")
        )
        return None
    problems: list[AppError] = [
        Invalid(
            "an event must not be after the report's period_end", field=f"{prefix}events[{j}].occurred_on"
        )
        for j, event in enumerate(body.events)
        if event.occurred_on > body.period_end
    ]
    problems += _supersede_problems(body, hid, context, prefix)
    problems += _overlap_problems(body, hid, context, prefix)
    if problems:
        errors.extend(problems)
        return None
    if body.supersedes is not None:
        context.superseded.add(body.supersedes)
        context.effective[hid] = [t for t in context.effective[hid] if t[2] != body.supersedes]
    context.effective[hid].append((body.period_start, body.period_end, None))
    plan.new_index = len(to_insert)
    context.batch_refs[(hid, body.client_ref)] = (digest, plan.new_index)
    to_insert.append(plan)
    return plan


def _supersede_problems(body: ReportCreate, hid: int, context: _Context, prefix: str) -> list[AppError]:
    if body.supersedes is None:
        return []
    target = context.targets.get(body.supersedes)
    field_name = f"{prefix}supersedes"
    if target is None or target[0] != hid:
        return [Invalid("supersedes must name a report of the same household", field=field_name)]
    if not _overlaps(target[1], target[2], body.period_start, body.period_end):
        return [Invalid("a correction must cover the period of the report it supersedes", field=field_name)]
    if body.supersedes in context.superseded:
        return [Conflict("that report was already superseded", field=field_name)]
    return []


def _overlap_problems(body: ReportCreate, hid: int, context: _Context, prefix: str) -> list[AppError]:
    clashes = [
        rid
        for start, end, rid in context.effective[hid]
        if (rid is None or rid != body.supersedes)
        and _overlaps(start, end, body.period_start, body.period_end)
    ]
    if not clashes:
        return []
    what = f"report {clashes[0]}" if clashes[0] is not None else "another report in this batch"
    return [
        Conflict(f"the period overlaps {what}; to correct it, send supersedes", field=f"{prefix}period_start")
    ]


def _answers(
    session: Session,
    hids: list[int],
    context: _Context,
    plans: list[_Plan],
    to_insert: list[_Plan],
    ids: list[int],
    now: datetime,
) -> list[ReportRead]:
    """Every item's report as stored, in the items' order, with income from the records now current."""
    replays = {r.id: r for r in read_many(session, [p.replay_id for p in plans if p.replay_id is not None])}
    for plan, rid in zip(to_insert, ids, strict=True):
        got = plan.body.income
        net = net_income(
            got.wages,
            got.business,
            got.property,
            got.transfer,
            got.production_cost,
            plan.body.insurance_payout,
        )
        context.stored.append(
            _Stored(rid, plan.household_id, plan.body.period_start, plan.body.period_end, net)
        )
    incomes = _effective_incomes(context.stored, context.superseded)
    members = _memberships(session, hids)
    _, policy = policy_service.current_data(session)
    reads = []
    for plan in plans:
        if plan.replay_id is not None:
            reads.append(replays[plan.replay_id])
        else:
            rid = ids[plan.new_index or 0]
            reads.append(
                _read_new(rid, plan, now, incomes[plan.household_id], members[plan.household_id], policy)
            )
    return reads


def _effective_incomes(stored: list[_Stored], superseded: set[int]) -> dict[int, list[PeriodIncome]]:
    incomes: dict[int, list[PeriodIncome]] = defaultdict(list)
    for s in stored:
        if s.id not in superseded:
            incomes[s.household_id].append(PeriodIncome(s.id, s.period_start, s.period_end, s.net))
    return incomes


def _memberships(session: Session, hids: Sequence[int]) -> dict[int, list[Membership]]:
    members: dict[int, list[Membership]] = defaultdict(list)
    for hid, joined, left in session.execute(
        select(Member.household_id, Member.joined_on, Member.left_on).where(Member.household_id.in_(hids))
    ):
        members[hid].append(Membership(joined, left))
    return members


def _read_new(
    rid: int,
    plan: _Plan,
    now: datetime,
    incomes: list[PeriodIncome],
    members: list[Membership],
    policy: PolicyData,
) -> ReportRead:
    """The answer for a report just stored, built from what was sent (no second read of the same rows)."""
    body = plan.body
    values = {
        "id": rid,
        "household_id": plan.household_id,
        "client_ref": body.client_ref,
        "period_start": body.period_start,
        "period_end": body.period_end,
        **{f: getattr(body.income, f) for f in INCOME_FIELDS},
        "insurance_payout": body.insurance_payout,
        "spending_medical": body.spending.medical,
        "spending_education": body.spending.education,
        "housing_grade": body.housing_grade,
        "drinking_water_safe": body.drinking_water_safe,
        "food_secure": body.food_secure,
        "clothing_secure": body.clothing_secure,
        "supersedes_id": body.supersedes,
        "created_at": now,
    }
    events = [
        EventOut.model_construct(
            kind=e.kind, disaster_type=e.disaster_type, occurred_on=e.occurred_on, loss=e.loss
        )
        for e in body.events
    ]
    return _read(SimpleNamespace(**values), events, incomes, members, None, policy)


def corrections(session: Session, household_ids: Sequence[int]) -> dict[int, int]:
    """Superseded report id → the id of the report that corrects it, for these households."""
    rows = session.execute(
        select(Report.supersedes_id, Report.id).where(
            Report.household_id.in_(household_ids), Report.supersedes_id.is_not(None)
        )
    )
    return {old: new for old, new in rows if old is not None}


def _window_start(period_end: date) -> date:
    return income_window(period_end)[0]


def _stored_reports(session: Session, hids: list[int], since: date) -> list[_Stored]:
    rows = session.execute(
        select(
            Report.id,
            Report.household_id,
            Report.period_start,
            Report.period_end,
            *(getattr(Report, f) for f in NET_FIELDS),
        ).where(Report.household_id.in_(hids), Report.period_end >= since)
    )
    return [_Stored(r[0], r[1], r[2], r[3], net_income(*r[4:10])) for r in rows]


def _insert(
    session: Session, settings: Settings, actor: Actor, plans: list[_Plan], now: datetime
) -> list[int]:
    if not plans:
        return []
    rows = []
    for p in plans:
        b = p.body
        rows.append(
            {
                "household_id": p.household_id,
                "client_ref": b.client_ref,
                "body_hash": p.body_hash,
                "period_start": b.period_start,
                "period_end": b.period_end,
                **{f: getattr(b.income, f) for f in INCOME_FIELDS},
                "insurance_payout": b.insurance_payout,
                "spending_medical": b.spending.medical,
                "spending_education": b.spending.education,
                "housing_grade": b.housing_grade,
                "drinking_water_safe": b.drinking_water_safe,
                "food_secure": b.food_secure,
                "clothing_secure": b.clothing_secure,
                "supersedes_id": b.supersedes,
                "created_by_id": actor.user_id,
                "created_at": now,
                "updated_at": now,
            }
        )
    # A plain executemany (pipelined by psycopg; measured faster on PostgreSQL than one multi-row
    # INSERT ... RETURNING), then the ids by natural key.
    bulk.insert_rows(session, REPORT_TABLE, rows)
    keys = {(p.household_id, p.body.client_ref) for p in plans}
    found = session.execute(
        select(Report.household_id, Report.client_ref, Report.id).where(
            Report.household_id.in_({k[0] for k in keys}), Report.client_ref.in_({k[1] for k in keys})
        )
    )
    id_of = {(hid, ref): rid for hid, ref, rid in found}
    ids = [id_of[(p.household_id, p.body.client_ref)] for p in plans]
    events = [
        {
            "report_id": rid,
            "kind": e.kind,
            "disaster_type": e.disaster_type,
            "occurred_on": e.occurred_on,
            "loss": e.loss,
        }
        for rid, p in zip(ids, plans, strict=True)
        for e in p.body.events
    ]
    if events:
        bulk.insert_rows(session, EVENT_TABLE, events)
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "report.create",
                "report",
                rid,
                p.household_id,
                {
                    "client_ref": p.body.client_ref,
                    "period_start": p.body.period_start,
                    "period_end": p.body.period_end,
                    "supersedes": p.body.supersedes,
                    **{f: getattr(p.body.income, f) for f in INCOME_FIELDS},
                },
            )
            for rid, p in zip(ids, plans, strict=True)
        ],
    )
    return ids


def read_many(session: Session, report_ids: Sequence[int]) -> list[ReportRead]:
    """Reports as clients see them, with per-capita net income computed from the current records."""
    if not report_ids:
        return []
    wanted = set(report_ids)
    reports = {r.id: r for r in session.execute(select(Report.__table__).where(Report.id.in_(wanted)))}
    events: dict[int, list[EventOut]] = defaultdict(list)
    for e in session.execute(
        select(ReportEvent.__table__).where(ReportEvent.report_id.in_(wanted)).order_by(ReportEvent.id)
    ):
        events[e.report_id].append(
            EventOut.model_construct(
                kind=e.kind, disaster_type=e.disaster_type, occurred_on=e.occurred_on, loss=e.loss
            )
        )
    earliest = min(_window_start(r.period_end) for r in reports.values())
    hids = sorted({r.household_id for r in reports.values()})
    stored = _stored_reports(session, hids, earliest)
    superseded_by = corrections(session, hids)
    incomes = _effective_incomes(stored, set(superseded_by))
    members = _memberships(session, hids)
    _, policy = policy_service.current_data(session)
    reads = []
    for rid in report_ids:
        row = reports[rid]
        hid = row.household_id
        reads.append(_read(row, events[rid], incomes[hid], members[hid], superseded_by.get(rid), policy))
    return reads


def _read(
    row: Any,
    events: list[EventOut],
    incomes: list[PeriodIncome],
    members: list[Membership],
    superseded_by: int | None,
    policy: PolicyData,
) -> ReportRead:
    """Build the response from a report table row; the values come from the database, so no re-validation.
    The line is the policy's for the year of period_end, as the rules compare it."""
    net = net_income(*(getattr(row, f) for f in NET_FIELDS))
    result = per_capita(PeriodIncome(row.id, row.period_start, row.period_end, net), incomes, members)
    line = policy.line_for(row.period_end.year)
    figure = result.per_capita_net_income
    return ReportRead.model_construct(
        id=row.id,
        household_id=row.household_id,
        client_ref=row.client_ref,
        period_start=row.period_start,
        period_end=row.period_end,
        income=IncomeOut.model_construct(**{f: getattr(row, f) for f in INCOME_FIELDS}),
        insurance_payout=row.insurance_payout,
        spending=SpendingOut.model_construct(medical=row.spending_medical, education=row.spending_education),
        housing_grade=row.housing_grade,
        drinking_water_safe=row.drinking_water_safe,
        food_secure=row.food_secure,
        clothing_secure=row.clothing_secure,
        events=events,
        supersedes=row.supersedes_id,
        superseded_by=superseded_by,
        created_at=row.created_at,
        per_capita_net_income=result.per_capita_net_income,
        income_basis=IncomeBasis.model_construct(
            window_start=result.window_start,
            window_end=result.window_end,
            report_ids=result.report_ids,
            covered_days=result.covered_days,
            net_income=result.net_income,
            household_size=result.household_size,
            estimated=result.estimated,
        ),
        monitoring_line=line,
        below_line=None if figure is None else figure < line,
    )


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
