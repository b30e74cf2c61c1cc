"""One transaction per request: a failure at commit time is never reported as success."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app import db
from app.models import Household
from tests.fixtures import Accounts, household_body


def test_commit_failure_is_not_reported_as_created(
    app: FastAPI, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = accounts["cadre_a"]
    original = Session.commit
    failed: list[bool] = []

    def mark(session: Session, _context: object, _instances: object) -> None:
        if any(isinstance(o, Household) for o in session.new):
            session.info["wrote_household"] = True

    def commit(self: Session) -> None:
        if self.info.pop("wrote_household", False):
            failed.append(True)
            self.rollback()
            raise OperationalError("COMMIT", {}, Exception("could not write to disk"))
        original(self)

    event.listen(Session, "before_flush", mark)
    monkeypatch.setattr(Session, "commit", commit)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.post("/api/v1/households", json=household_body(), headers=headers)
    finally:
        monkeypatch.setattr(Session, "commit", original)
        event.remove(Session, "before_flush", mark)
    assert failed == [True]
    assert response.status_code == 503, response.text
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Household)) == 0


def test_reads_are_not_queued_behind_a_write(client: TestClient, accounts: Accounts) -> None:
    """While a long batch holds the write lock, the district office can still list households."""
    headers = accounts["district"]
    with db.get_engine().connect() as writer:
        writer.execute(select(func.count()).select_from(Household))  # BEGIN IMMEDIATE on SQLite
        writer.exec_driver_sql("UPDATE audit_head SET length = length")
        response = client.get("/api/v1/households", headers=headers)
        writer.rollback()
    assert response.status_code == 200, response.text


@pytest.mark.skipif(db.get_engine().dialect.name != "sqlite", reason="SQLite's write lock")
def test_the_readiness_probe_answers_at_once_while_a_write_holds_the_lock(client: TestClient) -> None:
    """An orchestrator restarts a service whose probe times out: during a long import (the write lock
    held) /readyz must still answer, not wait out the database's 30-second busy timeout."""
    import time

    with db.get_engine().connect() as writer:
        writer.execute(select(func.count()).select_from(Household))  # BEGIN IMMEDIATE on SQLite
        writer.exec_driver_sql("UPDATE audit_head SET length = length")
        started = time.monotonic()
        response = client.get("/readyz")
        waited = time.monotonic() - started
        writer.rollback()
    assert (response.status_code, response.json()["status"]) == (200, "ready"), response.text
    assert waited < 5


@pytest.mark.skipif(db.get_engine().dialect.name != "sqlite", reason="SQLite's write lock")
def test_an_export_that_records_who_took_it_waits_its_turn_behind_a_write(
    client: TestClient, accounts: Accounts
) -> None:
    """The decisions export writes its audit entry: as a read it began without the write lock, saw the
    audit chain before a writer's commit and then could not write ("database is locked")."""
    import threading
    import time

    from app.models import AuditEntry

    headers = accounts["district"]
    got: list[int] = []
    with db.get_engine().connect() as writer:
        writer.execute(select(func.count()).select_from(Household))  # BEGIN IMMEDIATE on SQLite
        writer.exec_driver_sql("UPDATE audit_head SET length = length")
        export = threading.Thread(
            target=lambda: got.append(
                client.get(
                    "/api/v1/exports/decisions.xlsx?from=2026-01-01&to=2026-11-30", headers=headers
                ).status_code
            )
        )
        export.start()
        time.sleep(0.5)
        assert got == []  # the export waits to record itself (it neither failed nor went ahead)
        writer.commit()
    export.join(30)
    assert got == [200]
    with db.session_scope() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "export.decisions" in actions


def test_work_that_said_it_only_reads_cannot_write() -> None:
    """A GET's transaction is read-only in the database itself (SQLite's query_only, PostgreSQL's READ
    ONLY): a write there is a mistake in the code, refused at once and named so (not "the database is
    unavailable"); the connection goes back to the pool able to write again."""
    engine = db.get_engine().execution_options(**db.READ_ONLY_OPTIONS)
    with engine.connect() as reader:
        assert reader.execute(select(func.count()).select_from(Household)).scalar() == 0
        raw = reader.connection.dbapi_connection
        with pytest.raises(db.ReadOnlyWrite, match="read-only transaction tried to write"):
            reader.exec_driver_sql("UPDATE audit_head SET length = length")
    assert raw is not None
    if engine.dialect.name == "sqlite":
        assert raw.execute("PRAGMA query_only").fetchone() == (0,)
    else:
        assert not raw.read_only
    with db.session_scope() as session:
        session.execute(text("UPDATE audit_head SET length = length"))
