"""Drift profiles in the database: training's reference, each scoring run's profile counted chunk by chunk,
and which reference a run is compared with (the bins themselves are app/risk/drift.py).

The reference of a run: the training window of the active model; else of the newest model trained;
else (no training ever ran) the first completed run that profiled any household. A run counts on its
reference's cuts and records which reference that was, so a later training does not change what a past
run's report compares it with.
"""

from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import RiskModel, RiskProfile
from app.risk import drift, features
from app.risk import panel as pn
from app.schemas.policy import PolicyData

FEATURES = list(features.MODEL_FEATURE_NAMES)


@dataclass
class Inputs:
    """The model's inputs for one chunk: the households with a report (positions in the chunk) and
    their MODEL_FEATURES, as known on the scoring day."""

    scored: pn.IntArray
    X: pn.FloatArray


def inputs(panel: pn.Panel, policy: PolicyData, rows: pn.IntArray, days: pn.IntArray) -> Inputs:
    scored = np.flatnonzero(rows >= 0)
    if not len(scored):
        return Inputs(scored, np.zeros((0, len(FEATURES))))
    columns = features.model_columns(panel, policy, rows[scored], days[scored])
    return Inputs(scored, np.column_stack([columns[name] for name in FEATURES]).astype(np.float64))


def _usable(profile: RiskProfile) -> bool:
    """A profile of today's feature list (a reference from before a feature was added cannot be used)."""
    return list(profile.data.get("variables", [])[:-1]) == FEATURES


def reference(session: Session) -> RiskProfile | None:
    """The reference a new run is counted against (see the module's docstring)."""
    active = session.scalar(select(RiskModel.id).where(RiskModel.status == "active"))
    trainings = session.scalars(
        select(RiskProfile).where(RiskProfile.kind == "training").order_by(RiskProfile.id.desc())
    ).all()
    usable = [p for p in trainings if _usable(p)]
    chosen = next((p for p in usable if p.model_id == active), usable[0] if usable else None)
    if chosen is not None:
        return chosen
    first_runs = session.scalars(
        select(RiskProfile)
        # a run that found no household to profile (a new district's first night) cuts no useful bins
        .where(RiskProfile.kind == "run", RiskProfile.reference_id.is_(None), RiskProfile.rows > 0)
        .order_by(RiskProfile.id)
    )
    return next((p for p in first_runs if _usable(p)), None)


class Recorder:
    """One scoring run's profile: start() before the first chunk, add() each chunk, store() in the
    run's transaction before it completes."""

    def __init__(self, found: RiskProfile | None) -> None:
        self.reference_id = found.id if found is not None else None
        self.cuts = drift.from_json(found.data).cuts if found is not None else None
        self.profile: drift.Profile | None = None

    @classmethod
    def start(cls, session: Session) -> "Recorder":
        return cls(reference(session))

    def add(self, panel: pn.Panel, chunk: Inputs, scores: list[float | None]) -> None:
        score = np.array([np.nan if scores[i] is None else scores[i] for i in chunk.scored.tolist()])
        if self.cuts is None:  # no reference yet: this run cuts the bins, from its first chunk
            if not len(chunk.scored):
                return
            self.cuts = drift.reference_cuts(chunk.X, score)
        part = drift.profile(self.cuts, chunk.X, panel.township[chunk.scored], panel.townships, score)
        self.profile = part if self.profile is None else self.profile + part

    def store(self, session: Session, run_id: int, as_of: date) -> RiskProfile:
        if self.profile is None:  # a district with no household: nothing counted, on empty cuts
            self.cuts = self.cuts or drift.reference_cuts(np.zeros((0, len(FEATURES))), None)
            self.profile = drift.empty(self.cuts)
        stored = RiskProfile(
            kind="run",
            run_id=run_id,
            reference_id=self.reference_id,
            window_from=as_of,
            window_to=as_of,
            rows=int(self.profile.households().sum()),
            data=drift.to_json(self.profile),
        )
        session.add(stored)
        session.flush()
        return stored


def training_profile(
    X: pn.FloatArray,
    township: pn.IntArray,
    townships: list[str],
    periods: pn.IntArray,
    scores: pn.FloatArray | None,
) -> RiskProfile:
    """The reference of a model, from its training examples (X: MODEL_FEATURES, each example's township
    index and period_end as a day number) and its scores on them; training adds it with the model's id
    (model_id) in the transaction that stores the model."""
    if scores is not None:
        scores = np.round(scores, 4)  # as the scorer stores them, or rounding alone would look like drift
    cuts = drift.reference_cuts(X, scores)
    return RiskProfile(
        kind="training",
        window_from=date.fromordinal(int(periods.min())),
        window_to=date.fromordinal(int(periods.max())),
        rows=len(X),
        data=drift.to_json(drift.profile(cuts, X, township, townships, scores)),
    )
