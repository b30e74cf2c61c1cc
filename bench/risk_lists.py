"""Benchmark: the weekly risk list of a large district — generation, and export time and peak memory for
JSON, CSV and XLSX — against the floor of reading the same columns with the database's own bulk reader.

    .venv/bin/python bench/risk_lists.py --households 1000000             # PostgreSQL, the issue's figure
    .venv/bin/python bench/risk_lists.py --households 100000              # the CSV memory reference
    .venv/bin/python bench/risk_lists.py --database sqlite --households 1000 --repeats 1   # smoke test

The district is risk_scoring.py's (built once, dumped outside the repo, reused). This benchmark works on
a copy of it (PostgreSQL: `CREATE DATABASE … TEMPLATE`; SQLite: a file copy), so the scoring benchmark's
district stays as it was. On the copy, once: a scoring run (rules, or the district's model if it has
one) and the cases its high flags open (`cases.open_for_run`, timed: the first figure of opening cases at
this scale). Then:
- generation: `risk_list_generation.generate` of one week (regenerated with force; the superseded lists are
  deleted after each run), median of --repeats after a warm-up;
- export: `shouwang lists export --format F` in a child process per run (wall time, and the child's peak
  RSS from wait4), the whole county, median of --repeats after a warm-up;
- floor: the same columns of the same entries, in the same order, read with `COPY (SELECT …) TO STDOUT`
  (PostgreSQL; SQLite: one cursor over the same SELECT), in a child process likewise;
- first byte: the CSV over HTTP from `shouwang serve` (a district officer's token), time to the first
  chunk and to the last.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, delete, func, select, text, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import risk_scoring as district_bench  # noqa: E402

TRIGGER = "bench-lists"
FORMATS = ("csv", "json", "xlsx")
FLOOR_COLUMNS = (
    "household_id, household_no, township_code, township_name, village_code, village_name, address, "
    "head_name, head_id_masked, household_type, monitoring_category, monitoring_status, level, score, "
    "reasons, reason_codes, risk_types, case_id, case_step, case_days_open, overdue, measures, change, "
    "previous_level, resolved_reason, helper_name"
)
FLOOR_ORDER = "township_code, village_code, household_no, household_id"
say = district_bench.say


def copy_of(district: district_bench.District, share: float | None) -> district_bench.District:
    """This benchmark's own copy of the district (made once, then reused; one per --list-share)."""
    name = f"{district.name}_lists" + (f"{round(share * 100)}" if share else "")
    if district.kind == "postgresql":
        copy = district_bench.District("postgresql", name, district_bench.PG_SERVER + name, district.dump)
        if not district_bench.pg_exists(name):
            district_bench.dispose()
            admin = create_engine(district_bench.PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{district.name}"'))
            admin.dispose()
        return copy
    assert district.db_file is not None
    db_file = district.db_file.with_name(f"{name}.db")
    if not db_file.exists():
        shutil.copyfile(district.db_file, db_file)
    return district_bench.District("sqlite", name, f"sqlite:///{db_file}", district.dump, db_file)


def ensure_run_and_cases(households: int, share: float | None) -> dict[str, Any]:
    """A completed scoring run (trimmed to `share`, see trim) and the cases of its high flags (once per
    copy)."""
    from app.config import get_settings
    from app.db import get_sessionmaker, session_scope
    from app.models import Case, RiskRun
    from app.risk import scorer
    from app.services.cases import cases

    facts: dict[str, Any] = {}
    with session_scope() as session:
        run = session.scalars(
            select(RiskRun).where(RiskRun.status == "completed").order_by(RiskRun.id.desc()).limit(1)
        ).first()
        has_cases = bool(session.scalar(select(func.count()).select_from(Case)))
    if run is None:
        as_of = district_bench.last_report_day() + timedelta(days=1)
        say(f"scoring the district as of {as_of}")
        started = time.perf_counter()
        run = scorer.score_all(get_sessionmaker(), get_settings(), as_of=as_of, triggered_by=TRIGGER)
        facts["score_s"] = time.perf_counter() - started
        if share:
            facts["trimmed"] = trim(run.id, households, share)
    if not has_cases:
        say("opening the cases of the run's high flags")
        started = time.perf_counter()
        facts["open_cases"] = cases.open_for_run(get_sessionmaker(), get_settings(), run.id)
        facts["open_cases_s"] = time.perf_counter() - started
    district_bench.vacuum(current, analyze_all=True)
    with session_scope() as session:
        run = session.get(RiskRun, run.id)
        assert run is not None
        facts |= {"run_id": run.id, "mode": run.mode, "high": run.flagged_high, "medium": run.flagged_medium}
    facts["flagged_share"] = (run.flagged_high + run.flagged_medium) / households
    return facts


def trim(run_id: int, households: int, share: float) -> int:
    """--list-share: keep the flags of the `share` of households with the highest scores (less the
    monitored ones, who are on the list anyway) and set the rest to low — the list of a district whose
    scorer flags that many. The synthetic district flags about 19 %; the issue's list is 5–10 %."""
    from app.db import session_scope
    from app.models import Household, RiskResult, RiskRun
    from app.models.enums import MonitoringStatus

    with session_scope() as session:
        monitored = session.scalar(
            select(func.count())
            .select_from(Household)
            .where(Household.monitoring_status == MonitoringStatus.monitored)
        )
        keep = max(0, int(share * households) - int(monitored or 0))
        flagged = (
            session.execute(
                select(RiskResult.household_id)
                .where(RiskResult.run_id == run_id, RiskResult.level.in_(("high", "medium")))
                .order_by(
                    RiskResult.score.desc().nulls_last(), (RiskResult.household_id % 10007) * 7919 % 10007
                )
            )
            .scalars()
            .all()
        )
        dropped = flagged[keep:]
        for start in range(0, len(dropped), 10_000):
            session.execute(
                update(RiskResult)
                .where(
                    RiskResult.run_id == run_id, RiskResult.household_id.in_(dropped[start : start + 10_000])
                )
                .values(level="low")
            )
        by_level = select(RiskResult.level, func.count()).where(RiskResult.run_id == run_id)
        counts: dict[str, int] = {
            str(k): int(n) for k, n in session.execute(by_level.group_by(RiskResult.level))
        }
        session.execute(
            update(RiskRun)
            .where(RiskRun.id == run_id)
            .values(flagged_high=counts.get("high", 0), flagged_medium=counts.get("medium", 0))
        )
    say(f"trimmed the run's flags to the top {keep:,} households by score ({len(dropped):,} set to low)")
    return len(dropped)


def generate_once(week: str) -> dict[str, Any]:
    from app.config import get_settings
    from app.db import session_scope
    from app.services.lists import risk_list_generation
    from app.services.platform.access import Actor

    started = time.perf_counter()
    with session_scope() as session:
        made = risk_list_generation.generate(session, get_settings(), Actor.system(TRIGGER), week, force=True)
        entries, resolved, list_id = made.entries, made.resolved, made.id
    return {"s": time.perf_counter() - started, "entries": entries, "resolved": resolved, "list_id": list_id}


def drop_superseded() -> None:
    from app.db import session_scope
    from app.models import RiskList, RiskListEntry

    with session_scope() as session:
        old = list(session.scalars(select(RiskList.id).where(RiskList.status == "superseded")))
        if old:
            session.execute(delete(RiskListEntry).where(RiskListEntry.list_id.in_(old)))
            session.execute(delete(RiskList).where(RiskList.id.in_(old)))
    district_bench.vacuum(current, tables=("risk_list_entry", "risk_list"))


# Peak memory is the child's own VmHWM (ru_maxrss would carry this process's high-water mark across exec).
REPORT = (
    "hwm = int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024\n"
    "print(json.dumps({'work_s': time.perf_counter() - started, 'rss_mib': hwm}), file=sys.stderr)\n"
)
EXPORT = (
    "import json, sys, time\n"
    "from app.cli import main\n"
    "import app.services.lists.risk_list_export, app.services.lists.risk_list_workbook, tqdm"
    "  # the command's own imports, outside the timing\n"
    "started = time.perf_counter()\n"
    "main(sys.argv[1:], standalone_mode=False)\n" + REPORT
)


def child(code: str, *args: str) -> dict[str, Any]:
    """Run Python `code` in a child process: its wall time, and the time and peak RSS (MiB) it reports
    for its work (after its imports)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"child failed: {done.stderr.decode()[-2000:]}")
    reported: dict[str, Any] = json.loads(done.stderr.decode().strip().splitlines()[-1])
    return {"wall_s": wall, "s": reported["work_s"], "rss_mib": reported["rss_mib"]}


def export_once(week: str, fmt: str, out_dir: Path) -> dict[str, Any]:
    out = out_dir / f"list.{fmt}"
    result = child(EXPORT, "lists", "export", "--week", week, "--format", fmt, "--out", str(out), "--quiet")
    result["bytes"] = out.stat().st_size
    out.unlink()
    return result


def floor_once(district: district_bench.District, list_id: int) -> dict[str, Any]:
    query = f"SELECT {FLOOR_COLUMNS} FROM risk_list_entry WHERE list_id = {list_id} ORDER BY {FLOOR_ORDER}"
    if district.kind == "postgresql":
        read = (
            "import psycopg\n"
            f"with psycopg.connect({district.url.replace('+psycopg', '')!r}) as c, c.cursor() as cur:\n"
            f"    with cur.copy({f'COPY ({query}) TO STDOUT'!r}) as copy:\n"
            "        n = sum(len(block) for block in copy)\n"
        )
    else:
        connect = f"sqlite3.connect({str(district.db_file)!r})"
        read = f"import sqlite3\nn = sum(1 for _ in {connect}.execute({query!r}))\n"
    return child("import json, sys, time\nstarted = time.perf_counter()\n" + read + REPORT)


def first_byte(week: str) -> dict[str, Any]:
    """The CSV over HTTP from a running server: seconds to the first chunk, and to the end."""
    from app.config import get_settings
    from app.db import session_scope
    from app.models import User
    from app.models.enums import Role
    from app.schemas.users import UserCreate
    from app.services.lists import risk_lists
    from app.services.platform import users
    from app.services.platform.access import Actor

    password = "bench-lists-password-1"
    with session_scope() as session:
        county = risk_lists.county_reader(session).region_code
        if session.scalar(select(User.id).where(User.username == "bench_office")) is None:
            users.create(
                session,
                get_settings(),
                Actor.system(TRIGGER),
                UserCreate(
                    username="bench_office", password=password, role=Role.district_officer, region_code=county
                ),
            )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ | {"SHOUWANG_SCHEDULER_IN_PROCESS": "false"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "bench_office", "password": password}, timeout=30
        ).json()["access_token"]
        started = time.perf_counter()
        first = None
        size = 0
        with httpx.stream(
            "GET",
            f"{base}/api/v1/risk-lists/{week}",
            params={"format": "csv"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=600,
        ) as response:
            response.raise_for_status()
            for chunk in response.iter_raw():
                if first is None:
                    first = time.perf_counter() - started
                size += len(chunk)
        return {"first_byte_s": first, "total_s": time.perf_counter() - started, "bytes": size}
    finally:
        server.terminate()
        server.wait(timeout=30)


def median(runs: list[dict[str, Any]], key: str = "s") -> float:
    return float(statistics.median(r[key] for r in runs))


def repeat(label: str, step: Any, repeats: int) -> list[dict[str, Any]]:
    runs = []
    for i in range(repeats + 1):
        outcome = step()
        say(
            f"  {label} {'warm-up' if i == 0 else f'run {i}'}: {outcome['s']:.2f} s"
            + (f", {outcome['rss_mib']:.0f} MiB" if "rss_mib" in outcome else "")
        )
        if i:
            runs.append(outcome)
    return runs


current: district_bench.District  # the copy being measured (vacuum needs it)


def run(args: argparse.Namespace) -> dict[str, Any]:
    global current
    data_dir = args.data_dir or (
        district_bench.DEFAULT_DATA_DIR
        if args.households >= district_bench.SMALL
        else Path(tempfile.gettempdir()) / "shouwang-bench-risk"
    )
    district = district_bench.district_for(args.database, args.households, data_dir)
    district_bench.prepare(district, args.households, args.chunk, args.seed, rebuild=False)
    district_bench.dispose()
    current = copy_of(district, args.list_share)
    district_bench.configure(current.url)
    district_bench.migrate(current.url)
    say(f"measuring on {current.name}")
    facts = ensure_run_and_cases(args.households, args.list_share)
    from app.clock import local_today
    from app.services.lists import risk_lists

    week = risk_lists.week_of(local_today())
    generation = []
    for i in range(args.repeats + 1):
        outcome = generate_once(week)
        drop_superseded()
        which = "warm-up" if i == 0 else f"run {i}"
        say(f"  generate {which}: {outcome['s']:.2f} s ({outcome['entries']:,} entries)")
        if i:
            generation.append(outcome)
    list_id = generation[-1]["list_id"]
    district_bench.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        floor = repeat("floor", lambda: floor_once(current, list_id), args.repeats)
        exports = {
            fmt: repeat(fmt, lambda fmt=fmt: export_once(week, fmt, Path(tmp)), args.repeats)
            for fmt in FORMATS
        }
    http = first_byte(week) if args.http else None
    return {
        "households": args.households,
        "database": args.database,
        "district": district.built,
        "facts": facts,
        "entries": generation[-1]["entries"],
        "generate_s": median(generation),
        "floor_s": median(floor),
        "floor_rss_mib": max(r["rss_mib"] for r in floor),
        "exports": {
            fmt: {
                "s": median(runs),
                "wall_s": median(runs, "wall_s"),
                "rss_mib": max(r["rss_mib"] for r in runs),
                "bytes": runs[-1]["bytes"],
                "ratio": median(runs) / median(floor),
            }
            for fmt, runs in exports.items()
        },
        "http": http,
        "load": os.getloadavg()[0],
    }


def report(result: dict[str, Any]) -> str:
    facts = result["facts"]
    lines = [
        f"district: {result['households']:,} households on {result['database']}; "
        f"scoring run {facts['run_id']} ({facts['mode']}): {facts['high']:,} high, "
        f"{facts['medium']:,} medium ({facts['flagged_share']:.1%} flagged)",
    ]
    if "open_cases_s" in facts:
        lines.append(
            f"opening the cases of the high flags: {facts['open_cases']} in {facts['open_cases_s']:.1f} s"
        )
    lines += [
        f"list: {result['entries']:,} households "
        f"({result['entries'] / result['households']:.1%} of the district)",
        f"generation (median): {result['generate_s']:.2f} s",
        f"floor (COPY of the same columns, median, after imports): {result['floor_s']:.2f} s, "
        f"peak RSS {result['floor_rss_mib']:.0f} MiB",
        "",
        "| format | export (median) | ratio to the floor | peak RSS | size | command's wall time |",
        "|---|---|---|---|---|---|",
    ]
    for fmt, e in result["exports"].items():
        lines.append(
            f"| {fmt} | {e['s']:.2f} s | {e['ratio']:.1f}× | {e['rss_mib']:.0f} MiB "
            f"| {e['bytes'] / 1e6:.1f} MB | {e['wall_s']:.2f} s |"
        )
    if result["http"]:
        h = result["http"]
        lines.append(
            f"\nCSV over HTTP: first byte after {h['first_byte_s']:.3f} s, "
            f"all {h['bytes'] / 1e6:.1f} MB after {h['total_s']:.2f} s"
        )
    lines.append(f"(load average at the end: {result['load']:.1f})")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--list-share",
        type=float,
        default=None,
        help="trim the scoring run's flags so the list holds about this share of households (e.g. 0.08)",
    )
    parser.add_argument(
        "--no-http", dest="http", action="store_false", help="skip the HTTP first-byte figure"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    if args.households < 1 or args.repeats < 1:
        parser.error("--households and --repeats must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    result = run(args)
    print(report(result))
    if args.json:
        print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
