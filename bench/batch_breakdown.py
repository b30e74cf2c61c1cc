"""Where a 1,000-report batch spends its time, in process (no HTTP): medians over several batches.

    .venv/bin/python bench/batch_breakdown.py --database postgresql

Wraps the service's steps and every SQL statement with timers (nested steps are counted in each
enclosing one too); builds the same district as batch_reports.py. Use it to see which step an
optimisation should target.
"""

import argparse
import collections
import functools
import statistics
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, select

from bench import batch_reports as bench


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--batches", type=int, default=8)
    args = parser.parse_args()

    bench.configure(bench.database_url(args.database))
    household_ids, _ = bench.build_district(250, 10)

    from app import collector
    from app.clock import local_today
    from app.config import get_settings
    from app.db import get_engine, session_scope
    from app.models import User
    from app.models.enums import RegionLevel, Role
    from app.schemas.common import TODAY
    from app.schemas.plain import plain_adapter
    from app.schemas.reports import BatchReportItem, BatchReportsOut
    from app.services.platform import audit
    from app.services.platform.access import Actor
    from app.services.registry import report_checks, report_submission, report_views

    spent: dict[str, float] = collections.defaultdict(float)

    def timed(module: Any, name: str) -> None:
        original: Callable[..., Any] = getattr(module, name)

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started

        setattr(module, name, wrapper)

    for module, name in (
        (report_checks, "_resolve_households"),
        (report_submission, "check"),
        (report_submission, "_answers"),
        (report_views, "stored_reports"),
        (report_submission, "_insert"),
        (report_submission, "_read_new"),
        (report_checks, "body_hash"),
        (report_views, "memberships"),
        (report_views, "per_capita"),
    ):
        timed(module, name)
    timed(audit, "record")
    from app import bulk

    timed(bulk, "insert_rows")
    timed(bulk, "insert_tuples")
    engine = get_engine()

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, *_: Any) -> None:
        conn.info["sql_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        spent["SQL " + " ".join(statement.split())[:50]] += time.perf_counter() - conn.info["sql_started"]

    settings = get_settings()
    with session_scope() as session:
        user_id = session.scalar(select(User.id).where(User.username == "bench-cadre"))
    actor = Actor(user_id, "bench-cadre", Role.village_cadre, bench.VILLAGE, RegionLevel.village)
    history: dict[str, list[float]] = collections.defaultdict(list)
    collector.tune()  # as `shouwang serve` runs
    for year in range(2024 - args.batches + 1, 2025):
        raw = bench.batch_items(household_ids, year)
        spent.clear()
        started = time.perf_counter()
        today = local_today()  # as the route reads it: once per batch
        items = [
            report_checks.Item(
                body=BatchReportItem.model_validate(r, context={TODAY: today}),
                prefix=f"reports[{i}].",
                household_id=r["household_id"],
            )
            for i, r in enumerate(raw)
        ]
        spent["validate items"] = time.perf_counter() - started
        mark = time.perf_counter()
        with session_scope() as session:
            reads, _ = report_submission.submit_plain(session, settings, actor, items)
        spent["submit (with commit)"] = time.perf_counter() - mark
        mark = time.perf_counter()
        plain_adapter(BatchReportsOut).dump_json({"items": reads})  # as the route answers
        spent["serialize answer"] = time.perf_counter() - mark
        spent["TOTAL"] = time.perf_counter() - started
        for key, value in spent.items():
            history[key].append(value)
    print(f"{args.database}: median ms per 1,000-report batch over {args.batches} batches")
    for key, values in sorted(history.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"  {statistics.median(values) * 1000:7.1f}  {key}")


if __name__ == "__main__":
    main()
