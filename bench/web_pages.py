"""Benchmark: the web app's pages on a large district — the server time of a village cadre's household list
(500 households) and of the district office's dashboard, each against a hand-written floor, and the bytes a
cadre's phone downloads for the household list page on its first visit.

    .venv/bin/python bench/web_pages.py                                   # PostgreSQL, 100,000 households
    .venv/bin/python bench/web_pages.py --database sqlite --households 100000
    .venv/bin/python bench/web_pages.py --households 2000 --requests 5    # smoke test

The district is risk_scoring.py's (built once, dumped outside the repo, reused). This benchmark works on its
own copy (PostgreSQL: `CREATE DATABASE … TEMPLATE`; SQLite: a file copy, both `…_web`), where, once: a
scoring run trimmed to --list-share and the cases of its high flags (risk_lists.py's), the weekly lists of
the last --weeks weeks (so the dashboard's trend has its weeks), a village holding exactly --village-size
households (a new village, "基准村", filled with households taken evenly across the district, their open
cases moving with them), a village cadre of that village and a district officer.

Then, against one `shouwang serve` process on the copy (uvicorn, the production entry point), one HTTP
client with keep-alive, logged in as the web app logs in (`POST /api/v1/auth/session`, HttpOnly cookies):
- list: `GET /api/v1/households?page_size=500` as the village cadre (whatever fields the endpoint has);
- search: the same with `&q=<part of a household number>`;
- the list page's own request: `?page=1&page_size=<PAGE_SIZE of cadre.js>` (the page shows one page);
- dashboard: `GET /api/v1/risk-lists` then `GET /api/v1/risk-lists/{week}/summary` as the district officer;
each timed from sending the request to the last byte of the answer, after --warmup requests, --requests
times, interleaved with its floor (so both see the same machine), median and p95. Also interleaved: the
same work in this process through the app's own service calls and schemas (no HTTP, no FastAPI), to show
where the API's time goes.

Floors, written from the schema and the issue's words, not from the app's queries:
- list: one SQL statement over household, region, member, report, risk_result, case_file (size today,
  head's name, the current run's level, stale = no effective report ending within the policy's months,
  the open case and its step, the total) for the same households, read by psycopg (SQLite: sqlite3)
  and serialised to JSON by the stdlib;
- dashboard: the weeks (one SELECT over risk_list) and the summary as one statement of GROUP BYs over the
  list's entries (households by township and level, changes, cases by step, overdue by township, risk
  types and reasons, measures, the 12-week trend by township), with JSON by the stdlib.
The floors' figures are compared with the API's answers, so a floor that read less would show.

Transfer: `/`, every stylesheet and script it loads (ES module imports followed; the service worker the
page registers), and the list's JSON (500 households, and the page's own first page), each fetched with
`Accept-Encoding: gzip`: the bytes on the wire, whether the server compressed them, and their gzip size
computed here (level 6) for comparison.
"""

import argparse
import gzip
import json
import os
import re
import shlex
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import psycopg
from sqlalchemy import create_engine, func, select, text, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import risk_lists as lists_bench  # noqa: E402
from bench import risk_scoring as district_bench  # noqa: E402

say = district_bench.say
TRIGGER = "bench-web"
PASSWORD = "bench-web-password-1"
CADRE = "bench_web_cadre"
OFFICE = "bench_web_office"
VILLAGE_SUFFIX = "299"  # the benchmark's village: <township>[:9] + 299
VILLAGE_NAME = "基准村"
PAGE_BUDGET = 300_000  # the issue: page weight of a cadre page ≤ 300 KB (app files)
LIST_PATH = "/api/v1/households"


# ---- the district and its copy ------------------------------------------------------------------------


def web_copy(district: district_bench.District) -> district_bench.District:
    """This benchmark's own copy of the district (made once, then reused)."""
    name = f"{district.name}_web"
    if district.kind == "postgresql":
        if not district_bench.pg_exists(name):
            district_bench.dispose()
            admin = create_engine(district_bench.PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{district.name}"'))
            admin.dispose()
        return district_bench.District("postgresql", name, district_bench.PG_SERVER + name, district.dump)
    assert district.db_file is not None
    district_bench.dispose()
    db_file = district.db_file.with_name(f"{name}.db")
    if not db_file.exists():
        shutil.copyfile(district.db_file, db_file)
    return district_bench.District("sqlite", name, f"sqlite:///{db_file}", district.dump, db_file)


def ensure_lists(weeks: int) -> dict[str, Any]:
    """The weekly lists of the last `weeks` weeks, oldest first (a week before an existing list cannot be
    made any more, and is skipped)."""
    from app.clock import local_today
    from app.db import session_scope
    from app.models import RiskList
    from app.services.lists import risk_lists

    today = local_today()
    wanted = [risk_lists.week_of(today - timedelta(days=7 * k)) for k in range(weeks - 1, -1, -1)]
    with session_scope() as session:
        have = set(session.scalars(select(RiskList.week).where(RiskList.status == "current")))
    latest = max(have, default="")
    made = 0
    started = time.perf_counter()
    for week in wanted:
        if week in have or week < latest:
            continue
        outcome = lists_bench.generate_once(week)
        say(f"  list {week}: {outcome['entries']:,} entries, {outcome['s']:.2f} s")
        made += 1
    return {"week": wanted[-1], "lists_made": made, "lists_s": time.perf_counter() - started}


def ensure_village(size: int) -> dict[str, Any]:
    """A village of exactly `size` households: a new village under the first township, filled with
    households taken evenly across the district's ids (so their levels, cases and reports are the
    district's mix); their open cases move with them."""
    from app.config import get_settings
    from app.db import session_scope
    from app.models import Case, Household, Region
    from app.models.enums import RegionLevel
    from app.services.platform.access import Actor
    from app.services.registry import regions

    with session_scope() as session:
        township = session.scalars(
            select(Region).where(Region.level == RegionLevel.township).order_by(Region.code)
        ).first()
        assert township is not None
        code = township.code[:9] + VILLAGE_SUFFIX
        if session.get(Region, code) is None:
            regions.import_rows(
                session,
                get_settings(),
                Actor.system(TRIGGER),
                [
                    regions.RegionRow(
                        code=code,
                        name=VILLAGE_NAME,
                        level=RegionLevel.village,
                        parent_code=township.code,
                        code_source="illustrative (benchmark village)",
                        illustrative=True,
                    )
                ],
            )
        present = int(
            session.scalar(select(func.count()).select_from(Household).where(Household.village_code == code))
            or 0
        )
        moved = 0
        if present < size:
            others = list(
                session.scalars(
                    select(Household.id).where(Household.village_code != code).order_by(Household.id)
                )
            )
            need = size - present
            step = len(others) / need
            chosen = [others[int(i * step)] for i in range(need)]
            for start in range(0, len(chosen), 5000):
                part = chosen[start : start + 5000]
                session.execute(update(Household).where(Household.id.in_(part)).values(village_code=code))
                session.execute(
                    update(Case)
                    .where(Case.household_id.in_(part))
                    .values(village_code=code, township_code=township.code)
                )
            moved = need
        elif present > size:
            raise SystemExit(f"village {code} holds {present} households, more than {size}: drop the copy")
    return {"village": code, "township": township.code, "moved": moved}


def ensure_user(username: str, role: str, region_code: str) -> None:
    from app.config import get_settings
    from app.db import session_scope
    from app.models import User
    from app.models.enums import Role
    from app.schemas.users import UserCreate
    from app.services.platform import users
    from app.services.platform.access import Actor

    with session_scope() as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            return
        users.create(
            session,
            get_settings(),
            Actor.system(TRIGGER),
            UserCreate(username=username, password=PASSWORD, role=Role(role), region_code=region_code),
        )


def village_facts(village: str) -> dict[str, Any]:
    """What the floor needs from the policy and the clock (read once, outside the timing), and a search
    term: part of the household number of the village's middle household."""
    from app.clock import add_months, local_today
    from app.db import session_scope
    from app.models import Household
    from app.services.platform import policy as policy_service

    today = local_today()
    with session_scope() as session:
        _, policy = policy_service.current_data(session)
        numbers = list(
            session.scalars(
                select(Household.household_no).where(Household.village_code == village).order_by(Household.id)
            )
        )
    middle = numbers[len(numbers) // 2]
    return {
        "today": today,
        "stale_months": policy.stale_report_months,
        "cutoff": add_months(today, -policy.stale_report_months),
        "q": middle[-5:-1],  # e.g. D0050123 → 5012
    }


# ---- the server and the client ------------------------------------------------------------------------


class ServerLog:
    """The server's own log (JSON lines): its access entries carry each request's time in the server
    ("ms", from the app's access middleware), without the client and the loopback."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size

    def since_mark(self) -> list[dict[str, Any]]:
        time.sleep(0.3)  # (the entry is written as the answer ends)
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        entries = []
        for line in data.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and "ms" in entry and "path" in entry:
                entries.append(entry)
        return entries


@contextmanager
def server(url: str, log_path: Path) -> Iterator[str]:
    """`shouwang serve` on the copy, on a free port, its log in `log_path`; yields its base URL."""
    env = os.environ | {
        "SHOUWANG_DATABASE_URL": url,
        "SHOUWANG_SCHEDULER_IN_PROCESS": "false",
        "SHOUWANG_DEMO_HOUSEHOLDS": "0",
    }
    with process_on_a_port(
        "the server", [sys.executable, "-m", "app.cli", "serve"], env, log_path, "/readyz"
    ) as base:
        yield base


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def process_on_a_port(
    name: str, command: list[str], env: dict[str, str], log_path: Path, ready: str
) -> Iterator[str]:
    """`command --port P` on a free port, its log in `log_path`; its base URL once `ready` answers 200."""
    port = free_port()
    # its log goes to a file: a pipe nobody reads fills up and stops the server mid-run
    log = log_path.open("wb")
    process = subprocess.Popen(
        [*command, "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if process.poll() is not None:
                raise RuntimeError(f"{name} stopped: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}{ready}", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError(f"{name} did not become ready")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def client_for(base: str, username: str) -> httpx.Client:
    """A client logged in as the web app logs in: the session's HttpOnly cookies."""
    client = httpx.Client(base_url=base, timeout=120)
    response = client.post("/api/v1/auth/session", data={"username": username, "password": PASSWORD})
    response.raise_for_status()
    return client


def timed_get(client: httpx.Client, path: str, params: dict[str, Any] | None = None) -> tuple[float, Any]:
    started = time.perf_counter()
    response = client.get(path, params=params)
    body = response.content
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, json.loads(body)


# ---- the app's own service calls, in this process (where the API's time goes) -----------------------


def actor_of(username: str) -> Any:
    from app.db import session_scope
    from app.models import Region, User
    from app.services.platform.access import Actor

    with session_scope() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        region = session.get(Region, user.region_code)
        assert region is not None
        return Actor(user.id, user.username, user.role, user.region_code, region.level)


def service_list(actor: Any, q: str | None, size: int = 500) -> tuple[float, Any]:
    """What the list's route calls, and its answer as JSON: no HTTP, no FastAPI."""
    from dataclasses import fields

    from app.db import session_scope
    from app.schemas.common import Page, PageParams
    from app.schemas.households import HouseholdSummary
    from app.services.registry import household_views

    names = {f.name for f in fields(household_views.HouseholdFilters)}
    search: dict[str, Any] = {"q": q} if q is not None and "q" in names else {}
    filters = household_views.HouseholdFilters(**search)
    started = time.perf_counter()
    with session_scope() as session:
        page = PageParams(page=1, page_size=size)
        items, total = household_views.list_households(session, actor, filters, page)
        body = Page[HouseholdSummary].of(items, total, page).model_dump_json()
    return time.perf_counter() - started, len(body)


def service_dashboard(actor: Any, week: str) -> tuple[float, Any]:
    """What the dashboard's two routes call, and their answers as JSON."""
    from app.db import session_scope
    from app.schemas.risk_lists import RiskListRead
    from app.services.lists import risk_list_summary, risk_lists

    started = time.perf_counter()
    with session_scope() as session:
        listing = [
            RiskListRead.model_validate(r).model_copy(update={"entries": e, "resolved": n}).model_dump_json()
            for r, e, n in risk_lists.listing(session, actor)
        ]
    with session_scope() as session:
        readable = getattr(risk_list_summary, "readable", risk_lists.readable)
        risk_list = readable(session, actor, week)
        body = risk_list_summary.summarise(session, risk_list, actor, risk_lists.Filters()).model_dump_json()
    return time.perf_counter() - started, len(body) + sum(map(len, listing))


# ---- the floors ---------------------------------------------------------------------------------------


class Database:
    """One connection for the floors: psycopg on PostgreSQL, sqlite3 on SQLite; SQL written with :name
    parameters."""

    def __init__(self, district: district_bench.District) -> None:
        self.kind = district.kind
        if district.kind == "postgresql":
            self.pg: psycopg.Connection[Any] | None = psycopg.connect(
                district.url.replace("+psycopg", ""), autocommit=True
            )
            self.lite: sqlite3.Connection | None = None
        else:
            self.pg = None
            self.lite = sqlite3.connect(str(district.db_file))

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        if self.pg is not None:
            with self.pg.cursor() as cursor:
                cursor.execute(re.sub(r"(?<!:):([a-z_]+)", r"%(\1)s", sql).encode(), params)
                return cursor.fetchall()
        assert self.lite is not None
        return self.lite.execute(sql, {k: _lite(v) for k, v in params.items()}).fetchall()

    def close(self) -> None:
        if self.pg is not None:
            self.pg.close()
        if self.lite is not None:
            self.lite.close()


def _lite(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _json(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value))


HOUSEHOLDS_SQL = """
SELECT h.id, h.household_no, h.village_code, r.parent_code, h.address, h.household_type,
       h.monitoring_category, h.monitoring_status, h.no_labour_capacity, h.phone_masked, h.version,
       h.created_at, h.updated_at,
       (SELECT count(*) FROM member m WHERE m.household_id = h.id
          AND (m.joined_on IS NULL OR m.joined_on <= :today) AND (m.left_on IS NULL OR m.left_on > :today)),
       (SELECT m.name FROM member m
          WHERE m.household_id = h.id AND m.relation = '户主' AND m.left_on IS NULL),
       res.level,
       (SELECT max(p.period_end) FROM report p WHERE p.household_id = h.id
          AND NOT EXISTS (SELECT 1 FROM report n WHERE n.supersedes_id = p.id)),
       c.id, c.step,
       (SELECT count(*) FROM household t WHERE t.village_code = :village {search_t})
FROM household h
JOIN region r ON r.code = h.village_code
LEFT JOIN risk_result res ON res.household_id = h.id
     AND res.run_id = (SELECT max(id) FROM risk_run WHERE status = 'completed')
LEFT JOIN case_file c ON c.household_id = h.id AND c.status = 'open'
WHERE h.village_code = :village {search_h}
ORDER BY h.id
LIMIT :size
"""
SEARCH_SQL = """AND ({h}.household_no LIKE :pattern OR EXISTS (SELECT 1 FROM member m
     WHERE m.household_id = {h}.id AND m.relation = '户主' AND m.left_on IS NULL AND m.name LIKE :pattern))"""
HOUSEHOLD_FIELDS = (
    "id",
    "household_no",
    "village_code",
    "township_code",
    "address",
    "household_type",
    "monitoring_category",
    "monitoring_status",
    "no_labour_capacity",
    "phone",
    "version",
    "created_at",
    "updated_at",
    "size",
    "head_name",
    "risk_level",
    "last_report_end",
    "open_case_id",
    "open_case_step",
)


def households_floor(
    db: Database, facts: dict[str, Any], q: str | None, size: int = 500
) -> tuple[float, dict[str, Any]]:
    """The village's first `size` households with the list's fields, by one SQL statement, as JSON."""
    params = {"today": facts["today"], "village": facts["village"], "size": size}
    if q is not None:
        params["pattern"] = f"%{q}%"
    cutoff = facts["cutoff"].isoformat()
    started = time.perf_counter()
    search = {a: SEARCH_SQL.format(h=a[-1]) if q is not None else "" for a in ("search_h", "search_t")}
    rows = db.rows(HOUSEHOLDS_SQL.format(**search), params)
    items = []
    for row in rows:
        item = dict(zip(HOUSEHOLD_FIELDS, row[:-1], strict=True))
        item["no_labour_capacity"] = bool(item["no_labour_capacity"])
        last = item["last_report_end"]
        item["stale"] = last is None or str(last) < cutoff
        items.append(item)
    page = {"items": items, "total": rows[0][-1] if rows else 0, "page": 1, "page_size": size}
    body = json.dumps(page, ensure_ascii=False, default=_json).encode()
    return time.perf_counter() - started, json.loads(body)


WEEKS_SQL = """
SELECT id, week, status, generated_at, generated_by, run_id, policy_version, previous_id, entries, resolved,
       superseded_at, superseded_by, decision_days
FROM risk_list ORDER BY week DESC, status, id DESC
"""
SUMMARY_SQL = """
WITH e AS (SELECT * FROM risk_list_entry WHERE list_id = :list_id AND change <> 'resolved')
SELECT 'level', township_code, township_name, level, count(*) FROM e
 GROUP BY township_code, township_name, level
UNION ALL
SELECT 'change', change, NULL, NULL, count(*) FROM risk_list_entry WHERE list_id = :list_id GROUP BY change
UNION ALL
SELECT 'step', case_step, NULL, NULL, count(*) FROM e WHERE case_step IS NOT NULL GROUP BY case_step
UNION ALL
SELECT 'overdue', township_code, township_name, NULL, count(*) FROM e
 WHERE case_step IS NOT NULL AND overdue GROUP BY township_code, township_name
UNION ALL
SELECT 'types', risk_types, NULL, NULL, count(*) FROM e GROUP BY risk_types
UNION ALL
SELECT 'reasons', reason_codes, NULL, NULL, count(*) FROM e GROUP BY reason_codes
UNION ALL
SELECT 'confirmed', NULL, NULL, NULL, sum(risk_types_confirmed) FROM e
UNION ALL
SELECT 'unmet', NULL, NULL, NULL, sum(risk_types_without_measure) FROM e
UNION ALL
SELECT 'trend', l.week || ' ' || l.id, x.township_code || ' ' || x.township_name, x.level, count(*)
FROM risk_list l JOIN risk_list_entry x ON x.list_id = l.id
WHERE l.id IN (SELECT id FROM risk_list WHERE status = 'current' AND week <= :week
               ORDER BY week DESC LIMIT 12)
  AND x.change <> 'resolved' AND x.level IN ('high', 'medium')
GROUP BY l.week, l.id, x.township_code, x.township_name, x.level
"""
STEPS = ("village_verification", "democratic_review", "public_notice", "township_review", "district_decision")


def dashboard_floor(db: Database, week: str) -> tuple[float, dict[str, Any]]:
    """The weeks and the week's summary, by two SQL statements (the page's two requests), as JSON."""
    started = time.perf_counter()
    weeks = db.rows(WEEKS_SQL, {})
    names = (
        "id week status generated_at generated_by run_id policy_version previous_id entries resolved "
        "superseded_at superseded_by"
    ).split()
    listing = [dict(zip(names, row[:-1], strict=True)) for row in weeks]
    current = next(row for row in weeks if row[1] == week and row[2] == "current")
    decision_days = current[-1] if isinstance(current[-1], dict) else json.loads(current[-1] or "{}")
    rows = db.rows(SUMMARY_SQL, {"list_id": current[0], "week": week})
    townships: dict[str, dict[str, Any]] = {}
    changes: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    types: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    sums: dict[str, int] = {}
    trend: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(Counter))
    for kind, a, b, c, n in rows:
        n = int(n or 0)
        if kind == "level":
            row = townships.setdefault(a, _township(a, b))
            row[c if c in ("high", "medium") else "low"] += n
        elif kind == "change":
            changes[a] += n
        elif kind == "step":
            steps[a] += n
        elif kind == "overdue":
            townships.setdefault(a, _township(a, b))["overdue_cases"] = n
        elif kind in ("types", "reasons"):
            for code in (a or "").strip("|").split("|"):
                if code:
                    (types if kind == "types" else reasons)[code] += n
        elif kind == "trend":
            trend[a][b][c] = n
        else:
            sums[kind] = n
    days = sorted(d for values in decision_days.values() for d in values)
    summary = {
        "week": week,
        "list_id": current[0],
        "households": sum(t["high"] + t["medium"] + t["low"] for t in townships.values()),
        "by_township": sorted(townships.values(), key=lambda t: t["township_code"]),
        "by_risk_type": dict(types.most_common()),
        "by_reason": dict(reasons.most_common()),
        "changes": {
            k: changes.get(k, 0) for k in ("new", "continuing", "level_up", "level_down", "resolved")
        },
        "cases_by_step": {s: steps[s] for s in STEPS if steps[s]},
        "overdue_cases": sum(t["overdue_cases"] for t in townships.values()),
        "median_days_to_decision": statistics.median(days) if days else None,
        "decisions": len(days),
        "confirmed_risk_types_with_measure": (
            round(1 - sums.get("unmet", 0) / sums["confirmed"], 4) if sums.get("confirmed") else None
        ),
        "trend": _trend(trend),
    }
    body = json.dumps(listing, ensure_ascii=False, default=_json).encode()
    body2 = json.dumps(summary, ensure_ascii=False, default=_json).encode()
    elapsed = time.perf_counter() - started
    return elapsed, {"listing": json.loads(body), "summary": json.loads(body2)}


def _township(code: str, name: str) -> dict[str, Any]:
    return {
        "township_code": code,
        "township_name": name,
        "high": 0,
        "medium": 0,
        "low": 0,
        "overdue_cases": 0,
    }


def _trend(counts: dict[str, dict[str, dict[str, int]]]) -> list[dict[str, Any]]:
    """Per list, oldest first: its high and medium households, overall and for every township of the
    trend (0 where it had none that week)."""
    townships = sorted({t for by in counts.values() for t in by})
    weeks = []
    for key in sorted(counts):
        week, list_id = key.split(" ")
        by = counts[key]
        rows: list[dict[str, Any]] = []
        for township in townships:
            code, name = township.split(" ", 1)
            levels = by.get(township, {})
            rows.append(
                {
                    "township_code": code,
                    "township_name": name,
                    "high": levels.get("high", 0),
                    "medium": levels.get("medium", 0),
                }
            )
        weeks.append(
            {
                "week": week,
                "list_id": int(list_id),
                "high": sum(int(r["high"]) for r in rows),
                "medium": sum(int(r["medium"]) for r in rows),
                "by_township": rows,
            }
        )
    return weeks


# ---- comparing the floors' figures with the API's ------------------------------------------------------


def compare_list(api: dict[str, Any], floor: dict[str, Any]) -> dict[str, Any]:
    """Which of the API's item fields the floor also gives, and on how many rows they disagree."""
    api_items, floor_items = api["items"], floor["items"]
    api_fields = sorted(api_items[0]) if api_items else []
    floor_by_id = {item["id"]: item for item in floor_items}
    aliases = {"risk_level": "risk_level", "open_case_step": "open_case_step", "open_case_id": "open_case_id"}
    shared = [f for f in api_fields if f in floor_items[0]] if floor_items else []
    mismatches: Counter[str] = Counter()
    for item in api_items:
        other = floor_by_id.get(item["id"])
        if other is None:
            mismatches["(row missing in the floor)"] += 1
            continue
        for f in shared:
            a, b = item[f], other[aliases.get(f, f)]
            if f in ("created_at", "updated_at") and a and b:
                a, b = a[:19].replace(" ", "T"), str(b)[:19].replace(" ", "T")
            if a != b:
                mismatches[f] += 1
    return {
        "api_total": api["total"],
        "floor_total": floor["total"],
        "api_rows": len(api_items),
        "floor_rows": len(floor_items),
        "same_ids": [i["id"] for i in api_items] == [i["id"] for i in floor_items],
        "api_fields": api_fields,
        "api_fields_not_in_floor": [f for f in api_fields if f not in shared],
        "mismatches": dict(mismatches),
    }


def compare_summary(api: dict[str, Any], floor: dict[str, Any]) -> dict[str, Any]:
    fields = sorted(api)
    shared = [f for f in fields if f in floor]
    differ = [f for f in shared if api[f] != floor[f]]
    for f in differ:
        say(f"  summary {f}: API {json.dumps(api[f], ensure_ascii=False)[:300]}")
        say(f"  summary {f}: floor {json.dumps(floor[f], ensure_ascii=False)[:300]}")
    return {"api_fields": fields, "not_in_floor": [f for f in fields if f not in floor], "differ": differ}


# ---- transfer size ------------------------------------------------------------------------------------

IMPORT = re.compile(
    r"""(?:\bimport\s*(?:[\w*{}\s,$]+\s*from\s*)?|\bexport\s*[\w*{}\s,$]+\s*from\s*|\bimport\s*\(\s*)"""
    r"""["']([^"']+\.m?js)["']"""
)
WORKER = re.compile(r"""serviceWorker\.register\(\s*["']([^"']+)["']""")
CSS_URL = re.compile(r"""(?:@import\s+|url\()\s*["']?([^"')\s;]+)""")
HTML_ASSET = re.compile(
    r"""<(?:script[^>]*\ssrc|link[^>]*\srel=["'](?:stylesheet|modulepreload|manifest)["'][^>]*\shref)"""
    r"""=["']([^"']+)["']"""
)


def fetch(client: httpx.Client, url: str) -> dict[str, Any]:
    response = client.get(url, headers={"Accept-Encoding": "gzip"})
    response.raise_for_status()
    body = response.content
    return {
        "url": urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else ""),
        "bytes": len(body),
        "wire": response.num_bytes_downloaded,
        "encoding": response.headers.get("content-encoding", ""),
        "gzip": len(gzip.compress(body, 6)),
        "body": body,
    }


def transfer(client: httpx.Client, base: str, page_size: int | None) -> dict[str, Any]:
    """The app's files a first visit downloads (following the page's links and the modules' imports),
    and the list's JSON."""
    seen: set[str] = set()
    files: list[dict[str, Any]] = []
    queue = [urljoin(base, "/")]
    while queue:
        url = queue.pop(0)
        if url in seen or not url.startswith(base):
            continue
        seen.add(url)
        got = fetch(client, url)
        files.append(got)
        content = got["body"].decode("utf-8", "replace")
        path = urlsplit(url).path
        if path == "/" or path.endswith(".html"):
            found = HTML_ASSET.findall(content)
        elif path.endswith((".js", ".mjs")):
            found = IMPORT.findall(_without_comments(content)) + WORKER.findall(content)
        elif path.endswith(".css"):
            found = CSS_URL.findall(content)
        else:
            found = []
        queue += [urljoin(url, link) for link in found if not link.startswith("data:")]
    data = fetch(client, f"{base}{LIST_PATH}?page_size=500")
    first = fetch(client, f"{base}{LIST_PATH}?page=1&page_size={page_size}") if page_size else None
    for item in (*files, data, *([first] if first else [])):
        del item["body"]
    return {"files": files, "list": data, "page": first}


def page_size_of_page(client: httpx.Client) -> int | None:
    """The page size the cadre's list page asks for (its script's PAGE_SIZE), if it says."""
    found = re.search(r"\bPAGE_SIZE\s*=\s*(\d+)", client.get("/static/cadre.js").text)
    return int(found.group(1)) if found else None


def _without_comments(source: str) -> str:
    return re.sub(r"/\*.*?\*/|(?<![:\"'])//[^\n]*", "", source, flags=re.S)


# ---- measuring ----------------------------------------------------------------------------------------


def interleaved(
    label: str,
    api: Callable[[], tuple[float, Any]],
    floor: Callable[[], tuple[float, Any]],
    service: Callable[[], tuple[float, Any]],
    warmup: int,
    requests: int,
    log: ServerLog,
) -> dict[str, Any]:
    """`requests` timings of each, alternating, after `warmup` of each; and the server's own times of
    the API's requests (by path, from its log)."""
    api_s: list[float] = []
    floor_s: list[float] = []
    service_s: list[float] = []
    api_last = floor_last = None
    for i in range(warmup + requests):
        if i == warmup:
            log.mark()
        a, api_last = api()
        f, floor_last = floor()
        v, _ = service()
        if i >= warmup:
            api_s.append(a)
            floor_s.append(f)
            service_s.append(v)
    by_path: dict[str, list[float]] = defaultdict(list)
    for entry in log.since_mark():
        by_path[re.sub(r"/\d{4}-W\d{2}/", "/{week}/", entry["path"])].append(entry["ms"] / 1000)
    say(
        f"  {label}: API median {statistics.median(api_s) * 1000:.1f} ms, "
        f"floor {statistics.median(floor_s) * 1000:.1f} ms, "
        f"service in process {statistics.median(service_s) * 1000:.1f} ms"
    )
    return {
        "api": stats(api_s),
        "floor": stats(floor_s),
        "service": stats(service_s),
        "server": {path: stats(values) for path, values in by_path.items()},
        "api_answer": api_last,
        "floor_answer": floor_last,
    }


def stats(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"median": statistics.median(ordered), "p95": p95, "n": len(ordered), "min": ordered[0]}


def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = args.data_dir or (
        district_bench.DEFAULT_DATA_DIR
        if args.households >= district_bench.SMALL
        else Path(tempfile.gettempdir()) / "shouwang-bench-risk"
    )
    district = district_bench.district_for(args.database, args.households, data_dir)
    district_bench.prepare(district, args.households, args.chunk, args.seed, rebuild=False)
    district_bench.dispose()
    copy = web_copy(district)
    district_bench.configure(copy.url)
    district_bench.migrate(copy.url)
    say(f"measuring on {copy.name}")
    lists_bench.current = copy  # (risk_lists.py's helpers vacuum the copy they are given here)
    facts = lists_bench.ensure_run_and_cases(args.households, args.list_share)
    facts |= ensure_lists(args.weeks)
    facts |= ensure_village(args.village_size)
    ensure_user(CADRE, "village_cadre", facts["village"])
    from app.db import session_scope
    from app.models import Region
    from app.models.enums import RegionLevel

    with session_scope() as session:
        county = session.scalars(select(Region.code).where(Region.level == RegionLevel.county)).first()
    assert county is not None
    ensure_user(OFFICE, "district_officer", county)
    facts |= village_facts(facts["village"])
    district_bench.vacuum(copy, analyze_all=True)
    district_bench.dispose()
    week = facts["week"]
    db = Database(copy)
    load_before = os.getloadavg()[0]
    try:
        with tempfile.TemporaryDirectory() as tmp, server(copy.url, Path(tmp) / "server.log") as base:
            log = ServerLog(Path(tmp) / "server.log")
            cadre = client_for(base, CADRE)
            office = client_for(base, OFFICE)
            say(f"server {base}; village {facts['village']}; week {week}; search q={facts['q']!r}")
            cadre_actor, office_actor = actor_of(CADRE), actor_of(OFFICE)
            size = page_size_of_page(cadre) or 500
            measured = {
                "list": interleaved(
                    "list",
                    lambda: timed_get(cadre, LIST_PATH, {"page_size": 500}),
                    lambda: households_floor(db, facts, None),
                    lambda: service_list(cadre_actor, None),
                    args.warmup,
                    args.requests,
                    log,
                ),
                "page": interleaved(
                    "page",
                    lambda: timed_get(cadre, LIST_PATH, {"page": 1, "page_size": size}),
                    lambda: households_floor(db, facts, None, size),
                    lambda: service_list(cadre_actor, None, size),
                    args.warmup,
                    args.requests,
                    log,
                ),
                "search": interleaved(
                    "search",
                    lambda: timed_get(cadre, LIST_PATH, {"page_size": 500, "q": facts["q"]}),
                    lambda: households_floor(db, facts, facts["q"]),
                    lambda: service_list(cadre_actor, facts["q"]),
                    args.warmup,
                    args.requests,
                    log,
                ),
                "dashboard": interleaved(
                    "dashboard",
                    lambda: dashboard_api(office, week),
                    lambda: dashboard_floor(db, week),
                    lambda: service_dashboard(office_actor, week),
                    args.warmup,
                    args.requests,
                    log,
                ),
            }
            sizes = transfer(cadre, base, size if size != 500 else None)
            cadre.close()
            office.close()
    finally:
        db.close()
    lists, search, dash = measured["list"], measured["search"], measured["dashboard"]
    first = measured["page"]
    return {
        "database": args.database,
        "households": args.households,
        "district": district.built,
        "copy": copy.name,
        "facts": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in facts.items()},
        "list": _figures(lists) | {"compare": compare_list(lists["api_answer"], lists["floor_answer"])},
        "search": _figures(search) | {"compare": compare_list(search["api_answer"], search["floor_answer"])},
        "page": _figures(first)
        | {"page_size": size, "compare": compare_list(first["api_answer"], first["floor_answer"])},
        "dashboard": _figures(dash)
        | {
            "api_parts_ms": dash["api_answer"]["parts_ms"],
            "weeks": len(dash["api_answer"]["listing"]),
            "compare": compare_summary(dash["api_answer"]["summary"], dash["floor_answer"]["summary"]),
        },
        "transfer": sizes,
        "command": shlex.join(sys.orig_argv),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
    }


def dashboard_api(client: httpx.Client, week: str) -> tuple[float, dict[str, Any]]:
    """The dashboard's two requests, one after the other as the page makes them."""
    first, listing = timed_get(client, "/api/v1/risk-lists")
    second, summary = timed_get(client, f"/api/v1/risk-lists/{week}/summary")
    parts = {"weeks": first * 1000, "summary": second * 1000}
    return first + second, {"listing": listing, "summary": summary, "parts_ms": parts}


def _figures(measured: dict[str, Any]) -> dict[str, Any]:
    api, floor, service = measured["api"], measured["floor"], measured["service"]
    server_median = sum(v["median"] for v in measured["server"].values())
    return {
        "api": api,
        "floor": floor,
        "service": service,
        "server": measured["server"],
        "server_median": server_median,
        "server_ratio": server_median / floor["median"],
        "ratio": api["median"] / floor["median"],
        "service_ratio": service["median"] / floor["median"],
    }


# ---- the report ---------------------------------------------------------------------------------------


def report(result: dict[str, Any]) -> str:
    facts = result["facts"]
    lists, search, dash = result["list"], result["search"], result["dashboard"]
    n = lists["api"]["n"]
    lines = [
        f"database: {result['database']}  district: {result['households']:,} households (copy "
        f"{result['copy']}; {result['district'].get('source')})",
        f"command: {result['command']}",
        f"scoring run {facts['run_id']} ({facts['mode']}): {facts['high']:,} high, {facts['medium']:,} "
        f"medium; village {facts['village']} ({VILLAGE_NAME}) of {result['list']['compare']['api_total']} "
        f"households; week {facts['week']} ({dash['weeks']} lists); search q={facts['q']!r} "
        f"({search['compare']['api_total']} found by the API, "
        f"{search['compare']['floor_total']} by the floor)",
        "",
        "| page request | API median | API p95 | floor median | floor p95 | API ÷ floor "
        "| in the server (its log), median | server ÷ floor | service in process, median | service ÷ floor |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    page = result["page"]
    for label, figures in (
        ("household list `GET /api/v1/households?page_size=500` (village cadre)", lists),
        (f"search `…&q={facts['q']}`", search),
        (f"the list page's own request `?page=1&page_size={page['page_size']}`", page),
        ("dashboard `GET /api/v1/risk-lists` + `…/{week}/summary` (district office)", dash),
    ):
        api, floor = figures["api"], figures["floor"]
        lines.append(
            f"| {label} | {api['median'] * 1000:.1f} ms | {api['p95'] * 1000:.1f} ms | "
            f"{floor['median'] * 1000:.1f} ms | {floor['p95'] * 1000:.1f} ms | **{figures['ratio']:.1f}×** | "
            f"{figures['server_median'] * 1000:.1f} ms | {figures['server_ratio']:.1f}× | "
            f"{figures['service']['median'] * 1000:.1f} ms | {figures['service_ratio']:.1f}× |"
        )
    lines += [
        "",
        f"{n} timed requests of each after warm-up, each alternating with its floor and the service call; "
        "dashboard in the server: "
        + ", ".join(
            f"`{path}` median {v['median'] * 1000:.1f} ms (p95 {v['p95'] * 1000:.1f}, n {v['n']})"
            for path, v in dash["server"].items()
        ),
    ]
    for label, figures in (("list", lists), ("search", search), ("page", page)):
        c = figures["compare"]
        lines.append(
            f"{label}: API {c['api_rows']} rows of {c['api_total']}, floor {c['floor_rows']} of "
            f"{c['floor_total']}, same households in the same order: {c['same_ids']}; API fields "
            f"{', '.join(c['api_fields'])}; not in the floor: "
            f"{', '.join(c['api_fields_not_in_floor']) or '—'}; "
            f"rows differing: {c['mismatches'] or 'none'}"
        )
    c = dash["compare"]
    lines.append(
        f"dashboard summary: API fields {', '.join(c['api_fields'])}; not in the floor: "
        f"{', '.join(c['not_in_floor']) or '—'}; differing from the floor: {', '.join(c['differ']) or 'none'}"
    )
    t = result["transfer"]
    files = t["files"]
    app_bytes = sum(f["bytes"] for f in files)
    app_wire = sum(f["wire"] for f in files)
    app_gzip = sum(f["gzip"] for f in files)
    jsons = [t["list"], *([t["page"]] if t.get("page") else [])]
    compressed = sorted({f["encoding"] for f in (*files, *jsons) if f["encoding"]})
    lines += [
        "",
        "| a cadre's first visit | bytes | on the wire | gzip (level 6, computed here) |",
        "|---|---|---|---|",
    ]
    for f in (*files, *jsons):
        lines.append(f"| `{f['url']}` | {f['bytes']:,} | {f['wire']:,} | {f['gzip']:,} |")
    lines.append(f"| **app files ({len(files)})** | **{app_bytes:,}** | {app_wire:,} | {app_gzip:,} |")
    for f in jsons:
        lines.append(
            f"| **app files + `{f['url']}`** | **{app_bytes + f['bytes']:,}** | {app_wire + f['wire']:,} | "
            f"{app_gzip + f['gzip']:,} |"
        )
    total = app_bytes + t["list"]["bytes"]
    lines += [
        "",
        f"server compression: {', '.join(compressed) if compressed else 'none (no Content-Encoding)'}; "
        f"app files ÷ the {PAGE_BUDGET // 1000} KB budget: {app_bytes / PAGE_BUDGET:.3f} "
        f"({app_bytes / PAGE_BUDGET:.1%}); with the 500 households' JSON: {total / PAGE_BUDGET:.2f}",
        f"machine: {result['cpus']} CPUs; 1-minute load average {result['load_average'][0]} before, "
        f"{result['load_average'][1]} after",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50, help="timed requests per figure")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests first")
    parser.add_argument("--village-size", type=int, default=500)
    parser.add_argument("--weeks", type=int, default=12, help="weekly lists made on the copy")
    parser.add_argument(
        "--list-share",
        type=float,
        default=0.08,
        help="trim the scoring run's flags so the list holds about this share (see risk_lists.py)",
    )
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    if args.households < args.village_size or args.requests < 1 or args.warmup < 0:
        parser.error("--households must hold the village; --requests positive")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    result = run(args)
    print(report(result))
    if args.json:
        print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
