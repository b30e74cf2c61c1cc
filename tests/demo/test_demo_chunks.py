"""`shouwang demo-data` on a large district: chunks written side by side by two processes on PostgreSQL
give the district one process writes, and no ID number is given to two people."""

from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from app import db
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


def test_sqlite_is_written_by_one_process() -> None:
    result = CliRunner().invoke(main, ["demo-data", "--households", "10", "--jobs", "2"])
    if IS_POSTGRES:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2
    assert "--jobs" in result.output
    assert "SQLite" in result.output


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
