"""Verifier decisions as labelled examples (app/models/labels.py): recorded when a case is decided, read
back by training as arrays.

"As of the signal" is the moment the case opened, when its first signal came (the scorer's flag, a
cadre's report, a department's row, an application). The label answers the question the district asked
then, so the example keeps what was on record then: reports whose period had ended by that day *and* had
been filed by that moment — the report a verifier files at the visit, or a correction, is the evidence
the decision rests on, never a feature that predicts it — and the scorer's opinion in the run in force
then (for a case the scorer opened, the run that flagged it). A case returned to the village and decided
later keeps the moment it opened; a household refused and flagged again gets a new case, and so a new
example with its own moment: each decision is a label about the household as it stood at its signal.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from app.clock import local_date
from app.config import Settings
from app.models import Case, LabelledExample, PolicyVersion, Report, RiskResult, RiskRun, Signal
from app.risk import features as ft
from app.risk import panel as pn
from app.risk import panel_read
from app.schemas.policy import PolicyData
from app.services.platform import audit
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor

LABELS = frozenset({"confirmed", "rejected"})
FLAG_LEVELS = ("high", "medium")
MODEL_WARNING = "model_warning"  # the reason the scorer adds for the champion's own flag
RULES_CHAMPION = "rules"
RUN_ORIGIN = "risk_run:"


def record(session: Session, case: Case) -> LabelledExample | None:
    """The example of an identification case just decided confirmed or rejected, in the caller's
    transaction (one per case: recording again rewrites it). None for anything else: a withdrawal is
    no decision, and an elimination's outcome says whether the risk is gone, not whether it was there."""
    if case.kind != "identification" or case.status != "closed" or case.outcome not in LABELS:
        return None
    assert case.closed_at is not None
    signal_on = local_date(case.opened_at)
    run = _run_at_signal(session, case)
    result = session.get(RiskResult, (run.id, case.household_id)) if run is not None else None
    version, policy = _policy_at(session, case.opened_at)
    values, exact = features_at(session, policy, case.household_id, case.opened_at, signal_on)
    example = session.scalars(
        select(LabelledExample).where(LabelledExample.case_id == case.id)
    ).first() or LabelledExample(case_id=case.id)
    example.household_id = case.household_id
    example.township_code = case.township_code
    example.case_source = case.source
    example.signal_at, example.signal_on = case.opened_at, signal_on
    example.outcome = case.outcome
    example.decided_at, example.decided_on = case.closed_at, local_date(case.closed_at)
    example.decided_step = case.step
    example.run_id = run.id if run is not None else None
    example.level = result.level if result is not None else None
    example.rules_level = _rules_level(result)
    example.score = result.score if result is not None else None
    example.model_level = _model_level(session, run, result)
    example.model_version = run.model_version if run is not None else None
    example.champion = run.champion if run is not None else None
    example.policy_version = version
    example.features = values
    example.features_exact = exact
    session.add(example)
    session.flush()
    return example


def backfill(session: Session, settings: Settings, actor: Actor) -> int:
    """Record the examples of decided cases that have none (decided before examples were kept), in the
    caller's transaction; safe to repeat. Returns how many were added."""
    missing = session.scalars(
        select(Case)
        .where(
            Case.kind == "identification",
            Case.status == "closed",
            Case.outcome.in_(LABELS),
            ~exists().where(LabelledExample.case_id == Case.id),
        )
        .order_by(Case.id)
    ).all()
    for case in missing:
        record(session, case)
    if missing:
        change = audit.Change("labels.backfill", "labelled_example", None, None, {"cases": len(missing)})
        audit.record(session, settings, actor, [change])
    return len(missing)


def features_at(
    session: Session, policy: PolicyData, household_id: int, moment: datetime, day: date
) -> tuple[dict[str, float | None], bool]:
    """The model's features of the household as on record at `moment`, known on `day` (its local
    date), by name; and whether they are exact (False: a report on record then was corrected since, and
    the superseded report cannot be read back)."""
    panel = panel_read.load(session, as_of=day, id_range=(household_id, household_id), facts_known_at=moment)
    late = set(
        session.scalars(
            select(Report.id).where(Report.household_id == household_id, Report.created_at > moment)
        )
    )
    if late:
        panel = _without_reports(panel, np.isin(panel.reports["id"], list(late)))
    rows = ft.latest_rows(panel)
    if not len(rows):  # the household is gone from the register: nothing to describe
        return dict.fromkeys(ft.MODEL_FEATURE_NAMES), True
    columns = ft.model_columns(panel, policy, rows, np.full(len(rows), day.toordinal()))
    values = {
        name: (float(columns[name][0]) if np.isfinite(columns[name][0]) else None)
        for name in ft.MODEL_FEATURE_NAMES
    }
    return values, not _corrected_since(session, household_id, moment, day)


def _without_reports(panel: pn.Panel, drop: pn.BoolArray) -> pn.Panel:
    """The panel without the reports marked in `drop` (and their events); members unchanged."""
    keep = ~drop
    position = np.cumsum(keep) - 1  # each kept report's new row
    events = keep[panel.events["row"]]
    return pn.Panel(
        household_ids=panel.household_ids,
        township=panel.township,
        townships=panel.townships,
        lifted=panel.lifted,
        reports={name: values[keep] for name, values in panel.reports.items()},
        events={name: values[events] for name, values in panel.events.items()}
        | {"row": position[panel.events["row"][events]].astype(np.int64)},
        members=panel.members,
    )


def _corrected_since(session: Session, household_id: int, moment: datetime, day: date) -> bool:
    """Whether a correction filed after `moment` superseded a report that was on record then (and had
    ended by `day`)."""
    original = aliased(Report)
    found = session.scalar(
        select(Report.id)
        .join(original, Report.supersedes_id == original.id)
        .where(
            Report.household_id == household_id,
            Report.created_at > moment,
            original.created_at <= moment,
            original.period_end <= day,
        )
        .limit(1)
    )
    return found is not None


def _run_at_signal(session: Session, case: Case) -> RiskRun | None:
    """The run whose flag opened the case, or else the latest run completed when it opened."""
    origin = session.scalars(
        select(Signal.origin)
        .where(Signal.case_id == case.id, Signal.outcome == "opened")
        .order_by(Signal.id)
        .limit(1)
    ).first()
    if origin is not None and origin.startswith(RUN_ORIGIN) and origin[len(RUN_ORIGIN) :].isdigit():
        run = session.get(RiskRun, int(origin[len(RUN_ORIGIN) :]))
        if run is not None:
            return run
    return session.scalars(
        select(RiskRun)
        .where(RiskRun.status == "completed", RiskRun.finished_at <= case.opened_at)
        .order_by(RiskRun.id.desc())
        .limit(1)
    ).first()


def _rules_level(result: RiskResult | None) -> str | None:
    """The level of the rules' own reasons (the model's warning set aside)."""
    levels = {
        r.get("level")
        for r in (result.reasons if result is not None else [])
        if r.get("code") != MODEL_WARNING
    }
    return next((level for level in FLAG_LEVELS if level in levels), None)


def _model_level(session: Session, run: RiskRun | None, result: RiskResult | None) -> str | None:
    """The champion's own flag: its probability against the cut-offs of the policy the run applied (a
    rules champion only ranks: the rules flag)."""
    if run is None or result is None or result.score is None or run.champion in (None, RULES_CHAMPION):
        return None
    version = session.get(PolicyVersion, run.policy_version)
    if version is None:
        return None
    policy = PolicyData.model_validate(version.data)
    if result.score >= float(policy.high_probability):
        return "high"
    return "medium" if result.score >= float(policy.medium_probability) else None


def _policy_at(session: Session, moment: datetime) -> tuple[int, PolicyData]:
    """The policy version in force at `moment` (the current one if none was yet)."""
    version = session.scalars(
        select(PolicyVersion)
        .where(PolicyVersion.created_at <= moment)
        .order_by(PolicyVersion.version.desc())
        .limit(1)
    ).first()
    if version is None:
        return policy_service.current_data(session)
    return version.version, PolicyData.model_validate(version.data)


# ---- for training ----------------------------------------------------------------------------------


@dataclass
class Examples:
    X: pn.FloatArray  # examples × ft.MODEL_FEATURE_NAMES, NaN where unknown
    y: pn.BoolArray  # the verifiers confirmed
    day: pn.IntArray  # the signal's day (date ordinal): the day the features are known on
    decided_day: pn.IntArray  # the decision's day (date ordinal): the day the label is known on
    township: pn.IntArray  # index into townships (-1: a township not in the list asked for)
    townships: list[str]
    exact: pn.BoolArray  # see LabelledExample.features_exact
    rules_level: list[str | None]  # the rules' own level at the signal: high | medium | None
    household_ids: pn.IntArray
    case_ids: pn.IntArray


def load_examples(
    session: Session, *, townships: Sequence[str] | None = None, decided_by: date | None = None
) -> Examples:
    """Every labelled example (decided on or before `decided_by`, if given), oldest signal first, as
    arrays. `townships`: the list to index townships into (a training panel's `townships`); by default
    the examples' own townships, sorted."""
    stmt = select(
        LabelledExample.features,
        LabelledExample.outcome,
        LabelledExample.signal_on,
        LabelledExample.decided_on,
        LabelledExample.township_code,
        LabelledExample.features_exact,
        LabelledExample.rules_level,
        LabelledExample.household_id,
        LabelledExample.case_id,
    ).order_by(LabelledExample.signal_on, LabelledExample.id)
    if decided_by is not None:
        stmt = stmt.where(LabelledExample.decided_on <= decided_by)
    rows = session.execute(stmt).all()
    codes = list(townships) if townships is not None else sorted({r.township_code for r in rows})
    index = {code: i for i, code in enumerate(codes)}
    X = np.array(
        [[_number(r.features.get(name)) for name in ft.MODEL_FEATURE_NAMES] for r in rows], dtype=np.float64
    ).reshape(len(rows), len(ft.MODEL_FEATURE_NAMES))
    return Examples(
        X=X,
        y=np.array([r.outcome == "confirmed" for r in rows], dtype=bool),
        day=np.array([r.signal_on.toordinal() for r in rows], dtype=np.int64),
        decided_day=np.array([r.decided_on.toordinal() for r in rows], dtype=np.int64),
        township=np.array([index.get(r.township_code, -1) for r in rows], dtype=np.int64),
        townships=codes,
        exact=np.array([r.features_exact for r in rows], dtype=bool),
        rules_level=[r.rules_level for r in rows],
        household_ids=np.array([r.household_id for r in rows], dtype=np.int64),
        case_ids=np.array([r.case_id for r in rows], dtype=np.int64),
    )


def _number(value: float | None) -> float:
    return np.nan if value is None else float(value)
