"""Score every household: features → rules (→ model, once trained) → results, in one transaction.

All results of a run and its "completed" mark commit together, so a run that is killed leaves nothing
half-written and the previous completed run stays current. One run at a time: a lease in the database.
"""

import logging
import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import QueuePool, select, text, update
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from app import bulk, collector, lifecycle
from app.config import Settings
from app.db import Sessions, transaction
from app.models import Base, Household, RiskRun
from app.models.base import utcnow
from app.risk import drift_store, features, panel_read, rules, training
from app.risk import model as ml
from app.risk import panel as pn
from app.schemas.policy import PolicyData
from app.services.platform import audit, leases
from app.services.platform import policy as policy_service

logger = logging.getLogger(__name__)
LEASE = "risk_scoring"
LEASE_TTL = timedelta(minutes=10)
# Households a chunk: small enough that reading the next ones overlaps scoring this one from the start
# (at 50,000, a district of that size was read whole before any scoring began)
CHUNK = 12_500
READERS = 2
RESULT_TABLE = Base.metadata.tables["risk_result"]
# how a warning names the champion that gave it
WARNING_BY = {
    "model": "预警模型",
    "logistic_regression": "预警模型（逻辑回归）",
    "distance_to_line": "预警（按距监测线远近）",
}
RESULT_COLUMNS = ("run_id", "household_id", "level", "score", "reasons", "reason_codes", "factors")


class AlreadyRunning(Exception):
    """Another process holds the scoring lease."""


class LeaseLost(Exception):
    """The run's lease expired and another run took it: this run must not complete."""


def current_run(session: Session) -> RiskRun | None:
    """The latest completed run: the one whose results are in force."""
    return session.scalars(
        select(RiskRun).where(RiskRun.status == "completed").order_by(RiskRun.id.desc()).limit(1)
    ).first()


def request_run(session: Session, *, as_of: date, requested_by: str) -> RiskRun:
    """Ask the worker for a run (an admin's trigger); an open request is reused, not duplicated."""
    audit.lock_chain(session)  # two admins at once must not both add a request
    pending = session.scalars(select(RiskRun).where(RiskRun.status == "requested").limit(1)).first()
    if pending is not None:
        return pending
    version, _ = policy_service.current_data(session)
    run = RiskRun(
        as_of=as_of, mode="rules", policy_version=version, triggered_by=requested_by, status="requested"
    )
    session.add(run)
    session.flush()
    return run


def has_request(session: Session) -> bool:
    return session.scalar(select(RiskRun.id).where(RiskRun.status == "requested").limit(1)) is not None


def score_all(sessions: Sessions, settings: Settings, *, as_of: date, triggered_by: str) -> RiskRun:
    """Run a complete scoring; raises AlreadyRunning if another run holds the lease."""
    holder = leases.holder_id()
    if not leases.acquire(sessions, LEASE, holder, LEASE_TTL):
        raise AlreadyRunning("another scoring run is in progress")
    try:
        with transaction(sessions) as session:
            # runs left "running" by a holder that died can never finish: say so
            session.execute(
                update(RiskRun).where(RiskRun.status == "running").values(status="failed", error="abandoned")
            )
            version, policy = policy_service.current_data(session)
            run = session.scalars(
                select(RiskRun).where(RiskRun.status == "requested").order_by(RiskRun.id).limit(1)
            ).first()
            if run is None:
                run = RiskRun(as_of=as_of, mode="rules", policy_version=version, triggered_by=triggered_by)
                session.add(run)
            else:  # an admin's request, picked up by this run
                run.status, run.policy_version, run.started_at = "running", version, utcnow()
            session.flush()
            as_of = run.as_of
        try:
            with collector.young_every():  # rows, reasons and factors by the thousand: 6 % of a run at 50k
                return _score(sessions, settings, run.id, as_of, holder, policy)
        except Exception as exc:
            with transaction(sessions) as session:
                session.execute(
                    update(RiskRun)
                    .where(RiskRun.id == run.id)
                    .values(
                        status="failed", finished_at=utcnow(), error=f"{type(exc).__name__}: {exc}"[:2000]
                    )
                )
            raise
    finally:
        leases.release(sessions, LEASE, holder)


def _score(
    sessions: Sessions, settings: Settings, run_id: int, as_of: date, holder: str, policy: PolicyData
) -> RiskRun:
    """Score with the policy the run recorded (read once, so the version stored is the one applied)."""
    started = time.perf_counter()
    with transaction(sessions) as session:
        _without_jit(session)
        model = _active_model(session, settings)
        recorder = drift_store.Recorder.start(session)  # drift: the run's inputs and scores (issue 15.5)
        threads = _prediction_threads(session)
        ids = list(session.scalars(select(Household.id).order_by(Household.id)))
        counts = {"high": 0, "medium": 0, "low": 0}
        day = as_of.toordinal()
        chunks = [ids[offset : offset + CHUNK] for offset in range(0, len(ids), CHUNK)]
        for offset, (chunk, panel) in zip(
            range(0, len(ids), CHUNK), read_chunks(sessions, session, as_of, chunks), strict=True
        ):
            rows = features.latest_rows(panel)
            days = np.full(len(rows), day)
            reasons = rules.evaluate(features.rules_columns(panel, policy, rows, days), policy)
            levels = [rules.level_of(r) for r in reasons]
            scores: list[float | None] = [None] * len(rows)
            factors: list[list[dict[str, Any]] | None] = [None] * len(rows)
            inputs = drift_store.inputs(panel, policy, rows, days)  # every run, model or not (drift)
            if model is not None:
                with threadpool_limits(limits=threads) if threads else nullcontext():
                    _apply_model(model[1], inputs, policy, reasons, levels, scores, factors)
            recorder.add(panel, inputs, scores)
            chunk_levels = [level or "low" for level in levels]
            for level in chunk_levels:
                counts[level] += 1
            write_results(
                session, run_id, panel.household_ids.tolist(), chunk_levels, scores, reasons, factors
            )
            lifecycle.check()  # SIGTERM: roll back, mark the run failed and release the lease
            if session.connection().dialect.name != "sqlite":
                # (on SQLite this transaction's write lock already keeps every other run out)
                if not leases.renew(sessions, LEASE, holder, LEASE_TTL):
                    raise LeaseLost("the scoring lease expired and was taken by another run")
            logger.info(
                "scoring progress", extra={"run_id": run_id, "done": offset + len(chunk), "of": len(ids)}
            )
        recorder.store(session, run_id, as_of)
        # the weekly list and the cases read this run's rows next, planned on what the planner knows
        bulk.refresh_statistics(session, [RESULT_TABLE.name])
        run = session.get(RiskRun, run_id)
        assert run is not None
        run.status, run.finished_at = "completed", utcnow()
        if model is None:
            run.mode, run.model_version, run.champion = "rules", None, None
        else:
            name = model[1].scorer.name
            run.mode = "model" if model[1].scorer.learned else "baseline"
            run.model_version, run.champion = str(model[0]), name
        run.duration_ms = int((time.perf_counter() - started) * 1000)
        run.households_scored = len(ids)
        run.flagged_high, run.flagged_medium = counts["high"], counts["medium"]
    return run


def read_chunks(
    sessions: Sessions, session: Session, as_of: date, chunks: list[list[int]]
) -> Iterator[tuple[list[int], pn.Panel]]:
    """Each chunk's panel. On PostgreSQL the next chunks are read on other connections (READERS at once)
    while this one is scored and written, so the database's work and Python's overlap (two cores, both
    busy); the first chunks are read side by side."""
    readers = _readers(session)
    if not readers:
        for chunk in chunks:
            yield chunk, panel_read.load(session, as_of=as_of, id_range=(chunk[0], chunk[-1]))
        return
    with ThreadPoolExecutor(max_workers=readers, thread_name_prefix="scoring-read") as pool:
        pending = deque(pool.submit(_load_apart, sessions, as_of, chunk) for chunk in chunks[:readers])
        for k, chunk in enumerate(chunks):
            panel = pending.popleft().result()
            if k + readers < len(chunks):
                pending.append(pool.submit(_load_apart, sessions, as_of, chunks[k + readers]))
            yield chunk, panel


def _readers(session: Session) -> int:
    """Reads in flight beside the scoring: READERS on PostgreSQL where the pool has room for them
    besides the run's own connection and the one renewing its lease (a pool of 3 leaves one; of 2,
    the chunks are read in turn); none on SQLite, which reads in between."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return 0
    pool = connection.engine.pool
    size = pool.size() if isinstance(pool, QueuePool) else READERS + 2
    return max(0, min(READERS, size - 2))


def _load_apart(sessions: Sessions, as_of: date, chunk: list[int]) -> pn.Panel:
    with transaction(sessions) as session:
        _without_jit(session)
        return panel_read.load(session, as_of=as_of, id_range=(chunk[0], chunk[-1]))


def _prediction_threads(session: Session) -> int | None:
    """The champion's threads (OpenMP, BLAS). On PostgreSQL the next chunk is read while this one is
    predicted (a reader thread, and the server's backend working for it): a parallel loop waits for its
    slowest thread, so one sharing a core with the reader stalls them all — leave the reader a core.
    None: every core (SQLite reads in between, not alongside)."""
    if session.connection().dialect.name != "postgresql":
        return None
    return max(1, (os.cpu_count() or 1) - 1)


def _without_jit(session: Session) -> None:
    """PostgreSQL's JIT compiles each of these short analytic queries anew: tens of ms each, no gain."""
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def _active_model(session: Session, settings: Settings) -> tuple[int, ml.Artifact] | None:
    """The model in use, verified; None in cold start. A model that fails verification is not used:
    the run falls back to rules alone and says so in the log."""
    stored = training.active_model(session)
    if stored is None:
        return None
    try:
        return stored.id, training.load_artifact(settings, stored)
    except ml.ArtifactInvalid as exc:
        logger.error(
            "active model not loaded; scoring on rules alone",
            extra={"model_id": stored.id, "error": str(exc)},
        )
        return None


def _apply_model(
    artifact: ml.Artifact,
    inputs: drift_store.Inputs,
    policy: PolicyData,
    reasons: list[list[rules.Reason]],
    levels: list[rules.Level | None],
    scores: list[float | None],
    factors: list[list[dict[str, Any]] | None],
) -> None:
    """The champion's probabilities for households with a report; the policy's cut-offs give its level,
    and a rule's high outranks it. Households it flags get their top factors, in words, in a reason (a
    rule's reason already names its feature and value). A rules champion only scores: the rules have
    already given their levels and reasons."""
    scored, X = inputs.scored, inputs.X
    if not len(scored):
        return
    rules_score = np.array([ml.LEVEL_SCORE.get(levels[i] or "", 0.0) for i in scored.tolist()])
    probability = artifact.scorer.probabilities(X, rules_score)
    for i, p in zip(scored.tolist(), probability.tolist(), strict=True):
        scores[i] = round(p, 4)
    if artifact.scorer.name == "rules":
        return
    high, medium = float(policy.high_probability), float(policy.medium_probability)
    model_level: list[rules.Level | None] = [
        "high" if p >= high else "medium" if p >= medium else None for p in probability.tolist()
    ]
    flagged = [k for k in range(len(scored)) if model_level[k]]
    explained = ml.explain(artifact, X[flagged], probability[flagged]) if flagged else []
    said = WARNING_BY[artifact.scorer.name]
    for k, top in zip(flagged, explained, strict=True):
        i = int(scored[k])
        factors[i] = top
        level = model_level[k]
        if level is None:
            continue
        words = "；".join(f["text"] for f in top) or "综合多项指标"
        reasons[i].append(
            rules.Reason(
                "model_warning",
                "其他",
                level,
                "probability",
                round(float(probability[k]), 4),
                f"{said}：{artifact.horizon_months} 个月内人均纯收入低于监测线的概率 "
                f"{probability[k] * 100:.0f}%（{words}）",
            )
        )
        if levels[i] != "high":
            levels[i] = level


def write_results(
    session: Session,
    run_id: int,
    household_ids: list[int],
    levels: Sequence[str],
    scores: list[float | None],
    reasons: list[list[rules.Reason]],
    factors: list[list[dict[str, Any]] | None],
) -> None:
    """A chunk's results, a row per household (its reasons and factors stored as JSON)."""
    results = list(zip(household_ids, levels, scores, reasons, factors, strict=True))
    if session.connection().dialect.name == "postgresql":
        bulk.copy_lines(session, RESULT_TABLE, RESULT_COLUMNS, _result_lines(run_id, results))
        return
    rows = [
        (run_id, hid, level, score, [_reason_dict(r) for r in found], _codes(found), top)
        for hid, level, score, found, top in results
    ]
    bulk.copy_tuples(session, RESULT_TABLE, RESULT_COLUMNS, rows)


Result = tuple[int, str, float | None, list[rules.Reason], list[dict[str, Any]] | None]


def _result_lines(run_id: int, results: list[Result]) -> list[str]:
    """The chunk's result rows as COPY text, in RESULT_COLUMNS' order. Most households have no reason
    and no factor: their line is written whole (formatting every field of every row was a fifth of a
    run); only the flagged ones' reasons and factors are encoded as JSON."""
    lines = []
    for hid, level, score, found, top in results:
        score_text = "\\N" if score is None else str(score)
        if not found and top is None:
            lines.append(f"{run_id}\t{hid}\t{level}\t{score_text}\t[]\t|\t\\N\n")
            continue
        said = bulk.copy_text([_reason_dict(r) for r in found], True)
        codes = bulk.copy_text(_codes(found), False)
        lines.append(
            f"{run_id}\t{hid}\t{level}\t{score_text}\t{said}\t{codes}\t{bulk.copy_text(top, True)}\n"
        )
    return lines


def _codes(found: list[rules.Reason]) -> str:
    """The reasons' codes as one text, each between bars, so a list can ask for one code with LIKE."""
    return "|" + "".join(f"{r.code}|" for r in found)


def _reason_dict(reason: rules.Reason) -> dict[str, Any]:
    # (dataclasses.asdict deep-copies; for a million rows that alone took seconds)
    return {
        "code": reason.code,
        "risk_type": reason.risk_type,
        "level": reason.level,
        "feature": reason.feature,
        "value": reason.value,
        "text": reason.text,
    }
