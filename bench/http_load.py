"""Benchmark: the service under HTTP load (issue 18, acceptance 4) — `wrk` against `shouwang serve`, next to
a bare FastAPI + SQLAlchemy app reading the same rows (bench/bare_app.py).

    .venv/bin/python bench/http_load.py                                  # 50,000 households, 3 × 20 s rounds
    .venv/bin/python bench/http_load.py --seconds 2 --households 500 --rounds 1 --warmup 0   # smoke test

Needs `wrk` (Debian/Ubuntu: `apt-get install -y wrk`) and PostgreSQL on 127.0.0.1:5432.

The district is risk_scoring.py's (built once, dumped outside the repo, reused). This benchmark prepares its
own copy once (`CREATE DATABASE … TEMPLATE`, `<district>_http`): personal data re-encrypted under this
benchmark's production keys (`shouwang keys rewrap`'s service call; the builder encrypts with the demo
key, which production refuses), a scoring run and the cases of its high flags (risk_lists.py's, so a
household's page has a current risk level and open cases as in production), and one village cadre account
in each of --cadres villages. Each measurement then runs on a fresh copy of that copy (`<district>_http_run`,
dropped at the end), so the reports the batch submits store never reach the shared district or the
next run.

Servers, both one uvicorn process on a free port of 127.0.0.1, both up for the whole measurement:
- service: `shouwang serve` (app/cli/service.py) as production runs it: SHOUWANG_ENV=production, its own
  non-demo keys, the default pool (SHOUWANG_DB_POOL_SIZE), no scheduler, no access log;
- bare: bench/bare_app.py on the same copy: no auth, no scoping, two SELECTs and a pydantic model.

Loads (wrk with --latency; Lua scripts in bench/wrk/, which count every answer other than the expected
status; any such answer, or any socket error or timeout, fails the benchmark):
- read: `GET /api/v1/households/{id}` as village cadres (bearer tokens from `POST /api/v1/auth/token`),
  each request a household of that cadre's own village, the cadre changing on every request — at
  --connections connections and at 1; bare: `GET /households/{id}` over the same ids;
- batch: `POST /api/v1/reports/batch`, --batch-size reports for households of the cadre's village, each
  with its own client_ref and a month no other report of that household covers (months before the
  district's first report) — every answer 201, at --connections connections.

Each round runs bare and service one after the other (their order alternating between rounds), so both see
the same machine; figures are medians over --rounds rounds of --seconds each, after a --warmup run of each
load. Before each run, the requests the previous one left under way finish (no transaction open on the
copy: see drain). The report gives req/s, p50 and p99 per load and the ratio service / bare.
"""

import argparse
import base64
import hashlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import risk_lists as lists_bench  # noqa: E402
from bench import risk_scoring as district_bench  # noqa: E402
from bench import web_pages  # noqa: E402

say = district_bench.say
WRK_DIR = ROOT / "bench" / "wrk"
WRK_INSTALL = (
    "wrk is not installed: install it (Debian/Ubuntu: `apt-get install -y wrk`; macOS: `brew install wrk`)"
)
CADRE_PREFIX = "bench_http_cadre_"
TRIGGER = "bench-http"
EARLIEST_MONTH = date(2000, 1, 1)  # the API's earliest record date (app/schemas/common.py: EARLIEST_RECORD)
TARGET_RATIO = 0.6  # issue 18: ≥ 0.6 of bare
TARGET_P99_MS = 200.0  # issue 18: p99 ≤ 200 ms at 32 clients


def _bench_key(label: str) -> bytes:
    """This benchmark's production keys: fixed (the prepared copy is encrypted under them), not secret."""
    return hashlib.sha256(f"shouwang bench/http_load.py {label}".encode()).digest()


PRODUCTION_ENV = {
    "SHOUWANG_ENV": "production",
    "SHOUWANG_SECRET_KEY": _bench_key("secret").hex(),
    "SHOUWANG_ENCRYPTION_KEYS": base64.urlsafe_b64encode(_bench_key("encryption")).decode(),
    "SHOUWANG_LOOKUP_KEY": _bench_key("lookup").hex(),
    "SHOUWANG_DOCS_ENABLED": "false",
}


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(WRK_INSTALL)
    return found


# ---- the copies ---------------------------------------------------------------------------------------


def _admin_execute(*statements: str) -> None:
    district_bench.dispose()
    admin = create_engine(district_bench.PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        admin.dispose()


def copy_database(source: str, name: str) -> district_bench.District:
    """`name` as a new copy of database `source` (an old one of that name is dropped first)."""
    _admin_execute(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}" TEMPLATE "{source}"'
    )
    return district_bench.District("postgresql", name, district_bench.PG_SERVER + name, Path("/dev/null"))


def drop_database(name: str) -> None:
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rewrap_if_needed() -> int:
    """Re-encrypt the copy's personal data under this benchmark's key, once (a copy whose first member
    decrypts under it is left alone); returns the members re-encrypted."""
    from cryptography.fernet import InvalidToken

    from app.config import DEMO_ENCRYPTION_KEY, Settings, get_settings
    from app.db import session_scope
    from app.models import Member
    from app.pii import cipher_for
    from app.services.platform import keys as key_service
    from app.services.platform.access import Actor

    settings = get_settings()
    with session_scope() as session:
        token = session.scalar(select(Member.id_number_encrypted).order_by(Member.id).limit(1))
    if token is None:
        return 0
    try:
        cipher_for(settings).decrypt(token)
        return 0
    except InvalidToken:
        pass
    # the builder encrypts under the demo key: decrypt with it, encrypt under ours (the newest comes first)
    rewrapping = Settings(
        env="demo",
        database_url=settings.database_url,
        secret_key=settings.secret_key,
        encryption_keys=f"{PRODUCTION_ENV['SHOUWANG_ENCRYPTION_KEYS']},{DEMO_ENCRYPTION_KEY}",
        lookup_key=settings.lookup_key,
    )
    with session_scope() as session:
        members, _ = key_service.rewrap(session, rewrapping, Actor.system(TRIGGER))
    return members


def ensure_cadres(cadres: int, batch_size: int) -> list[tuple[str, str]]:
    """One village cadre account in each of the first `cadres` villages (by code) holding at least
    `batch_size` households; returns (username, village) pairs."""
    from app.db import session_scope
    from app.models import Household

    with session_scope() as session:
        villages = list(
            session.scalars(
                select(Household.village_code)
                .group_by(Household.village_code)
                .having(func.count() >= batch_size)
                .order_by(Household.village_code)
                .limit(cadres)
            )
        )
    if not villages:
        raise SystemExit(f"no village holds {batch_size} households: use more --households")
    if len(villages) < cadres:
        say(
            f"only {len(villages)} villages hold {batch_size} households: "
            f"{len(villages)} cadres, not {cadres}"
        )
    accounts = [(f"{CADRE_PREFIX}{i:02d}", village) for i, village in enumerate(villages)]
    for username, village in accounts:
        web_pages.ensure_user(username, "village_cadre", village)
    return accounts


def prepare_copy(district: district_bench.District, args: argparse.Namespace) -> district_bench.District:
    """The benchmark's prepared copy (`<district>_http`, made once; --recopy makes it again)."""
    name = f"{district.name}_http"
    if args.recopy or not district_bench.pg_exists(name):
        say(f"copying {district.name} to {name}")
        copy_database(district.name, name)
    prepared = district_bench.District("postgresql", name, district_bench.PG_SERVER + name, district.dump)
    district_bench.dispose()
    district_bench.configure(prepared.url)
    district_bench.migrate(prepared.url)
    started = time.perf_counter()
    if members := rewrap_if_needed():
        say(
            f"  re-encrypted {members:,} members under the benchmark's key "
            f"in {time.perf_counter() - started:.1f} s"
        )
        district_bench.vacuum(prepared, tables=("member", "household"))
    lists_bench.current = prepared  # (ensure_run_and_cases vacuums the copy it is given here)
    facts = lists_bench.ensure_run_and_cases(args.households, args.list_share)
    say(
        f"  scoring run {facts['run_id']} ({facts['mode']}): "
        f"{facts['high']:,} high, {facts['medium']:,} medium"
    )
    ensure_cadres(args.cadres, args.batch_size)
    district_bench.dispose()
    return prepared


@dataclass
class Workload:
    accounts: list[tuple[str, str]]  # (username, village)
    ids: dict[str, list[int]]  # village → its household ids
    months: list[tuple[date, date]]  # free months, newest first


def workload(ids_per_cadre: int) -> Workload:
    """The cadres, their households and the months no report covers (before the district's first)."""
    from app.clock import local_today
    from app.db import session_scope
    from app.models import Household, Report, User

    with session_scope() as session:
        accounts = [
            (u, v)
            for u, v in session.execute(
                select(User.username, User.region_code)
                .where(User.username.startswith(CADRE_PREFIX))
                .order_by(User.username)
            )
            if v is not None
        ]
        ids: dict[str, list[int]] = {}
        for _, village in accounts:
            found = list(
                session.scalars(
                    select(Household.id).where(Household.village_code == village).order_by(Household.id)
                )
            )
            step = max(1, len(found) // ids_per_cadre) if ids_per_cadre else 1
            ids[village] = found[::step][: ids_per_cadre or None]
        first = session.scalar(select(func.min(Report.period_start)))
    months: list[tuple[date, date]] = []
    end = (first or local_today()) - timedelta(days=1)
    while end >= EARLIEST_MONTH:
        start = end.replace(day=1)
        months.append((start, end))
        end = start - timedelta(days=1)
    return Workload(accounts, ids, months)


# ---- servers, tokens, wrk -----------------------------------------------------------------------------


@contextmanager
def bare_server(url: str, log_path: Path) -> Iterator[str]:
    command = [sys.executable, str(ROOT / "bench" / "bare_app.py"), "--database-url", url]
    with web_pages.process_on_a_port("the bare app", command, dict(os.environ), log_path, "/healthz") as base:
        yield base


def log_in(base: str, accounts: list[tuple[str, str]]) -> list[str]:
    """Each cadre's access token, as a phone gets it (`POST /api/v1/auth/token`)."""
    tokens = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for username, _ in accounts:
            response = client.post(
                "/api/v1/auth/token", data={"username": username, "password": web_pages.PASSWORD}
            )
            response.raise_for_status()
            tokens.append(str(response.json()["access_token"]))
    return tokens


def write_data(path: Path, work: Workload, tokens: list[str], batch_size: int) -> None:
    """The Lua table the wrk scripts read (DATA.lua)."""
    lines = ["return {", "  cadres = {"]
    for token, (_, village) in zip(tokens, work.accounts, strict=True):
        ids = ", ".join(map(str, work.ids[village]))
        lines.append(f'    {{token = "{token}", ids = {{{ids}}}}},')
    lines += ["  },", "  months = {"]
    lines += [f'    {{"{start.isoformat()}", "{end.isoformat()}"}},' for start, end in work.months]
    lines += ["  },", f"  batch = {batch_size},", "}"]
    path.write_text("\n".join(lines) + "\n")


@dataclass
class Load:
    name: str  # read | batch
    target: str  # service | bare
    connections: int

    @property
    def label(self) -> str:
        return f"{self.target} {self.name} {self.connections}c"


def drain(database: str, limit: float = 120) -> float:
    """Wait until no transaction of `database` is open (the requests a stopped wrk left under way have
    finished); returns the seconds waited.

    wrk stops by closing its connections with requests under way, and the servers finish those: the next
    run must not start on top of them. (The service, at the time of writing, runs each request's sync
    dependencies and route in anyio's thread pool of 40 and checks a database connection out of its pool
    of 8 in the first dependency: with more than 40 requests under way every thread can wait for a
    connection that only another thread could give back, and the service stands still until the pool's
    30 s timeout answers 500. 32 left-over batch requests and 32 new reads were enough.)"""
    started = time.perf_counter()
    with psycopg.connect(
        district_bench.PG_SERVER.replace("+psycopg", "") + "postgres", autocommit=True
    ) as pg:
        quiet = 0
        while quiet < 2 and time.perf_counter() - started < limit:
            busy = pg.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
                " AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')",
                (database,),
            ).fetchone()
            quiet = quiet + 1 if busy is not None and busy[0] == 0 else 0
            time.sleep(0.1)
    return time.perf_counter() - started


class Wrk:
    def __init__(
        self, executable: str, args: argparse.Namespace, data: Path, bases: dict[str, str], database: str
    ) -> None:
        self.executable, self.args, self.data, self.bases = executable, args, data, bases
        self.database = database
        self.batch_base = 0  # the next batch request number (every run's numbers are new)
        self.commands: dict[str, str] = {}

    def run(self, load: Load, seconds: float) -> dict[str, Any]:
        waited = drain(self.database)
        if waited > 1:
            say(f"  (waited {waited:.1f} s for the previous run's requests to finish)")
        threads = max(1, min(self.args.threads, load.connections))
        if load.name == "read":
            script, extra = WRK_DIR / "household_get.lua", [load.target, str(threads)]
        else:
            script, extra = WRK_DIR / "report_batch.lua", [str(threads), str(self.batch_base), "load"]
        command = [
            self.executable,
            *("-t", str(threads), "-c", str(load.connections), "-d", f"{seconds:g}s"),
            *("--timeout", f"{self.args.timeout:g}s", "--latency", "-s", str(script.relative_to(ROOT))),
            self.bases[load.target],
            "--",
            str(self.data),
            *extra,
        ]
        self.commands[load.label] = shlex.join(command)  # the last (a timed one)
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 120, check=False
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("HTTPLOAD ")]
        if done.returncode != 0 or not lines:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}{done.stdout[-2000:]}")
        result: dict[str, Any] = json.loads(lines[-1].removeprefix("HTTPLOAD "))
        if load.name == "batch":
            self.batch_base += int(result["max_made"]) * threads
        seconds_run = result["duration_us"] / 1e6
        socket_errors = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
        result |= {
            "load": load.label,
            "rps": result["requests"] / seconds_run,
            "p50_ms": result["p50_us"] / 1000,
            "p99_ms": result["p99_us"] / 1000,
            "socket_errors": socket_errors,
        }
        say(
            f"  {load.label:<20} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.1f} ms"
            f"  p99 {result['p99_ms']:7.1f} ms  unexpected {result['unexpected']}"
            f"  socket errors {socket_errors}"
        )
        return result


def stored_reports() -> int:
    from app.db import session_scope
    from app.models import Report

    with session_scope() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Report).where(Report.client_ref.startswith("load-"))
            )
            or 0
        )


# ---- the measurement ----------------------------------------------------------------------------------


def schedule(round_no: int, connections: int) -> list[Load]:
    """One round: bare and service reads at `connections` and at 1 (which goes first alternates between
    rounds), then the batch submit."""
    loads = []
    for c in dict.fromkeys((connections, 1)):
        pair = [Load("read", "bare", c), Load("read", "service", c)]
        loads += pair if round_no % 2 == 0 else pair[::-1]
    return [*loads, Load("batch", "service", connections)]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    executable = require_wrk()
    data_dir = args.data_dir or (
        district_bench.DEFAULT_DATA_DIR
        if args.households >= district_bench.SMALL
        else Path(tempfile.gettempdir()) / "shouwang-bench-risk"
    )
    district = district_bench.district_for("postgresql", args.households, data_dir)
    district_bench.prepare(district, args.households, args.chunk, args.seed, rebuild=False)
    # from here on, in this process and the servers: production settings (the district itself is built
    # as every benchmark builds it, under the demo keys)
    os.environ.update(PRODUCTION_ENV)
    prepared = prepare_copy(district, args)
    run_copy = copy_database(prepared.name, f"{prepared.name}_run")
    say(f"measuring on {run_copy.name} (a copy of {prepared.name})")
    try:
        district_bench.configure(run_copy.url)
        work = workload(args.ids_per_cadre)
        district_bench.dispose()
        result = _measure_on(run_copy, work, executable, args)
        district_bench.configure(run_copy.url)
        result["stored_reports"] = stored_reports()
        district_bench.dispose()
    finally:
        drop_database(run_copy.name)
    result |= {
        "district": district.name,
        "households": args.households,
        "copy": prepared.name,
        "cadres": len(work.accounts),
        "ids": sum(len(v) for v in work.ids.values()),
        "months": len(work.months),
    }
    return result


def _measure_on(
    copy: district_bench.District, work: Workload, executable: str, args: argparse.Namespace
) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    uptime_before = _uptime()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.log_dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        with (
            web_pages.server(copy.url, folder / "service.log") as service,
            bare_server(copy.url, folder / "bare.log") as bare,
        ):
            say(f"service {service}, bare {bare}; {len(work.accounts)} cadres")
            data = folder / "data.lua"
            logged_in = time.monotonic()
            write_data(data, work, log_in(service, work.accounts), args.batch_size)
            wrk = Wrk(executable, args, data, {"service": service, "bare": bare}, copy.name)
            if args.warmup:
                say(f"warm-up ({args.warmup:g} s each)")
                for load in schedule(0, args.connections):
                    wrk.run(load, args.warmup)
            for round_no in range(args.rounds):
                if time.monotonic() - logged_in > 600:  # access tokens live 30 minutes
                    logged_in = time.monotonic()
                    write_data(data, work, log_in(service, work.accounts), args.batch_size)
                say(f"round {round_no + 1} of {args.rounds} ({args.seconds:g} s each)")
                for load in schedule(round_no, args.connections):
                    runs.append(wrk.run(load, args.seconds) | {"round": round_no + 1})
            server_log = (folder / "service.log").read_text(errors="replace")
    return {
        "runs": runs,
        "commands": wrk.commands,
        "uptime_before": uptime_before,
        "uptime_after": _uptime(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "server_errors": _errors_logged(server_log),
        "server_error_lines": _error_lines(server_log)[:5],
        "answered_batches": sum(r["requests"] for r in runs if r["load"].startswith("service batch")),
        "sent_batches": wrk.batch_base,
        "batch_size": args.batch_size,
        "connections": args.connections,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "warmup": args.warmup,
    }


def _errors_logged(log: str) -> int:
    """The server's log lines (JSON) at level ERROR or above, and tracebacks printed outside them."""
    count = 0
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            count += line.startswith("Traceback")
            continue
        count += isinstance(entry, dict) and entry.get("levelname") in ("ERROR", "CRITICAL")
    return count


def _error_lines(log: str) -> list[str]:
    lines = []
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("levelname") in ("ERROR", "CRITICAL"):
            lines.append(f"{entry.get('message', '')} {entry.get('exc_info', '')}"[-600:])
    return lines


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "load average: {:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


# ---- the report ---------------------------------------------------------------------------------------


def summary(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per load: the medians over the rounds, and the rounds' figures."""
    by_load: dict[str, list[dict[str, Any]]] = {}
    for run in result["runs"]:
        by_load.setdefault(run["load"], []).append(run)
    return {
        label: {
            "rps": statistics.median(r["rps"] for r in runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "rounds": [(r["rps"], r["p50_ms"], r["p99_ms"]) for r in runs],
            "unexpected": sum(r["unexpected"] for r in runs),
            "socket_errors": sum(r["socket_errors"] for r in runs),
        }
        for label, runs in by_load.items()
    }


def ratios(result: dict[str, Any], connections: int) -> list[float]:
    """service / bare req/s, round by round (each round's two runs saw the same machine)."""
    rounds: dict[int, dict[str, float]] = {}
    for run in result["runs"]:
        rounds.setdefault(run["round"], {})[run["load"]] = run["rps"]
    return [
        r[f"service read {connections}c"] / r[f"bare read {connections}c"]
        for r in rounds.values()
        if f"bare read {connections}c" in r and f"service read {connections}c" in r
    ]


def report(result: dict[str, Any]) -> str:
    figures = summary(result)
    c = result["connections"]
    size = result["batch_size"]
    lines = [
        f"HTTP under load (issue 18, acceptance 4): {result['households']:,}-household district "
        f"({result['district']}, measured on a copy of {result['copy']}), PostgreSQL; `shouwang serve` "
        f"(production settings) and bench/bare_app.py, one uvicorn process each; wrk --latency; "
        f"{result['rounds']} interleaved round(s) of {result['seconds']:g} s per load, medians; "
        f"{result['cadres']} village cadres, {result['ids']:,} households.",
        "",
        "| load | connections | service req/s | p50 ms | p99 ms "
        "| bare req/s | p50 ms | p99 ms | service / bare |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for conn in dict.fromkeys((c, 1)):
        s, b = figures[f"service read {conn}c"], figures[f"bare read {conn}c"]
        rs = ratios(result, conn)
        lines.append(
            f"| one household GET | {conn} | {s['rps']:.1f} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} "
            f"| {b['rps']:.1f} | {b['p50_ms']:.1f} | {b['p99_ms']:.1f} | **{statistics.median(rs):.2f}** |"
        )
    batch = figures[f"service batch {c}c"]
    lines.append(
        f"| batch submit, {size} reports | {c} | {batch['rps']:.1f} ({batch['rps'] * size:,.0f} reports/s) "
        f"| {batch['p50_ms']:.1f} | {batch['p99_ms']:.1f} | — | — | — | — |"
    )
    lines += ["", "Rounds (req/s, p50 ms, p99 ms):"]
    for label, figure in figures.items():
        rounds = "; ".join(f"{rps:.1f}, {p50:.1f}, {p99:.1f}" for rps, p50, p99 in figure["rounds"])
        lines.append(f"- {label}: {rounds}")
    for conn in dict.fromkeys((c, 1)):
        lines.append(
            f"- service / bare at {conn}c, by round: {', '.join(f'{r:.2f}' for r in ratios(result, conn))}"
        )
    read = figures[f"service read {c}c"]
    ratio = statistics.median(ratios(result, c))
    lines += [
        "",
        f"Targets (issue 18): service ≥ {TARGET_RATIO} of bare at {c} connections: "
        f"{'yes' if ratio >= TARGET_RATIO else 'no'} ({ratio:.2f}); p99 ≤ {TARGET_P99_MS:g} ms: "
        f"{'yes' if read['p99_ms'] <= TARGET_P99_MS else 'no'} ({read['p99_ms']:.0f} ms).",
        f"Batches: {result['answered_batches']:,} answered 201 in the timed and warm-up runs, "
        f"{result['sent_batches']:,} request numbers used; {result['stored_reports']:,} reports stored "
        f"(≥ {result['answered_batches'] * size:,} expected).",
        f"Answers other than the expected status: {sum(f['unexpected'] for f in figures.values())}; "
        f"socket errors and timeouts: {sum(f['socket_errors'] for f in figures.values())}; "
        f"server errors logged: {result['server_errors']}.",
        f"Machine load: before {result['uptime_before']}; after {result['uptime_after']}.",
        "",
        "Commands (the last run of each load; DATA.lua is written by this script):",
    ]
    lines += [f"- {label}: `{command}`" for label, command in result["commands"].items()]
    return "\n".join(lines)


def failures(result: dict[str, Any]) -> list[str]:
    problems = []
    for run in result["runs"]:
        if run["unexpected"]:
            problems.append(
                f"{run['load']} (round {run['round']}): {run['unexpected']} unexpected answers, "
                f"first: {run['first_unexpected']}"
            )
        if run["socket_errors"]:
            problems.append(
                f"{run['load']} (round {run['round']}): {run['socket_errors']} socket errors or timeouts"
            )
        if run.get("months_exhausted"):
            problems.append(
                f"{run['load']}: ran out of free months: fewer --seconds or more households per cadre"
            )
        if not run["requests"]:
            problems.append(f"{run['load']} (round {run['round']}): no request was answered")
    if result["server_errors"]:
        problems.append(
            f"the service logged {result['server_errors']} errors, first: {result['server_error_lines'][:1]}"
        )
    if result["stored_reports"] < result["answered_batches"] * result["batch_size"]:
        problems.append("fewer reports stored than the batches answered 201 hold")
    return problems


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--households", type=int, default=50_000, help="the district's size (risk_scoring.py's)"
    )
    parser.add_argument("--seconds", type=float, default=20, help="each timed run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians over them)")
    parser.add_argument(
        "--warmup", type=float, default=5, help="seconds of one untimed run of each load first"
    )
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (the issue: 32 clients)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (at most --connections)")
    parser.add_argument("--timeout", type=float, default=10, help="wrk's timeout per request, seconds")
    parser.add_argument("--cadres", type=int, default=32, help="village cadre accounts, one per village")
    parser.add_argument(
        "--ids-per-cadre", type=int, default=0, help="households read per cadre (0: the whole village)"
    )
    parser.add_argument("--batch-size", type=int, default=10, help="reports per batch submit")
    parser.add_argument(
        "--list-share", type=float, default=0.08, help="the scoring run's flagged share (see risk_lists.py)"
    )
    parser.add_argument("--recopy", action="store_true", help="make the prepared copy again")
    parser.add_argument(
        "--log-dir", type=Path, default=None, help="keep the servers' logs here (default: a temporary folder)"
    )
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    if min(args.households, args.rounds, args.connections, args.threads, args.cadres, args.batch_size) < 1:
        parser.error(
            "--households, --rounds, --connections, --threads, --cadres and --batch-size must be positive"
        )
    if args.seconds <= 0 or args.warmup < 0:
        parser.error("--seconds must be positive, --warmup not negative")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    require_wrk()  # before building anything
    result = measure(args)
    print(report(result))
    if args.json:
        print(json.dumps(result, default=str))
    if problems := failures(result):
        say("FAILED:\n  " + "\n  ".join(problems))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
