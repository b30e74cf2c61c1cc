"""Where one household GET's time goes in the service: cProfile over --requests requests of
`GET /api/v1/households/{id}` through the app's ASGI stack (every middleware, the dependencies, the route),
in this process, as one village cadre reading households of their own village; and the SQL statements
each request sends (an event listener on the engine).

    .venv/bin/python bench/http_profile.py                   # on bench/http_load.py's prepared copy
    .venv/bin/python bench/http_profile.py --requests 500 --top 30

Runs on the copy bench/http_load.py prepares (`<district>_http`; run http_load.py once first), with the same
production settings, reading only. FastAPI runs sync routes and dependencies in a thread pool; here they run
inline on the event loop's thread (anyio.to_thread.run_sync is replaced), so that cProfile, which sees one
thread, sees all of a request's work. No HTTP server and no socket: the figures are the app's own cost per
request, without uvicorn's parsing and the loopback.
"""

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
from sqlalchemy import event, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import http_load, web_pages  # noqa: E402
from bench import risk_scoring as district_bench  # noqa: E402

say = district_bench.say


async def _inline(func: Callable[..., Any], *args: Any, **_: Any) -> Any:
    return func(*args)


def _shape(statement: str) -> str:
    """A statement's shape: one line, literal lists collapsed, at most 160 characters."""
    flat = re.sub(r"\s+", " ", statement).strip()
    flat = re.sub(r"\(__\[POSTCOMPILE_\w+\]\)", "(…)", flat)
    return flat[:160]


async def _requests(client: httpx.AsyncClient, token: str, ids: list[int], count: int) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    times = []
    for i in range(count):
        started = time.perf_counter()
        response = await client.get(f"/api/v1/households/{ids[i % len(ids)]}", headers=headers)
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"GET answered {response.status_code}: {response.text[:300]}")
    return times


def profile(args: argparse.Namespace) -> str:
    name = f"shouwang_bench_{district_bench.size_label(args.households)}_http"
    if not district_bench.pg_exists(name):
        raise SystemExit(f"no database {name}: run bench/http_load.py --households {args.households} first")
    os.environ.update(http_load.PRODUCTION_ENV)
    district_bench.configure(district_bench.PG_SERVER + name)
    from app.config import get_settings
    from app.db import get_engine, session_scope
    from app.main import create_app
    from app.models import Household, User

    with session_scope() as session:
        username, village = session.execute(
            select(User.username, User.region_code)
            .where(User.username.startswith(http_load.CADRE_PREFIX))
            .order_by(User.username)
            .limit(1)
        ).one()
        ids = list(session.scalars(select(Household.id).where(Household.village_code == village)))
    app = create_app(get_settings())
    statements: list[str] = []
    event.listen(get_engine(), "before_cursor_execute", lambda *a: statements.append(a[2]))
    anyio.to_thread.run_sync = _inline  # type: ignore[assignment]

    async def go() -> tuple[list[float], list[float], cProfile.Profile]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            response = await client.post(
                "/api/v1/auth/token", data={"username": username, "password": web_pages.PASSWORD}
            )
            response.raise_for_status()
            token = str(response.json()["access_token"])
            await _requests(client, token, ids, args.warmup)
            statements.clear()
            plain = await _requests(client, token, ids, args.requests)
            counted = len(statements)
            profiler = cProfile.Profile()
            profiler.enable()
            profiled = await _requests(client, token, ids, args.requests)
            profiler.disable()
            del statements[counted:]
            return plain, profiled, profiler

    plain, profiled, profiler = asyncio.run(go())
    per_request = len(statements) / args.requests
    shapes = Counter(_shape(s) for s in statements)
    if args.save is not None:
        profiler.dump_stats(args.save)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    lines = [
        f"GET /api/v1/households/{{id}} in process (ASGI, no server), {args.requests} requests as {username} "
        f"(village {village}, {len(ids)} households), after {args.warmup} warm-up requests, on {name}:",
        f"- per request without the profiler: median {statistics.median(plain) * 1000:.2f} ms, "
        f"mean {statistics.mean(plain) * 1000:.2f} ms "
        f"({args.requests / sum(plain):.0f} requests/s on one core)",
        f"- with cProfile: median {statistics.median(profiled) * 1000:.2f} ms",
        f"- SQL statements per request: {per_request:g}",
        "",
        "| statements per request | statement |",
        "|---|---|",
    ]
    lines += [f"| {n / args.requests:g} | `{shape}` |" for shape, n in shapes.most_common()]
    return "\n".join(lines) + "\n\n" + out.getvalue()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=50_000, help="the district http_load.py prepared")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--top", type=int, default=40, help="functions listed, by cumulative and own time")
    parser.add_argument("--save", type=Path, default=None, help="also save the profile (pstats) here")
    print(profile(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
