"""Job functions for the scheduler: thin, each opens its own sessions, safe to run twice at once."""

import logging

from app.clock import local_today
from app.db import session_scope
from app.risk import scorer

logger = logging.getLogger(__name__)


def nightly_scoring() -> None:
    try:
        run = scorer.score_all(as_of=local_today(), triggered_by="schedule")
        logger.info("scoring run completed", extra={"run_id": run.id, "high": run.flagged_high})
    except scorer.AlreadyRunning:
        logger.info("scoring skipped: another run is in progress")


def requested_scoring() -> None:
    """Run what an admin asked for through the API (POST /api/v1/risk/runs)."""
    with session_scope() as session:
        if not scorer.has_request(session):
            return
    try:
        scorer.score_all(as_of=local_today(), triggered_by="request")
    except scorer.AlreadyRunning:
        logger.info("requested run waits: another run is in progress")
