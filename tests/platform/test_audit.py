"""Acceptance 7: `shouwang audit verify` detects edited, inserted and deleted (trailing) audit rows."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, insert, select, update

from app import db
from app.cli import main
from app.config import get_settings
from app.models import AuditEntry, AuditHead
from app.models.enums import RegionLevel, Role
from app.services.platform import audit
from app.services.platform.access import Actor
from tests.fixtures import Accounts, new_household, report_body


@pytest.fixture
def history(client: TestClient, accounts: Accounts) -> dict[str, Any]:
    household = new_household(client, accounts["cadre_a"])
    for quarter, (start, end) in enumerate([("2025-01-01", "2025-03-31"), ("2025-04-01", "2025-06-30")]):
        response = client.post(
            f"/api/v1/households/{household['id']}/reports",
            json=report_body(f"q{quarter}", start, end),
            headers=accounts["cadre_a"],
        )
        assert response.status_code == 201
    return household


def verify() -> tuple[int, str]:
    result = CliRunner().invoke(main, ["audit", "verify"])
    return result.exit_code, result.output


def last_seq() -> int:
    with db.session_scope() as session:
        return session.scalar(select(func.max(AuditEntry.seq))) or 0


class TestAuditVerify:
    def test_intact_chain_passes(self, history: dict[str, Any]) -> None:
        code, output = verify()
        assert code == 0, output
        assert "intact" in output

    def test_edited_row_is_detected(self, history: dict[str, Any]) -> None:
        with db.session_scope() as session:
            session.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(actor="someone-else"))
        code, output = verify()
        assert code == 1
        assert "row 3" in output
        assert "edited" in output

    def test_edited_changes_json_is_detected(self, history: dict[str, Any]) -> None:
        with db.session_scope() as session:
            entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "report.create")).first()
            assert entry is not None
            session.execute(
                update(AuditEntry)
                .where(AuditEntry.seq == entry.seq)
                .values(changes={**entry.changes, "wages": "1.00"})
            )
        code, _ = verify()
        assert code == 1

    def test_inserted_row_is_detected(self, history: dict[str, Any]) -> None:
        with db.session_scope() as session:
            row = session.get(AuditEntry, 2)
            assert row is not None
            forged = {c.name: getattr(row, c.name) for c in AuditEntry.__table__.columns}
            session.execute(update(AuditEntry).where(AuditEntry.seq > 2).values(seq=AuditEntry.seq + 1000))
            session.execute(insert(AuditEntry).values({**forged, "seq": 3, "action": "household.update"}))
        code, output = verify()
        assert code == 1, output

    def test_deleted_middle_row_is_detected(self, history: dict[str, Any]) -> None:
        with db.session_scope() as session:
            session.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
        code, output = verify()
        assert code == 1
        assert "missing" in output or "link" in output

    def test_deleted_trailing_rows_are_detected(self, history: dict[str, Any]) -> None:
        last = last_seq()
        with db.session_scope() as session:
            session.execute(delete(AuditEntry).where(AuditEntry.seq >= last - 1))
        code, output = verify()
        assert code == 1
        assert "trailing" in output

    def test_head_moved_back_after_deleting_trailing_rows_is_detected(self, history: dict[str, Any]) -> None:
        """Rewriting the head to the new last row without the secret still fails its mac."""
        last = last_seq()
        with db.session_scope() as session:
            session.execute(delete(AuditEntry).where(AuditEntry.seq == last))
            previous = session.get(AuditEntry, last - 1)
            assert previous is not None
            session.execute(update(AuditHead).values(length=last - 1, last_mac=previous.mac))
        code, output = verify()
        assert code == 1
        assert "head" in output

    def test_every_write_is_chained(self, history: dict[str, Any]) -> None:
        with db.session_scope() as session:
            actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
            head = session.get(AuditHead, 1)
            assert head is not None
            assert head.length == len(actions)
        assert actions.count("report.create") == 2
        assert "household.create" in actions
        assert actions.count("member.create") == 3

    def test_rows_holding_awkward_text_are_stored_as_given_and_verify(self) -> None:
        """Every row's mac is made from its parts' JSON; verify remakes it from the stored row: quotes,
        backslashes, line breaks, tabs, Chinese and emoji, amounts, dates and missing values alike."""
        changes = [
            audit.Change(
                "household.update",
                "household",
                7,
                7,
                {
                    "address": '一组 "老屋"\\后面\n第二行\t😀',
                    "income": Decimal("12.50"),
                    "on": date(2025, 1, 2),
                },
            ),
            audit.Change("user.login", "user_account", None, None, {"nested": {"b": [1, None], "a": True}}),
        ]
        actor = Actor(None, 'sys "tem"\\x', Role.district_officer, "530402", RegionLevel.county)
        with db.session_scope() as session:
            audit.record(session, get_settings(), actor, changes)
        with db.session_scope() as session:
            stored = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(2)).all()[::-1]
        assert [e.changes for e in stored] == [audit.jsonable(c.changes) for c in changes]
        assert stored[0].actor == 'sys "tem"\\x'
        assert stored[1].entity_id is None
        code, output = verify()
        assert code == 0, output


class TestCheckpoint:
    """The chain's head lives in the same database; a checkpoint kept elsewhere catches a wipe or rollback."""

    def _verify(self, path: object) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["audit", "verify", "--checkpoint", str(path)])
        return result.exit_code, result.output

    def test_wiping_the_log_is_detected(self, history: dict[str, Any], tmp_path: Any) -> None:
        checkpoint = tmp_path / "audit.json"
        assert self._verify(checkpoint)[0] == 0
        with db.session_scope() as session:
            session.execute(delete(AuditEntry))
            session.execute(update(AuditHead).values(length=0, last_mac="0" * 64, head_mac=""))
        assert verify()[0] == 0  # without the checkpoint the empty log looks new
        code, output = self._verify(checkpoint)
        assert code == 1
        assert "rolled back" in output

    def test_rollback_with_a_saved_head_is_detected(
        self, history: dict[str, Any], tmp_path: Any, client: TestClient, accounts: Accounts
    ) -> None:
        with db.session_scope() as session:
            saved = session.get(AuditHead, 1)
            assert saved is not None
            old = (saved.length, saved.last_mac, saved.head_mac)
        client.patch(
            f"/api/v1/households/{history['id']}",
            json={"version": history["version"], "address": "二组"},
            headers=accounts["cadre_a"],
        )
        checkpoint = tmp_path / "audit.json"
        assert self._verify(checkpoint)[0] == 0
        with db.session_scope() as session:
            session.execute(delete(AuditEntry).where(AuditEntry.seq > old[0]))
            session.execute(update(AuditHead).values(length=old[0], last_mac=old[1], head_mac=old[2]))
        assert verify()[0] == 0
        assert self._verify(checkpoint)[0] == 1

    def test_checkpoint_advances_with_the_chain(self, history: dict[str, Any], tmp_path: Any) -> None:
        checkpoint = tmp_path / "audit.json"
        assert self._verify(checkpoint)[0] == 0
        first = checkpoint.read_text()
        assert self._verify(checkpoint)[0] == 0
        assert checkpoint.read_text() == first
