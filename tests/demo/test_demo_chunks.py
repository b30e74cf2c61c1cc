"""`shouwang demo-data` on a large district: chunks written side by side by two processes on PostgreSQL
give the district one process writes, and no ID number is given to two people."""

import gc
import itertools
from concurrent import futures
from datetime import UTC, date, datetime
from multiprocessing import get_context
from typing import Any

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from app import collector, db
from app.cli import main
from app.demo import chunks
from app.demo.people import STRIPES, PeopleGenerator
from app.models import Household, Member, MemberFact, Report
from app.models.enums import Sex
from tests.conftest import IS_POSTGRES, Seed, reset_to_seed


def _district() -> dict[str, list[tuple[Any, ...]]]:
    """What a user of the district sees of it, in household-number order (ids and times left out)."""
    by_number = Household.household_no
    with db.session_scope() as session:
        return {
            "households": list(
                session.execute(
                    select(by_number, Household.village_code, Household.monitoring_status).order_by(by_number)
                ).tuples()
            ),
            "people": list(
                session.execute(
                    select(by_number, Member.id_number_hash, Member.birth_date, Member.health)
                    .join(Member.household)
                    .order_by(by_number, Member.id_number_hash)
                ).tuples()
            ),
            "facts": list(
                session.execute(
                    select(Member.id_number_hash, MemberFact.fact, MemberFact.value, MemberFact.valid_from)
                    .join(MemberFact, MemberFact.member_id == Member.id)
                    .order_by(Member.id_number_hash, MemberFact.fact)
                ).tuples()
            ),
            "reports": list(
                session.execute(
                    select(by_number, Report.client_ref, Report.body_hash, Report.wages)
                    .join(Household, Household.id == Report.household_id)
                    .order_by(by_number, Report.client_ref)
                ).tuples()
            ),
        }


def _demo_data(jobs: str) -> None:
    args = ["demo-data", "--households", "100", "--seed", "4", "--years", "1", "--jobs", jobs]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "demo data: 100 households" in result.output


@pytest.mark.real_clock  # the chunks are written by other processes, on the real clock
@pytest.mark.skipif(not IS_POSTGRES, reason="SQLite takes one writer at a time")
def test_two_processes_write_the_district_one_process_writes(
    monkeypatch: pytest.MonkeyPatch, migrated: Engine, db_seed: Seed
) -> None:
    monkeypatch.setattr(chunks, "CHUNK_HOUSEHOLDS", 25)  # four chunks, two in each process
    _demo_data("1")
    written_alone = _district()
    reset_to_seed(migrated, db_seed)
    _demo_data("2")
    assert _district() == written_alone
    assert [row[0] for row in written_alone["households"]] == [f"D{n:07d}" for n in range(1, 101)]
    assert len(written_alone["reports"]) == 100 * 4


@pytest.mark.skipif(IS_POSTGRES, reason="the refusal is SQLite's")
def test_sqlite_is_written_by_one_process() -> None:
    result = CliRunner().invoke(main, ["demo-data", "--households", "10", "--jobs", "2"])
    assert result.exit_code == 2
    assert "--jobs" in result.output
    assert "SQLite" in result.output


@pytest.mark.parametrize("jobs", chunks.JOBS)
def test_chunks_that_may_be_written_at_once_never_share_a_stripe(jobs: int) -> None:
    """Chunks of different processes may be written at the same time: their ID-number stripes differ.
    Every chunk is written once, by one process."""
    plan = chunks.plan(230_000, 20_000, 1, date(2026, 12, 2), datetime(2026, 12, 1, tzinfo=UTC))
    shares = chunks.process_shares(plan, jobs)
    assert sorted(c.number for share in shares for c in share) == list(range(12))
    assert [c.first_no for c in plan] == [1 + 20_000 * n for n in range(12)]
    assert plan[-1].households == 10_000
    for one, other in itertools.combinations(shares, 2):
        assert not {c.stripe for c in one} & {c.stripe for c in other}


def test_the_cli_offers_the_process_counts_the_stripes_allow() -> None:
    jobs = next(p for p in main.commands["demo-data"].params if p.name == "jobs")
    assert isinstance(jobs.type, click.Choice)
    assert [int(n) for n in jobs.type.choices] == list(chunks.JOBS) == [1, 2, 4]


def test_chunks_written_at_once_draw_id_numbers_from_different_stripes() -> None:
    """Two generators on the same seed but different stripes never draw the same ID number (the number's
    sequence digits, halved, fall in the stripe), so two chunks written at once cannot collide."""
    today = date(2026, 12, 2)
    drawn = []
    for stripe in range(STRIPES):
        gen = PeopleGenerator(7, today, stripe)
        numbers = {gen.id_number(date(1980, 5, 17), Sex.female) for _ in range(100)}
        assert {int(n[14:17]) // 2 % STRIPES for n in numbers} == {stripe}
        drawn.append(numbers)
    assert len(set().union(*drawn)) == 100 * STRIPES


@pytest.mark.real_clock  # the chunks are written by other processes, on the real clock
@pytest.mark.skipif(not IS_POSTGRES, reason="SQLite takes one writer at a time")
def test_when_one_process_fails_the_other_stops_after_its_chunk(
    monkeypatch: pytest.MonkeyPatch, migrated: Engine
) -> None:
    """The first chunk cannot be written (the database refuses its first household): the command fails
    with the database's reason, and the other process stops after the chunk it is writing instead of
    writing its seven others; what was written is whole chunks.

    The other process's first chunk waits, inside the database, until the command has seen the failure
    (a lock the command takes then), so the test does not depend on which process started first (CI
    once saw the other write three chunks before the first process had begun)."""
    monkeypatch.setattr(chunks, "CHUNK_HOUSEHOLDS", 25)  # sixteen chunks, eight in each process
    refuse = """
        CREATE FUNCTION refuse_d1() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            waits int := 0;
        BEGIN
            IF NEW.household_no = 'D0000001' THEN RAISE EXCEPTION 'chunk refused for the test'; END IF;
            IF NEW.household_no = 'D0000026' THEN
                WHILE NOT EXISTS (
                    SELECT 1 FROM pg_locks
                    WHERE locktype = 'advisory' AND classid = 0 AND objid = 4711 AND objsubid = 1 AND granted
                      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                ) LOOP
                    IF waits = 1200 THEN RAISE EXCEPTION 'the command never saw the refusal'; END IF;
                    PERFORM pg_sleep(0.05);
                    waits := waits + 1;
                END LOOP;
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_d1 BEFORE INSERT ON household FOR EACH ROW EXECUTE FUNCTION refuse_d1();
    """
    with migrated.begin() as connection:
        connection.exec_driver_sql(refuse)
    try:
        with migrated.connect() as seen:  # holds the lock that says the command has seen the failure

            def wait_then_say_so(*args: Any, **kwargs: Any) -> Any:
                outcome = futures.wait(*args, **kwargs)
                seen.exec_driver_sql("SELECT pg_advisory_lock(4711)")  # session-level: outlives transactions
                seen.commit()
                return outcome

            monkeypatch.setattr(chunks, "wait", wait_then_say_so)
            try:
                args = ["demo-data", "--households", "400", "--seed", "4", "--years", "1", "--jobs", "2"]
                result = CliRunner().invoke(main, args)
            finally:
                seen.exec_driver_sql("SELECT pg_advisory_unlock_all()")
                seen.commit()
    finally:
        with migrated.begin() as connection:
            connection.exec_driver_sql("DROP TRIGGER refuse_d1 ON household; DROP FUNCTION refuse_d1();")
    assert result.exit_code != 0
    assert "chunk refused for the test" in result.output
    with db.session_scope() as session:
        numbers = session.scalars(select(Household.household_no)).all()
    assert len(numbers) % 25 == 0
    assert sorted(numbers)[:25] == [f"D{n:07d}" for n in range(26, 51)]  # the chunk it was writing, whole
    assert len(numbers) <= 2 * 25  # then at most one more, begun before the stop reached it


def test_a_writing_process_tunes_its_collector_as_the_service_does() -> None:
    """Young collections every 50,000 allocations: demo-data was 2–5 % slower at the default 700."""
    threshold = gc.get_threshold()
    event = get_context("spawn").Event()
    try:
        chunks._share(event)  # conftest restores the collector
        assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, *collector.OLDER_THRESHOLDS) != threshold
        assert chunks._stop is event
    finally:
        chunks._stop = None
