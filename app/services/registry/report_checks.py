"""Checking submitted reports before anything is stored (report_submission.py stores them).

Each item names one household, by id or number, visible to and writable by the actor. A client_ref
already used for the same content replays the stored report (idempotency: the content's identity is
body_hash); used for different content, it is refused. Otherwise the item is a new report: its events
fall within its period, its period overlaps no effective report of the household (stored or in the same
batch), and a correction (supersedes) names a report of the same household, covers its period and was
not superseded already. Every item is checked, so that one refusal names every problem.
"""

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app import bulk
from app.errors import AppError, Conflict, Forbidden, Invalid, NotFound, combine
from app.models import Household, Report
from app.schemas.reports import ReportCreate
from app.services.platform import access
from app.services.platform.access import Actor
from app.services.registry import report_views
from app.services.registry.report_views import StoredNet

# A batch item's body is hashed as the report alone, without the household it names: the same JSON as
# `model_dump_json(exclude={"household_id", "household_no"})`, a quarter faster (no exclusion to apply).
_AS_SENT = TypeAdapter(ReportCreate)


@dataclass
class Item:
    """One report to store, with where its errors are reported."""

    body: ReportCreate
    prefix: str
    household_id: int | None = None
    household_no: str | None = None
    resolved: bool = False


@dataclass
class Plan:
    """What the batch will do per item: reuse a stored report (replay) or insert a new one."""

    household_id: int
    body: ReportCreate
    body_hash: str
    replay_id: int | None = None
    new_index: int | None = None
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Context:
    """What the stored data says about the households a batch touches."""

    existing_refs: dict[tuple[int, str], tuple[int, str]]  # (household, client_ref) -> (report id, hash)
    stored: list[StoredNet]  # reports recent enough to matter for overlaps and income windows
    superseded: set[int]
    targets: dict[int, tuple[int, date, date]]  # superseded-to-be report -> (household, start, end)
    effective: dict[int, list[tuple[date, date, int | None]]]  # household -> periods (None: in this batch)
    batch_refs: dict[tuple[int, str], tuple[str, int]] = field(default_factory=dict)


def body_hash(body: ReportCreate) -> str:
    """Identity of a report's content: amounts are normalised, so 100 and "100.00" are the same.

    pydantic writes fields in schema order, so the JSON is canonical for a given schema version.
    """
    return hashlib.sha256(_AS_SENT.dump_json(body)).hexdigest()


def _overlaps(a_start: date, a_end: date, b_start: date, b_end: date) -> bool:
    return a_start <= b_end and b_start <= a_end


def _resolve_households(
    session: Session, actor: Actor, items: Sequence[Item]
) -> tuple[list[int], list[AppError]]:
    """The ids of the households the items name, visible to and writable by the actor, locked until
    commit."""
    ids = {i.household_id for i in items if i.household_id is not None}
    nos = {i.household_no for i in items if i.household_no is not None}
    stmt = (
        access.visible_households(select(Household.id, Household.household_no, Household.village_code), actor)
        .where(or_(Household.id.in_(bulk.listed("ids", sorted(ids))), Household.household_no.in_(nos)))
        .order_by(Household.id)
        .with_for_update(of=Household)
    )
    households = session.execute(stmt).all()
    by_id = {h.id: h for h in households}
    by_no = {h.household_no: h for h in households}
    errors: list[AppError] = []
    resolved: dict[int, None] = {}  # in the order of the items
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
        resolved[found.id] = None
    return list(resolved), errors


def check(
    session: Session, actor: Actor, items: Sequence[Item], invalid: Sequence[AppError] = ()
) -> tuple[list[int], Context, list[Plan], list[Plan]]:
    """Every check a submission makes, storing nothing: the households, the context, every item's plan
    in the items' order, and the plans of the new reports in insertion order.

    `invalid` are errors of items that did not even parse: they are raised with the others."""
    hids, errors = _resolve_households(session, actor, items)
    errors[:0] = invalid
    items = [i for i in items if i.resolved]
    if not items:
        raise combine(errors, f"{len(errors)} report error(s); nothing was stored")
    context = _load_context(session, hids, items)
    plans: list[Plan] = []
    to_insert: list[Plan] = []
    for item in items:
        plan = _plan(item, context, to_insert, errors)
        if plan is not None:
            plans.append(plan)
    if errors:
        raise combine(errors, f"{len(errors)} report error(s); nothing was stored")
    return hids, context, plans, to_insert


def _load_context(session: Session, hids: list[int], items: Sequence[Item]) -> Context:
    refs = {i.body.client_ref for i in items}
    since = min(report_views.window_start(i.body.period_end) for i in items)
    existing_refs, stored, superseded = _households_reports(session, hids, refs, since)
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
    for s in stored:
        if s.id not in superseded:
            effective[s.household_id].append((s.period_start, s.period_end, s.id))
    return Context(existing_refs, stored, superseded, targets, effective)


def _households_reports(
    session: Session, hids: list[int], refs: set[str], since: date
) -> tuple[dict[tuple[int, str], tuple[int, str]], list[StoredNet], set[int]]:
    """The households' reports under these client_refs (id and hash by household and ref), those ending
    on or after `since` (with their net income), and the ids of the reports corrected: one read, where
    three apart cost a round trip and a plan each. In period order, so that a refusal names the same
    stored report whatever plan the database chose."""
    existing_refs: dict[tuple[int, str], tuple[int, str]] = {}
    stored: list[StoredNet] = []
    superseded: set[int] = set()
    for r in session.execute(
        select(
            Report.client_ref,
            Report.body_hash,
            Report.supersedes_id,
            *report_views.STORED_NET_COLUMNS,
        )
        .where(
            Report.household_id.in_(bulk.listed("hids", hids)),
            or_(Report.client_ref.in_(refs), Report.period_end >= since, Report.supersedes_id.is_not(None)),
        )
        .order_by(Report.period_start, Report.id)
    ):
        if r.client_ref in refs:
            existing_refs[(r.household_id, r.client_ref)] = (r.id, r.body_hash)
        if r.period_end >= since:
            stored.append(report_views.stored_net(r))
        if r.supersedes_id is not None:
            superseded.add(r.supersedes_id)
    return existing_refs, stored, superseded


def _plan(item: Item, context: Context, to_insert: list[Plan], errors: list[AppError]) -> Plan | None:
    """What to do with one item: replay a stored report, insert a new one, or refuse (errors grow)."""
    body, prefix = item.body, item.prefix
    assert item.household_id is not None
    hid = item.household_id
    digest = body_hash(body)
    plan = Plan(household_id=hid, body=body, body_hash=digest)
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


def _supersede_problems(body: ReportCreate, hid: int, context: Context, prefix: str) -> list[AppError]:
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


def _overlap_problems(body: ReportCreate, hid: int, context: Context, prefix: str) -> list[AppError]:
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
