"""A test never sees a previous test's rows. The database is reset to the seed before each test by asking it
what changed (tests/conftest.py: reset_to_seed); this proves the reset against an independent reference:
the seed made afresh on an empty in-memory SQLite database. The first two tests run in this order (pytest
runs a file's tests in order, and scripts/test's `--dist loadfile` keeps a file on one worker); the third
does the same within one test, so it holds however the tests are ordered or spread over workers."""

import threading
from typing import Any

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import sessionmaker

from app import db
from app.config import Settings
from app.demo import regions as demo_regions
from app.models import Base, PolicyVersion
from app.schemas.policy import PolicyData
from app.services.platform import audit
from app.services.platform.audit import GENESIS, HEAD_ID
from tests.conftest import FROZEN_AT, TABLES, Seed, reset_to_seed
from tests.fixtures import VILLAGE_A, Accounts, new_household, report_body


def _fresh_seed(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows after seeding an empty database, as a test used to get it before each test."""
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO audit_head (id, length, last_mac, head_mac) VALUES (:id, 0, :mac, '')"),
            {"id": HEAD_ID, "mac": GENESIS},
        )
    with time_machine.travel(FROZEN_AT, tick=False), db.transaction(sessionmaker(engine)) as session:
        demo_regions.ensure_regions(session, settings)
        session.add(
            PolicyVersion(version=1, created_by="system:default", data=PolicyData().model_dump(mode="json"))
        )
    return _contents(engine)


def _contents(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as connection:
        return {
            t.name: [
                dict(row._mapping) for row in connection.execute(t.select().order_by(*t.primary_key.columns))
            ]
            for t in TABLES
        }


def _assert_exactly_the_seed(settings: Settings) -> None:
    found = _contents(db.get_engine())
    expected = _fresh_seed(settings)
    assert {name for name, rows in found.items() if rows} == {
        "region",
        "policy_version",
        "audit_head",
        "audit_entry",
    }
    for name, rows in expected.items():
        assert found[name] == rows, f"{name} is not as the seed left it"
    with db.session_scope() as session:
        verified = audit.verify(session, settings)
    assert verified.ok, verified.problems
    assert verified.length == len(expected["audit_entry"])


def _dirty_every_kind_of_table(client: TestClient, accounts: Accounts) -> None:
    """Rows through the API (audited), a seed row edited and one deleted by raw SQL, and rows committed
    by another thread on its own connection."""
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    report = report_body("iso-1", "2025-01-01", "2025-12-31")
    assert (
        client.post(f"/api/v1/households/{household['id']}/reports", json=report, headers=cadre).status_code
        == 201
    )
    policy = client.get("/api/v1/policy", headers=accounts["district"]).json()
    changed = client.put(
        "/api/v1/policy",
        json=policy["data"] | {"version": policy["version"], "note": "changed by a test"},
        headers=accounts["admin"],
    )
    assert changed.status_code == 201, changed.text
    with db.get_engine().begin() as connection:
        connection.execute(
            text("UPDATE region SET name = 'renamed by a test' WHERE code = :code"), {"code": VILLAGE_A}
        )
        connection.execute(text("UPDATE policy_version SET note = 'edited' WHERE version = 1"))
        connection.execute(text("DELETE FROM audit_entry WHERE seq = 1"))

    def elsewhere() -> None:
        with db.get_engine().begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO webhook_allowed_host (host, added_by, added_at)"
                    " VALUES ('a.example', 't', :at)"
                ),
                {"at": FROZEN_AT},
            )
            connection.execute(
                text("INSERT INTO job_lease (name, holder, lease_until) VALUES ('job', 't', :at)"),
                {"at": FROZEN_AT},
            )

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(PolicyVersion)) == 2
    non_empty = {name for name, rows in _contents(db.get_engine()).items() if rows}
    assert {"household", "member", "report", "user_account", "webhook_allowed_host", "job_lease"} <= non_empty


def test_a_test_writes_to_many_tables_and_edits_the_seed(client: TestClient, accounts: Accounts) -> None:
    _dirty_every_kind_of_table(client, accounts)


def test_the_next_test_starts_from_exactly_the_seed(settings: Settings) -> None:
    _assert_exactly_the_seed(settings)


def test_the_reset_brings_back_exactly_the_seed(
    client: TestClient, accounts: Accounts, settings: Settings, db_seed: Seed
) -> None:
    _dirty_every_kind_of_table(client, accounts)
    rewritten = reset_to_seed(db.get_engine(), db_seed)
    assert {"region", "policy_version", "audit_entry", "household", "job_lease"} <= rewritten
    _assert_exactly_the_seed(settings)
    assert reset_to_seed(db.get_engine(), db_seed) == set()  # nothing left to do
