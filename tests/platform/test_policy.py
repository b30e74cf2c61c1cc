"""Policy as versioned data: district officers read it, admins add versions (audited), nothing is edited."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import db
from app.schemas.policy import PolicyData
from app.services.platform import policy as policy_service
from tests.fixtures import Accounts

URL = "/api/v1/policy"


def current(client: TestClient, accounts: Accounts) -> dict[str, Any]:
    response = client.get(URL, headers=accounts["district"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def new_lines(body: dict[str, Any], year: int, amount: str) -> dict[str, Any]:
    data = dict(body["data"])
    data["monitoring_lines"] = [
        {**line, "amount": amount, "verified": True, "source": "provincial notice"}
        if line["year"] == year
        else line
        for line in data["monitoring_lines"]
    ]
    return data


class TestDefaults:
    def test_defaults_follow_domain_and_mark_unverified_lines(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        body = current(client, accounts)
        assert body["version"] == 1
        lines = {
            line["year"]: (line["amount"], line["verified"]) for line in body["data"]["monitoring_lines"]
        }
        assert lines[2023] == ("8050.00", True)
        assert lines[2025] == ("8700.00", True)
        assert lines[2022][1] is False
        assert lines[2024][1] is False
        assert lines[2026][1] is False

    def test_a_year_after_the_last_line_carries_it_forward(self) -> None:
        assert PolicyData().line_for(2031) == PolicyData().line_for(2026)


class TestChanges:
    def test_admin_change_is_a_new_version_and_the_old_one_stays(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        before = current(client, accounts)
        body = new_lines(before, 2026, "9100") | {"version": 1, "note": "2026 line published"}
        response = client.put(URL, json=body, headers=accounts["admin"])
        assert response.status_code == 201, response.text
        assert response.json()["version"] == 2
        assert response.headers["ETag"] == '"2"'
        with db.session_scope() as session:
            version, data = policy_service.current_data(session)
        assert version == 2
        assert data.line_for(2026) == 9100
        versions = client.get(f"{URL}/versions", headers=accounts["district"]).json()
        assert [v["version"] for v in versions["items"]] == [2, 1]
        assert versions["items"][1]["data"] == before["data"]

    def test_change_is_audited_with_who_and_what(self, client: TestClient, accounts: Accounts) -> None:
        body = new_lines(current(client, accounts), 2024, "8450") | {"version": 1, "note": "confirmed"}
        assert client.put(URL, json=body, headers=accounts["admin"]).status_code == 201
        from sqlalchemy import select

        from app.models import AuditEntry

        with db.session_scope() as session:
            entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "policy.update")).one()
            assert entry.actor == "admin"
            assert "monitoring_lines" in entry.changes
            assert entry.changes["note"] == "confirmed"

    def test_stale_version_changes_nothing(self, client: TestClient, accounts: Accounts) -> None:
        body = new_lines(current(client, accounts), 2026, "9100")
        assert client.put(URL, json=body | {"version": 1}, headers=accounts["admin"]).status_code == 201
        stale = client.put(
            URL,
            json=new_lines(current(client, accounts), 2026, "9999") | {"version": 1},
            headers=accounts["admin"],
        )
        assert stale.status_code == 409
        assert current(client, accounts)["version"] == 2
        missing = client.put(URL, json=body, headers=accounts["admin"])
        assert missing.status_code == 428

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"sharp_drop_share": "1.5"}, "sharp_drop_share"),
            ({"high_probability": "0.1"}, None),
            ({"unknown": 1}, "unknown"),
            ({"monitoring_lines": []}, "monitoring_lines"),
        ],
    )
    def test_invalid_policy_is_refused(
        self, client: TestClient, accounts: Accounts, change: dict[str, Any], field: str | None
    ) -> None:
        body = current(client, accounts)["data"] | change | {"version": 1}
        response = client.put(URL, json=body, headers=accounts["admin"])
        assert response.status_code == 422
        if field:
            assert response.json()["field"] == field
        assert current(client, accounts)["version"] == 1

    def test_duplicate_year_is_refused(self, client: TestClient, accounts: Accounts) -> None:
        data = current(client, accounts)["data"]
        data["monitoring_lines"] = [*data["monitoring_lines"], data["monitoring_lines"][0]]
        response = client.put(URL, json=data | {"version": 1}, headers=accounts["admin"])
        assert response.status_code == 422
        assert response.json()["field"] == "monitoring_lines"


@pytest.mark.parametrize("who", ["district", "township_1", "cadre_a", "department"])
def test_only_admins_change_the_policy(client: TestClient, accounts: Accounts, who: str) -> None:
    body = current(client, accounts)["data"] | {"version": 1}
    assert client.put(URL, json=body, headers=accounts[who]).status_code == 403
    assert client.get(URL, headers=accounts[who]).status_code == 200


def test_platform_client_cannot_read_the_policy(client: TestClient, accounts: Accounts) -> None:
    assert client.get(URL, headers=accounts["platform"]).status_code == 401  # its token opens nothing


def test_a_partial_change_keeps_every_other_setting(client: TestClient, accounts: Accounts) -> None:
    before = current(client, accounts)
    lines = new_lines(before, 2025, "9000")["monitoring_lines"]
    first = client.put(URL, json={"version": 1, "monitoring_lines": lines}, headers=accounts["admin"])
    assert first.status_code == 201, first.text
    second = client.put(URL, json={"version": 2, "event_loss_share": "0.4"}, headers=accounts["admin"])
    assert second.status_code == 201, second.text
    data = second.json()["data"]
    assert data["event_loss_share"] == "0.4"
    assert next(line for line in data["monitoring_lines"] if line["year"] == 2025)["amount"] == "9000.00"
    assert data["sharp_drop_share"] == before["data"]["sharp_drop_share"]


def test_a_platform_account_cannot_log_in_with_a_password(client: TestClient, accounts: Accounts) -> None:
    from tests.fixtures import PASSWORD

    accounts.create("platform")
    refused = client.post("/api/v1/auth/token", data={"username": "platform", "password": PASSWORD})
    assert refused.status_code == 401


def test_domain_defaults_for_departments_staleness_and_dibao_are_policy_with_the_unverified_marked(
    client: TestClient, accounts: Accounts
) -> None:
    data = current(client, accounts)["data"]
    medical = next(d for d in data["departments"] if d["name"] == "医保")
    rule = next(r for r in medical["signals"] if r["signal_type"] == "medical_self_pay")
    assert (rule["threshold"], rule["threshold_lifted"], rule["window_months"]) == ("20000.00", "5000.00", 12)
    assert (data["stale_report_months"], data["elimination_min_monitored_months"]) == (6, 6)
    assert data["dibao_standards"][0] == {
        "year": 2020,
        "amount": "4500.00",
        "verified": True,
        "source": "红塔区 2021–2025 规划 (DOMAIN.md)",
    }
    assert {"departments", "stale_report_months", "elimination_min_monitored_months"} <= set(
        data["unverified"]
    )
    # an admin confirms a value: it leaves the unverified list; a name that is no setting is refused
    confirmed = [name for name in data["unverified"] if name != "stale_report_months"]
    changed = client.put(
        URL, json={"version": 1, "stale_report_months": 3, "unverified": confirmed}, headers=accounts["admin"]
    )
    assert changed.status_code == 201, changed.text
    assert "stale_report_months" not in current(client, accounts)["data"]["unverified"]
    wrong = client.put(URL, json={"version": 2, "unverified": ["no_such_setting"]}, headers=accounts["admin"])
    assert (wrong.status_code, wrong.json()["field"]) == (422, "unverified")
