"""Signals open cases: one open case per household, no pile-up, nothing dropped.

A signal for a household with an open case attaches to it (with its reasons, raising the level); for a
monitored household it is recorded on the monitoring record, not a new case; after a rejection, new
signals are suppressed for the policy's number of days unless the level rises or a new reason appears.
Every signal is kept (case_signal) with what became of it.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from app import bulk
from app.config import Settings
from app.db import Sessions, transaction
from app.models import Base, Case, Household, RiskResult, RiskRun, Signal
from app.models.base import utcnow
from app.models.enums import MonitoringStatus
from app.schemas.policy import PolicyData
from app.services.cases import escalation, procedure
from app.services.platform import access, audit
from app.services.platform.access import Actor

LEVEL_RANK = {None: 0, "medium": 1, "high": 2}
BATCH = 2000
# what a run's signals add to: the weekly list and the desks read them next
SIGNAL_TABLE, EVENT_TABLE = Base.metadata.tables["case_signal"], Base.metadata.tables["case_event"]
CASE_TABLE = Base.metadata.tables["case_file"]
WRITTEN_BY_SIGNALS = ("case_signal", "case_file", "case_event", "notification", "outbox_message")


@dataclass
class SignalIn:
    household_id: int | None
    source: str
    level: str | None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    origin: str = ""
    opens_case: bool = True  # False: below a department's threshold, kept on the household's record
    department: str | None = None
    amount: Decimal | None = None


def receive(
    session: Session, settings: Settings, policy: PolicyData, actor: Actor, signals: Sequence[SignalIn]
) -> list[Signal]:
    """Record the signals and open or attach cases, in the caller's transaction; the signals as stored."""
    rows = _receive(session, settings, policy, actor, signals)
    if not rows:  # (an empty list would be one INSERT of no values)
        return []
    return list(session.scalars(insert(Signal).returning(Signal, sort_by_parameter_order=True), rows))


@dataclass(eq=False)
class _CaseRow:
    """A case as a batch of signals sees it: an open one read, or one this batch opens (id 0 until
    inserted). Reasons and level change as signals attach."""

    id: int
    household_id: int
    village_code: str
    township_code: str
    step: str
    level: str | None
    reasons: list[dict[str, Any]]
    status: str = "open"
    changed: bool = False


@dataclass
class _Opening:
    household_id: int
    village_code: str
    prior_status: MonitoringStatus
    signal: SignalIn
    kind: str = "identification"


def _receive(
    session: Session, settings: Settings, policy: PolicyData, actor: Actor, signals: Sequence[SignalIn]
) -> list[dict[str, Any]]:
    """Open or attach cases and return the signals' rows, with their outcomes, to be stored. The
    outcomes are decided here, then written set-wise (a run's thousands of flags: one INSERT of the new
    cases, one UPDATE of their households, one of the cases whose reasons grew, one of each kind of row)."""
    session.flush()  # the caller's pending changes first: what follows reads and writes past the ORM
    ids = sorted({s.household_id for s in signals if s.household_id is not None})
    # rows locked in id order: concurrent batches for the same households wait rather than duplicate
    households = {
        hid: (village, status)
        for hid, village, status in session.execute(
            select(Household.id, Household.village_code, Household.monitoring_status)
            .where(Household.id.in_(bulk.listed("ids", ids)))
            .order_by(Household.id)
            .with_for_update()
        ).tuples()
    }
    open_cases = _open_cases(session, ids)
    rejected = _last_rejections(session, ids)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    openings: list[_Opening] = []
    new_cases: list[_CaseRow] = []
    attached: list[tuple[_CaseRow, dict[str, Any]]] = []
    for signal in signals:
        found = households.get(signal.household_id) if signal.household_id is not None else None
        row = _signal_row(signal, signal.household_id if found else None, actor, now)
        rows.append(row)
        if signal.household_id is None or found is None:
            continue
        hid, (village, status) = signal.household_id, found
        if not signal.opens_case:  # below a threshold, a roster: on the record, joining no case
            row["outcome"] = "recorded"
        elif status == MonitoringStatus.monitored:
            row["outcome"] = "monitored"
        elif (case := open_cases.get(hid)) is not None:
            row["outcome"], row["case"] = "attached", case
            attached.append((case, _attach(case, signal, actor, now)))
        elif _suppressed(rejected.get(hid), signal, policy, now):
            row["outcome"] = "suppressed"
        else:
            openings.append(_Opening(hid, village, status, signal))
            case = open_cases[hid] = _case_row(openings[-1])
            new_cases.append(case)
            row["outcome"], row["case"] = "opened", case
    grown = [c for c in open_cases.values() if c.changed and c.id]  # (new cases have no id yet)
    _insert_cases(session, actor, policy, now, openings, new_cases)
    _save_grown(session, grown)
    for row in rows:
        case = row.pop("case", None)
        row["case_id"] = case.id if case is not None else None
    # the timeline: a case's "opened" row comes before any signal attached to it
    bulk.insert_rows(session, EVENT_TABLE, [{**event, "case_id": case.id} for case, event in attached])
    changes = [
        audit.Change(
            "case.open",
            "case",
            case.id,
            case.household_id,
            {"source": o.signal.source, "level": o.signal.level, "origin": o.signal.origin},
        )
        for case, o in zip(new_cases, openings, strict=True)
    ]
    if changes:
        audit.record(session, settings, actor, changes)
    return rows


def _open_cases(session: Session, ids: list[int]) -> dict[int, _CaseRow]:
    found = session.execute(
        select(
            Case.id,
            Case.household_id,
            Case.village_code,
            Case.township_code,
            Case.step,
            Case.level,
            Case.reasons,
        ).where(Case.household_id.in_(bulk.listed("ids", ids)), Case.status == "open")
    ).tuples()
    return {
        household_id: _CaseRow(case_id, household_id, village, township, step, level, list(reasons))
        for case_id, household_id, village, township, step, level, reasons in found
    }


def _case_row(opening: _Opening) -> _CaseRow:
    """The case an opening will insert (its id comes with the INSERT)."""
    signal = opening.signal
    village = opening.village_code
    return _CaseRow(
        0,
        opening.household_id,
        village,
        village[:9] + "000",
        procedure.FIRST_STEP.value,
        signal.level,
        list(signal.reasons),
    )


def _insert_cases(
    session: Session,
    actor: Actor,
    policy: PolicyData,
    now: datetime,
    openings: Sequence[_Opening],
    cases: Sequence[_CaseRow],
) -> list[_CaseRow]:
    """The new cases in one INSERT (ids back in order), their households put under verification in
    one UPDATE (an identification), their "opened" rows on the timeline, and their owners told."""
    if not openings:
        return []
    first_window = procedure.window_days(procedure.FIRST_STEP, policy.case_deadlines) or 0
    values = [
        {
            "household_id": case.household_id,
            "village_code": case.village_code,
            "township_code": case.township_code,
            "source": o.signal.source,
            "kind": o.kind,
            "status": "open",
            "step": case.step,
            "level": case.level,
            "reasons": case.reasons,
            "opened_at": now,
            "step_started_at": now,
            "due_at": now + timedelta(days=first_window),
            "decision_due_at": now + timedelta(days=policy.case_deadlines.total),
            "prior_status": o.prior_status.value if o.kind == "identification" else None,
            "version": 1,
        }
        for o, case in zip(openings, cases, strict=True)
    ]
    new_ids = bulk.insert_returning_ids(session, CASE_TABLE, values)
    for case, case_id in zip(cases, new_ids, strict=True):
        case.id = case_id
    identified = [o.household_id for o in openings if o.kind == "identification"]
    if identified:
        session.execute(
            update(Household)
            .where(Household.id.in_(bulk.listed("ids", identified)))
            .values(monitoring_status=MonitoringStatus.under_verification, version=Household.version + 1)
            .execution_options(synchronize_session="fetch")
        )
    bulk.insert_rows(
        session,
        EVENT_TABLE,
        [
            {
                "case_id": case.id,
                "at": now,
                "actor": actor.username,
                "action": "opened",
                "step": case.step,
                "data": {
                    "kind": o.kind,
                    "source": o.signal.source,
                    "level": o.signal.level,
                    "origin": o.signal.origin,
                },
            }
            for o, case in zip(openings, cases, strict=True)
        ],
    )
    escalation.notify_owners_of(session, cases, "new_work", by=actor)
    return list(cases)


def _save_grown(session: Session, cases: Sequence[_CaseRow]) -> None:
    """Open cases whose reasons or level a signal raised, in one UPDATE (the household rows are locked,
    so no one else changes these cases meanwhile); a copy the session holds is read again when used."""
    if not cases:
        return
    session.execute(
        update(CASE_TABLE)
        .where(CASE_TABLE.c.id == bindparam("case_id"))
        .values(
            reasons=bindparam("new_reasons"), level=bindparam("new_level"), version=CASE_TABLE.c.version + 1
        ),
        [{"case_id": c.id, "new_reasons": c.reasons, "new_level": c.level} for c in cases],
    )
    grown = {c.id for c in cases}
    for held in list(session.identity_map.values()):
        if isinstance(held, Case) and held.id in grown:
            session.expire(held)


def _signal_row(signal: SignalIn, household_id: int | None, actor: Actor, now: datetime) -> dict[str, Any]:
    return {
        "household_id": household_id,
        "source": signal.source,
        "level": signal.level,
        "reasons": signal.reasons,
        "received_at": now,
        "origin": signal.origin,
        "outcome": "unmatched",
        "sent_by": actor.username,
        "department": signal.department,
        "amount": signal.amount,
    }


def open_case(
    session: Session,
    household: Household,
    signal: SignalIn,
    policy: PolicyData,
    actor: Actor,
    now: datetime,
    kind: str = "identification",
) -> Case:
    """A new case at the first step, on the timeline, its owners told. An identification puts the
    household under verification; an elimination leaves it monitored until the decision."""
    opening = _Opening(household.id, household.village_code, household.monitoring_status, signal, kind)
    [case] = _insert_cases(session, actor, policy, now, [opening], [_case_row(opening)])
    found = session.get(Case, case.id)
    assert found is not None
    return found


def _attach(case: _CaseRow, signal: SignalIn, actor: Actor, now: datetime) -> dict[str, Any]:
    """The signal joins the open case (new reasons added, a higher level raised); returns its timeline
    row (without the case's id, which a case this batch opens gets when it is inserted)."""
    known = {_key(r) for r in case.reasons}
    new = [r for r in signal.reasons if _key(r) not in known]
    if new:
        case.reasons, case.changed = [*case.reasons, *new], True
    if LEVEL_RANK.get(signal.level, 0) > LEVEL_RANK.get(case.level, 0):
        case.level, case.changed = signal.level, True
    return {
        "at": now,
        "actor": actor.username,
        "action": "signal",
        "step": case.step,
        "data": {
            "source": signal.source,
            "level": signal.level,
            "origin": signal.origin,
            "new_reasons": [r.get("code") for r in new],
        },
    }


def _last_rejections(session: Session, ids: list[int]) -> dict[int, Case]:
    latest = (
        select(Case.household_id, func.max(Case.id).label("id"))
        .where(Case.household_id.in_(bulk.listed("ids", ids)), Case.outcome == "rejected")
        .group_by(Case.household_id)
        .subquery()
    )
    return {c.household_id: c for c in session.scalars(select(Case).join(latest, Case.id == latest.c.id))}


def _suppressed(rejected: Case | None, signal: SignalIn, policy: PolicyData, now: datetime) -> bool:
    """Within the policy's days after a rejection, only a higher level or a new reason reopens. A
    household's own application is always verified."""
    if rejected is None or rejected.closed_at is None or signal.source == "self_application":
        return False
    if now - rejected.closed_at > timedelta(days=policy.case_suppression_days):
        return False
    if LEVEL_RANK.get(signal.level, 0) > LEVEL_RANK.get(rejected.level, 0):
        return False
    known = {_key(r) for r in rejected.reasons}
    return all(_key(r) in known for r in signal.reasons)


def _key(reason: dict[str, Any]) -> tuple[Any, Any]:
    """A rule's reason is the same reason whatever its current value, and a department's signal type is
    the same from the same department whatever its date and amount (next month's 医保 row is not news);
    a cadre's report is new when it says something new."""
    code = str(reason.get("code", ""))
    if code.startswith("department_"):
        return code, reason.get("department")
    return code, reason.get("text") if code == "cadre_report" else None


def open_for_run(sessions: Sessions, settings: Settings, run_id: int) -> dict[str, int]:
    """After a run completes: its flags become signals, a transaction per batch (a failure loses at most
    one batch, whose flags the next run raises again)."""
    from app.models import PolicyVersion

    with transaction(sessions) as session:
        run = session.get(RiskRun, run_id)
        version = session.get(PolicyVersion, run.policy_version) if run else None
        if run is None or version is None or run.status != "completed":
            return {}
        policy = PolicyData.model_validate(version.data)
        levels = ["high", "medium"] if policy.open_cases_for_medium else ["high"]
        flagged = session.execute(
            select(RiskResult.household_id, RiskResult.level, RiskResult.reasons)
            .where(RiskResult.run_id == run.id, RiskResult.level.in_(levels))
            .order_by(RiskResult.household_id)
        ).all()
    counts: dict[str, int] = {}
    actor = Actor.system("risk_scorer")
    for start in range(0, len(flagged), BATCH):
        signals = [
            SignalIn(hid, "risk_scorer", level, list(reasons), f"risk_run:{run_id}")
            for hid, level, reasons in flagged[start : start + BATCH]
        ]
        with transaction(sessions) as session:
            rows = _receive(session, settings, policy, actor, signals)
            bulk.insert_rows(session, SIGNAL_TABLE, rows)
        for row in rows:
            counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    if flagged:
        with transaction(sessions) as session:
            bulk.refresh_statistics(session, WRITTEN_BY_SIGNALS)
    return counts


def report_by_cadre(
    session: Session,
    settings: Settings,
    actor: Actor,
    household_id: int,
    level: str,
    description: str,
    risk_type: str | None = None,
) -> Signal:
    """基层干部排查: the cadre's own village only; opens or attaches like any other signal."""
    from app.services.platform import policy as policy_service
    from app.services.registry import households

    household = households.load(session, actor, household_id, members=False)
    access.require_household_writer(actor, household)
    _, policy = policy_service.current_data(session)
    reason = {"code": "cadre_report", "text": f"基层干部排查：{description}"}
    if risk_type is not None:
        reason["risk_type"] = risk_type
    [row] = receive(
        session,
        settings,
        policy,
        actor,
        [SignalIn(household.id, "cadre_report", level, [reason], actor.username)],
    )
    return row
