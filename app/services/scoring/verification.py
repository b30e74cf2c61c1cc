"""The scorer's precision against the verifiers: of the households it flagged whose cases were decided,
how many the verifiers confirmed, with a 95 % Wilson interval, by source and by township.

Each decision counts once (a household decided twice, at two signals, counts twice: each flag was judged
on its own). A withdrawn case is no decision and counts nowhere.
"""

import math
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Invalid
from app.models import LabelledExample, Region
from app.models.enums import Role
from app.schemas.verification import (
    LevelPrecision,
    Source,
    SourcePrecision,
    TownshipPrecision,
    VerificationRead,
)
from app.services.platform import access
from app.services.platform.access import Actor

READERS = frozenset({Role.district_officer, Role.admin})  # as the runs and the model (scoring/risk.py)
Z95 = 1.959964
FLAG_LEVELS = ("high", "medium")


def _scorer_flag(e: Any) -> str | None:
    return e.level if e.level in FLAG_LEVELS else None


FLAGS: dict[Source, Callable[[Any], str | None]] = {
    "scorer": _scorer_flag,
    "rules": lambda e: e.rules_level,
    "model": lambda e: e.model_level,
}


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (sound at small counts and at 0 or 1, where the
    normal approximation collapses); None for no trials."""
    if trials == 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def precision_report(
    session: Session, actor: Actor, *, decided_from: date | None, decided_to: date | None
) -> VerificationRead:
    """Precision of each source over the decisions made between the two dates (local, inclusive)."""
    access.require_role(actor, READERS, "reading the scorer's precision against verifiers")
    if decided_from is not None and decided_to is not None and decided_from > decided_to:
        raise Invalid(f"must be on or before decided_to ({decided_to})", field="decided_from")
    stmt = select(
        LabelledExample.township_code,
        LabelledExample.outcome,
        LabelledExample.level,
        LabelledExample.rules_level,
        LabelledExample.model_level,
    )
    if decided_from is not None:
        stmt = stmt.where(LabelledExample.decided_on >= decided_from)
    if decided_to is not None:
        stmt = stmt.where(LabelledExample.decided_on <= decided_to)
    examples = list(session.execute(stmt).all())
    codes = sorted({e.township_code for e in examples})
    names = dict(
        session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).tuples().all()
    )
    unflagged = [e for e in examples if _scorer_flag(e) is None]
    confirmed = sum(e.outcome == "confirmed" for e in examples)
    return VerificationRead(
        decided_from=decided_from,
        decided_to=decided_to,
        decided=len(examples),
        confirmed=confirmed,
        rejected=len(examples) - confirmed,
        unflagged_decided=len(unflagged),
        unflagged_confirmed=sum(e.outcome == "confirmed" for e in unflagged),
        sources=[_source(source, flag, examples, names) for source, flag in FLAGS.items()],
    )


def _source(
    source: Source, flag: Callable[[Any], str | None], examples: list[Any], names: dict[str, str]
) -> SourcePrecision:
    flagged = [(flag(e), e) for e in examples if flag(e) is not None]
    by_township: dict[str, list[Any]] = {}
    for _, e in flagged:
        by_township.setdefault(e.township_code, []).append(e)
    return SourcePrecision(
        source=source,
        **_counts(e for _, e in flagged),
        by_level=[
            LevelPrecision(level=level, **_counts(e for f, e in flagged if f == level))
            for level in FLAG_LEVELS
        ],
        by_township=[
            TownshipPrecision(township_code=code, township_name=names.get(code), **_counts(found))
            for code, found in sorted(by_township.items())
        ],
    )


def _counts(examples: Iterable[Any]) -> dict[str, Any]:
    """The fields of a Precision over `examples`."""
    outcomes = [e.outcome for e in examples]
    decided, confirmed = len(outcomes), outcomes.count("confirmed")
    interval = wilson(confirmed, decided)
    return {
        "decided": decided,
        "confirmed": confirmed,
        "precision": round(confirmed / decided, 4) if decided else None,
        "ci_low": round(interval[0], 4) if interval else None,
        "ci_high": round(interval[1], 4) if interval else None,
    }
