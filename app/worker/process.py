"""The worker process: its scheduler, its metrics endpoint and a graceful stop on SIGTERM."""

import logging
import signal
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from prometheus_client import CollectorRegistry, start_http_server
from sqlalchemy.orm import sessionmaker

from app import db, lifecycle
from app.config import Settings
from app.metrics import DatabaseCollector, JobMetrics, PoolCollector
from app.worker.schedule import add_jobs

logger = logging.getLogger(__name__)


class CannotStart(Exception):
    """The worker cannot start as configured (its metrics address is taken)."""


def run(settings: Settings) -> None:
    """Run the scheduled jobs until SIGTERM or SIGINT; a job under way ends at its next step (a scoring
    run rolls back and releases its lease) before the process exits."""
    registry = CollectorRegistry()
    metrics = JobMetrics(registry)
    engine = db.get_engine()
    registry.register(PoolCollector(engine))
    registry.register(DatabaseCollector(sessionmaker(bind=engine, expire_on_commit=False)))
    if settings.worker_metrics_port:
        address = f"{settings.worker_metrics_host}:{settings.worker_metrics_port}"
        try:
            start_http_server(
                settings.worker_metrics_port, addr=settings.worker_metrics_host, registry=registry
            )
        except OSError as exc:
            raise CannotStart(
                f"cannot serve the worker's metrics on {address} ({exc.strerror}): set "
                "SHOUWANG_WORKER_METRICS_PORT to a free port, or to 0 to turn them off"
            ) from None
    scheduler = BlockingScheduler(timezone=settings.timezone)
    add_jobs(scheduler, settings, metrics)

    def stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("worker stopping", extra={"signal": signal.Signals(signum).name})
        lifecycle.stopping.set()
        scheduler.shutdown(wait=True)  # the jobs under way see the flag and end at their next step

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logger.info("worker started", extra={"jobs": len(scheduler.get_jobs())})
    scheduler.start()
    engine.dispose()
    logger.info("worker stopped")
