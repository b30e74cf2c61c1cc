"""Imports through the API: the district office uploads, the worker checks (and writes), the office
reads the progress and report and downloads the rows to fix; nobody else may, and a bad upload is refused
before anything is queued."""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from app import db
from app.config import Settings
from app.demo import national_file as national
from app.models import Household, ImportJob
from app.models.audit import AuditEntry
from app.services.imports import jobs
from app.worker.jobs import run_imports
from tests.fixtures import Accounts
from tests.imports.test_import_households import plant_twelve_errors

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TRANSLATES_TO_NOTHING = (
    "name: 台账\ncolumns: {household_no: 户编号, village_name: 行政村, name: 姓名, id_number: 证件号码,"
    " relation: 与户主关系, household_type: 户类型}\nvalues: {household_type: {非脱贫户: 普通户}}\n"
)


def upload(
    client: TestClient, headers: dict[str, str], path: Path, mapping: bytes | None = None, **form: Any
) -> Any:
    files: dict[str, Any] = {"file": (path.name, path.read_bytes(), XLSX)}
    if mapping is not None:
        files["mapping"] = ("mapping.yaml", mapping, "application/yaml")
    return client.post(
        "/api/v1/imports/households",
        files=files,
        data={k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()},
        headers=headers,
    )


def households() -> int:
    with db.session_scope() as session:
        return session.scalar(select(func.count()).select_from(Household)) or 0


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    return national.write(tmp_path / "national.xlsx", national.district(12))


def test_the_office_uploads_a_dry_run_then_the_import(
    client: TestClient, accounts: Accounts, workbook: Path
) -> None:
    office = accounts["district"]
    before = households()
    response = upload(client, office, workbook)  # a dry run unless said otherwise
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "queued"
    assert queued["dry_run"] is True
    assert queued["report"] is None
    run_imports()
    dry = client.get(f"/api/v1/imports/{queued['id']}", headers=office).json()
    assert dry["status"] == "done"
    assert dry["rows_total"] == 36
    assert dry["report"]["households"]["create"] == 12
    assert dry["report"]["written"] is False
    assert households() == before

    response = upload(client, office, workbook, dry_run=False, note="national system export, Nov 2026")
    assert response.status_code == 202, response.text
    run_imports()
    done = client.get(f"/api/v1/imports/{response.json()['id']}", headers=office).json()
    assert done["status"] == "done", done
    assert done["report"]["written"] is True
    assert households() - before == 12
    with db.session_scope() as session:
        household_id = session.scalar(select(Household.id).where(Household.household_no == "IMP00000"))
        entry = session.scalars(
            select(AuditEntry).where(
                AuditEntry.household_id == household_id, AuditEntry.action == "household.create"
            )
        ).one()
        assert (entry.actor, entry.actor_id) == ("district", accounts.ids["district"])
    listed = client.get("/api/v1/imports", headers=accounts["admin"]).json()
    assert [job["id"] for job in listed[:2]] == [done["id"], dry["id"]]


def test_a_refused_file_gives_the_rows_to_fix_as_a_workbook(
    client: TestClient, accounts: Accounts, tmp_path: Path
) -> None:
    rows = national.district(16)
    plant_twelve_errors(rows)
    path = national.write(tmp_path / "errors.xlsx", rows)
    office = accounts["district"]
    before = households()
    job_id = upload(client, office, path, dry_run=False).json()["id"]
    run_imports()
    job = client.get(f"/api/v1/imports/{job_id}", headers=office).json()
    assert job["report"]["problem_count"] == 12
    assert job["report"]["written"] is False
    assert {p["column"] for p in job["report"]["problems"]} >= {"证件号码", "行政村", "风险类型"}
    assert households() == before
    admin = client.get(f"/api/v1/imports/{job_id}/problems.xlsx", headers=accounts["admin"])
    assert admin.status_code == 403  # names and ID numbers: admins read no household data
    response = client.get(f"/api/v1/imports/{job_id}/problems.xlsx", headers=office)
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    (tmp_path / "fix.xlsx").write_bytes(response.content)
    sheet = load_workbook(tmp_path / "fix.xlsx").active
    assert sheet is not None
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][-1] == "问题"
    assert len(table) == 1 + 12 * 3


def test_only_the_district_office_and_admins_import(
    client: TestClient, accounts: Accounts, workbook: Path
) -> None:
    for name in ("cadre_a", "township_1", "department"):
        response = upload(client, accounts[name], workbook)
        assert response.status_code == 403, (name, response.text)
    job_id = upload(client, accounts["admin"], workbook).json()["id"]
    for name in ("cadre_a", "township_1"):
        assert client.get(f"/api/v1/imports/{job_id}", headers=accounts[name]).status_code == 403
        assert client.get("/api/v1/imports", headers=accounts[name]).status_code == 403
    assert client.get(f"/api/v1/imports/{job_id}", headers=accounts["district"]).status_code == 200
    assert client.get("/api/v1/imports/999999", headers=accounts["district"]).status_code == 404
    assert client.post("/api/v1/imports/households").status_code == 401


def test_bad_uploads_are_refused_naming_the_field_and_nothing_is_queued(
    client: TestClient, accounts: Accounts, tmp_path: Path, workbook: Path
) -> None:
    office = accounts["district"]
    picture = tmp_path / "photo.xlsx"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    cases = [
        (upload(client, office, picture), "file"),
        (upload(client, office, workbook, mapping=b"columns: [unclosed"), "mapping"),
        (upload(client, office, workbook, mapping="name: x\ncolumns: {name: 姓名}\n".encode()), "mapping"),
        (upload(client, office, workbook, mapping=TRANSLATES_TO_NOTHING.encode()), "mapping"),
        (upload(client, office, workbook, dry_run="perhaps"), "dry_run"),
        (client.post("/api/v1/imports/households", headers=office, data={"dry_run": "true"}), "file"),
    ]
    for response, field in cases:
        assert response.status_code == 422, response.text
        assert field in response.text, response.text
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_a_job_runs_once_though_two_workers_look_and_again_if_its_worker_died(
    client: TestClient, accounts: Accounts, workbook: Path, settings: Settings
) -> None:
    job_id = upload(client, accounts["district"], workbook).json()["id"]
    sessions = db.get_sessionmaker()
    assert jobs._claim(sessions) == job_id
    assert jobs._claim(sessions) is None  # the second worker finds nothing to run
    with db.session_scope() as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        assert job.status == "running"
        job.lease_until = job.started_at  # its worker died: the lease ran out
    finished = jobs.run_next(sessions, settings)
    assert finished is not None
    assert finished.id == job_id
    assert finished.status == "done"


def test_the_file_is_kept_encrypted_and_the_workbook_is_for_the_office_only(
    client: TestClient, accounts: Accounts, workbook: Path
) -> None:
    job_id = upload(client, accounts["district"], workbook).json()["id"]
    with db.session_scope() as session:
        stored = session.scalars(select(ImportJob.content_encrypted).where(ImportJob.id == job_id)).one()
    assert stored is not None
    assert b"IMP00000" not in stored
    assert "李户主0".encode() not in stored
    run_imports()
    # a clean file has nothing to fix
    assert (
        client.get(f"/api/v1/imports/{job_id}/problems.xlsx", headers=accounts["district"]).status_code == 404
    )
    assert (
        client.get(f"/api/v1/imports/{job_id}/problems.xlsx", headers=accounts["cadre_a"]).status_code == 403
    )


def test_a_csv_whose_64th_kibibyte_ends_inside_a_character_is_still_text() -> None:
    straddling = b"a" * 65535 + "村".encode()  # 3 bytes: the first is the 65,536th
    assert jobs._text_start(straddling)
    assert jobs._text_start("户编号,姓名\n".encode("gb18030") * 10)
    assert not jobs._text_start(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)


def test_a_file_the_worker_cannot_read_fails_with_the_reason_in_chinese(
    client: TestClient, accounts: Accounts, tmp_path: Path
) -> None:
    headers = [h for h in national.HEADERS if h != "证件号码"]
    path = national.write(tmp_path / "old-layout.xlsx", national.district(2), headers)
    job_id = upload(client, accounts["district"], path).json()["id"]
    run_imports()
    job = client.get(f"/api/v1/imports/{job_id}", headers=accounts["district"]).json()
    assert job["status"] == "failed"
    assert job["error"] == "row 1 lacks the mapping's columns: 证件号码"
    assert job["error_zh"] == "第 1 行缺少映射文件所列的列：证件号码"
