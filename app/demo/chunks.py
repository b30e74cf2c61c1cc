"""A large demo district (`shouwang demo-data`), written in chunks of households, each in its own
transaction. On PostgreSQL several processes write chunks side by side: one process spends as long
drawing and encrypting a chunk as the server spends storing it, so two keep both busy.

Chunk k is drawn from seed + 7919·k and ID-number stripe k mod STRIPES, and process s writes chunks s,
s + jobs, …: with jobs dividing STRIPES, chunks written at once never share a stripe, and the same seed
gives the same district whatever the number of processes. When one process fails, the others stop after
the chunk they are writing (on Ctrl-C, which reaches them all, they roll back the chunk they are
writing); the chunks written stay, each whole, and the next run numbers its households after the last
one written."""

import time
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from datetime import date, datetime
from multiprocessing import get_context, parent_process
from multiprocessing.synchronize import Event

import click

from app import bulk, collector
from app.clock import local_today
from app.config import Settings
from app.db import session_scope
from app.demo import district
from app.demo.people import STRIPES
from app.demo.regions import ensure_regions
from app.models.base import utcnow

CHUNK_HOUSEHOLDS = 20_000
JOBS = tuple(n for n in range(1, STRIPES + 1) if STRIPES % n == 0)  # 1, 2, 4


def write(
    settings: Settings, *, households: int, seed: int, quarter_count: int, jobs: int, chunk_households: int
) -> int:
    """Write the district; returns the households added. Progress goes to standard error."""
    if jobs not in JOBS:
        raise ValueError(f"jobs must be one of {JOBS}, not {jobs}")
    with session_scope() as session:  # before any chunk: concurrent chunks then find the regions there
        ensure_regions(session, settings)
        first_no = district.next_household_no(session)
    chunks = plan(households, chunk_households, first_no, local_today(), utcnow())
    if jobs == 1 or len(chunks) == 1:
        return write_chunks(settings, chunks, seed, quarter_count)
    context = get_context("spawn")
    stop = context.Event()
    slots = min(jobs, len(chunks))
    with ProcessPoolExecutor(slots, mp_context=context, initializer=_share, initargs=(stop,)) as pool:
        try:
            parts = [
                pool.submit(write_chunks, settings, share, seed, quarter_count)
                for share in process_shares(chunks, jobs)
            ]
            done, _ = wait(parts, return_when=FIRST_EXCEPTION)
        finally:
            stop.set()  # after a failure here the others finish the chunk they are writing, then stop
        for part in done:
            part.result()  # the first failure, raised once the others have stopped
        return sum(part.result() for part in parts)


def plan(
    households: int, chunk_households: int, first_no: int, today: date, now: datetime
) -> list[district.Chunk]:
    """The district's chunks, numbered from 0."""
    return [
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


def process_shares(chunks: Sequence[district.Chunk], jobs: int) -> list[Sequence[district.Chunk]]:
    """Process s's chunks: s, s + jobs, … (the processes that would have none are not started)."""
    return [chunks[slot::jobs] for slot in range(min(jobs, len(chunks)))]


_stop: Event | None = None  # set in a writing process: another one failed


def _share(stop: Event) -> None:
    """A writing process's start: the stop it watches, and the collector tuned as the service's are."""
    global _stop
    _stop = stop
    collector.tune()


def write_chunks(settings: Settings, chunks: Sequence[district.Chunk], seed: int, quarter_count: int) -> int:
    """One process's chunks, one after the other (in a worker process, on its own engine)."""
    count = 0
    parent = parent_process()
    for chunk in chunks:
        if _stop is not None and _stop.is_set():
            break
        if parent is not None and not parent.is_alive():  # the command was killed: no one waits for us
            break
        started = time.perf_counter()
        with session_scope() as session:
            # the tables grow by a chunk at a time, and autovacuum may be off: without fresh statistics
            # the look-ups of each chunk's ID numbers (member) and events' reports (report) become scans.
            # In a transaction of its own: ANALYZE holds its lock until commit, so inside the chunk's it
            # would make the other processes' ANALYZE wait for that chunk.
            bulk.refresh_statistics(session, ["member", "report"])
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
