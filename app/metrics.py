"""Prometheus metrics: what the engineer on call watches.

Request counts and latencies are counted in the process that serves them. Everything the worker does
(scoring runs, deliveries, escalations, weekly lists) is read from the database when scraped, so the API's
`/metrics` and the worker's own endpoint show the same figures, whichever process did the work, and a
restart loses nothing.
"""

from collections.abc import Iterable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app import clock
from app.db import READ_ONLY_OPTIONS
from app.models import Case, OutboxMessage, ReliefMessage, RiskList, RiskRun

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
OUTBOXES: dict[str, type[OutboxMessage] | type[ReliefMessage]] = {
    "webhook": OutboxMessage,
    "relief": ReliefMessage,
}


class RequestMetrics:
    """Requests by route template (never the path a client typed: ids and names stay out) and status."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.count = Counter(
            "shouwang_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "shouwang_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.count.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class JobMetrics:
    """The worker's scheduled jobs: how often each ran, how it ended, how long it took."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.runs = Counter(
            "shouwang_job_runs",
            "Scheduled job runs in this worker, by job and outcome (ok, error).",
            ["job", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "shouwang_job_duration_seconds",
            "Time a scheduled job took in this worker.",
            ["job"],
            buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0),
            registry=registry,
        )


class PoolCollector(Collector):
    """Connections of this process's pool: a pool always at its size means requests queue for one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        pool = self.engine.pool
        size = getattr(pool, "size", None)
        checked_out = getattr(pool, "checkedout", None)
        gauge = GaugeMetricFamily(
            "shouwang_db_pool_connections", "Database connections of this process's pool.", labels=["state"]
        )
        if callable(size) and callable(checked_out):
            gauge.add_metric(["size"], float(size()))
            gauge.add_metric(["checked_out"], float(checked_out()))
        yield gauge


class DatabaseCollector(Collector):
    """Figures kept in the database, read at each scrape in one short read-only transaction."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("shouwang_database_up", "1 if the figures below could be read from it.")
        try:
            with self.sessions() as session:
                session.connection(execution_options=READ_ONLY_OPTIONS)
                families = list(_database_families(session))
        except SQLAlchemyError:
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield from families


def _age(then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (clock.now() - then).total_seconds())


def _database_families(session: Session) -> Iterable[Metric]:
    yield from _scoring_families(session)
    yield from _outbox_families(session)
    overdue = session.scalar(
        select(func.count()).select_from(Case).where(Case.status == "open", Case.due_at < clock.now())
    )
    yield _gauge("shouwang_case_steps_overdue", "Open cases whose step is past its deadline.", overdue)
    last_list = session.scalar(select(func.max(RiskList.generated_at)))
    yield _gauge(
        "shouwang_risk_list_last_age_seconds",
        "Seconds since the last weekly risk list was frozen (absent: none yet).",
        _age(last_list),
    )


def _scoring_families(session: Session) -> Iterable[Metric]:
    run = session.scalars(
        select(RiskRun).where(RiskRun.status == "completed").order_by(RiskRun.id.desc()).limit(1)
    ).first()
    info = GaugeMetricFamily(
        "shouwang_risk_last_run_info",
        "The last completed scoring run: its mode (rules, model or baseline), the scorer it used "
        "(champion: model, logistic_regression, distance_to_line, rules; none in rules mode) and its id.",
        labels=["mode", "champion", "model_id"],
    )
    flagged = GaugeMetricFamily(
        "shouwang_risk_last_run_flagged", "Households flagged by the last completed run.", labels=["level"]
    )
    if run is not None:
        info.add_metric([run.mode, run.champion or "none", run.model_version or "none"], 1.0)
        flagged.add_metric(["high"], float(run.flagged_high))
        flagged.add_metric(["medium"], float(run.flagged_medium))
    yield info
    yield flagged
    yield _gauge(
        "shouwang_risk_last_run_households",
        "Households scored by the last completed run.",
        None if run is None else run.households_scored,
    )
    yield _gauge(
        "shouwang_risk_last_run_duration_seconds",
        "How long the last completed scoring run took.",
        None if run is None or run.duration_ms is None else run.duration_ms / 1000,
    )
    yield _gauge(
        "shouwang_risk_last_run_age_seconds",
        "Seconds since the last completed scoring run finished (absent: none yet).",
        None if run is None else _age(run.finished_at),
    )
    runs = GaugeMetricFamily("shouwang_risk_runs", "Scoring runs on record, by status.", labels=["status"])
    for status, count in session.execute(select(RiskRun.status, func.count()).group_by(RiskRun.status)):
        runs.add_metric([status], float(count))
    yield runs


def _outbox_families(session: Session) -> Iterable[Metric]:
    backlog = GaugeMetricFamily(
        "shouwang_outbox_backlog", "Messages waiting to be delivered, by kind.", labels=["kind"]
    )
    dead = GaugeMetricFamily(
        "shouwang_outbox_dead", "Messages parked after their last failed attempt, by kind.", labels=["kind"]
    )
    oldest = GaugeMetricFamily(
        "shouwang_outbox_oldest_pending_age_seconds",
        "Age of the oldest message still waiting, by kind.",
        labels=["kind"],
    )
    for kind, table in OUTBOXES.items():
        rows = session.execute(
            select(table.status, func.count()).where(table.status != "delivered").group_by(table.status)
        )
        counts = dict(rows.tuples().all())  # (a Result has keys(): dict() would read it as a mapping)
        backlog.add_metric([kind], float(counts.get("pending", 0)))
        dead.add_metric([kind], float(counts.get("dead", 0)))
        first = session.scalar(select(func.min(table.created_at)).where(table.status == "pending"))
        oldest.add_metric([kind], _age(first) or 0.0)
    yield backlog
    yield dead
    yield oldest


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation)
    if value is not None:
        gauge.add_metric([], float(value))
    return gauge
