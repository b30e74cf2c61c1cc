"""Benchmark: a full risk scoring run against its floor and against a row-by-row ORM scorer.

    .venv/bin/python bench/risk_scoring.py --database postgresql --households 1000000
    .venv/bin/python bench/risk_scoring.py --database sqlite --households 100000
    .venv/bin/python bench/risk_scoring.py --database sqlite --households 2000      # smoke test, seconds

Figures (medians over --repeats runs, each after one warm-up):
- end to end: `scorer.score_all(...)` wall time (read → features → rules → champion → drift profile →
  write, one transaction), with an active champion chosen by the service's training (see ensure_model:
  the model and every baseline judged on rolling-origin folds; --champion NAME forces one, and the
  report says FORCED; --no-model: rules only). Each run records its drift profile against the
  champion's training window, as in production; --drift-cost also times runs without it. The report
  reads each run's mode and champion back from its risk_run row, and gives CPU seconds per run (this
  process, and the district's PostgreSQL backends);
- floor: the same shape and nothing else: in one transaction, read the columns a scoring needs with the
  scorer's own chunked reader (`scorer.read_chunks`: reports, events, members; on PostgreSQL the next chunk
  is read while this one is written) and write one `risk_result` row per household for a new `risk_run`
  with the scorer's writer (`bulk.copy_tuples`, COPY on PostgreSQL);
- ORM: a naive scorer on a sample of households (--orm-sample), per household: `session.get` with its
  members, its reports and their events through the ORM, `services.income.per_capita` for the latest
  report (and the one a year earlier), `rules.evaluate` on a one-row frame, one `RiskResult` object;
  with a model, one prediction (and explanation) per household on a single thread; its time is
  extrapolated linearly to the whole district, and its levels are compared with score_all's.

The district (households × 8 quarterly reports, members, events; `demo.generate` in chunks) is built once
and reused. PostgreSQL: database shouwang_bench_<size> (e.g. shouwang_bench_1m), saved with
`pg_dump -Fc` to <data-dir>/shouwang_bench_<size>.dump and restored from there when the database is
missing. SQLite: <data-dir>/shouwang_bench_<size>.db, copied to ….db.dump. A partly built district (an
interrupted build) is continued, not restarted. --data-dir defaults to /work/bench-data (outside the
repo) from 50,000 households up, to $TMPDIR/shouwang-bench-risk below. Runs this benchmark creates are
deleted after each measurement, so the database stays the district.
"""

import argparse
import contextlib
import cProfile
import io
import json
import math
import os
import pstats
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from sqlalchemy import create_engine, delete, func, select, text
from sqlalchemy.orm import Session, selectinload
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
PG_CLI = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
DEFAULT_DATA_DIR = Path("/work/bench-data")
SMALL = 50_000  # below this the district is built in a temporary directory by default
QUARTERS = 8
BENCH_TRIGGERS = ("bench", "bench-floor", "bench-orm")
TARGET_HOUSEHOLDS = 1_000_000
TARGET_SECONDS = 60.0
TARGET_FLOOR_RATIO = 3.0
TARGET_ORM_RATIO = 50.0


def _sessions() -> Any:
    from app import db

    return db.get_sessionmaker()


def _settings() -> Any:
    from app.config import get_settings

    return get_settings()


def size_label(households: int) -> str:
    if households % 1_000_000 == 0:
        return f"{households // 1_000_000}m"
    if households % 1000 == 0:
        return f"{households // 1000}k"
    return str(households)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- the district -----------------------------------------------------------------------------------


@dataclass
class District:
    kind: str  # sqlite | postgresql
    name: str
    url: str
    dump: Path
    db_file: Path | None = None
    built: dict[str, Any] = field(default_factory=dict)  # how it was obtained, generation time


def district_for(kind: str, households: int, data_dir: Path) -> District:
    name = f"shouwang_bench_{size_label(households)}"
    data_dir.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        db_file = data_dir / f"{name}.db"
        return District(kind, name, f"sqlite:///{db_file}", data_dir / f"{name}.db.dump", db_file)
    return District(kind, name, PG_SERVER + name, data_dir / f"{name}.dump")


def configure(url: str) -> None:
    os.environ["SHOUWANG_DATABASE_URL"] = url
    os.environ["SHOUWANG_DEMO_HOUSEHOLDS"] = "0"
    from app import db
    from app.config import get_settings

    get_settings.cache_clear()
    db.engine_for.cache_clear()
    db.sessions_for.cache_clear()


def dispose() -> None:
    from app import db

    if db.engine_for.cache_info().currsize:
        db.get_engine().dispose()


def pg_exists(name: str) -> bool:
    admin = create_engine(PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
    finally:
        admin.dispose()
    return found is not None


def run_tool(args: list[str]) -> None:
    say("  $ " + shlex.join(args))
    subprocess.run(args, check=True)


def remove(district: District) -> None:
    """--rebuild: drop the database and its dump."""
    if district.kind == "postgresql":
        if pg_exists(district.name):
            run_tool(["dropdb", *PG_CLI, "--force", district.name])
    else:
        assert district.db_file is not None
        for suffix in ("", "-wal", "-shm"):
            Path(f"{district.db_file}{suffix}").unlink(missing_ok=True)
    district.dump.unlink(missing_ok=True)


def open_district(district: District) -> None:
    """Create the database, from the dump when there is one."""
    if district.kind == "postgresql":
        if pg_exists(district.name):
            district.built["source"] = "existing database"
            return
        run_tool(["createdb", *PG_CLI, district.name])
        if district.dump.exists():
            started = time.perf_counter()
            run_tool(
                ["pg_restore", *PG_CLI, "-d", district.name, "-j", "2", "--no-owner", str(district.dump)]
            )
            district.built |= {
                "source": f"restored {district.dump}",
                "restore_s": time.perf_counter() - started,
            }
        else:
            district.built["source"] = "generated"
        return
    assert district.db_file is not None
    if district.db_file.exists():
        district.built["source"] = "existing database"
    elif district.dump.exists():
        shutil.copyfile(district.dump, district.db_file)
        district.built["source"] = f"copied {district.dump}"
    else:
        district.built["source"] = "generated"


def migrate(url: str) -> None:
    from alembic import command

    from app.services.platform.health import alembic_config

    config = alembic_config(url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def household_count() -> int:
    from app.db import session_scope
    from app.models import Household

    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(Household)) or 0)


def generate(households: int, chunk: int, base_seed: int) -> dict[str, Any]:
    return generate_quarters(households, chunk, base_seed, QUARTERS)


def generate_quarters(households: int, chunk: int, base_seed: int, quarters: int) -> dict[str, Any]:
    """Add households until the district has `households`, as `shouwang demo-data` writes them (chunks
    of `chunk`, one transaction each, two processes side by side on PostgreSQL).

    The seed follows from the number of households already there: a build interrupted after whole chunks
    is completed by adding the missing households (not necessarily the same ones a whole build adds)."""
    from app.config import get_settings
    from app.demo import chunks

    settings = get_settings()
    done = household_count()
    if done >= households:
        return {}
    if done:
        say(f"continuing an interrupted build: {done:,} of {households:,} households present")
    started = time.perf_counter()
    added = chunks.write(
        settings,
        households=households - done,
        seed=base_seed * 10_000_019 + done,
        quarter_count=quarters,
        jobs=1 if settings.database_url.startswith("sqlite") else 2,
        chunk_households=chunk,
    )
    elapsed = time.perf_counter() - started
    say(f"  generated {added:,} households in {elapsed:.0f} s ({added / elapsed:.0f} households/s)")
    return {
        "generated_households": added,
        "generate_s": elapsed,
        "generate_households_per_s": added / elapsed,
    }


def vacuum(district: District, *, analyze_all: bool = False, tables: Sequence[str] = ()) -> None:
    """PostgreSQL: VACUUM ANALYZE (the whole database, or the given tables); SQLite: checkpoint the WAL."""
    from app.db import get_engine

    if district.kind == "sqlite":  # (the app's engine opens every transaction with BEGIN IMMEDIATE)
        dispose()
        with closing(sqlite3.connect(str(district.db_file))) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if analyze_all:
            connection.execute(text("VACUUM ANALYZE"))
        for table in tables:
            connection.execute(text(f"VACUUM ANALYZE {table}"))


def save_dump(district: District) -> float:
    started = time.perf_counter()
    partial = district.dump.with_name(district.dump.name + ".partial")
    if district.kind == "postgresql":
        run_tool(["pg_dump", *PG_CLI, "-Fc", "-Z", "1", "-f", str(partial), district.name])
    else:
        assert district.db_file is not None
        dispose()
        shutil.copyfile(district.db_file, partial)
    partial.replace(district.dump)
    return time.perf_counter() - started


def prepare(district: District, households: int, chunk: int, base_seed: int, rebuild: bool) -> None:
    if rebuild:
        remove(district)
    open_district(district)
    configure(district.url)
    migrate(district.url)
    district.built |= generate(households, chunk, base_seed)
    present = household_count()
    if present != households:
        raise SystemExit(f"{district.name} holds {present:,} households, not {households:,}: use --rebuild")
    if district.built.get("generated_households") or "restore_s" in district.built:
        vacuum(district, analyze_all=True)  # pg_restore leaves no statistics
    if not district.dump.exists():
        district.built["dump_s"] = save_dump(district)
    district.built["dump"] = str(district.dump)
    district.built["dump_bytes"] = district.dump.stat().st_size


# ---- bench runs ---------------------------------------------------------------------------------------


def delete_bench_runs(district: District, triggers: Sequence[str] = BENCH_TRIGGERS) -> None:
    """Remove the runs this benchmark made (and their results), so each measurement starts alike."""
    from app.db import session_scope
    from app.models import RiskResult, RiskRun

    with session_scope() as session:
        ids = list(session.scalars(select(RiskRun.id).where(RiskRun.triggered_by.in_(triggers))))
        if not ids:
            return
        session.execute(delete(RiskResult).where(RiskResult.run_id.in_(ids)))
        session.execute(delete(RiskRun).where(RiskRun.id.in_(ids)))
    vacuum(district, tables=("risk_result", "risk_run"))


def delete_bench_run_ids(district: District, exclude: int) -> None:
    """Remove this benchmark's runs but one (the run whose results the ORM scorer is compared with)."""
    from app.db import session_scope
    from app.models import RiskResult, RiskRun

    with session_scope() as session:
        ids = list(
            session.scalars(
                select(RiskRun.id).where(RiskRun.triggered_by.in_(BENCH_TRIGGERS), RiskRun.id != exclude)
            )
        )
        if ids:
            session.execute(delete(RiskResult).where(RiskResult.run_id.in_(ids)))
            session.execute(delete(RiskRun).where(RiskRun.id.in_(ids)))
    vacuum(district, tables=("risk_result", "risk_run"))


def last_report_day() -> date:
    from app.db import session_scope
    from app.models import Report

    with session_scope() as session:
        last = session.scalar(select(func.max(Report.period_end)))
    if last is None:
        raise SystemExit("the district has no reports")
    return last


def new_run(session: Session, as_of: date, triggered_by: str) -> Any:
    from app.models import RiskRun
    from app.services.platform import policy as policy_service

    version, _ = policy_service.current_data(session)
    run = RiskRun(as_of=as_of, mode="rules", policy_version=version, triggered_by=triggered_by)
    session.add(run)
    session.flush()
    return run


def complete(run: Any, started: float, scored: int) -> None:
    from app.models.base import utcnow

    run.status, run.finished_at = "completed", utcnow()
    run.duration_ms = int((time.perf_counter() - started) * 1000)
    run.households_scored = scored


SERVER_DATABASE: list[str] = []  # the district's PostgreSQL database, whose backends' CPU is counted


def server_cpu() -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the district's database (from /proc: the
    process title names the database; empty for SQLite)."""
    if not SERVER_DATABASE:
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            title = (proc / "cmdline").read_bytes().decode(errors="replace").split()
            if title[:1] != ["postgres:"] or SERVER_DATABASE[0] not in title:
                continue
            raw = (proc / "stat").read_text()
        except (OSError, IndexError):
            continue
        rest = raw[raw.rindex(")") + 2 :].split()
        out[int(proc.name)] = (int(rest[11]) + int(rest[12])) / tick
    return out


def cpu_since(python_before: float, server_before: dict[int, float]) -> dict[str, float]:
    """CPU seconds used since: this process (every thread), and the district's PostgreSQL backends (those
    alive at the end; a backend that exited meanwhile is not counted — the scorer's connections are
    pooled; the server's shared processes, WAL writer and checkpointer, are not counted)."""
    after = server_cpu()
    return {
        "cpu_python_s": time.process_time() - python_before,
        "cpu_server_s": sum(v - server_before.get(pid, 0.0) for pid, v in after.items()),
    }


class NoDrift:
    """--drift-cost: a scorer's drift recorder that records nothing (the run stores no profile)."""

    @classmethod
    def start(cls, _session: Session) -> "NoDrift":
        return cls()

    def add(self, *_: Any) -> None:
        pass

    def store(self, *_: Any) -> None:
        pass


def end_to_end(as_of: date, drift: bool = True) -> dict[str, Any]:
    from app.models import RiskProfile
    from app.risk import drift_store, scorer

    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if not drift:
            stack.enter_context(mock.patch.object(drift_store, "Recorder", NoDrift))
        run = scorer.score_all(_sessions(), _settings(), as_of=as_of, triggered_by="bench")
    wall = time.perf_counter() - started
    if run.status != "completed":
        raise RuntimeError(f"scoring run {run.id} ended {run.status}: {run.error}")
    from app.db import session_scope

    with session_scope() as session:
        profile = session.scalars(select(RiskProfile).where(RiskProfile.run_id == run.id)).first()
        drift_recorded = (
            {"rows": profile.rows, "reference_id": profile.reference_id} if profile is not None else None
        )
    return {
        "s": wall,
        "run_id": run.id,
        "duration_ms": run.duration_ms,
        "mode": run.mode,
        "champion": run.champion,
        "model_version": run.model_version,
        "drift": drift_recorded,
        "scored": run.households_scored,
        "high": run.flagged_high,
        "medium": run.flagged_medium,
    }


def floor(as_of: date) -> dict[str, Any]:
    """Read what a scoring reads, write one result row per household, commit: nothing else.

    Read and write as the scorer does: `scorer.read_chunks` (panel_read.load per scorer.CHUNK households, by
    id range, the next chunk read on a second connection on PostgreSQL while this one is written) and
    `bulk.copy_tuples` (one COPY text stream per chunk)."""
    from app import bulk
    from app.db import session_scope
    from app.models import Base, Household
    from app.risk import scorer

    table = Base.metadata.tables["risk_result"]
    chunk = int(getattr(scorer, "CHUNK", 50_000))
    counts = dict.fromkeys(("reports", "members", "events"), 0)
    read_s = 0.0
    started = time.perf_counter()
    with session_scope() as session:
        run = new_run(session, as_of, "bench-floor")
        ids = list(session.scalars(select(Household.id).order_by(Household.id)))
        parts = [ids[offset : offset + chunk] for offset in range(0, len(ids), chunk)]
        read_started = time.perf_counter()
        for _, panel in scorer.read_chunks(_sessions(), session, as_of, parts):
            read_s += time.perf_counter() - read_started  # waiting for a read (not overlapped)
            counts["reports"] += len(panel.hh)
            counts["members"] += len(panel.members["hh"])
            counts["events"] += len(panel.events["row"])
            rows: list[tuple[Any, ...]] = [
                (run.id, hid, "low", None, [], "|", None) for hid in panel.household_ids.tolist()
            ]
            bulk.copy_tuples(session, table, scorer.RESULT_COLUMNS, rows)
            read_started = time.perf_counter()
        complete(run, started, len(ids))
    return {"s": time.perf_counter() - started, "read_s": read_s, "households": len(ids), **counts}


# ---- the row-by-row ORM scorer --------------------------------------------------------------------------

NAN = math.nan


def _flag(value: bool | None) -> float:
    return NAN if value is None else float(value)


def _age(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass
class OrmHousehold:
    """What the row-by-row scorer works out for one household, in plain Python."""

    rules: dict[str, float]
    model: dict[str, float]


def _window_sums(reports: list[Any], used: set[int], start: date, end: date) -> dict[str, float]:
    """Pro-rata sums of the income components over the income window (as panel.income)."""
    sums = dict.fromkeys(("total", "transfer", "wages", "business"), 0.0)
    for r in reports:
        if r.id not in used:
            continue
        overlap = (min(r.period_end, end) - max(r.period_start, start)).days + 1
        share = overlap / ((r.period_end - r.period_start).days + 1)
        transfer = r.transfer + r.insurance_payout
        net = r.wages + r.business + r.property + transfer - r.production_cost
        sums["total"] += float(net) * share
        sums["transfer"] += float(transfer) * share
        sums["wages"] += float(r.wages) * share
        sums["business"] += float(r.business - r.production_cost) * share
    return sums


def _ratio(a: float, b: float) -> float:
    return a / b if b and math.isfinite(a) and math.isfinite(b) else NAN


def orm_features(household: Any, reports: list[Any], as_of: date, policy: Any) -> OrmHousehold:
    """rules.FEATURES and features.MODEL_FEATURES of one household from its ORM objects (reports:
    effective, by period_end), with services.income for the per-capita incomes."""
    from app.clock import add_months
    from app.models.enums import Health, HouseholdType, HousingGrade, LabourCapacity, Schooling
    from app.risk.features import MODEL_FEATURE_NAMES
    from app.risk.rules import EVENT_KINDS, FEATURES
    from app.services.registry.income import Membership, PeriodIncome, net_income, per_capita

    columns = dict.fromkeys(FEATURES, NAN)
    model = dict.fromkeys(MODEL_FEATURE_NAMES, NAN)
    members = [
        m
        for m in household.members
        if (m.joined_on is None or m.joined_on <= as_of) and (m.left_on is None or m.left_on > as_of)
    ]
    memberships = [Membership(m.joined_on, m.left_on) for m in household.members]
    known_labour = [m for m in members if m.labour_capacity is not None]
    workers = sum(m.labour_capacity in (LabourCapacity.ordinary, LabourCapacity.skilled) for m in members)
    insured = [m for m in members if m.basic_medical_insurance is not None]
    ages = [_age(m.birth_date, as_of) for m in members]
    safety_net = float(any(m.dibao is True or m.tekun is True for m in members))
    columns |= {
        "dropout_compulsory": float(
            any(
                m.schooling == Schooling.dropped_out and 6 <= a < 16
                for m, a in zip(members, ages, strict=True)
            )
        ),
        "uninsured_member": float(any(m.basic_medical_insurance is False for m in insured))
        if insured
        else NAN,
        "labour_share": workers / len(members) if known_labour else NAN,
        "safety_net": safety_net,
        "active_members": float(len(members)),
    }
    model |= {
        "dependency": 1 - workers / len(members) if members else NAN,
        "elderly": float(sum(a >= 60 for a in ages)),
        "children": float(sum(a < 16 for a in ages)),
        "chronic": float(sum(m.health == Health.chronic for m in members)),
        "serious": float(sum(m.health in (Health.serious_illness, Health.disabled) for m in members)),
        "lifted": float(household.household_type == HouseholdType.lifted),
        "safety_net": safety_net,
    }
    if not reports:
        return OrmHousehold(columns, model)
    incomes = [
        PeriodIncome(
            r.id,
            r.period_start,
            r.period_end,
            net_income(r.wages, r.business, r.property, r.transfer, r.production_cost, r.insurance_payout),
        )
        for r in reports
    ]
    latest, target = reports[-1], incomes[-1]
    months_since = round((as_of - latest.period_end).days / 30.44, 1)
    result = per_capita(target, incomes[:-1], memberships)
    pc = NAN if result.per_capita_net_income is None else float(result.per_capita_net_income)

    def pc_of(i: int) -> float:
        value = per_capita(incomes[i], incomes[:i], memberships).per_capita_net_income
        return NAN if value is None else float(value)

    year_ago = add_months(latest.period_end, -12)
    previous = [
        (abs((p.period_end - year_ago).days), i)
        for i, p in enumerate(incomes[:-1])
        if abs((p.period_end - year_ago).days) <= 7
    ]
    prev_year_pc = pc_of(min(previous)[1]) if previous else NAN
    used_ids = set(result.report_ids)
    used = [r for r in reports if r.id in used_ids]
    since = max(result.window_start, add_months(as_of, -12))
    events = [e for r in reports for e in r.events if since <= e.occurred_on <= as_of]
    largest = max(events, key=lambda e: e.loss, default=None)
    food, clothing = latest.food_secure, latest.clothing_secure
    line = float(policy.line_for(latest.period_end.year))
    annual = float(result.net_income)
    medical = float(sum(r.spending_medical for r in used))
    education = float(sum(r.spending_education for r in used))
    loss = float(sum(e.loss for e in events))
    grade = latest.housing_grade
    housing = NAN if grade is None else float(grade in (HousingGrade.c, HousingGrade.d))
    water = _flag(None if latest.drinking_water_safe is None else not latest.drinking_water_safe)
    columns |= {
        "income_pc": pc,
        "line": line,
        "income_pc_prev": prev_year_pc,
        "size": float(result.household_size),
        "income_total": annual,
        "oop_medical": medical,
        "oop_education": education,
        "event_loss": loss,
        "event_kind": NAN if largest is None else float(EVENT_KINDS.index(largest.kind.value)),
        "housing_unsafe": housing,
        "water_unsafe": water,
        "food_clothing_insecure": NAN
        if food is None and clothing is None
        else float(food is False or clothing is False),
        "months_since_report": months_since,
        "income_covered_share": result.covered_days / ((result.window_end - result.window_start).days + 1),
    }
    per_day = [float(i.net) / ((i.period_end - i.period_start).days + 1) for i in incomes[-4:]]
    size = result.household_size
    sums = _window_sums(reports, used_ids, result.window_start, result.window_end)
    base = abs(sums["total"])
    several = len(incomes) > 1
    model |= {
        "income_pc": pc,
        "line_ratio": pc / line,
        "latest_quarter_ratio": _ratio(per_day[-1] * 365, size) / line,
        "change_1y": _ratio(pc, prev_year_pc) - 1,
        "change_1q": _ratio(pc, pc_of(len(incomes) - 2)) - 1 if several else NAN,
        "volatility": _ratio(float(np.std(per_day)), abs(float(np.mean(per_day)))) if several else NAN,
        "transfer_share": _ratio(sums["transfer"], base),
        "wage_share": _ratio(sums["wages"], base),
        "business_share": _ratio(sums["business"], base),
        "medical_ratio": _ratio(medical, annual),
        "education_ratio": _ratio(education, annual),
        "event_loss_ratio": _ratio(loss, annual),
        "event_count": float(len(events)),
        "size": float(size),
        "housing_unsafe": housing,
        "water_unsafe": water,
        "months_since_report": months_since,
    }
    return OrmHousehold(columns, {k: v if math.isfinite(v) else NAN for k, v in model.items()})


def orm_scorer(as_of: date, sample: list[int]) -> dict[str, Any]:
    """The naive way: one household at a time through the ORM, one result object each; with an active
    model, one prediction (and, when flagged, one explanation) per household."""
    from app.config import get_settings
    from app.db import session_scope
    from app.models import Household, Report, RiskResult
    from app.risk import model as ml
    from app.risk import rules, scorer
    from app.services.platform import policy as policy_service

    started = time.perf_counter()
    levels: dict[int, str] = {}
    # one row per prediction: OpenMP threads only add synchronisation (and, on a busy 2-core machine,
    # stalls of seconds), so the row-by-row scorer predicts on one thread
    with threadpool_limits(1), session_scope() as session:
        _, policy = policy_service.current_data(session)
        active = scorer._active_model(session, get_settings())
        artifact = active[1] if active else None
        high, medium = float(policy.high_probability), float(policy.medium_probability)
        run = new_run(session, as_of, "bench-orm")
        for hid in sample:
            household = session.get(Household, hid, options=[selectinload(Household.members)])
            assert household is not None
            reports = list(
                session.scalars(
                    select(Report)
                    .options(selectinload(Report.events))
                    .where(Report.household_id == hid, Report.period_end <= as_of)
                    .order_by(Report.period_end, Report.id)
                )
            )
            superseded = {r.supersedes_id for r in reports if r.supersedes_id is not None}
            effective = [r for r in reports if r.id not in superseded]
            features = orm_features(household, effective, as_of, policy)
            frame = {name: np.array([value]) for name, value in features.rules.items()}
            reasons = rules.evaluate(frame, policy)[0]
            level = rules.level_of(reasons)
            score: float | None = None
            factors: list[dict[str, Any]] | None = None
            if artifact is not None and effective:
                X = np.array([[features.model.get(name, NAN) for name in artifact.features]])
                rules_score = np.array([ml.LEVEL_SCORE.get(level or "", 0.0)])
                p = float(artifact.scorer.probabilities(X, rules_score)[0])
                score = round(p, 4)
                model_level: rules.Level | None = "high" if p >= high else "medium" if p >= medium else None
                if model_level or level:
                    factors = ml.explain(artifact, X, np.array([p]))[0]
                if model_level:
                    reasons.append(
                        rules.Reason("model_warning", "其他", model_level, "probability", score, "")
                    )
                    if level != "high":
                        level = model_level
            levels[hid] = level or "low"
            session.add(
                RiskResult(
                    run_id=run.id,
                    household_id=hid,
                    level=level or "low",
                    score=score,
                    reasons=[asdict(r) for r in reasons],
                    reason_codes="|" + "".join(f"{r.code}|" for r in reasons),
                    factors=factors,
                )
            )
        complete(run, started, len(sample))
        run.mode = "model" if artifact is not None else "rules"
    return {"s": time.perf_counter() - started, "levels": levels}


MODEL_QUARTERS = 12  # the model needs outcomes 12 months on, and three periods with one
DONOR_HOUSEHOLDS = 20_000
CHAMPIONS = ("model", "logistic_regression", "distance_to_line", "rules")
FORCED = "FORCED"  # how a forced champion's reason starts (and the report says so)


def _trained_by(champion: str | None) -> str:
    return "bench" if champion is None else f"bench-forced-{champion}"


def _loadable(settings: Any, stored: Any) -> bool:
    from app.risk import model as ml
    from app.risk import training

    try:
        training.load_artifact(settings, stored)
    except ml.ArtifactInvalid as exc:
        say(f"stored model {stored.id} cannot be loaded ({exc})")
        return False
    return True


def _describe(stored: Any) -> dict[str, Any]:
    why = str(stored.evaluation.get("why", ""))
    return {
        "champion": stored.champion,
        "forced": why.startswith(FORCED),
        "why": why,
        "decision": stored.decision,
        "estimator": stored.estimator,
        "train_window": [str(stored.train_from), str(stored.train_to)],
        "examples_train": stored.examples_train,
    }


def train_forced(settings: Any, champion: str | None) -> Any:
    """training.train as the service runs it; with `champion`, the contest's choice is overridden (every
    scorer is still fitted and judged on the folds, the forced one is installed and says so)."""
    from app.risk import champion as ch
    from app.risk import training

    triggered_by = _trained_by(champion)
    if champion is None:
        return training.train(_sessions(), settings, triggered_by=triggered_by).model
    chosen = ch.choose

    def forced(comparison: dict[str, Any]) -> tuple[str, str]:
        natural, why = chosen(comparison)
        return champion, f"{FORCED} by bench/risk_scoring.py --champion {champion} (the folds chose {why})"

    ch.choose = forced
    try:
        return training.train(_sessions(), settings, triggered_by=triggered_by).model
    finally:
        ch.choose = chosen


def ensure_model(
    district: District, data_dir: Path, households: int, retrain: bool, champion: str | None
) -> dict[str, Any]:
    """An active champion in the district, chosen as the service chooses it (training.train: the model
    and every baseline on rolling-origin folds), so scoring runs use it and record drift against its
    training window as in production. Trained on the district itself when its history allows (and no
    champion is forced); when it does not (8 quarters are too few: outcomes are 12 months on), on a donor
    district with 12 quarters (SQLite, kept in data_dir), whose model row — every column, the signed
    artifact, the training's figures and decision — and its drift reference (the training profile) are
    then copied here. --champion NAME forces the contest's choice (figures so produced are FORCED)."""
    from app.config import get_settings
    from app.db import session_scope
    from app.models import RiskModel, RiskProfile
    from app.risk import model as ml
    from app.risk import training

    settings = get_settings()
    wanted = _trained_by(champion)
    with session_scope() as session:
        stored = training.active_model(session)
        if (
            stored is not None
            and not retrain
            and stored.created_by == wanted
            and (champion is None or stored.champion == champion)
            and _loadable(settings, stored)
        ):
            return {"model": f"reused model {stored.id} ({stored.created_by})", **_describe(stored)}
    started = time.perf_counter()
    if champion is None:
        say("training on the district itself (champion as training chooses it)")
        try:
            model = train_forced(settings, None)
            if model.status != "active":
                raise SystemExit(f"training left model {model.id} {model.status}: {model.decision}")
            return {
                "model": f"trained model {model.id} on the district",
                "train_s": time.perf_counter() - started,
                **_describe(model),
            }
        except (ml.ColdStart, ValueError) as exc:  # (ValueError: a history too short for the split)
            say(f"  not trainable here: {type(exc).__name__}: {exc}")

    size = min(DONOR_HOUSEHOLDS, max(households, 2000))
    donor = data_dir / f"shouwang_bench_model_donor_{size_label(size)}.db"
    say(f"the champion from a donor district {donor} ({size:,} × {MODEL_QUARTERS} quarters)")
    configure(f"sqlite:///{donor}")
    try:
        migrate(f"sqlite:///{donor}")
        if household_count() < size:
            generate_quarters(size, size, base_seed=7, quarters=MODEL_QUARTERS)
        model = None
        with session_scope() as session:
            found = session.scalars(
                select(RiskModel).where(RiskModel.created_by == wanted).order_by(RiskModel.id.desc())
            ).first()
            if found is not None and not retrain and _loadable(settings, found):
                model = found
                session.expunge(model)
        trained = model is None
        if model is None:
            say(f"  training ({wanted})")
            model = train_forced(settings, champion)
        if trained and model.status != "active":
            say(f"  (in the donor, model {model.id} is {model.status}: {model.decision}; installed anyway)")
        fields = {c.key: getattr(model, c.key) for c in RiskModel.__table__.columns if c.key != "id"}
        with session_scope() as session:
            reference = session.scalars(
                select(RiskProfile).where(RiskProfile.kind == "training", RiskProfile.model_id == model.id)
            ).one()
            profile = {
                c.key: getattr(reference, c.key)
                for c in RiskProfile.__table__.columns
                if c.key not in ("id", "model_id")
            }
        donor_id = model.id
        described = _describe(model)
    finally:
        dispose()
        configure(district.url)
    elapsed = time.perf_counter() - started
    with session_scope() as session:
        for old in session.scalars(select(RiskModel).where(RiskModel.status == "active")):
            old.status = "retired"
        session.flush()
        installed = RiskModel(**(fields | {"status": "active"}))
        session.add(installed)
        session.flush()
        session.add(RiskProfile(**(profile | {"model_id": installed.id})))
        model_id = installed.id
    return {
        "model": f"model {model_id} ({wanted}), trained on donor {donor} (model {donor_id} there)",
        "train_s": elapsed,
        **described,
    }


def sample_ids(size: int) -> list[int]:
    """`size` households spread evenly over the district's ids."""
    from app.db import session_scope
    from app.models import Household

    with session_scope() as session:
        ids = list(session.scalars(select(Household.id).order_by(Household.id)))
    if size >= len(ids):
        return ids
    return [ids[int(i)] for i in np.linspace(0, len(ids) - 1, size)]


def levels_of_run(run_id: int, ids: list[int]) -> dict[int, str]:
    from app.db import session_scope
    from app.models import RiskResult

    out: dict[int, str] = {}
    with session_scope() as session:
        for offset in range(0, len(ids), 1000):
            chunk = ids[offset : offset + 1000]
            rows = session.execute(
                select(RiskResult.household_id, RiskResult.level).where(
                    RiskResult.run_id == run_id, RiskResult.household_id.in_(chunk)
                )
            )
            out |= {int(hid): str(level) for hid, level in rows.tuples()}
    return out


# ---- measuring ----------------------------------------------------------------------------------------


def measure(
    label: str,
    step: Callable[[], dict[str, Any]],
    repeats: int,
    after: Callable[[], None],
    *,
    keep_last: bool = False,
) -> list[dict[str, Any]]:
    """One warm-up, then `repeats` timed runs; `after` (untimed) runs after each (but the last, if
    keep_last)."""
    results = []
    for i in range(repeats + 1):
        server_before, python_before = server_cpu(), time.process_time()
        outcome = step() | cpu_since(python_before, server_before)
        say(
            f"  {label} {'warm-up' if i == 0 else f'run {i}'}: {outcome['s']:.2f} s (CPU: Python "
            f"{outcome['cpu_python_s']:.1f} s, PostgreSQL {outcome['cpu_server_s']:.1f} s)"
            + (f" mode {outcome['mode']}, champion {outcome['champion']}" if "mode" in outcome else "")
        )
        if i:
            results.append(outcome)
        if not (keep_last and i == repeats):
            after()
    return results


def profile_end_to_end(as_of: date, top: int, path: Path | None) -> str:
    from app.risk import scorer

    profiler = cProfile.Profile()
    profiler.enable()
    run = scorer.score_all(_sessions(), _settings(), as_of=as_of, triggered_by="bench")
    profiler.disable()
    if path is not None:
        profiler.dump_stats(path)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    return f"profiled run: {run.duration_ms} ms (under cProfile)\n" + out.getvalue()


def median(results: list[dict[str, Any]], key: str = "s") -> float:
    return float(statistics.median(r[key] for r in results))


def run(args: argparse.Namespace) -> dict[str, Any]:
    households: int = args.households
    data_dir = args.data_dir or (
        DEFAULT_DATA_DIR if households >= SMALL else Path(tempfile.gettempdir()) / "shouwang-bench-risk"
    )
    district = district_for(args.database, households, data_dir)
    say(f"district {district.name} ({district.url}), dump {district.dump}")
    prepare(district, households, args.chunk, args.seed, args.rebuild)
    say(f"district ready: {district.built}")
    SERVER_DATABASE[:] = [district.name] if district.kind == "postgresql" else []
    if args.build_only:
        dispose()
        return {"district": district.built}
    if args.model:
        district.built |= ensure_model(district, data_dir, households, args.retrain, args.champion)
    delete_bench_runs(district)
    as_of = args.as_of or last_report_day() + timedelta(days=1)
    load_before = os.getloadavg()[0]

    def cleanup() -> None:
        delete_bench_runs(district)

    say(f"end to end: score_all(as_of={as_of})")
    # the last run's results stay for comparing the ORM scorer's levels
    e2e_runs = measure("end to end", lambda: end_to_end(as_of), args.repeats, cleanup, keep_last=True)
    no_drift_runs: list[dict[str, Any]] = []
    if args.drift_cost:
        say("end to end without drift recording (--drift-cost)")
        kept = e2e_runs[-1]["run_id"]  # (the kept run's results stay; these runs are removed one by one)
        no_drift_runs = measure(
            "end to end, no drift",
            lambda: end_to_end(as_of, drift=False),
            args.repeats,
            lambda: delete_bench_run_ids(district, exclude=kept),
        )
    sample = sample_ids(args.orm_sample)
    say(f"ORM scorer on {len(sample):,} households")
    orm_runs = measure(
        "ORM",
        lambda: orm_scorer(as_of, sample),
        args.repeats,
        lambda: delete_bench_runs(district, ["bench-orm"]),
    )
    reference = levels_of_run(e2e_runs[-1]["run_id"], sample)
    orm_levels: dict[int, str] = orm_runs[-1]["levels"]
    agree = sum(1 for hid in sample if reference.get(hid) == orm_levels[hid])
    cleanup()
    say("floor: the scorer's chunked reader + one result row per household (its COPY writer)")
    floor_runs = measure("floor", lambda: floor(as_of), args.repeats, cleanup)
    profile = profile_end_to_end(as_of, args.profile_top, args.profile) if args.profile_top else ""
    cleanup()
    dispose()

    e2e, floor_s, orm_sample_s = median(e2e_runs), median(floor_runs), median(orm_runs)
    orm_s = orm_sample_s * households / len(sample)
    return {
        "database": args.database,
        "households": households,
        "as_of": as_of.isoformat(),
        "district": district.built,
        "end_to_end_s": e2e,
        "end_to_end_runs_s": [r["s"] for r in e2e_runs],
        "end_to_end_duration_ms": [r["duration_ms"] for r in e2e_runs],
        "mode": e2e_runs[-1]["mode"],
        "runs": [
            {k: r[k] for k in ("run_id", "mode", "champion", "model_version", "drift", "s", "duration_ms")}
            | {"cpu_python_s": round(r["cpu_python_s"], 2), "cpu_server_s": round(r["cpu_server_s"], 2)}
            for r in e2e_runs
        ],
        "end_to_end_cpu_python_s": median(e2e_runs, "cpu_python_s"),
        "end_to_end_cpu_server_s": median(e2e_runs, "cpu_server_s"),
        "floor_cpu_python_s": median(floor_runs, "cpu_python_s"),
        "floor_cpu_server_s": median(floor_runs, "cpu_server_s"),
        "no_drift_s": median(no_drift_runs) if no_drift_runs else None,
        "no_drift_runs_s": [r["s"] for r in no_drift_runs],
        "no_drift_cpu_python_s": median(no_drift_runs, "cpu_python_s") if no_drift_runs else None,
        "no_drift_recorded": [r["drift"] for r in no_drift_runs],
        "forced": args.champion is not None,
        "flagged": {"high": e2e_runs[-1]["high"], "medium": e2e_runs[-1]["medium"]},
        "floor_s": floor_s,
        "floor_runs_s": [r["s"] for r in floor_runs],
        "floor_read_s": median(floor_runs, "read_s"),
        "rows_read": {k: floor_runs[-1][k] for k in ("reports", "members", "events")},
        "orm_sample": len(sample),
        "orm_sample_s": orm_sample_s,
        "orm_runs_s": [r["s"] for r in orm_runs],
        "orm_extrapolated_s": orm_s,
        "orm_agreement": agree / len(sample) if sample else NAN,
        "ratio_end_to_end_to_floor": e2e / floor_s,
        "ratio_orm_to_end_to_end": orm_s / e2e,
        "profile": profile,
        "command": shlex.join(sys.orig_argv),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
    }


def report(result: dict[str, Any]) -> str:
    n = result["households"]
    e2e, floor_s, orm_s = result["end_to_end_s"], result["floor_s"], result["orm_extrapolated_s"]
    us = 1e6 / n
    lines = [
        f"database: {result['database']}  households: {n:,} × {QUARTERS} quarterly reports "
        f"(reports {result['rows_read']['reports']:,}, members {result['rows_read']['members']:,}, "
        f"events {result['rows_read']['events']:,})  as_of: {result['as_of']}  mode: {result['mode']}"
        + (f", champion {result['runs'][-1]['champion']}" if result["runs"][-1]["champion"] else "")
        + (" (FORCED)" if result["forced"] else ""),
        f"command: {result['command']}",
        "",
        "| figure | median s | µs per household | end-to-end ÷ floor | ORM ÷ end-to-end |",
        "|---|---|---|---|---|",
        f"| end to end (`score_all`) | {e2e:.2f} | {e2e * us:.1f} | "
        f"**{result['ratio_end_to_end_to_floor']:.2f}×** | |",
        "| floor (read columns + bulk-write one row per household) | "
        f"{floor_s:.2f} | {floor_s * us:.1f} | 1 | |",
        f"| ORM row by row, extrapolated from {result['orm_sample']:,} households "
        f"({result['orm_sample_s']:.2f} s) | {orm_s:.0f} | {orm_s * us:.0f} | | "
        f"**{result['ratio_orm_to_end_to_end']:.0f}×** |",
        "",
        f"runs (s): end to end {_list(result['end_to_end_runs_s'])}; floor {_list(result['floor_runs_s'])} "
        f"(read {result['floor_read_s']:.2f}); ORM sample {_list(result['orm_runs_s'])}",
        f"machine: {result['cpus']} CPUs; 1-minute load average {result['load_average'][0]} before "
        f"measuring, {result['load_average'][1]} after (other work on the machine skews the times)",
        f"flagged: {result['flagged']}; ORM levels agree with score_all on {result['orm_agreement']:.1%} "
        "of the sample",
        f"CPU per run (median): end to end Python {result['end_to_end_cpu_python_s']:.1f} s + PostgreSQL "
        f"{result['end_to_end_cpu_server_s']:.1f} s; floor Python {result['floor_cpu_python_s']:.1f} s + "
        f"PostgreSQL {result['floor_cpu_server_s']:.1f} s",
        "end-to-end runs (read back from risk_run and risk_profile): "
        + "; ".join(_run_line(r, result["forced"]) for r in result["runs"]),
    ]
    if result["no_drift_s"] is not None:
        cost = e2e - result["no_drift_s"]
        lines.append(
            f"drift recording's cost (--drift-cost): end to end without it {result['no_drift_s']:.2f} s "
            f"(runs {_list(result['no_drift_runs_s'])}; Python CPU {result['no_drift_cpu_python_s']:.1f} s; "
            f"profiles stored: {sum(1 for d in result['no_drift_recorded'] if d)}), so recording costs "
            f"{cost:+.2f} s ({cost / result['no_drift_s']:+.1%})"
        )
    built = result["district"]
    if "generate_s" in built:
        lines.append(
            f"district generated this run: {built['generated_households']:,} households in "
            f"{built['generate_s']:.0f} s ({built['generate_households_per_s']:.0f} households/s)"
        )
    if "model" in built:
        trained = f", trained in {built['train_s']:.0f} s" if "train_s" in built else ""
        lines.append(f"model: {built['model']}{trained}")
        forced = "FORCED " if built.get("forced") else ""
        lines.append(
            f"champion: {forced}{built.get('champion')} ({built.get('estimator')}); why: {built.get('why')}; "
            f"decision: {built.get('decision')}"
        )
    lines.append(
        f"district: {built.get('source')}; dump {built.get('dump')} ({built.get('dump_bytes', 0):,} bytes)"
    )
    scale = TARGET_HOUSEHOLDS / n
    at_target = e2e * scale
    applies = "" if result["database"] == "postgresql" else " (the targets are for PostgreSQL; for reference)"
    lines += [
        "",
        f"targets{applies}:",
        f"- end to end ≤ {TARGET_SECONDS:.0f} s for {TARGET_HOUSEHOLDS:,} households: "
        + (f"{e2e:.1f} s" if scale == 1 else f"{at_target:.1f} s extrapolated linearly from {n:,}")
        + f" → {'met' if at_target <= TARGET_SECONDS else 'NOT met'}",
        f"- end to end ≤ {TARGET_FLOOR_RATIO:.0f}× the floor: {result['ratio_end_to_end_to_floor']:.2f}× → "
        f"{'met' if result['ratio_end_to_end_to_floor'] <= TARGET_FLOOR_RATIO else 'NOT met'}",
        f"- ≥ {TARGET_ORM_RATIO:.0f}× faster than the ORM path: {result['ratio_orm_to_end_to_end']:.0f}× → "
        f"{'met' if result['ratio_orm_to_end_to_end'] >= TARGET_ORM_RATIO else 'NOT met'}",
    ]
    return "\n".join(lines)


def _run_line(run: dict[str, Any], forced: bool) -> str:
    champion = (run["champion"] or "—") + (" (FORCED)" if forced and run["champion"] else "")
    drift = run["drift"]
    recorded = (
        f"drift recorded ({drift['rows']:,} households, reference profile {drift['reference_id']})"
        if drift
        else "drift NOT recorded"
    )
    return (
        f"run {run['run_id']}: mode {run['mode']}, champion {champion}, {recorded}, {run['s']:.2f} s, "
        f"CPU {run['cpu_python_s']:.1f} s Python + {run['cpu_server_s']:.1f} s PostgreSQL"
    )


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure (after one warm-up)")
    parser.add_argument("--orm-sample", type=int, default=2000, help="households the ORM scorer scores")
    parser.add_argument("--data-dir", type=Path, default=None, help="where the district and its dump live")
    parser.add_argument("--chunk", type=int, default=20_000, help="households generated per transaction")
    parser.add_argument("--seed", type=int, default=1, help="base seed of the district")
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="default: after the last report"
    )
    parser.add_argument("--rebuild", action="store_true", help="drop the district and its dump first")
    parser.add_argument(
        "--no-model",
        dest="model",
        action="store_false",
        help="do not train the early-warning model (by default one is trained once per district)",
    )
    parser.add_argument("--retrain", action="store_true", help="train a new model even if one is active")
    parser.add_argument(
        "--champion",
        choices=CHAMPIONS,
        default=None,
        help="force the champion (by default training's contest chooses it); figures are labelled FORCED",
    )
    parser.add_argument(
        "--drift-cost",
        action="store_true",
        help="also time end-to-end runs without drift recording (what recording the run's profile costs)",
    )
    parser.add_argument(
        "--build-only", action="store_true", help="build (or restore) the district, measure nothing"
    )
    parser.add_argument(
        "--profile-top", type=int, default=0, help="also profile one score_all run; print the top N functions"
    )
    parser.add_argument("--profile", type=Path, default=None, help="save that profile (pstats) here")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    if args.champion is not None and not args.model:
        parser.error("--champion needs a model (not --no-model)")
    if args.households < 1 or args.repeats < 1 or args.orm_sample < 1:
        parser.error("--households, --repeats and --orm-sample must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    result = run(args)
    if args.build_only:
        print(json.dumps(result["district"], default=str))
        return
    print(report(result))
    if result["profile"]:
        print("\n" + result["profile"])
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "profile"}, default=str))


if __name__ == "__main__":
    main()
