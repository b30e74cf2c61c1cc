"""A large demo district (`shouwang demo-data`), written in chunks of households, each in its own
transaction. On PostgreSQL several processes write chunks side by side: one process spends as long
drawing and encrypting a chunk as the server spends storing it, so two keep both busy.

Chunk k is drawn from seed + 7919·k and ID-number stripe k mod STRIPES, and process s writes chunks s,
s + jobs, …: with jobs dividing STRIPES, chunks written at once never share a stripe, and the same seed
gives the same district whatever the number of processes."""

import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import click

from app import bulk
from app.clock import local_today
from app.config import Settings
from app.db import session_scope
from app.demo import district
from app.demo.people import STRIPES
from app.demo.regions import ensure_regions
from app.models.base import utcnow

CHUNK_HOUSEHOLDS = 20_000
JOBS = (1, 2, 4)  # the divisors of STRIPES


def write(
    settings: Settings, *, households: int, seed: int, quarter_count: int, jobs: int, chunk_households: int
) -> int:
    """Write the district; returns the households added. Progress goes to standard error."""
    assert STRIPES % jobs == 0, "jobs must divide STRIPES"
    with session_scope() as session:  # before any chunk: concurrent chunks then find the regions there
        ensure_regions(session, settings)
        first_no = district.next_household_no(session)
    today, now = local_today(), utcnow()
    plan = [
        district.Chunk(
            number=number,
            first_no=first_no + offset,
            households=min(chunk_households, households - offset),
            stripe=number % STRIPES,
            today=today,
            now=now,
            of=-(-households // chunk_households),
        )
        for number, offset in enumerate(range(0, households, chunk_households))
    ]
    if jobs == 1 or len(plan) == 1:
        return write_chunks(settings, plan, seed, quarter_count)
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        parts = [
            pool.submit(write_chunks, settings, plan[slot::jobs], seed, quarter_count) for slot in range(jobs)
        ]
        return sum(part.result() for part in parts)


def write_chunks(settings: Settings, chunks: Sequence[district.Chunk], seed: int, quarter_count: int) -> int:
    """One process's chunks, one after the other (in a worker process, on its own engine)."""
    count = 0
    for chunk in chunks:
        started = time.perf_counter()
        with session_scope() as session:
            # the tables grow by a chunk at a time: without fresh statistics the planner scans member
            # whole for each chunk's facts (922 → 248 households/s at 1M). In a transaction of its own:
            # ANALYZE holds its lock until commit, and would make the other processes' ANALYZE wait.
            bulk.refresh_statistics(session, ["member", "member_fact"])
        with session_scope() as session:
            count += district.generate(
                session,
                settings,
                households=chunk.households,
                seed=seed + 7919 * chunk.number,
                quarter_count=quarter_count,
                chunk=chunk,
            )
        if chunk.of > 1:
            click.echo(
                f"  chunk {chunk.number + 1} of {chunk.of}: {chunk.households:,} households "
                f"in {time.perf_counter() - started:.1f} s",
                err=True,
            )
    return count
