"""One transaction per request: a failure at commit time is never reported as success."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
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
