"""What a real district's files do to an import, and what the import must then do: a line break typed in
an address, a control character in a name, a registered household number holding other people or a new
head, a household whose rows are split, ID numbers Excel holds as numbers, a notes sheet before the data,
a title row above the headers, and a mapping that translates to nothing. The dry run finds what the
import would refuse, and a household is written whole or not at all."""

from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from click.testing import CliRunner
from sqlalchemy import func, select

from app import db
from app.cli import main
from app.demo import national_file as national
from app.demo.national_file import H
from app.models import Household
from app.models.audit import AuditEntry
from tests.imports.test_import_households import counts, run_import

runner = CliRunner()


def households_named(prefix: str = "IMP") -> int:
    with db.session_scope() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Household).where(Household.household_no.like(f"{prefix}%"))
            )
            or 0
        )


def test_a_line_break_in_an_address_is_a_space_and_a_control_character_in_a_name_is_found_by_the_dry_run(
    tmp_path: Path,
) -> None:
    rows = national.district(4)
    for row in rows[0:3]:
        row[H["address"]] = "洛河村\n一组 1 号"  # Alt+Enter in the cell
    rows[4][H["name"]] = "王\x01二"
    path = tmp_path / "odd.csv"
    national.write(path, rows)
    code, dry = run_import(path, "--dry-run")
    assert code == 1
    assert [(p["line"], p["column"]) for p in dry["problems"]] == [(6, H["name"])]
    code, refused = run_import(path)
    assert refused["written"] is False
    assert households_named() == 0
    code, done = run_import(path, "--skip-invalid")
    assert code == 0, done
    assert done["households"]["create"] == 3
    with db.session_scope() as session:
        address = session.scalar(select(Household.address).where(Household.household_no == "IMP00000"))
    assert address == "洛河村 一组 1 号"
    assert run_import(path, "--skip-invalid")[1]["households"]["unchanged"] == 3  # the same, read again


def test_a_registered_number_with_other_people_or_a_new_head_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    assert run_import(national.write(tmp_path / "first.xlsx", national.district(3)))[0] == 0
    others = national.district(3, seed=99)  # the same household numbers, other people
    code, dry = run_import(national.write(tmp_path / "others.xlsx", others), "--dry-run")
    assert code == 1
    assert dry["households"]["invalid"] == 3
    assert all(
        "none of these people is a member of registered household" in p["message"]
        for p in dry["problems"]
        if p["column"] == H["household_no"]
    )
    newcomer = national.district(3)
    head = dict(newcomer[3])  # household 1 gets a new head; the old one is listed as a son
    newcomer[3][H["relation"]] = "之子"
    newcomer.insert(3, head | {H["id_number"]: "530402199001011238", H["name"]: "新户主", H["sex"]: "男"})
    before = counts()
    code, dry = run_import(national.write(tmp_path / "newhead.xlsx", newcomer), "--dry-run")
    assert code == 1
    said = {(p["line"], p["column"]): p["message_zh"] for p in dry["problems"]}
    assert said == {
        (5, H["relation"]): "登记中的户主是另一人：请先在守望中登记原户主离开，并指定新户主",
        (6, H["relation"]): "登记中的户主是另一人：请先在守望中登记原户主离开，并指定新户主",
    }
    assert counts() == before


def test_a_household_split_across_the_file_is_refused_whole_even_with_skip_invalid(tmp_path: Path) -> None:
    rows = national.district(5)
    moved = rows.pop(5)  # household 1's third member, at the end of the file
    rows.append(moved)
    path = national.write(tmp_path / "split.xlsx", rows)
    code, dry = run_import(path, "--dry-run")
    assert code == 1
    assert dry["households"] == {"create": 4, "update": 0, "unchanged": 0, "invalid": 2}
    lines = sorted(p["line"] for p in dry["problems"])
    assert lines == [5, 16]  # household 1's first block, and where it comes back
    code, done = run_import(path, "--skip-invalid")
    assert code == 0, done
    with db.session_scope() as session:
        assert session.scalar(select(Household.id).where(Household.household_no == "IMP00001")) is None
    assert households_named() == 4


def test_an_id_number_excel_holds_as_a_number_is_refused_as_such(tmp_path: Path) -> None:
    rows = national.district(2)
    path = tmp_path / "numbers.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("说明")  # a notes sheet first, as exports often have
    sheet.write(0, 0, "本表由全国防返贫监测信息系统导出")
    data = book.add_worksheet("监测对象")
    data.write_row(0, 0, national.HEADERS)
    for line, row in enumerate(rows, start=1):
        for column, header in enumerate(national.HEADERS):
            value = row.get(header, "")
            if header == H["id_number"] and line == 2:
                data.write_number(line, column, float(value))  # what Excel does to a typed ID
            else:
                data.write(line, column, value)
    book.close()
    code, dry = run_import(path, "--dry-run")
    assert code == 1
    assert [(p["line"], p["column"], p["message_zh"]) for p in dry["problems"]] == [
        (3, H["id_number"], "身份证号在 Excel 中存成了数字，只保留 15 位：请把这一列设为文本后重新填写")
    ]


def test_the_rows_to_fix_import_again_with_a_title_row_above_the_headers(tmp_path: Path) -> None:
    mapping = tmp_path / "titled.yaml"
    shipped = (
        Path(national.__file__).parents[1] / "data" / "mappings" / "national_households.yaml"
    ).read_text(encoding="utf-8")
    mapping.write_text(shipped.replace("header_row: 1 ", "header_row: 2 "), encoding="utf-8")
    rows = national.district(3)
    for row in rows[:3]:
        row[H["village_name"]] = "不存在村"
    path = tmp_path / "titled.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.merge_range(0, 0, 0, 5, "红塔区防返贫监测对象台账")
    sheet.write_row(1, 0, national.HEADERS)
    for line, row in enumerate(rows, start=2):
        sheet.write_row(line, 0, [row.get(h, "") for h in national.HEADERS])
    book.close()
    fix = tmp_path / "fix.xlsx"
    code, dry = run_import(path, "--mapping", str(mapping), "--problems", str(fix))
    assert code == 1
    assert [(p["line"], p["column"]) for p in dry["problems"]] == [(3, H["village_name"])]
    code, again = run_import(fix, "--mapping", str(mapping), "--dry-run")  # uploaded again as it came
    assert [p["column"] for p in again["problems"]] == [H["village_name"]]
    assert again["rows"] == 3


def test_a_mapping_that_translates_to_nothing_known_is_refused_as_the_mappings_fault(tmp_path: Path) -> None:
    mapping = tmp_path / "wrong.yaml"
    mapping.write_text(
        "name: 台账\ncolumns: {household_no: 户编号, village_name: 行政村, name: 姓名, id_number: 证件号码,"
        " relation: 与户主关系, household_type: 户类型}\nvalues: {relation: {儿子: 儿子}}\n",
        encoding="utf-8",
    )
    path = national.write(tmp_path / "f.xlsx", national.district(1))
    result = runner.invoke(main, ["import", "households", str(path), "--mapping", str(mapping), "--dry-run"])
    assert result.exit_code == 1
    assert "the mapping translates relation to '儿子'" in result.output


def test_the_audit_names_the_officer_the_command_line_acts_for(tmp_path: Path, accounts: Any) -> None:
    accounts.create("district")
    path = national.write(tmp_path / "f.xlsx", national.district(1))
    code, done = run_import(path, "--by", "district")
    assert code == 0, done
    with db.session_scope() as session:
        actors = set(session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "household.create")))
    assert actors == {"district"}
    refused = runner.invoke(main, ["import", "households", str(path), "--by", "cadre_a", "--dry-run"])
    assert refused.exit_code == 2
    assert "not an active district officer or admin" in refused.output


@pytest.fixture
def accounts(client: Any, settings: Any) -> Any:
    from tests.fixtures import Accounts

    return Accounts(client, settings)
