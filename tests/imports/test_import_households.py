"""Importing a district's records in the national system's layout with the shipped mapping: the dry run,
the import, a second import that changes nothing, planted errors found by line and column with nothing
written, monitored households brought in with their record, and the workbook of rows to fix."""

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select, text

from app import db
from app.cli import main
from app.demo import national_file as national
from app.demo.national_file import H, line_of
from app.models import Household, Member, MemberFact, Report
from app.models.audit import AuditEntry
from app.models.enums import MonitoringCategory, MonitoringStatus
from app.services.cases import assistance
from tests.conftest import IS_POSTGRES

runner = CliRunner()


def run_import(path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(main, ["import", "households", str(path), "--json", *args])
    return result.exit_code, json.loads(result.output.splitlines()[0])


def counts() -> dict[str, int]:
    with db.session_scope() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Household, Member, MemberFact, Report, AuditEntry)
        }


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    return national.write(tmp_path / "national.xlsx", national.district(100))


def test_the_national_layout_imports_once_and_a_second_import_changes_nothing(workbook: Path) -> None:
    before = counts()
    code, dry = run_import(workbook, "--dry-run")
    assert code == 0, dry
    assert dry["rows"] == 300
    assert dry["problems"] == []
    assert dry["households"] == {"create": 100, "update": 0, "unchanged": 0, "invalid": 0}
    assert dry["members_created"] == 300
    assert dry["reports"] == 100
    assert dry["monitored"] == 20
    assert dry["written"] is False
    assert counts() == before

    code, done = run_import(workbook)
    assert code == 0, done
    assert done["written"] is True
    assert done["households"]["create"] == 100
    after = counts()
    assert after["household"] - before["household"] == 100
    assert after["member"] - before["member"] == 300
    assert after["report"] - before["report"] == 100
    with db.session_scope() as session:
        household = session.scalars(select(Household).where(Household.household_no == "IMP00003")).one()
        assert household.address == "洛河村4组3号"
        assert household.phone_masked == "*******0003"
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.household_id == household.id).order_by(AuditEntry.seq)
        ).all()
        assert actions[:1] == ["household.create"]
        assert actions.count("member.create") == 3
        assert all(
            actor == "system:import"
            for actor in session.scalars(
                select(AuditEntry.actor).where(AuditEntry.household_id == household.id)
            )
        )

    code, again = run_import(workbook)
    assert code == 0, again
    assert again["households"] == {"create": 0, "update": 0, "unchanged": 100, "invalid": 0}
    assert counts() == after  # not one row more, not even an audit row


def test_monitored_households_come_in_with_their_record_and_gaps(workbook: Path) -> None:
    code, done = run_import(workbook)
    assert code == 0, done
    with db.session_scope() as session:
        monitored = session.scalars(select(Household).where(Household.household_no == "IMP00005")).one()
        assert monitored.monitoring_status == MonitoringStatus.monitored
        assert monitored.monitoring_category == MonitoringCategory.marginal  # 一般农户: 边缘易致贫户
        assert monitored.risk_types == ["因病", "因学"]
        assert str(monitored.monitored_since) == "2024-03-15"
        assert monitored.risk_eliminated_on is None
        gaps = assistance.gaps(session, monitored, [])
        assert [(g.risk_type, g.days_without_measure) for g in gaps] == [("因病", 992), ("因学", 992)]
        eliminated = session.scalars(select(Household).where(Household.household_no == "IMP00010")).one()
        assert eliminated.monitoring_status == MonitoringStatus.risk_eliminated
        assert eliminated.monitoring_category == MonitoringCategory.unstable
        assert str(eliminated.risk_eliminated_on) == "2025-06-30"
        assert assistance.gaps(session, eliminated, []) == []
        plain = session.scalars(select(Household).where(Household.household_no == "IMP00001")).one()
        assert plain.monitoring_status == MonitoringStatus.not_monitored
        assert plain.risk_types is None
        imported = session.scalars(
            select(AuditEntry).where(
                AuditEntry.household_id == monitored.id, AuditEntry.action == "household.import_monitored"
            )
        ).one()
        assert imported.changes["note"] == "imported from national.xlsx"
        income = session.scalars(select(Report).where(Report.household_id == monitored.id)).one()
        assert (str(income.period_start), str(income.period_end)) == ("2025-01-01", "2025-12-31")
        assert income.spending_medical == 3200
        assert income.client_ref == "import-2025"


def plant_twelve_errors(rows: list[dict[str, Any]]) -> dict[tuple[int, str], str]:
    """One error of each kind; returns (line, column) -> a word of the expected message."""

    def member(household: int, index: int) -> dict[str, Any]:
        return rows[household * 3 + index]

    def household(number: int, header: str, value: Any) -> None:
        for index in range(3):
            member(number, index)[header] = value

    number = member(1, 1)[H["id_number"]]
    member(1, 1)[H["id_number"]] = number[:17] + ("0" if number[17] != "0" else "1")
    household(2, H["village_name"], "不存在村")
    member(4, 1)[H["id_number"]] = member(3, 1)[H["id_number"]]
    household(5, H["monitoring_category"], "脱贫不稳定户")  # 5 is 一般农户
    household(5, H["risk_types"], "因学")
    household(5, H["identified_on"], "2024-03-15")
    member(6, 2)[H["relation"]] = "邻居"
    member(7, 0)[H["sex"]] = "女"
    member(8, 0)[H["wages"]] = "两万"
    member(9, 2)[H["name"]] = ""
    household(10, H["identified_on"], "2024-13-45")
    member(11, 0)[H["relation"]] = "之子"
    member(12, 0)[H["disability_grade"]] = "二级"
    household(15, H["risk_types"], "因懒")
    return {
        (line_of(1, 1), H["id_number"]): "checksum",
        (line_of(2), H["village_name"]): "no such village",
        (line_of(4, 1), H["id_number"]): "IMP00003",
        (line_of(5), H["monitoring_category"]): "does not fit",
        (line_of(6, 2), H["relation"]): "unknown value",
        (line_of(7), H["sex"]): "the ID number says 男",
        (line_of(8), H["wages"]): "not an amount",
        (line_of(9, 2), H["name"]): "required",
        (line_of(10), H["identified_on"]): "not a date",
        (line_of(11), H["relation"]): "no head",
        (line_of(12), H["disability_grade"]): "only for a member whose health is 残疾",
        (line_of(15), H["risk_types"]): "unknown risk type",
    }


def test_twelve_planted_errors_are_named_by_line_and_column_and_nothing_is_written(tmp_path: Path) -> None:
    rows = national.district(100)
    expected = plant_twelve_errors(rows)
    path = national.write(tmp_path / "with-errors.xlsx", rows)
    before = counts()
    code, dry = run_import(path, "--dry-run")
    assert code == 1
    found = {(p["line"], p["column"]): p["message"] for p in dry["problems"]}
    assert set(found) == set(expected), sorted(set(found) ^ set(expected))
    for where, word in expected.items():
        assert word in found[where], (where, found[where])
    assert dry["problem_count"] == 12
    untranslated = [p["message"] for p in dry["problems"] if not p["message_zh"]]
    assert untranslated == []  # the office reads every problem in Chinese
    assert dry["written"] is False
    assert dry["households"]["invalid"] == 12
    assert dry["households"]["create"] == 88

    code, refused = run_import(path, "--problems", str(tmp_path / "fix.xlsx"))
    assert code == 1
    assert refused["written"] is False
    assert counts() == before  # a run with errors writes nothing either

    sheet = load_workbook(tmp_path / "fix.xlsx").active
    assert sheet is not None
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][-1] == "问题"
    assert len(table) == 1 + 12 * 3
    notes = [str(row[-1]) for row in table[1:] if row[-1]]
    assert len(notes) == 12
    assert any("身份证号校验位不对" in note for note in notes)


def test_skip_invalid_writes_the_valid_households_and_lists_the_others(tmp_path: Path) -> None:
    rows = national.district(20)
    plant_twelve_errors(rows)
    path = national.write(tmp_path / "partly.xlsx", rows)
    before = counts()
    code, done = run_import(path, "--skip-invalid")
    assert code == 0, done
    assert done["written"] is True
    assert done["households"]["create"] == 8
    assert sorted(done["invalid_households"]) == [
        f"IMP{i:05d}" for i in (1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15)
    ]
    assert counts()["household"] - before["household"] == 8
    with db.session_scope() as session:
        assert session.scalar(select(Household.id).where(Household.household_no == "IMP00002")) is None


def test_a_changed_row_updates_the_household_through_the_registry_rules(tmp_path: Path) -> None:
    rows = national.district(10)
    first = national.write(tmp_path / "first.xlsx", rows)
    assert run_import(first)[0] == 0
    for row in rows[9:12]:  # household 3 moved within the village and its head fell ill
        row[H["address"]] = "洛河村新址1号"
    rows[9][H["health"]] = "长期慢性病"
    rows[9][H["wages"]] = 15000  # its 2025 income corrected on the head's row only …
    for row in rows[10:12]:
        row[H["wages"]] = 15000  # … and on every row, as the export writes it
    second = national.write(tmp_path / "second.xlsx", rows)
    code, done = run_import(second)
    assert code == 0, done
    assert done["households"] == {"create": 0, "update": 1, "unchanged": 9, "invalid": 0}, done["problems"]
    with db.session_scope() as session:
        household = session.scalars(select(Household).where(Household.household_no == "IMP00003")).one()
        assert household.address == "洛河村新址1号"
        assert household.version == 3
        head = session.scalars(
            select(Member).where(Member.household_id == household.id, Member.relation == "户主")
        ).one()
        assert head.health == "长期慢性病"
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.household_id == household.id).order_by(AuditEntry.seq)
        ).all()
        assert {"household.update", "member.update"} <= set(actions)
        reports = session.scalars(
            select(Report).where(Report.household_id == household.id).order_by(Report.id)
        ).all()
        assert [r.client_ref for r in reports] == ["import-2025", f"import-2025-{reports[0].id}"]
        assert reports[1].supersedes_id == reports[0].id
        assert reports[1].wages == 15000


def test_a_csv_of_the_same_rows_imports_the_same_and_a_wrong_layout_is_refused_whole(tmp_path: Path) -> None:
    rows = national.district(10)
    code, done = run_import(national.write(tmp_path / "national.csv", rows))
    assert code == 0, done
    assert done["households"]["create"] == 10
    assert done["monitored"] == 2
    code, again = run_import(national.write(tmp_path / "again.xlsx", rows))
    assert again["households"]["unchanged"] == 10
    headers = [h for h in national.HEADERS if h != H["id_number"]]
    result = runner.invoke(
        main, ["import", "households", str(national.write(tmp_path / "old.xlsx", rows, headers))]
    )
    assert result.exit_code == 1
    assert "lacks the mapping's columns: 证件号码" in result.output


@pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL's planner statistics")
def test_an_import_leaves_the_planner_statistics_of_what_it_wrote_fresh(tmp_path: Path) -> None:
    """With autovacuum off or late, plans made for the empty tables would scan the grown member table
    for every household the import registers (an import of 100,000 rows slowed to a third)."""
    with db.session_scope() as session:
        session.execute(text("SELECT pg_stat_reset()"))
    assert run_import(national.write(tmp_path / "f.xlsx", national.district(5)))[0] == 0
    with db.session_scope() as session:
        analyzed = set(
            session.scalars(text("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"))
        )
    assert {"household", "member", "member_fact", "report", "audit_entry"} <= analyzed
