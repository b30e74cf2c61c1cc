"""Migrations build the schema from nothing, downgrade cleanly and match the models (alembic check)."""

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, bindparam, create_engine, inspect, text
from sqlalchemy.engine import make_url

from app.db import make_engine
from app.models import Base
from app.models.base import UTCDateTime
from app.services.platform.health import alembic_config, head_revisions
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as the test database."""
    if not IS_POSTGRES:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    url = make_url(TEST_DATABASE_URL)
    name = f"{url.database}_migrations"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade_and_no_drift(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    config.attributes["configure_logger"] = False
    engine = make_engine(scratch_url)
    try:
        command.upgrade(config, "head")
        assert _tables(engine) == set(Base.metadata.tables)
        command.downgrade(config, "base")
        assert _tables(engine) == set()
        command.upgrade(config, "head")
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert set(context.get_current_heads()) == head_revisions()
    finally:
        engine.dispose()


def test_case_deadlines_become_windows_and_open_cases_get_a_decision_deadline(scratch_url: str) -> None:
    """A district that had changed a per-step deadline keeps its days (as the sums they made); each case
    stored before gets its decision deadline from when it was opened."""
    config = alembic_config(scratch_url)
    config.attributes["configure_logger"] = False
    engine = make_engine(scratch_url)
    try:
        command.upgrade(config, "9833243e39dd")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO region (code, name, level, parent_code, code_source, illustrative)"
                    " VALUES ('530402001001', '村', 'village', NULL, '', true)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO household (id, household_no, village_code, address, household_type,"
                    " monitoring_category, monitoring_status, no_labour_capacity, version)"
                    " VALUES (1, 'H1', '530402001001', '', '脱贫户', 'none', 'under_verification', false, 1)"
                )
            )
            [data] = connection.execute(text("SELECT data FROM policy_version WHERE version = 1")).scalars()
            data = json.loads(data) if isinstance(data, str) else data
            data["case_deadlines"]["township_review"] = 4
            connection.execute(
                text(
                    "INSERT INTO policy_version (version, created_at, created_by, note, data)"
                    " VALUES (2, :at, 'admin', 'township 4 days', :data)"
                ),
                {"at": datetime(2026, 3, 1, tzinfo=UTC), "data": json.dumps(data)},
            )
            connection.execute(
                text(
                    "INSERT INTO case_file (id, household_id, village_code, township_code, source, kind,"
                    " status, step, reasons, opened_at, step_started_at, due_at, version)"
                    " VALUES (1, 1, '530402001001', '530402001000', 'risk_scorer', 'identification',"
                    " 'open', 'village_verification', '[]', :opened, :opened, :opened, 1)"
                ),
                {"opened": datetime(2026, 3, 2, 8, 0, tzinfo=UTC)},
            )
            # a row pointing at the case: SQLite rebuilds case_file (and household) under it
            connection.execute(
                text(
                    "INSERT INTO case_event (id, case_id, at, actor, action, step, data)"
                    " VALUES (1, 1, :at, 'system', 'opened', 'village_verification', '{}')"
                ),
                {"at": datetime(2026, 3, 2, 8, 0, tzinfo=UTC)},
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            latest = connection.execute(
                text("SELECT version, data FROM policy_version ORDER BY version DESC LIMIT 1")
            ).one()
            stored = json.loads(latest.data) if isinstance(latest.data, str) else latest.data
            assert latest.version == 3
            windows = {"village": 13, "public_notice": 5, "township": 4, "district": 5}
            assert stored["case_deadlines"] == windows
            read = text("SELECT decision_due_at FROM case_file").columns(decision_due_at=UTCDateTime())
            due = connection.execute(read).scalar_one()  # read as the app reads it
            assert due == datetime(2026, 3, 2, 8, 0, tzinfo=UTC) + timedelta(days=22)
        command.downgrade(config, "9833243e39dd")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT max(version) FROM policy_version")).scalar_one() == 2
    finally:
        engine.dispose()


def test_the_untouched_old_deadlines_become_the_new_defaults(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    config.attributes["configure_logger"] = False
    engine = make_engine(scratch_url)
    try:
        command.upgrade(config, "head")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version, data FROM policy_version ORDER BY version")).all()
        stored = [json.loads(d) if isinstance(d, str) else d for _, d in rows]
        assert [v for v, _ in rows] == [1, 2]
        windows = {"village": 10, "public_notice": 5, "township": 3, "district": 2}
        assert stored[1]["case_deadlines"] == windows
        assert {k: v for k, v in stored[1].items() if k != "case_deadlines"} == {
            k: v for k, v in stored[0].items() if k != "case_deadlines"
        }
    finally:
        engine.dispose()


def test_department_accounts_and_rows_take_the_department_their_rows_named(scratch_url: str) -> None:
    """Rows sent before departments were columns name theirs in the reason (a matched row) or in their
    kept columns (an unmatched one); an account takes the department it sent for most."""
    config = alembic_config(scratch_url)
    config.attributes["configure_logger"] = False
    engine = make_engine(scratch_url)
    try:
        command.upgrade(config, "590a70c8e859")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO region (code, name, level, parent_code, code_source, illustrative)"
                    " VALUES ('530402000000', '红塔区', 'county', NULL, '', false)"
                )
            )
            at = datetime(2026, 3, 1, tzinfo=UTC)
            connection.execute(
                text(
                    "INSERT INTO user_account (id, username, password_hash, role, region_code, active,"
                    " is_demo, token_version, failed_logins, version, created_at, updated_at) VALUES"
                    " (1, 'yibao', 'x', 'department_user', '530402000000', true, false, 1, 0, 1, :at, :at),"
                    " (2, 'silent', 'x', 'department_user', '530402000000', true, false, 1, 0, 1, :at, :at)"
                ),
                {"at": at},
            )
            for n, reasons in enumerate(
                (
                    [{"code": "department_medical_self_pay", "department": "医保"}],
                    [{"code": "department_unmatched", "row": {"department": "医保", "signal_type": "x"}}],
                    [{"code": "department_unmatched", "row": {"department": "民政"}}],
                ),
                start=1,
            ):
                connection.execute(
                    text(
                        "INSERT INTO case_signal (id, source, level, reasons, received_at, outcome, origin,"
                        " note, sent_by) VALUES (:id, 'department', 'high', :reasons, :at, 'unmatched', '',"
                        " '', 'yibao')"
                    ),
                    {"id": n, "reasons": json.dumps(reasons, ensure_ascii=False), "at": at},
                )
        command.upgrade(config, "head")
        with engine.begin() as connection:
            departments = {
                r[0]: r[1] for r in connection.execute(text("SELECT id, department FROM case_signal"))
            }
            accounts = {
                r[0]: r[1] for r in connection.execute(text("SELECT username, department FROM user_account"))
            }
        assert departments == {1: "医保", 2: "医保", 3: "民政"}
        assert accounts == {"yibao": "医保", "silent": None}  # an admin gives the silent one its department
    finally:
        engine.dispose()


def test_members_recorded_facts_become_facts_from_their_records_date(scratch_url: str) -> None:
    """Issue 15: each non-null health, labour, disability, schooling, 低保 and 特困 of a member becomes a
    fact held from the district's date of the member's record, with no end; null ones make no fact, and
    the member keeps its values (also after a downgrade)."""
    config = alembic_config(scratch_url)
    config.attributes["configure_logger"] = False
    engine = make_engine(scratch_url)
    before = ScriptDirectory.from_config(config).get_revision("6c8a2a4ffe7c").down_revision
    assert isinstance(before, str)
    try:
        command.upgrade(config, before)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO region (code, name, level, parent_code, code_source, illustrative)"
                    " VALUES ('530402001001', '村', 'village', NULL, '', true)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO household (id, household_no, village_code, address, household_type,"
                    " monitoring_category, monitoring_status, no_labour_capacity, version)"
                    " VALUES (1, 'H1', '530402001001', '', '脱贫户', 'none', 'not_monitored', false, 1)"
                )
            )
            insert = text(
                "INSERT INTO member (id, household_id, name, id_number_encrypted, id_number_hash, relation,"
                " sex, birth_date, health, labour_capacity, disability_grade, schooling, school_level,"
                " dibao, tekun, version, created_at, updated_at) VALUES (:id, 1, 'x', :blob, :hash,"
                " :relation, '男', :born, :health, :labour, :grade, :schooling, :level, :dibao, :tekun, 1,"
                " :created, :created)"
            ).bindparams(bindparam("created", type_=UTCDateTime()))
            connection.execute(
                insert,
                [
                    # 20:00 UTC on 1 March is 2 March in the district
                    member_row(1, "户主", "1970-03-01", datetime(2026, 3, 1, 20, tzinfo=UTC))
                    | {"health": "长期慢性病", "labour": "普通劳动力", "dibao": True, "tekun": False},
                    member_row(2, "之子", "2018-04-04", datetime(2026, 5, 10, 3, tzinfo=UTC))
                    | {"health": "残疾", "grade": 2, "schooling": "在校", "level": "小学"},
                ],
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            facts = connection.execute(
                text("SELECT member_id, fact, value, valid_from, valid_to, recorded_by FROM member_fact")
            ).all()
        assert {(m, f, v, str(since), to, by) for m, f, v, since, to, by in facts} == {
            (1, "health", "长期慢性病", "2026-03-02", None, "system:migration"),
            (1, "labour_capacity", "普通劳动力", "2026-03-02", None, "system:migration"),
            (1, "dibao", "true", "2026-03-02", None, "system:migration"),
            (1, "tekun", "false", "2026-03-02", None, "system:migration"),
            (2, "health", "残疾", "2026-05-10", None, "system:migration"),
            (2, "disability_grade", "2", "2026-05-10", None, "system:migration"),
            (2, "schooling", "在校", "2026-05-10", None, "system:migration"),
            (2, "school_level", "小学", "2026-05-10", None, "system:migration"),
        }
        command.downgrade(config, before)
        with engine.connect() as connection:
            kept = connection.execute(
                text("SELECT id, health, disability_grade FROM member ORDER BY id")
            ).all()
        assert [tuple(row) for row in kept] == [(1, "长期慢性病", None), (2, "残疾", 2)]
    finally:
        engine.dispose()


def member_row(member_id: int, relation: str, born: str, created: datetime) -> dict[str, object]:
    return {
        "id": member_id,
        "blob": b"x",
        "hash": f"h{member_id}",
        "relation": relation,
        "born": date.fromisoformat(born),
        "created": created,
    } | dict.fromkeys(("health", "labour", "grade", "schooling", "level", "dibao", "tekun"))


def test_an_eliminated_household_gets_its_elimination_day_from_its_confirmed_case(scratch_url: str) -> None:
    """Issue 14: the new household.risk_eliminated_on of a household whose risk was eliminated is the
    district's date of its confirmed elimination case (the latest, if several); others stay empty."""
    config = alembic_config(scratch_url)
    config.attributes["configure_logger"] = False
    engine = make_engine(scratch_url)
    try:
        command.upgrade(config, "219acc626b02")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO region (code, name, level, parent_code, code_source, illustrative)"
                    " VALUES ('530402001001', '村', 'village', NULL, '', true)"
                )
            )
            for hid, status in ((1, "risk_eliminated"), (2, "monitored")):
                connection.execute(
                    text(
                        "INSERT INTO household (id, household_no, village_code, address, household_type,"
                        " monitoring_category, monitoring_status, no_labour_capacity, provisional, version)"
                        " VALUES (:id, :no, '530402001001', '', '脱贫户', '脱贫不稳定户', :status, false,"
                        " false, 1)"
                    ),
                    {"id": hid, "no": f"H{hid}", "status": status},
                )
            case = text(
                "INSERT INTO case_file (id, household_id, village_code, township_code, source, kind, status,"
                " step, outcome, reasons, opened_at, step_started_at, due_at, decision_due_at, closed_at,"
                " version) VALUES (:id, :household, '530402001001', '530402001000', 'cadre_report', :kind,"
                " 'closed', 'district_decision', :outcome, '[]', :at, :at, :at, :at, :closed, 1)"
            ).bindparams(bindparam("at", type_=UTCDateTime()), bindparam("closed", type_=UTCDateTime()))
            at = datetime(2025, 1, 1, tzinfo=UTC)
            connection.execute(
                case,
                [
                    # 20:00 UTC on 30 June is 1 July in the district
                    {
                        "id": 1,
                        "household": 1,
                        "kind": "elimination",
                        "outcome": "confirmed",
                        "at": at,
                        "closed": datetime(2026, 6, 30, 20, tzinfo=UTC),
                    },
                    {
                        "id": 2,
                        "household": 1,
                        "kind": "elimination",
                        "outcome": "rejected",
                        "at": at,
                        "closed": datetime(2026, 9, 1, 2, tzinfo=UTC),
                    },
                    {
                        "id": 3,
                        "household": 2,
                        "kind": "identification",
                        "outcome": "confirmed",
                        "at": at,
                        "closed": datetime(2025, 3, 1, 2, tzinfo=UTC),
                    },
                ],
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            days = connection.execute(text("SELECT id, risk_eliminated_on FROM household ORDER BY id")).all()
        assert [(i, str(d) if d else None) for i, d in days] == [(1, "2026-07-01"), (2, None)]
    finally:
        engine.dispose()
