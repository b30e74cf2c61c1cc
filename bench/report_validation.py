"""Microbenchmark: validating a 1,000-report batch's items as the batch route does, in process (no HTTP, no
database). For A/Bs of the request schemas: run it from each tree (a git worktree for the other side),
alternately, and compare the best times.

    .venv/bin/python -m bench.report_validation            # best of 15 passes over 1,000 items
"""

import argparse
import time
from datetime import date
from typing import Any

from app.schemas.common import TODAY
from app.schemas.reports import BatchReportItem


def items(count: int) -> list[dict[str, Any]]:
    """Reports as a cadre's phone writes them: amounts as decimal strings and integers, every field sent."""
    return [
        {
            "household_id": 1000 + i,
            "client_ref": f"b-{i}-2026q3",
            "period_start": "2026-07-01",
            "period_end": "2026-09-30",
            "income": {
                "wages": f"{3000 + i % 500}.50",
                "business": 1200 + i % 7,
                "property": "0",
                "transfer": "450.25",
                "production_cost": "300",
            },
            "insurance_payout": "0",
            "spending": {"medical": "120.00", "education": "0"},
            "housing_grade": "B",
            "drinking_water_safe": True,
            "food_secure": True,
            "clothing_secure": True,
        }
        for i in range(count)
    ]


def best_of(bodies: list[dict[str, Any]], passes: int) -> float:
    context = {TODAY: date(2026, 12, 1)}
    best = float("inf")
    for _ in range(passes):
        started = time.perf_counter()
        for body in bodies:
            BatchReportItem.model_validate(body, context=context)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--passes", type=int, default=15)
    args = parser.parse_args()
    bodies = items(args.items)
    best_of(bodies, 3)  # warm-up
    best = best_of(bodies, args.passes)
    print(f"validating {args.items:,} batch items: best of {args.passes}: {best * 1000:.2f} ms")


if __name__ == "__main__":
    main()
