"""Benchmark: opening a campaign (集中排查) over the whole county — one task per registered household —
and reading its progress and closing it, against the plain SQL of the same work.

    .venv/bin/python bench/campaigns.py --households 100000                          # PostgreSQL
    .venv/bin/python bench/campaigns.py --database sqlite --households 100000
    .venv/bin/python bench/campaigns.py --database sqlite --households 300 --repeats 1   # smoke test

The district is risk_scoring.py's (`demo.generate`, built once and dumped outside the repo, reused). This
benchmark never opens it: it restores the dump into its own copy (PostgreSQL: database
`<district>_campaigns` by `pg_restore`; SQLite: a copy of the file `<district>_campaigns.db`), or, when
there is no dump yet, generates the same district (same chunks and seeds) into the copy; it migrates the
copy, and adds once, in bulk, what a campaign has to meet: visits (--visit-share of the households
visited in the campaign's period, a third of those twice, and a tenth of the district visited shortly
before it) and closed cases (identifications opened in the period and eliminations confirmed in it, and
some outside it). The campaign's period is the 30 days up to the day the visits were made (the copy's
"today" then) and the 30 after.

Figures, medians of --repeats runs after one warm-up; each run is one transaction rolled back (on
PostgreSQL the table is vacuumed after each run, untimed), so the runs are alike; app and floor runs
alternate:
- open: `campaigns.open_campaign` by a district officer over the whole county (every household), flushed;
  floor: the same work in plain SQL on the driver's connection, written from the schema, not from the
  service: the campaign row, one `INSERT INTO field_task … SELECT` of a task per household (its village and
  the village's township), one `UPDATE field_task … FROM` (the first visit of each household in the period,
  by day then id). Checked once: both give the same tasks (household, village, township, days, visit, day
  done), compared row for row by a digest;
- progress: `campaigns.progress` for the district officer (by township and village); floor: one
  `SELECT max(township_code), village_code, count(*), count(done_on) FROM field_task … GROUP BY
  village_code ORDER BY village_code` (the 12-digit codes sort township by township); checked equal,
  village by village with its township;
- close: `campaigns.close` (the summary by village with cases opened and risks eliminated, frozen);
  floor: that GROUP BY and the two case counts by village in plain SQL; totals checked equal.
Also timed once: opening the campaign that progress and close read, committed (the API's transaction).
"""

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, event, func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import risk_scoring as district_bench  # noqa: E402

say = district_bench.say
CLIENT_REF = "bench-campaign-"  # the visits this benchmark adds (and how it knows they are there)
CASE_SOURCE = "cadre_report"
CAMPAIGN_NAME = "bench 集中排查"
PERIOD_BEFORE, PERIOD_AFTER = 29, 30  # the campaign's days around the day of the visits
TARGET_SECONDS = 10.0  # "seconds, not minutes"
FLOOR_RATIO_TO_PROFILE = 3.0  # an open slower than this (and than a second) is profiled


# ---- the copy of the district and what a campaign meets in it -----------------------------------------


def copy_of(district: district_bench.District, suffix: str = "campaigns") -> district_bench.District:
    """A benchmark's own copy of the district (named after it with `suffix`): restored from the district's
    dump when there is one, else an empty database that `complete` generates the same district into (the
    shared district is never opened: another session may be building it, or hold it at another
    migration)."""
    name = f"{district.name}_{suffix}"
    if district.kind == "postgresql":
        copy = district_bench.District("postgresql", name, district_bench.PG_SERVER + name, district.dump)
        if district_bench.pg_exists(name):
            copy.built = {"source": "existing copy"}
            return copy
        district_bench.run_tool(["createdb", *district_bench.PG_CLI, name])
        if not district.dump.exists():
            copy.built = {"source": "generated"}
            return copy
        started = time.perf_counter()
        restore = ["pg_restore", *district_bench.PG_CLI, "-d", name, "-j", "2", "--no-owner"]
        district_bench.run_tool([*restore, str(district.dump)])
        copy.built = {"source": f"restored {district.dump}", "restore_s": time.perf_counter() - started}
        return copy
    assert district.db_file is not None
    db_file = district.db_file.with_name(f"{name}.db")
    copy = district_bench.District("sqlite", name, f"sqlite:///{db_file}", district.dump, db_file)
    if db_file.exists():
        copy.built = {"source": "existing copy"}
    elif district.dump.exists():
        partial = db_file.with_name(db_file.name + ".partial")
        shutil.copyfile(district.dump, partial)
        partial.replace(db_file)
        copy.built = {"source": f"copied {district.dump}"}
    else:
        copy.built = {"source": "generated"}
    return copy


def complete(copy: district_bench.District, households: int, chunk: int, seed: int) -> None:
    """Generate the district into the copy when it was not restored (or continue an interrupted
    generation): risk_scoring's builder, so the same chunks and seeds (it refreshes the statistics as
    the tables grow, autovacuum being off here)."""
    started, before = time.perf_counter(), district_bench.household_count()
    district_bench.generate_quarters(households, chunk, seed, district_bench.QUARTERS)
    district_bench.vacuum(copy, tables=("member", "member_fact", "household"))
    if district_bench.household_count() != before:
        copy.built |= {
            "generated_households": households - before,
            "generate_s": time.perf_counter() - started,
        }


def ensure_field_data(visit_share: float, seed: int) -> dict[str, Any]:
    """Visits and closed cases, added once in bulk (one transaction); the day the visits lead up to."""
    from app import bulk
    from app.clock import local_today
    from app.db import session_scope
    from app.models import Base, Household, Region, Visit

    with session_scope() as session:
        anchor = session.scalar(
            select(func.max(Visit.visited_on)).where(Visit.client_ref.like(f"{CLIENT_REF}%"))
        )
    if anchor is not None:
        return {"anchor": anchor, "added": False}
    anchor = local_today()
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    with session_scope() as session:
        rows = session.execute(
            select(Household.id, Household.village_code, Region.parent_code)
            .join(Region, Region.code == Household.village_code)
            .order_by(Household.id)
        ).all()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        where = {int(r[0]): (str(r[1]), str(r[2])) for r in rows}
        n = len(ids)
        visited = rng.choice(ids, size=round(visit_share * n), replace=False)
        twice = visited[: len(visited) // 3]
        before = rng.choice(ids, size=round(0.1 * n), replace=False)
        now = datetime.now(UTC)
        visits: list[dict[str, Any]] = []

        def visit(hid: int, day: date, tag: str) -> None:
            visits.append(
                {
                    "household_id": hid,
                    "village_code": where[hid][0],
                    "visited_on": day,
                    "kind": "campaign" if tag == "c" else "routine",
                    "visitors": ["驻村干部"],
                    "findings": "",
                    "flags": [],
                    "client_ref": f"{CLIENT_REF}{tag}-{hid}",
                    "body_hash": hashlib.sha256(f"{tag}-{hid}".encode()).hexdigest(),
                    "recorded_at": now,
                }
            )

        # the period's visits (the last of them on `anchor`), some households twice, the second on the
        # same day or later; and visits before the period, which do not count
        days = rng.integers(0, PERIOD_BEFORE + 1, size=len(visited))
        for hid, back in zip(visited.tolist(), days.tolist(), strict=True):
            visit(hid, anchor - timedelta(days=back), "a")
        visit(int(visited[-1]), anchor, "z")
        for hid, back in zip(twice.tolist(), days[: len(twice)].tolist(), strict=True):
            visit(hid, anchor - timedelta(days=int(rng.integers(0, back + 1))), "c")
        for hid in before.tolist():
            visit(hid, anchor - timedelta(days=PERIOD_BEFORE + 1 + int(rng.integers(0, 60))), "b")
        bulk.insert_rows(session, Base.metadata.tables["visit"], visits)

        # closed cases: identifications opened in the period (3 %) or before it (1 %), eliminations
        # confirmed in it (1 %)
        cases: list[dict[str, Any]] = []
        starts = datetime.combine(anchor - timedelta(days=PERIOD_BEFORE), day_time(4), tzinfo=UTC)
        picked = rng.choice(ids, size=round(0.05 * n), replace=False).tolist()
        for i, hid in enumerate(picked):
            kind, outcome, opened = "identification", "confirmed", starts + timedelta(days=i % 25)
            if i % 5 == 3:
                opened = starts - timedelta(days=40 + i % 20)
            elif i % 5 == 4:
                kind, opened = "elimination", starts - timedelta(days=60)
            closed = starts + timedelta(days=i % 25, hours=6) if kind == "elimination" else opened
            cases.append(
                {
                    "household_id": hid,
                    "village_code": where[hid][0],
                    "township_code": where[hid][1],
                    "source": CASE_SOURCE,
                    "kind": kind,
                    "status": "closed",
                    "step": "district_decision",
                    "outcome": outcome if i % 7 else "rejected",
                    "level": "high",
                    "reasons": [],
                    "opened_at": opened,
                    "step_started_at": opened,
                    "due_at": opened + timedelta(days=30),
                    "decision_due_at": opened + timedelta(days=30),
                    "closed_at": closed + timedelta(days=1) if kind == "identification" else closed,
                    "version": 1,
                }
            )
        bulk.insert_rows(session, Base.metadata.tables["case_file"], cases)
    say(
        f"added {len(visits):,} visits and {len(cases):,} closed cases "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return {"anchor": anchor, "added": True, "visits": len(visits), "cases": len(cases)}


def remove_bench_campaigns(copy: district_bench.District) -> None:
    """The campaigns this benchmark committed (the one progress and close read; an interrupted run's)."""
    from app.db import session_scope
    from app.models import Campaign, FieldTask

    with session_scope() as session:
        ids = list(session.scalars(select(Campaign.id).where(Campaign.name.like(f"{CAMPAIGN_NAME}%"))))
        if ids:
            session.execute(delete(FieldTask).where(FieldTask.campaign_id.in_(ids)))
            session.execute(delete(Campaign).where(Campaign.id.in_(ids)))
    if ids:
        district_bench.vacuum(copy, tables=("field_task", "campaign"))


# ---- the runs ------------------------------------------------------------------------------------------


class Context:
    def __init__(self, copy: district_bench.District, anchor: date) -> None:
        from app.config import get_settings
        from app.db import get_engine, get_sessionmaker
        from app.models import Region
        from app.models.enums import RegionLevel, Role
        from app.services.platform.access import Actor

        self.copy = copy
        self.pg = copy.kind == "postgresql"
        self.settings = get_settings()
        self.engine = get_engine()
        self.sessions = get_sessionmaker()
        self.starts_on = anchor - timedelta(days=PERIOD_BEFORE)
        self.ends_on = anchor + timedelta(days=PERIOD_AFTER)
        with self.sessions() as session:
            county = session.scalars(select(Region.code).where(Region.level == RegionLevel.county)).one()
        self.actor = Actor(None, "bench_district", Role.district_officer, county, RegionLevel.county)
        self.runs = 0

    def body(self) -> Any:
        from app.schemas.fieldwork import CampaignCreate

        self.runs += 1
        return CampaignCreate(
            name=f"{CAMPAIGN_NAME} {self.runs}", starts_on=self.starts_on, ends_on=self.ends_on
        )

    def p(self, sql: str) -> str:
        """The driver's placeholder: written as ? here."""
        return sql.replace("?", "%s") if self.pg else sql

    def after_write(self) -> None:
        if self.pg:
            district_bench.vacuum(self.copy, tables=("field_task", "campaign"))

    def digest(self, cursor: Any, campaign_id: int) -> dict[str, Any]:
        """A digest of the campaign's tasks (every column a campaign sets), in household order."""
        cursor.execute(
            self.p(
                "SELECT household_id, village_code, township_code, opens_on, due_on, visit_id, done_on, kind "
                "FROM field_task WHERE campaign_id = ? ORDER BY household_id"
            ),
            (campaign_id,),
        )
        rows = cursor.fetchall()
        h = hashlib.sha256()
        for row in rows:
            h.update("|".join("" if v is None else str(v) for v in row).encode() + b"\n")
        return {"tasks": len(rows), "done": sum(1 for r in rows if r[6] is not None), "sha256": h.hexdigest()}


def open_app(ctx: Context, check: bool) -> dict[str, Any]:
    from app.services.fieldwork import campaigns

    body = ctx.body()
    session = ctx.sessions()
    try:
        started = time.perf_counter()
        campaign = campaigns.open_campaign(session, ctx.settings, ctx.actor, body)
        session.flush()
        elapsed = time.perf_counter() - started
        out: dict[str, Any] = {"s": elapsed, "tasks": campaign.tasks}
        if check:
            raw = session.connection().connection.driver_connection
            assert raw is not None
            out["digest"] = ctx.digest(raw.cursor(), campaign.id)
    finally:
        session.rollback()
        session.close()
    ctx.after_write()
    return out


def open_floor(ctx: Context, check: bool) -> dict[str, Any]:
    """The same work in plain SQL: the campaign row, a task per household, the first visits in the period."""
    connection = ctx.engine.raw_connection()
    try:
        cursor = connection.cursor()
        if not ctx.pg:
            cursor.execute("BEGIN IMMEDIATE")
        started = time.perf_counter()
        opened_at: Any = datetime.now(UTC)
        if not ctx.pg:
            opened_at = opened_at.replace(tzinfo=None).isoformat(" ")
        s, e = (
            (ctx.starts_on, ctx.ends_on) if ctx.pg else (ctx.starts_on.isoformat(), ctx.ends_on.isoformat())
        )
        cursor.execute(
            ctx.p(
                "INSERT INTO campaign (name, starts_on, ends_on, status, tasks, opened_by, opened_at) "
                "VALUES (?, ?, ?, 'open', 0, ?, ?) RETURNING id"
            ),
            ("bench floor", s, e, "bench_floor", opened_at),
        )
        row = cursor.fetchone()
        assert row is not None
        campaign_id = int(row[0])
        cursor.execute(
            ctx.p(
                "INSERT INTO field_task (kind, household_id, village_code, township_code, campaign_id, "
                "opens_on, due_on) "
                "SELECT 'campaign', h.id, h.village_code, v.parent_code, ?, ?, ? "
                "FROM household h JOIN region v ON v.code = h.village_code"
            ),
            (campaign_id, s, e),
        )
        tasks = cursor.rowcount
        if ctx.pg:
            first = (
                "SELECT DISTINCT ON (household_id) household_id, id, visited_on FROM visit "
                "WHERE visited_on BETWEEN ? AND ? ORDER BY household_id, visited_on, id"
            )
        else:
            first = (
                "SELECT household_id, id, visited_on FROM (SELECT household_id, id, visited_on, "
                "row_number() OVER (PARTITION BY household_id ORDER BY visited_on, id) AS n FROM visit "
                "WHERE visited_on BETWEEN ? AND ?) WHERE n = 1"
            )
        cursor.execute(
            ctx.p(
                f"UPDATE field_task SET visit_id = f.id, done_on = f.visited_on FROM ({first}) AS f "
                "WHERE field_task.campaign_id = ? AND field_task.household_id = f.household_id"
            ),
            (s, e, campaign_id),
        )
        done = cursor.rowcount
        elapsed = time.perf_counter() - started
        out: dict[str, Any] = {"s": elapsed, "tasks": tasks, "done": done}
        if check:
            out["digest"] = ctx.digest(cursor, campaign_id)
    finally:
        connection.rollback()
        connection.close()
    ctx.after_write()
    return out


def open_committed(ctx: Context) -> dict[str, Any]:
    """The campaign progress and close read: opened as the API does, in one committed transaction."""
    from app.services.fieldwork import campaigns

    started = time.perf_counter()
    with ctx.sessions() as session:
        campaign = campaigns.open_campaign(session, ctx.settings, ctx.actor, ctx.body())
        session.commit()
        campaign_id, tasks = campaign.id, campaign.tasks
    elapsed = time.perf_counter() - started
    district_bench.vacuum(ctx.copy, tables=("field_task", "campaign"))
    return {"s": elapsed, "campaign_id": campaign_id, "tasks": tasks}


def progress_app(ctx: Context, campaign_id: int) -> dict[str, Any]:
    from app.services.fieldwork import campaigns

    with ctx.sessions() as session:
        started = time.perf_counter()
        _, villages = campaigns.progress(session, ctx.actor, campaign_id)
        elapsed = time.perf_counter() - started
        session.rollback()
    return {
        "s": elapsed,
        "villages": {v["village_code"]: (v["township_code"], v["tasks"], v["visited"]) for v in villages},
    }


def progress_floor(ctx: Context, campaign_id: int) -> dict[str, Any]:
    connection = ctx.engine.raw_connection()
    try:
        cursor = connection.cursor()
        started = time.perf_counter()
        cursor.execute(
            ctx.p(
                "SELECT max(township_code), village_code, count(*), count(done_on) FROM field_task "
                "WHERE campaign_id = ? GROUP BY village_code ORDER BY village_code"
            ),
            (campaign_id,),
        )
        rows = cursor.fetchall()
        elapsed = time.perf_counter() - started
    finally:
        connection.rollback()
        connection.close()
    return {"s": elapsed, "villages": {str(r[1]): (str(r[0]), int(r[2]), int(r[3])) for r in rows}}


def close_app(ctx: Context, campaign_id: int) -> dict[str, Any]:
    from app.services.fieldwork import campaigns

    session = ctx.sessions()
    try:
        started = time.perf_counter()
        campaign = campaigns.close(session, ctx.settings, ctx.actor, campaign_id)
        session.flush()
        elapsed = time.perf_counter() - started
        assert campaign.summary is not None
        totals = dict(campaign.summary["totals"])
    finally:
        session.rollback()
        session.close()
    ctx.after_write()
    return {"s": elapsed, "totals": totals}


def close_floor(ctx: Context, campaign_id: int) -> dict[str, Any]:
    """Tasks and visited by village, identifications opened and eliminations confirmed in the period by
    village (the district's local days), in plain SQL."""
    from app.clock import district_zone

    def moment(day: date) -> Any:
        at = datetime.combine(day, day_time.min, tzinfo=district_zone()).astimezone(UTC)
        return at if ctx.pg else at.replace(tzinfo=None).isoformat(" ", "microseconds")

    start, end = moment(ctx.starts_on), moment(ctx.ends_on + timedelta(days=1))
    in_scope = "household_id IN (SELECT household_id FROM field_task WHERE campaign_id = ?)"
    connection = ctx.engine.raw_connection()
    try:
        cursor = connection.cursor()
        started = time.perf_counter()
        cursor.execute(
            ctx.p(
                "SELECT village_code, count(*), count(done_on) FROM field_task WHERE campaign_id = ? "
                "GROUP BY village_code"
            ),
            (campaign_id,),
        )
        villages = cursor.fetchall()
        cursor.execute(
            ctx.p(
                f"SELECT village_code, count(*) FROM case_file WHERE {in_scope} AND kind = 'identification' "
                "AND opened_at >= ? AND opened_at < ? GROUP BY village_code"
            ),
            (campaign_id, start, end),
        )
        opened = cursor.fetchall()
        cursor.execute(
            ctx.p(
                f"SELECT village_code, count(*) FROM case_file WHERE {in_scope} AND kind = 'elimination' "
                "AND outcome = 'confirmed' AND closed_at >= ? AND closed_at < ? GROUP BY village_code"
            ),
            (campaign_id, start, end),
        )
        eliminated = cursor.fetchall()
        elapsed = time.perf_counter() - started
    finally:
        connection.rollback()
        connection.close()
    return {
        "s": elapsed,
        "totals": {
            "tasks": sum(int(r[1]) for r in villages),
            "visited": sum(int(r[2]) for r in villages),
            "cases_opened": sum(int(r[1]) for r in opened),
            "risks_eliminated": sum(int(r[1]) for r in eliminated),
        },
    }


def alternate(
    label: str,
    app: Callable[[bool], dict[str, Any]],
    floor: Callable[[bool], dict[str, Any]],
    repeats: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A warm-up of each (checked), then `repeats` runs of each, app and floor alternating; the warm-ups
    are the lists' first items."""
    app_runs, floor_runs = [], []
    for i in range(repeats + 1):
        a = app(i == 0)
        f = floor(i == 0)
        which = "warm-up" if i == 0 else f"run {i}"
        say(f"  {label} {which}: app {a['s']:.3f} s, floor {f['s']:.3f} s")
        app_runs.append(a)
        floor_runs.append(f)
    return app_runs, floor_runs


def profile_open(ctx: Context, top: int) -> str:
    """One open_campaign under cProfile (rolled back), and where its SQL time goes."""
    from app.services.fieldwork import campaigns

    timings: list[tuple[float, str]] = []

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:  # noqa: ARG001
        conn.info["bench_started"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:  # noqa: ARG001
        timings.append((time.perf_counter() - conn.info.pop("bench_started"), " ".join(statement.split())))

    event.listen(ctx.engine, "before_cursor_execute", before)
    event.listen(ctx.engine, "after_cursor_execute", after)
    profiler = cProfile.Profile()
    session = ctx.sessions()
    try:
        profiler.enable()
        started = time.perf_counter()
        campaigns.open_campaign(session, ctx.settings, ctx.actor, ctx.body())
        session.flush()
        elapsed = time.perf_counter() - started
        profiler.disable()
    finally:
        session.rollback()
        session.close()
        event.remove(ctx.engine, "before_cursor_execute", before)
        event.remove(ctx.engine, "after_cursor_execute", after)
    ctx.after_write()
    out = io.StringIO()
    out.write(f"profiled open_campaign: {elapsed:.3f} s (under cProfile); its statements:\n")
    for seconds, statement in sorted(timings, reverse=True)[:8]:
        out.write(f"  {seconds:8.3f} s  {statement[:300]}\n")
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# ---- the benchmark -------------------------------------------------------------------------------------


def median(runs: list[dict[str, Any]], key: str = "s") -> float:
    return float(statistics.median(r[key] for r in runs[1:]))  # runs[0] is the warm-up


def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = args.data_dir or (
        district_bench.DEFAULT_DATA_DIR
        if args.households >= district_bench.SMALL
        else Path(tempfile.gettempdir()) / "shouwang-bench-risk"
    )
    district = district_bench.district_for(args.database, args.households, data_dir)
    copy = copy_of(district)
    district_bench.configure(copy.url)
    district_bench.migrate(copy.url)
    complete(copy, args.households, args.chunk, args.seed)
    present = district_bench.household_count()
    if present != args.households:
        raise SystemExit(f"{copy.name} holds {present:,} households, not {args.households:,}")
    say(f"measuring on {copy.name} ({copy.built['source']})")
    field = ensure_field_data(args.visit_share, args.seed)
    if field["added"] or "restore_s" in copy.built or "generate_s" in copy.built:
        district_bench.vacuum(copy, analyze_all=True)
    remove_bench_campaigns(copy)
    ctx = Context(copy, field["anchor"])
    load_before = os.getloadavg()[0]

    say(f"open: over the county, {ctx.starts_on} … {ctx.ends_on}")
    open_runs, open_floor_runs = alternate(
        "open", lambda c: open_app(ctx, c), lambda c: open_floor(ctx, c), args.repeats
    )
    app_digest, floor_digest = open_runs[0]["digest"], open_floor_runs[0]["digest"]
    committed = open_committed(ctx)
    campaign_id = committed["campaign_id"]
    say(f"  committed open (campaign {campaign_id}): {committed['s']:.3f} s")
    say("progress: the district officer's")
    progress_runs, progress_floor_runs = alternate(
        "progress",
        lambda _: progress_app(ctx, campaign_id),
        lambda _: progress_floor(ctx, campaign_id),
        args.repeats,
    )
    say("close")
    close_runs, close_floor_runs = alternate(
        "close", lambda _: close_app(ctx, campaign_id), lambda _: close_floor(ctx, campaign_id), args.repeats
    )
    load_after = os.getloadavg()[0]
    open_s, open_floor_s = median(open_runs), median(open_floor_runs)
    profile = ""
    slow = open_s > TARGET_SECONDS or (open_s > FLOOR_RATIO_TO_PROFILE * open_floor_s and open_s > 1.0)
    if args.profile_top or slow:
        profile = profile_open(ctx, args.profile_top or 25)
    remove_bench_campaigns(copy)
    district_bench.dispose()

    figures = {
        "open": (open_runs, open_floor_runs),
        "progress": (progress_runs, progress_floor_runs),
        "close": (close_runs, close_floor_runs),
    }
    return {
        "database": args.database,
        "households": args.households,
        "district": district.name,
        "copy": copy.name,
        "copy_built": copy.built,
        "field_data": {k: str(v) if isinstance(v, date) else v for k, v in field.items()},
        "period": [ctx.starts_on.isoformat(), ctx.ends_on.isoformat()],
        "tasks": app_digest["tasks"],
        "done_at_open": app_digest["done"],
        "same_tasks": app_digest == floor_digest,
        "same_progress": progress_runs[-1]["villages"] == progress_floor_runs[-1]["villages"],
        "villages": len(progress_runs[-1]["villages"]),
        "close_totals": close_runs[-1]["totals"],
        "same_close_totals": close_runs[-1]["totals"] == close_floor_runs[-1]["totals"],
        "committed_open_s": committed["s"],
        "figures": {
            name: {
                "s": median(app_runs),
                "floor_s": median(floor_runs),
                "ratio": median(app_runs) / median(floor_runs),
                "runs_s": [r["s"] for r in app_runs[1:]],
                "floor_runs_s": [r["s"] for r in floor_runs[1:]],
                "warm_up_s": [app_runs[0]["s"], floor_runs[0]["s"]],
            }
            for name, (app_runs, floor_runs) in figures.items()
        },
        "profile": profile,
        "command": shlex.join(sys.orig_argv),
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "cpus": os.cpu_count(),
    }


LABELS = {
    "open": "open over the county (`open_campaign`, rolled back) | floor: INSERT … SELECT + UPDATE … FROM",
    "progress": "progress, district officer (`progress`) | floor: one GROUP BY count over field_task",
    "close": "close (`close`, rolled back) | floor: the GROUP BY + two case counts by village",
}


def report(result: dict[str, Any]) -> str:
    n = result["households"]
    open_s = result["figures"]["open"]["s"]
    lines = [
        f"database: {result['database']}  households: {n:,} ({result['villages']} villages)  "
        f"copy: {result['copy']} ({result['copy_built'].get('source')})",
        f"command: {result['command']}",
        f"campaign period {result['period'][0]} … {result['period'][1]}: {result['tasks']:,} tasks, "
        f"{result['done_at_open']:,} done at opening by visits already made in the period",
        "",
        "| figure | floor | median s | floor median s | ratio to the floor |",
        "|---|---|---|---|---|",
    ]
    for name, f in result["figures"].items():
        label, floor_label = LABELS[name].split(" | ")
        lines.append(
            f"| {label} | {floor_label} | {f['s']:.3f} | {f['floor_s']:.3f} | **{f['ratio']:.2f}×** |"
        )
    lines += [
        "",
        "runs (s): "
        + "; ".join(
            f"{name} {_list(f['runs_s'])} (floor {_list(f['floor_runs_s'])})"
            for name, f in result["figures"].items()
        ),
        f"committed open (the API's transaction, with its commit): {result['committed_open_s']:.3f} s",
        f"checks: same tasks as the floor (digest of every row): {_yes(result['same_tasks'])}; "
        f"same progress by village: {_yes(result['same_progress'])}; "
        f"same close totals {result['close_totals']}: {_yes(result['same_close_totals'])}",
        f"machine: {result['cpus']} CPUs; 1-minute load average {result['load_average'][0]} before, "
        f"{result['load_average'][1]} after",
        "",
        f"seconds, not minutes (open ≤ {TARGET_SECONDS:.0f} s): {open_s:.2f} s → "
        + ("holds" if open_s <= TARGET_SECONDS else "does NOT hold"),
    ]
    return "\n".join(lines)


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (after one warm-up)")
    parser.add_argument("--visit-share", type=float, default=0.3, help="households visited in the period")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile-top",
        type=int,
        default=0,
        help="profile one open and print the top N functions (done anyway when it is slow)",
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    if args.households < 1 or args.repeats < 1 or not 0 < args.visit_share < 1:
        parser.error("--households and --repeats must be positive, --visit-share within (0, 1)")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    result = run(args)
    print(report(result))
    if result["profile"]:
        print("\n" + result["profile"])
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "profile"}, default=str))
    if not (result["same_tasks"] and result["same_progress"] and result["same_close_totals"]):
        raise SystemExit("the app and the floor disagree (see checks)")


if __name__ == "__main__":
    main()
