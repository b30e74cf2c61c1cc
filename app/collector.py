"""How Shouwang's long-running and bulk processes set Python's garbage collector.

A request, a scoring chunk or a demo-data chunk builds many thousands of short-lived objects (a
1,000-report batch: models, rows, dicts). At the default threshold a young collection runs every 700
allocations and walks whatever is alive at that moment, and full collections walk everything start-up
loaded. Freezing what is loaded and collecting the young every 50,000 allocations cut a report batch's
time by 8 %, demo-data's by 2–5 % and a 50k scoring run's by 6 % (bench/RESULTS.md, issue 18 session 6).
Cycles are still collected.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 50_000
OLDER_THRESHOLDS = (20, 20)


def tune() -> None:
    """Freeze what the process holds now (modules, routes, schemas) and collect the young generation
    every YOUNG_THRESHOLD allocations."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)


@contextmanager
def young_every(allocations: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Young collections every `allocations` allocations for the block, then the process's own setting
    again: for bulk work that may run in a process nobody tuned (a scoring run from `shouwang risk run`,
    or a benchmark's)."""
    before = gc.get_threshold()
    gc.set_threshold(allocations, *OLDER_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
