"""How Shouwang's long-running and bulk processes set Python's garbage collector.

A request, a scoring chunk or a demo-data chunk builds many thousands of short-lived objects (a
1,000-report batch: models, rows, dicts). At the default threshold a young collection runs every 700
allocations and walks whatever is alive at that moment, and full collections walk everything start-up
loaded. Freezing what is loaded and collecting the young every 50,000 allocations cut a report batch's
time by 8 % and demo-data's by 2–5 % (bench/RESULTS.md, issue 18 session 6). Cycles are still collected.
"""

import gc

YOUNG_THRESHOLD = 50_000
OLDER_THRESHOLDS = (20, 20)


def tune() -> None:
    """Freeze what the process holds now (modules, routes, schemas) and collect the young generation
    every YOUNG_THRESHOLD allocations."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
