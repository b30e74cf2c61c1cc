"""Benchmark: screening coverage of a month over a large district (issue 13, acceptance 7) against a floor.

    .venv/bin/python bench/coverage.py --database sqlite --households 100000
    .venv/bin/python bench/coverage.py --database postgresql --households 100000
    .venv/bin/python bench/coverage.py --database sqlite --households 300 --repeats 1      # smoke test

The district is risk_scoring.py's (households × 8 quarterly reports; built once, dumped outside the repo,
reused). This benchmark never opens it: it works on its own copy (`…_coverage`), restored from the
district's dump (PostgreSQL `pg_restore`, SQLite a file copy) or, with no dump yet, generated into the copy
the same way (campaigns.py's `complete`); there, once, field work is laid over it:
- every household registered before the reports' first period (the build dates them all "now");
- each report sent 0–60 days after its period ended (spread by its id), at 10:00 in the district;
- visits in each of the 12 months up to the measured month, each month --visit-share of the households
  (drawn anew per month, a day drawn in the month), as the recording API stores them.
The month measured is the one 45 days after the last report's period ended (with 8 quarters ending
30 September 2026: November 2026; a report covers the months of its period, so there the covered are the
visited, and the reports are still read to find it).

Figures, medians of --repeats after a warm-up:
- service: `coverage.summary` for the whole county as a district officer (every village, by township,
  the total), in one session; run in turns with the floor;
- API: `GET /api/v1/coverage?month=…` in process (FastAPI's TestClient, a district officer's token);
- village: `GET /api/v1/coverage/villages/{the largest village}?month=…` (its first page of 50);
- stale queue: `GET /api/v1/visits/due` (first page, the county), which reads the visits too now;
- floor: the same month's counts by village as one hand-written SQL statement (a GROUP BY over the
  households, each tested against the month's visited and reporting households; the visits read through
  their (village_code, visited_on) index with the villages' codes written in, as anyone who knows the
  schema would), run by the driver on a connection of its own (no ORM, no policy read).
The floor's counts are compared with the service's, village by village: a floor that read less would show.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import bindparam, create_engine, func, insert, select, text, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import risk_scoring as district_bench  # noqa: E402
from bench.campaigns import complete, copy_of  # noqa: E402

TRIGGER = "bench-coverage"
PASSWORD = "bench-coverage-password"
OFFICER = "bench-coverage-officer"
HISTORY_MONTHS = 12
say = district_bench.say


def measured_month() -> date:
    """The first day of the month 45 days after the last report's period ended (at the latest, this
    month: a month not begun is refused)."""
    from app.clock import local_today

    day = min(district_bench.last_report_day() + timedelta(days=45), local_today())
    return day.replace(day=1)


def months_back(first: date, n: int) -> date:
    from app.clock import add_months

    return add_months(first, -n)


def lay_field_work(kind: str, month: date, share: float, seed: int) -> dict[str, Any]:
    """Registration dates, report sending dates and a year of visits, once per copy (see the docstring)."""
    from app.db import session_scope
    from app.models import Base, Household, Report, Visit

    with session_scope() as session:
        if session.scalar(select(func.count()).select_from(Visit)):
            return {"laid": False}
        first_period = session.scalar(select(func.min(Report.period_start)))
        assert first_period is not None
        registered = datetime.combine(first_period - timedelta(days=30), datetime.min.time(), UTC)
        started = time.perf_counter()
        session.execute(update(Household).values(created_at=registered))
        # 10:00 in the district (UTC+8) is 02:00 UTC
        if kind == "postgresql":
            session.execute(
                text(
                    "UPDATE report SET created_at = (period_end"
                    " + make_interval(days => ((id::bigint * 7919) % 61)::int) + interval '2 hours')"
                    " AT TIME ZONE 'UTC'"
                )
            )
        else:
            session.execute(
                text(
                    "UPDATE report SET created_at = datetime(period_end,"
                    " '+' || ((id * 7919) % 61) || ' days', '+2 hours') || '.000000'"
                )
            )
        dated_s = time.perf_counter() - started
        households = session.execute(
            select(Household.id, Household.village_code).order_by(Household.id)
        ).all()
        ids = np.array([h for h, _ in households], dtype=np.int64)
        villages = [v for _, v in households]
        rng = np.random.default_rng(seed)
        table = Base.metadata.tables["visit"]
        columns = (
            *("household_id", "village_code", "visited_on", "kind", "visitors", "findings", "flags"),
            *("client_ref", "body_hash", "recorded_at"),
        )
        recorded = datetime.now(UTC)
        count, started = 0, time.perf_counter()
        for back in range(HISTORY_MONTHS):
            first = months_back(month, back)
            days = (months_back(first, -1) - first).days
            chosen = np.flatnonzero(rng.random(len(ids)) < share)
            on = rng.integers(0, days, len(chosen))
            rows: list[tuple[Any, ...]] = [
                (
                    int(ids[i]),
                    villages[i],
                    first + timedelta(days=int(d)),
                    "routine",
                    ["李文"],
                    "",
                    [],
                    f"bench-{first:%Y%m}-{int(ids[i])}",
                    "0" * 64,
                    recorded,
                )
                for i, d in zip(chosen.tolist(), on.tolist(), strict=True)
            ]
            _insert(session, table, columns, rows)
            count += len(rows)
        say(f"  laid {count:,} visits over {HISTORY_MONTHS} months in {time.perf_counter() - started:.1f} s")
    return {"laid": True, "visits": count, "dated_s": dated_s}


def _insert(session: Any, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    from app import bulk

    for start in range(0, len(rows), 20_000):
        part = rows[start : start + 20_000]
        if session.connection().dialect.name == "postgresql":
            bulk.copy_tuples(session, table, columns, part)
        else:
            session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in part])


def county_code() -> str:
    from app.db import session_scope
    from app.models import Region
    from app.models.enums import RegionLevel

    with session_scope() as session:
        code = session.scalar(select(Region.code).where(Region.level == RegionLevel.county))
    assert code is not None
    return code


def ensure_officer(county: str) -> None:
    from app.config import get_settings
    from app.db import session_scope
    from app.models import User
    from app.models.enums import Role
    from app.schemas.users import UserCreate
    from app.services.platform import users
    from app.services.platform.access import Actor

    with session_scope() as session:
        if session.scalar(select(User.id).where(User.username == OFFICER)) is None:
            users.create(
                session,
                get_settings(),
                Actor.system(TRIGGER),
                UserCreate(
                    username=OFFICER, password=PASSWORD, role=Role.district_officer, region_code=county
                ),
            )


FLOOR_SQL = """
SELECT h.village_code,
       COUNT(*) AS registered,
       SUM(CASE WHEN h.id IN (SELECT household_id FROM visit WHERE village_code IN :villages
                    AND visited_on >= :first AND visited_on <= :last) THEN 1 ELSE 0 END) AS visited,
       SUM(CASE WHEN h.id IN (SELECT household_id FROM visit WHERE village_code IN :villages
                    AND visited_on >= :first AND visited_on <= :last) THEN 0
                WHEN h.id IN (SELECT r.household_id FROM report r
                    WHERE r.period_start <= :last AND r.period_end >= :first
                    AND NOT EXISTS (SELECT 1 FROM report n WHERE n.supersedes_id = r.id)) THEN 1
                ELSE 0 END) AS reported_only
FROM household h
WHERE h.created_at < :end_at
GROUP BY h.village_code
"""


FLOOR = text(FLOOR_SQL).bindparams(bindparam("villages", expanding=True))


def floor_once(connection: Any, params: dict[str, Any]) -> tuple[float, dict[str, tuple[int, int, int]]]:
    """The floor on the driver's connection (no ORM, no session); the month's bounds as the district's
    midnights in UTC, in the form each database stores them."""
    started = time.perf_counter()
    rows = connection.execute(FLOOR, params).all()
    elapsed = time.perf_counter() - started
    return elapsed, {village: (int(n), int(v), int(r)) for village, n, v, r in rows}


def floor_params(kind: str, month: date) -> dict[str, Any]:
    following = months_back(month, -1)
    start_at = datetime.combine(month, datetime.min.time()) - timedelta(hours=8)
    end_at = datetime.combine(following, datetime.min.time()) - timedelta(hours=8)
    bounds: dict[str, Any] = (
        {"start_at": start_at.replace(tzinfo=UTC), "end_at": end_at.replace(tzinfo=UTC)}
        if kind == "postgresql"
        else {
            "start_at": f"{start_at:%Y-%m-%d %H:%M:%S}.000000",
            "end_at": f"{end_at:%Y-%m-%d %H:%M:%S}.000000",
        }
    )
    return bounds | {
        "first": month,
        "last": following - timedelta(days=1),
    }


def timed(name: str, work: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median seconds of `repeats` runs after a warm-up, and the last run's answer."""
    answer = work()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        answer = work()
        times.append(time.perf_counter() - started)
    say(f"  {name}: {statistics.median(times):.3f} s (runs: {', '.join(f'{t:.3f}' for t in times)})")
    return statistics.median(times), answer


def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = args.data_dir or (
        district_bench.DEFAULT_DATA_DIR
        if args.households >= district_bench.SMALL
        else Path(tempfile.gettempdir()) / "shouwang-bench-risk"
    )
    district = district_bench.district_for(args.database, args.households, data_dir)
    current = copy_of(district, "coverage")
    district_bench.configure(current.url)
    district_bench.migrate(current.url)
    complete(current, args.households, args.chunk, args.seed)
    present = district_bench.household_count()
    if present != args.households:
        raise SystemExit(f"{current.name} holds {present:,} households, not {args.households:,}")
    say(f"measuring on {current.name} ({current.built['source']})")
    month = measured_month()
    laid = lay_field_work(current.kind, month, args.visit_share, args.seed)
    if laid["laid"] or "restore_s" in current.built or "generate_s" in current.built:
        district_bench.vacuum(current, analyze_all=True)
    county = county_code()
    ensure_officer(county)

    from fastapi.testclient import TestClient

    from app.config import get_settings
    from app.db import session_scope
    from app.main import create_app
    from app.models import Region
    from app.models.enums import RegionLevel, Role
    from app.services.platform import policy as policy_service
    from app.services.platform.access import Actor
    from app.services.registry import coverage

    label = f"{month:%Y-%m}"
    officer = Actor(None, OFFICER, Role.district_officer, county, RegionLevel.county)
    with session_scope() as session:
        _, policy = policy_service.current_data(session)

    def service() -> coverage.Coverage:
        with session_scope() as session:
            return coverage.summary(session, officer, label, None, None)

    # the service and the floor in turns, so both see the same machine (it is shared and noisy)
    params = floor_params(current.kind, month)
    with session_scope() as session:  # every village's code, as a list written into the statement
        params["villages"] = list(
            session.scalars(select(Region.code).where(Region.level == RegionLevel.village))
        )
    service_times: list[float] = []
    floor_times: list[float] = []
    counts: dict[str, tuple[int, int, int]] = {}
    engine = create_engine(current.url)
    with engine.connect() as connection:
        for _ in range(args.repeats + 1):
            started = time.perf_counter()
            found = service()
            service_times.append(time.perf_counter() - started)
            elapsed, counts = floor_once(connection, params)
            floor_times.append(elapsed)
    engine.dispose()
    service_s, floor_s = statistics.median(service_times[1:]), statistics.median(floor_times[1:])
    say(f"  service (coverage.summary, the county): {service_s:.3f} s; floor: {floor_s:.3f} s")
    got = {
        v.village_code: (v.counts.registered, v.counts.visited, v.counts.reported_only)
        for v in found.villages
        if v.counts.registered
    }
    if got != counts:
        raise SystemExit(f"the floor and the service disagree: {counts} != {got}")
    largest = max(found.villages, key=lambda v: v.counts.registered).village_code

    with TestClient(create_app(get_settings())) as client:
        token = client.post("/api/v1/auth/token", data={"username": OFFICER, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

        def get(path: str) -> Callable[[], Any]:
            def call() -> Any:
                response = client.get(path, headers=headers)
                assert response.status_code == 200, response.text
                return response.json()

            return call

        api_s, answer = timed("API: GET /coverage", get(f"/api/v1/coverage?month={label}"), args.repeats)
        village_s, page = timed(
            "API: GET /coverage/villages/{largest}",
            get(f"/api/v1/coverage/villages/{largest}?month={label}"),
            args.repeats,
        )
        due_s, due = timed("API: GET /visits/due", get("/api/v1/visits/due"), args.repeats)
    assert answer["total"]["registered"] == found.total.registered
    total = found.total
    return {
        "households": args.households,
        "database": args.database,
        "district": current.built,
        "field_work": laid,
        "month": label,
        "villages": len(found.villages),
        "registered": total.registered,
        "visited": total.visited,
        "reported_only": total.reported_only,
        "not_covered": total.not_covered,
        "share": total.share,
        "service_s": service_s,
        "floor_s": floor_s,
        "ratio": service_s / floor_s,
        "api_s": api_s,
        "api_ratio": api_s / floor_s,
        "village_s": village_s,
        "village_total": page["total"],
        "due_s": due_s,
        "due_total": due["total"],
        "load": os.getloadavg()[0],
    }


def report(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"district: {r['households']:,} households on {r['database']}, {r['villages']} villages; "
            f"month {r['month']}",
            f"coverage: {r['registered']:,} registered, {r['visited']:,} visited, {r['reported_only']:,} "
            f"reported on only, {r['not_covered']:,} not covered (share {r['share']:.1%}); "
            "the floor agrees village by village",
            "",
            "| figure (median) | time | ratio to the floor |",
            "|---|---|---|",
            f"| floor: one SQL statement, counts by village | {r['floor_s']:.3f} s | 1 |",
            f"| service: coverage.summary, the county | {r['service_s']:.3f} s | {r['ratio']:.2f}× |",
            f"| API: GET /coverage (in process) | {r['api_s']:.3f} s | {r['api_ratio']:.2f}× |",
            f"| API: GET /coverage/villages/… ({r['village_total']:,} households, first page) "
            f"| {r['village_s']:.3f} s | — |",
            f"| API: GET /visits/due (the county's stale queue: {r['due_total']:,}, first page) "
            f"| {r['due_s']:.3f} s | — |",
            f"(load average at the end: {r['load']:.1f})",
        ]
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--visit-share", type=float, default=0.6, help="households visited in each month")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    if args.households < 1 or args.repeats < 1 or not 0 < args.visit_share <= 1:
        parser.error("--households and --repeats must be positive, --visit-share in (0, 1]")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    result = run(args)
    print(report(result))
    if args.json:
        print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
