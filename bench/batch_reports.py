"""Benchmark: reports per second through POST /api/v1/reports/batch, against direct Core executemany.

`shouwang serve` (production settings, one uvicorn process) serves the API; one client sends 1,000-report
batches one after another. Paired with each, the baseline inserts a batch of the same rows (same columns,
same table, households of its own) with SQLAlchemy Core `executemany` and commits, which is the floor for
what the endpoint has to write; the side that goes first alternates, and the ratio is the median of the
pairs'. Also measured: households per second through `demo-data`.

    .venv/bin/python bench/batch_reports.py --database sqlite
    .venv/bin/python bench/batch_reports.py --database postgresql

The district built here takes seconds, so it is rebuilt on each run in a database outside the repo
(SQLite: $TMPDIR/shouwang-bench/bench.db; PostgreSQL: database shouwang_bench).
"""

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, delete, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
VILLAGE = "530402202201"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BATCH = 1000
PASSWORD = "bench-password-123"


def database_url(kind: str) -> str:
    if kind == "sqlite":
        folder = Path(tempfile.gettempdir()) / "shouwang-bench"
        folder.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            (folder / f"bench.db{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{folder / 'bench.db'}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS shouwang_bench WITH (FORCE)"))
        connection.execute(text("CREATE DATABASE shouwang_bench"))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database="shouwang_bench").render_as_string(hide_password=False)


def configure(url: str) -> None:
    os.environ["SHOUWANG_DATABASE_URL"] = url
    os.environ["SHOUWANG_DEMO_HOUSEHOLDS"] = "0"
    from app import db
    from app.config import get_settings

    get_settings.cache_clear()
    db.engine_for.cache_clear()
    db.sessions_for.cache_clear()


def build_district(households: int, demo_households: int) -> tuple[list[int], float]:
    """Migrate, create the cadre, add the village's households (`households` of them, newest first);
    time demo-data separately."""
    from alembic import command

    from app.config import get_settings
    from app.db import session_scope
    from app.demo import district as demo
    from app.demo import regions as demo_regions
    from app.models import Household
    from app.schemas.users import UserCreate
    from app.services.platform import users
    from app.services.platform.access import Actor
    from app.services.platform.health import alembic_config

    settings = get_settings()
    config = alembic_config(settings.database_url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    with session_scope() as session:
        demo_regions.ensure_regions(session, settings)
        users.create(
            session,
            settings,
            Actor.system("bench"),
            UserCreate(username="bench-cadre", password=PASSWORD, role="village_cadre", region_code=VILLAGE),
        )
    started = time.perf_counter()
    with session_scope() as session:
        demo.generate(session, settings, households=demo_households, seed=3)
    demo_rate = demo_households / (time.perf_counter() - started)
    with session_scope() as session:
        demo.generate(session, settings, households=households, seed=5, quarter_count=0, villages=[VILLAGE])
        ids = list(
            session.scalars(
                select(Household.id).where(Household.village_code == VILLAGE).order_by(Household.id.desc())
            ).all()
        )[:households]
    return ids, demo_rate


def quarter_periods(year: int) -> list[tuple[date, date]]:
    starts = [date(year, m, 1) for m in (1, 4, 7, 10)]
    ends = [date(year, 3, 31), date(year, 6, 30), date(year, 9, 30), date(year, 12, 31)]
    return list(zip(starts, ends, strict=True))


def batch_items(household_ids: list[int], year: int) -> list[dict[str, Any]]:
    per_household = BATCH // len(household_ids)
    items = []
    for hid in household_ids:
        for q, (start, end) in enumerate(quarter_periods(year)[:per_household]):
            items.append(
                {
                    "household_id": hid,
                    "client_ref": f"{year}q{q + 1}",
                    "period_start": start.isoformat(),
                    "period_end": end.isoformat(),
                    "income": {
                        "wages": "3012.50",
                        "business": "2100",
                        "property": "80.25",
                        "transfer": "950",
                        "production_cost": "420.10",
                    },
                    "spending": {"medical": "120", "education": "0"},
                    "housing_grade": "A",
                    "drinking_water_safe": True,
                    "food_secure": True,
                    "clothing_secure": True,
                }
            )
    return items


def core_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for item in items:
        income = item["income"]
        rows.append(
            {
                "household_id": item["household_id"],
                "client_ref": "core-" + item["client_ref"],
                "body_hash": "0" * 64,
                "period_start": date.fromisoformat(item["period_start"]),
                "period_end": date.fromisoformat(item["period_end"]),
                **{k: Decimal(v) for k, v in income.items()},
                "insurance_payout": Decimal(0),
                "spending_medical": Decimal(item["spending"]["medical"]),
                "spending_education": Decimal(0),
                "housing_grade": "A",
                "drinking_water_safe": True,
                "food_secure": True,
                "clothing_secure": True,
            }
        )
    return rows


def serve(url: str, port: int) -> subprocess.Popen[bytes]:
    """`shouwang serve` as production runs it (its settings, its collector tuning). The district was built
    under the demo keys; submitting reports decrypts nothing."""
    from bench.http_load import PRODUCTION_ENV

    env = {
        **os.environ,
        **PRODUCTION_ENV,
        "SHOUWANG_DATABASE_URL": url,
        "SHOUWANG_SCHEDULER_IN_PROCESS": "false",
    }
    log_path = Path(tempfile.gettempdir()) / "shouwang-bench-server.log"
    with log_path.open("wb") as log:  # a pipe nobody reads would fill up and stop the server
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    for _ in range(600):  # importing the app takes 5 s on an idle 2-core machine, more on a busy one
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the server did not start: {log_path.read_text(errors='replace')[-2000:]}")


def run(kind: str, households: int, batches: int, demo_households: int, port: int) -> dict[str, float]:
    """Each API batch is paired with the baseline's batch of the same shape (this machine's speed drifts
    by a quarter between runs: a ratio means something only between neighbours), which side goes first
    alternating from pair to pair. The baseline writes to households of its own in the same table, so
    that neither side's rows change the other's work; both sides' times include their commit."""
    url = database_url(kind)
    configure(url)
    village_ids, demo_rate = build_district(2 * households, demo_households)
    api_households, core_households = village_ids[:households], village_ids[households:]
    years = list(range(2024 - batches + 1, 2025))

    from app.models import Report

    engine = create_engine(url)
    with engine.connect():  # the baseline's connection opened before its first batch, as the server's are
        pass
    server = serve(url, port)
    api_times: list[float] = []
    core_times: list[float] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            token = client.post(
                "/api/v1/auth/token", data={"username": "bench-cadre", "password": PASSWORD}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

            def api_batch(year: int) -> None:
                # encoded before the clock starts, as the baseline's rows are built before it
                body = json.dumps({"reports": batch_items(api_households, year)}).encode()
                gc.collect()  # this client's garbage, collected outside either side's clock
                started = time.perf_counter()
                response = client.post("/api/v1/reports/batch", content=body, headers=headers)
                api_times.append(time.perf_counter() - started)
                if response.status_code != 201:
                    raise SystemExit(f"batch failed: {response.status_code} {response.text[:500]}")

            def core_batch(year: int) -> None:
                rows = core_rows(batch_items(core_households, year))
                gc.collect()
                started = time.perf_counter()
                with engine.begin() as connection:
                    connection.execute(insert(Report), rows)
                core_times.append(time.perf_counter() - started)

            for k, year in enumerate(years):
                for side in (api_batch, core_batch) if k % 2 == 0 else (core_batch, api_batch):
                    side(year)
    finally:
        server.terminate()
        server.wait()
    with engine.begin() as connection:
        connection.execute(delete(Report).where(Report.client_ref.like("core-%")))
    engine.dispose()

    per_batch = len(batch_items(api_households, years[0]))
    api = statistics.median(api_times)
    core = statistics.median(core_times)
    return {
        "api_reports_per_s": per_batch / api,
        "core_reports_per_s": per_batch / core,
        "reports_per_batch": per_batch,
        "ratio_api_to_core_time": statistics.median(
            a / c for a, c in zip(api_times, core_times, strict=True)
        ),
        "ratio_of_medians": api / core,
        "api_median_batch_s": api,
        "core_median_batch_s": core,
        "demo_households_per_s": demo_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--households", type=int, default=250, help="households receiving reports")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--demo-households", type=int, default=3000)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    result = run(args.database, args.households, args.batches, args.demo_households, args.port)
    print(
        f"database: {args.database}  batches: {args.batches} x {result['reports_per_batch']:.0f} reports, "
        "one client"
    )
    print(
        f"  API batch endpoint : {result['api_reports_per_s']:8.0f} reports/s "
        f"(median {result['api_median_batch_s'] * 1000:.0f} ms per batch)"
    )
    print(
        f"  Core executemany   : {result['core_reports_per_s']:8.0f} reports/s "
        f"(median {result['core_median_batch_s'] * 1000:.0f} ms per batch)"
    )
    ratio = result["ratio_api_to_core_time"]
    print(
        f"  ratio (API time / Core time): {ratio:.1f} (median of the batches' pairs; "
        f"of the medians: {result['ratio_of_medians']:.1f})"
    )
    print(f"  demo-data          : {result['demo_households_per_s']:8.0f} households/s")


if __name__ == "__main__":
    main()
