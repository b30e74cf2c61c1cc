"""Holes found in review: each test fails if the fix is removed."""

import threading
from collections.abc import Callable
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import db
from app.config import Settings
from app.demo import accounts as demo_accounts
from app.demo import district as demo
from app.models import Household, RateEvent, Report
from tests.fixtures import Accounts, household_body, member_body, new_household, report_body

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def race(app: FastAPI, calls: list[Callable[[TestClient], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls at the same moment, each from its own client and thread."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            barrier.wait()
            results[index] = calls[index](client)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


class TestUnicodeDigits:
    def test_full_width_id_number_is_refused(self, client: TestClient, accounts: Accounts) -> None:
        household = new_household(client, accounts["cadre_a"])
        ascii_id = client.get(
            f"/api/v1/households/{household['id']}", params={"reveal": "true"}, headers=accounts["cadre_a"]
        ).json()["members"][0]["id_number"]
        disguised = ascii_id[:17].translate(FULL_WIDTH) + ascii_id[17]
        body = household_body(members=[member_body("户主") | {"id_number": disguised, "birth_date": None}])
        response = client.post("/api/v1/households", json=body, headers=accounts["cadre_a"])
        assert response.status_code == 422
        assert response.json()["field"] == "members[0].id_number"

    def test_full_width_phone_is_refused(self, client: TestClient, accounts: Accounts) -> None:
        body = household_body(phone="1380000000０")
        response = client.post("/api/v1/households", json=body, headers=accounts["cadre_a"])
        assert response.status_code == 422
        assert response.json()["field"] == "phone"


def test_a_correction_must_cover_the_period_it_replaces(client: TestClient, accounts: Accounts) -> None:
    household = new_household(client, accounts["cadre_a"])
    url = f"/api/v1/households/{household['id']}/reports"
    q1 = client.post(
        url, json=report_body("q1", "2024-01-01", "2024-03-31"), headers=accounts["cadre_a"]
    ).json()
    sneaky = report_body("q3", "2024-07-01", "2024-09-30") | {"supersedes": q1["id"]}
    response = client.post(url, json=sneaky, headers=accounts["cadre_a"])
    assert response.status_code == 422
    assert response.json()["field"] == "supersedes"
    listed = client.get(url, headers=accounts["cadre_a"]).json()["items"]
    assert [r["superseded_by"] for r in listed] == [None]


class TestNoPersonalDataInThrottleKeysOrUsernames:
    def test_failed_login_with_a_phone_number_stores_no_phone(self, client: TestClient) -> None:
        client.post("/api/v1/auth/token", data={"username": "13912345678", "password": "whatever-123"})
        with db.session_scope() as session:
            keys = session.scalars(select(RateEvent.key)).all()
        assert keys
        assert not any("13912345678" in k for k in keys)

    @pytest.mark.parametrize("username", ["13912345678", "530402198001011234"])
    def test_username_shaped_like_personal_data_is_refused(
        self, client: TestClient, accounts: Accounts, username: str
    ) -> None:
        body = {
            "username": username,
            "password": "long-enough-pw",
            "role": "admin",
            "region_code": "530402000000",
        }
        response = client.post("/api/v1/users", json=body, headers=accounts["admin"])
        assert response.status_code == 422
        assert response.json()["field"] == "username"


class TestRaces:
    def test_parallel_wrong_passwords_do_not_get_extra_guesses(
        self, app: FastAPI, accounts: Accounts, settings: Settings
    ) -> None:
        accounts.create("cadre_a")
        login = {"username": "cadre_a", "password": "wrong-password"}
        answers = race(app, [lambda c: c.post("/api/v1/auth/token", data=login)] * 8)
        codes = sorted(r.status_code for r in answers)
        assert set(codes) <= {401, 429}
        # serialised: the second failure already imposes a wait, so most parallel guesses are refused
        assert codes.count(401) <= 2

    def test_parallel_account_changes_and_logouts_are_never_a_500(
        self, app: FastAPI, accounts: Accounts
    ) -> None:
        target = accounts.create("cadre_b")
        admin = accounts["admin"]
        tokens = [accounts.tokens("cadre_c")["access_token"] for _ in range(2)]
        answers = race(
            app,
            [
                lambda c: c.patch(f"/api/v1/users/{target}", json={"active": False}, headers=admin),
                lambda c: c.patch(f"/api/v1/users/{target}", json={"role": "village_cadre"}, headers=admin),
                lambda c: c.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {tokens[0]}"}),
                lambda c: c.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {tokens[1]}"}),
            ],
        )
        assert all(r.status_code < 500 for r in answers), [r.text for r in answers]

    def test_overlapping_periods_sent_at_once_store_one(
        self, app: FastAPI, client: TestClient, accounts: Accounts
    ) -> None:
        household = new_household(client, accounts["cadre_a"])
        url = f"/api/v1/households/{household['id']}/reports"
        headers = accounts["cadre_a"]
        answers = race(
            app,
            [
                lambda c: c.post(url, json=report_body("a", "2025-01-01", "2025-03-31"), headers=headers),
                lambda c: c.post(url, json=report_body("b", "2025-02-01", "2025-04-30"), headers=headers),
            ],
        )
        assert sorted(r.status_code for r in answers) == [201, 409]
        with db.session_scope() as session:
            assert session.scalar(select(func.count()).select_from(Report)) == 1

    def test_two_demo_data_runs_at_once_both_finish(self, settings: Settings) -> None:
        errors: list[BaseException] = []

        def run(seed: int) -> None:
            try:
                with db.session_scope() as session:
                    demo.generate(session, settings, households=20, seed=seed, quarter_count=1)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(seed,)) for seed in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        with db.session_scope() as session:
            assert session.scalar(select(func.count()).select_from(Household)) == 40


def test_negative_zero_is_stored_and_answered_as_zero(client: TestClient, accounts: Accounts) -> None:
    household = new_household(client, accounts["cadre_a"])
    url = f"/api/v1/households/{household['id']}/reports"
    first = client.post(
        url, json=report_body("z", "2025-01-01", "2025-03-31", prop="-0"), headers=accounts["cadre_a"]
    )
    assert first.status_code == 201
    assert first.json()["income"]["property"] == "0.00"
    again = client.post(
        url, json=report_body("z", "2025-01-01", "2025-03-31", prop="0"), headers=accounts["cadre_a"]
    )
    assert again.status_code == 200
    assert again.json() == first.json()


def test_demo_account_cannot_log_in_in_production(
    client: TestClient, settings: Settings, app: FastAPI
) -> None:
    with db.session_scope() as session:
        accounts = demo_accounts.reset_demo_accounts(session, settings)
    username, password = accounts[0][0], accounts[0][1]
    app.state.settings = settings.model_copy(update={"env": "production"})
    try:
        response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    finally:
        app.state.settings = settings
    assert response.status_code == 401


def test_readyz_is_503_when_the_schema_is_not_at_head(settings: Settings, tmp_path: Any) -> None:
    from app.main import create_app

    empty = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'empty.db'}"})
    with TestClient(create_app(empty)) as c:
        response = c.get("/readyz")
    assert response.status_code == 503
    assert "schema" in response.json()["detail"]


def test_throttle_records_do_not_pile_up(client: TestClient) -> None:
    """Failed logins under ever-new names must not grow the table forever."""
    from datetime import timedelta

    from sqlalchemy import insert

    from app.models.base import utcnow

    with db.session_scope() as session:
        session.execute(
            insert(RateEvent),
            [{"key": f"login:old{i}", "occurred_at": utcnow() - timedelta(days=2)} for i in range(50)],
        )
    client.post("/api/v1/auth/token", data={"username": "someone-new", "password": "whatever-123"})
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(RateEvent)) == 1
