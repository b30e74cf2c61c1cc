"""Login (OAuth2 password flow), refresh, throttling and lockout, and tokens that stop working.

Waiting is simulated by moving `locked_until` into the past in the database, never by sleeping.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx2 as httpx
import jwt
import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, text

from app import db
from app.config import Settings
from app.demo import accounts as demo_accounts
from app.models import AuditEntry, RateEvent, User
from app.models.base import utcnow
from tests.fixtures import (
    PASSWORD,
    VILLAGE_A,
    Accounts,
    new_household,
    race,
)

TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/auth/me"
WRONG = "wrong-password-123"


def login(client: TestClient, username: str = "cadre_a", password: str = PASSWORD) -> httpx.Response:
    return client.post(TOKEN, data={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refresh(client: TestClient, token: str) -> httpx.Response:
    return client.post(REFRESH, json={"refresh_token": token})


def me(client: TestClient, access_token: str) -> httpx.Response:
    return client.get(ME, headers=bearer(access_token))


def user_row(username: str) -> User:
    with db.session_scope() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def time_passes(username: str) -> None:
    """As if the current throttling wait or lockout had run out."""
    with db.session_scope() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        if user.locked_until is not None:
            user.locked_until = utcnow() - timedelta(seconds=1)


def admin_patch(client: TestClient, accounts: Accounts, name: str, changes: dict[str, Any]) -> dict[str, Any]:
    response = client.patch(f"/api/v1/users/{accounts.create(name)}", json=changes, headers=accounts["admin"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "unauthorized"


class TestLogin:
    def test_password_login_returns_access_and_refresh_tokens(
        self, client: TestClient, accounts: Accounts, settings: Settings
    ) -> None:
        accounts.create("cadre_a")
        response = login(client)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == settings.access_token_minutes * 60
        assert body["access_token"]
        assert body["refresh_token"]
        assert body["access_token"] != body["refresh_token"]
        who = me(client, body["access_token"])
        assert who.status_code == 200, who.text
        assert (who.json()["username"], who.json()["role"], who.json()["region_code"]) == (
            "cadre_a",
            "village_cadre",
            VILLAGE_A,
        )

    def test_access_token_works_on_the_api(self, client: TestClient, accounts: Accounts) -> None:
        accounts.create("cadre_a")
        token = login(client).json()["access_token"]
        new_household(client, bearer(token), village=VILLAGE_A)
        listed = client.get("/api/v1/households", headers=bearer(token))
        assert listed.status_code == 200
        assert listed.json()["total"] == 1

    def test_wrong_password_is_401(self, client: TestClient, accounts: Accounts) -> None:
        accounts.create("cadre_a")
        response = login(client, password=WRONG)
        assert_unauthorized(response)
        assert "access_token" not in response.json()

    def test_unknown_user_gets_the_same_answer_as_a_wrong_password(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        accounts.create("cadre_a")
        unknown = login(client, username="nobody_here", password=WRONG)
        wrong = login(client, password=WRONG)
        assert_unauthorized(unknown)
        assert unknown.json()["message"] == wrong.json()["message"]

    @pytest.mark.parametrize("data", [{"username": "cadre_a"}, {"password": PASSWORD}, {}])
    def test_missing_credentials_are_refused(
        self, client: TestClient, accounts: Accounts, data: dict[str, str]
    ) -> None:
        accounts.create("cadre_a")
        response = client.post(TOKEN, data=data)
        assert response.status_code == 422, response.text
        assert response.json()["field"] in {"username", "password"}

    def test_password_is_stored_hashed_with_argon2(self, accounts: Accounts) -> None:
        accounts.create("cadre_a")
        stored = user_row("cadre_a").password_hash
        assert stored.startswith("$argon2id$")
        assert PASSWORD not in stored


class TestRefresh:
    def test_refresh_returns_new_working_tokens(self, client: TestClient, accounts: Accounts) -> None:
        first = accounts.tokens("cadre_a")
        response = refresh(client, first["refresh_token"])
        assert response.status_code == 200, response.text
        second = response.json()
        assert second["access_token"] != first["access_token"]
        assert second["refresh_token"] != first["refresh_token"]
        assert me(client, second["access_token"]).json()["username"] == "cadre_a"
        third = refresh(client, second["refresh_token"])
        assert third.status_code == 200, third.text
        assert me(client, third.json()["access_token"]).status_code == 200

    def test_access_token_is_not_a_refresh_token(self, client: TestClient, accounts: Accounts) -> None:
        tokens = accounts.tokens("cadre_a")
        assert_unauthorized(refresh(client, tokens["access_token"]))

    def test_refresh_token_is_not_an_access_token(self, client: TestClient, accounts: Accounts) -> None:
        tokens = accounts.tokens("cadre_a")
        assert_unauthorized(me(client, tokens["refresh_token"]))

    @pytest.mark.parametrize("token", ["garbage", "a.b.c"])
    def test_garbage_is_refused(self, client: TestClient, accounts: Accounts, token: str) -> None:
        assert_unauthorized(refresh(client, token))

    def test_tampered_refresh_token_is_refused(self, client: TestClient, accounts: Accounts) -> None:
        token = accounts.tokens("cadre_a")["refresh_token"]
        head, payload, signature = token.split(".")
        flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
        assert_unauthorized(refresh(client, f"{head}.{payload}.{flipped}"))

    def test_unknown_field_is_refused(self, client: TestClient, accounts: Accounts) -> None:
        token = accounts.tokens("cadre_a")["refresh_token"]
        response = client.post(REFRESH, json={"refresh_token": token, "extra": 1})
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "extra"


class TestThrottling:
    def test_repeated_failures_slow_down(
        self, client: TestClient, accounts: Accounts, settings: Settings
    ) -> None:
        assert settings.login_max_failures >= 4
        accounts.create("cadre_a")
        assert_unauthorized(login(client, password=WRONG))
        # One failure costs nothing: the right password still works at once...
        assert_unauthorized(login(client, password=WRONG))
        # ...the second makes the next attempt wait, whatever the password.
        waits = []
        for _ in range(2):
            refused = login(client)
            assert refused.status_code == 429, refused.text
            assert refused.json()["code"] == "too_many_requests"
            assert "access_token" not in refused.json()
            waits.append(int(refused.headers["Retry-After"]))
            time_passes("cadre_a")
            assert_unauthorized(login(client, password=WRONG))
        assert waits[0] >= 1
        assert waits[1] > waits[0], "each failure should make the wait longer"

    def test_first_failure_does_not_block_the_right_password(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        accounts.create("cadre_a")
        assert_unauthorized(login(client, password=WRONG))
        assert login(client).status_code == 200

    def test_success_resets_the_count(self, client: TestClient, accounts: Accounts) -> None:
        accounts.create("cadre_a")
        for _ in range(2):
            assert_unauthorized(login(client, password=WRONG))
        time_passes("cadre_a")
        assert login(client).status_code == 200
        assert_unauthorized(login(client, password=WRONG))
        assert login(client).status_code == 200, "one failure after a success must not throttle"

    def test_other_accounts_are_not_affected(self, client: TestClient, accounts: Accounts) -> None:
        accounts.create("cadre_a")
        accounts.create("cadre_b")
        for _ in range(2):
            assert_unauthorized(login(client, password=WRONG))
        assert login(client).status_code == 429
        assert login(client, username="cadre_b").status_code == 200


class TestLockout:
    def _lock(self, client: TestClient, settings: Settings, username: str = "cadre_a") -> None:
        """Fail settings.login_max_failures times, letting each throttling wait run out."""
        for _ in range(settings.login_max_failures):
            time_passes(username)
            assert_unauthorized(login(client, username=username, password=WRONG))

    def test_locks_after_max_failures_even_for_the_right_password(
        self, client: TestClient, accounts: Accounts, settings: Settings
    ) -> None:
        accounts.create("cadre_a")
        self._lock(client, settings)
        refused = login(client)
        assert refused.status_code == 429, refused.text
        retry_after = int(refused.headers["Retry-After"])
        lockout = settings.login_lockout_minutes * 60
        assert lockout - 60 <= retry_after <= lockout
        locked_until = user_row("cadre_a").locked_until
        assert locked_until is not None
        lockout_left = locked_until - utcnow()
        assert lockout_left > timedelta(minutes=settings.login_lockout_minutes) - timedelta(minutes=1)

    def test_one_failure_short_of_the_limit_does_not_lock(
        self, client: TestClient, accounts: Accounts, settings: Settings
    ) -> None:
        accounts.create("cadre_a")
        for _ in range(settings.login_max_failures - 1):
            time_passes("cadre_a")
            assert_unauthorized(login(client, password=WRONG))
        time_passes("cadre_a")
        assert login(client).status_code == 200

    def test_locked_account_shows_in_user_admin(
        self, client: TestClient, accounts: Accounts, settings: Settings
    ) -> None:
        user_id = accounts.create("cadre_a")
        self._lock(client, settings)
        users = client.get("/api/v1/users", params={"page_size": 500}, headers=accounts["admin"]).json()[
            "items"
        ]
        assert next(u for u in users if u["id"] == user_id)["locked_until"] is not None

    def test_admin_unlock_clears_the_lock(
        self, client: TestClient, accounts: Accounts, settings: Settings
    ) -> None:
        accounts.create("cadre_a")
        accounts["admin"]  # noqa: B018  (log the admin in before anything is locked)
        self._lock(client, settings)
        assert login(client).status_code == 429
        body = admin_patch(client, accounts, "cadre_a", {"unlock": True})
        assert body["locked_until"] is None
        assert login(client).status_code == 200
        # The failure count was cleared too: a single new failure does not throttle.
        assert_unauthorized(login(client, password=WRONG))
        assert login(client).status_code == 200

    def test_lock_runs_out(self, client: TestClient, accounts: Accounts, settings: Settings) -> None:
        accounts.create("cadre_a")
        self._lock(client, settings)
        assert login(client).status_code == 429
        time_passes("cadre_a")
        assert login(client).status_code == 200

    def test_tokens_issued_before_the_lock_keep_working(
        self, client: TestClient, accounts: Accounts, settings: Settings
    ) -> None:
        """A lock stops logins (an attacker guessing), not the cadre already at work in the field."""
        tokens = accounts.tokens("cadre_a")
        self._lock(client, settings)
        assert me(client, tokens["access_token"]).status_code == 200
        assert refresh(client, tokens["refresh_token"]).status_code == 200


class TestTokensStopWorking:
    def test_deactivated_user_access_and_refresh_tokens_are_refused(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        tokens = accounts.tokens("cadre_a")
        household = new_household(client, bearer(tokens["access_token"]), village=VILLAGE_A)
        admin_patch(client, accounts, "cadre_a", {"active": False})

        assert_unauthorized(me(client, tokens["access_token"]))
        assert_unauthorized(
            client.get(f"/api/v1/households/{household['id']}", headers=bearer(tokens["access_token"]))
        )
        assert_unauthorized(
            client.patch(
                f"/api/v1/households/{household['id']}",
                json={"version": household["version"], "address": "x"},
                headers=bearer(tokens["access_token"]),
            )
        )
        assert_unauthorized(refresh(client, tokens["refresh_token"]))
        assert_unauthorized(login(client))
        unchanged = client.get(f"/api/v1/households/{household['id']}", headers=accounts["district"])
        assert unchanged.json()["address"] == household["address"]

    def test_deactivation_from_the_command_line_takes_effect_at_once(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        from click.testing import CliRunner

        from app.cli import main

        tokens = accounts.tokens("cadre_a")
        result = CliRunner().invoke(main, ["users", "deactivate", "--username", "cadre_a"])
        assert result.exit_code == 0, result.output
        assert_unauthorized(me(client, tokens["access_token"]))
        assert_unauthorized(refresh(client, tokens["refresh_token"]))

    def test_inactive_flag_alone_refuses_tokens(self, client: TestClient, accounts: Accounts) -> None:
        """However the account was deactivated (here: the flag written straight to the database)."""
        tokens = accounts.tokens("cadre_a")
        with db.session_scope() as session:
            session.scalars(select(User).where(User.username == "cadre_a")).one().active = False
        assert_unauthorized(me(client, tokens["access_token"]))
        assert_unauthorized(refresh(client, tokens["refresh_token"]))

    def test_reactivation_does_not_revive_old_tokens(self, client: TestClient, accounts: Accounts) -> None:
        tokens = accounts.tokens("cadre_a")
        admin_patch(client, accounts, "cadre_a", {"active": False})
        admin_patch(client, accounts, "cadre_a", {"active": True})
        assert_unauthorized(me(client, tokens["access_token"]))
        assert_unauthorized(refresh(client, tokens["refresh_token"]))
        fresh = login(client)
        assert fresh.status_code == 200
        assert me(client, fresh.json()["access_token"]).status_code == 200

    def test_password_change_invalidates_old_tokens(self, client: TestClient, accounts: Accounts) -> None:
        tokens = accounts.tokens("cadre_a")
        admin_patch(client, accounts, "cadre_a", {"password": "brand-new-password"})
        assert_unauthorized(me(client, tokens["access_token"]))
        assert_unauthorized(refresh(client, tokens["refresh_token"]))
        assert_unauthorized(login(client))
        fresh = login(client, password="brand-new-password")
        assert fresh.status_code == 200, fresh.text
        assert me(client, fresh.json()["access_token"]).status_code == 200

    def test_role_change_invalidates_old_tokens(self, client: TestClient, accounts: Accounts) -> None:
        tokens = accounts.tokens("cadre_a")
        admin_patch(client, accounts, "cadre_a", {"role": "township_reviewer", "region_code": "530402202000"})
        assert_unauthorized(me(client, tokens["access_token"]))
        assert_unauthorized(refresh(client, tokens["refresh_token"]))

    def test_other_users_tokens_are_unaffected(self, client: TestClient, accounts: Accounts) -> None:
        other = accounts.tokens("cadre_b")
        accounts.create("cadre_a")
        admin_patch(client, accounts, "cadre_a", {"active": False})
        assert me(client, other["access_token"]).status_code == 200
        assert refresh(client, other["refresh_token"]).status_code == 200


def test_unknown_and_known_usernames_answer_alike(client: TestClient, accounts: Accounts) -> None:
    """Throttling that only known names get would tell an attacker which names exist."""
    accounts.create("cadre_a")
    answers: dict[str, list[tuple[int, str | None]]] = {}
    for username in ("cadre_a", "no-such-user"):
        answers[username] = []
        for _ in range(3):
            response = client.post(
                "/api/v1/auth/token", data={"username": username, "password": "wrong-password"}
            )
            answers[username].append((response.status_code, response.json()["field"]))
    assert answers["cadre_a"] == answers["no-such-user"]
    assert answers["cadre_a"][-1][0] == 429


def test_logout_revokes_access_and_refresh_tokens(client: TestClient, accounts: Accounts) -> None:
    tokens = accounts.tokens("cadre_a")
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    assert accounts.tokens("cadre_a")["access_token"]


@contextmanager
def statements_sent(client: TestClient) -> Iterator[list[str]]:
    """The SQL the app sends to its database meanwhile."""
    statements: list[str] = []
    engine = client.app.state.engine  # type: ignore[attr-defined]
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_a_tokens_holder_is_read_again_only_after_a_few_seconds_unless_changed_here(
    client: TestClient, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each request read the account and its login (two statements of every request); now one process
    reads them once per `actor_cache_seconds`. A change it commits itself applies at once (the logout and
    deactivation tests); one written by another process (here: plain SQL) applies once the seconds pass."""
    from app.services.platform import actor_cache

    now = time.monotonic()
    monkeypatch.setattr(actor_cache, "seconds_clock", lambda: now)  # no real second passes in between
    access = accounts.tokens("cadre_a")["access_token"]
    with statements_sent(client) as statements:
        assert me(client, access).status_code == 200
        assert me(client, access).status_code == 200
    assert len([s for s in statements if "refresh_family" in s]) == 1  # the first request only
    with db.session_scope() as session:
        session.execute(text("UPDATE user_account SET active = false WHERE username = 'cadre_a'"))
    assert me(client, access).status_code == 200  # within the seconds another replica may still answer
    monkeypatch.setattr(actor_cache, "seconds_clock", lambda: now + 6)
    assert_unauthorized(me(client, access))


def test_someone_elses_login_leaves_a_tokens_holder_cached(
    client: TestClient, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A morning of logins must not empty the cache for everyone already working (each login forgot every
    token's holder): only a change to the holder's own account or logins does."""
    from app.services.platform import actor_cache

    now = time.monotonic()
    monkeypatch.setattr(actor_cache, "seconds_clock", lambda: now)
    access = accounts.tokens("cadre_a")["access_token"]
    assert me(client, access).status_code == 200
    accounts.tokens("cadre_b")  # someone else logs in
    with statements_sent(client) as statements:
        assert me(client, access).status_code == 200
    assert not [s for s in statements if "refresh_family" in s]  # answered from the cache
    assert client.post("/api/v1/auth/logout", headers=bearer(access)).status_code == 204
    assert_unauthorized(me(client, access))  # their own logout applies at once


def past_grace(clock: time_machine.Traveller | None, settings: Settings) -> None:
    """Let the grace for the token just replaced run out."""
    assert clock is not None
    clock.shift(timedelta(seconds=settings.refresh_reuse_grace_seconds + 1))


def assert_reuse_refused(response: httpx.Response) -> None:
    assert_unauthorized(response)
    assert response.json()["field"] == "refresh_token"
    assert "already used" in response.json()["message"]


class TestRotation:
    """A refresh token is spent by its use; a spent one coming back means a copy is in other hands."""

    def test_a_refresh_token_works_once(
        self, client: TestClient, accounts: Accounts, settings: Settings, clock: time_machine.Traveller | None
    ) -> None:
        first = accounts.tokens("cadre_a")
        assert refresh(client, first["refresh_token"]).status_code == 200
        past_grace(clock, settings)
        assert_reuse_refused(refresh(client, first["refresh_token"]))

    def test_reuse_revokes_every_token_of_that_login(
        self, client: TestClient, accounts: Accounts, settings: Settings, clock: time_machine.Traveller | None
    ) -> None:
        stolen = accounts.tokens("cadre_a")
        second = refresh(client, stolen["refresh_token"]).json()
        third = refresh(client, second["refresh_token"]).json()
        other_device = login(client).json()
        past_grace(clock, settings)

        assert_reuse_refused(refresh(client, stolen["refresh_token"]))

        # the newest refresh token of that login, and the access tokens it gave, stop working
        assert_unauthorized(refresh(client, third["refresh_token"]))
        assert_unauthorized(me(client, third["access_token"]))
        assert_unauthorized(me(client, second["access_token"]))
        # ...so does the token the thief could try next
        assert_unauthorized(refresh(client, second["refresh_token"]))
        # another login (another device) is not that family and keeps working
        assert me(client, other_device["access_token"]).status_code == 200
        assert refresh(client, other_device["refresh_token"]).status_code == 200
        # and the user can log in again
        assert me(client, login(client).json()["access_token"]).status_code == 200

    def test_reuse_is_audited(
        self, client: TestClient, accounts: Accounts, settings: Settings, clock: time_machine.Traveller | None
    ) -> None:
        first = accounts.tokens("cadre_a")
        refresh(client, first["refresh_token"])
        past_grace(clock, settings)
        assert_reuse_refused(refresh(client, first["refresh_token"]))
        with db.session_scope() as session:
            rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.refresh_reuse")).all()
            assert [(r.actor, r.entity_id) for r in rows] == [("cadre_a", str(accounts.ids["cadre_a"]))]

    def test_retry_with_the_token_just_replaced_gets_the_current_one(
        self, client: TestClient, accounts: Accounts, settings: Settings
    ) -> None:
        """A phone whose answer was lost sends the same token again, within the grace."""
        assert settings.refresh_reuse_grace_seconds > 0
        first = accounts.tokens("cadre_a")
        lost = refresh(client, first["refresh_token"]).json()
        retry = refresh(client, first["refresh_token"])
        assert retry.status_code == 200, retry.text
        again = retry.json()
        assert me(client, again["access_token"]).status_code == 200
        # the same current refresh token, not a second branch: either copy continues the login...
        assert jti(again["refresh_token"]) == jti(lost["refresh_token"])
        continued = refresh(client, again["refresh_token"])
        assert continued.status_code == 200, continued.text
        # ...and the login was not revoked
        assert me(client, lost["access_token"]).status_code == 200
        assert me(client, continued.json()["access_token"]).status_code == 200

    def test_grace_is_only_for_the_token_just_replaced(
        self, client: TestClient, accounts: Accounts, settings: Settings
    ) -> None:
        first = accounts.tokens("cadre_a")
        second = refresh(client, first["refresh_token"]).json()
        third = refresh(client, second["refresh_token"]).json()
        assert_reuse_refused(refresh(client, first["refresh_token"]))
        assert_unauthorized(refresh(client, third["refresh_token"]))

    def test_grace_runs_out(
        self, client: TestClient, accounts: Accounts, settings: Settings, clock: time_machine.Traveller | None
    ) -> None:
        first = accounts.tokens("cadre_a")
        second = refresh(client, first["refresh_token"]).json()
        past_grace(clock, settings)
        assert_reuse_refused(refresh(client, first["refresh_token"]))
        assert_unauthorized(refresh(client, second["refresh_token"]))

    def test_no_grace_when_it_is_turned_off(
        self, app: FastAPI, client: TestClient, accounts: Accounts, settings: Settings
    ) -> None:
        first = accounts.tokens("cadre_a")
        app.state.settings = settings.model_copy(update={"refresh_reuse_grace_seconds": 0})
        try:
            second = refresh(client, first["refresh_token"]).json()
            assert_reuse_refused(refresh(client, first["refresh_token"]))
            assert_unauthorized(refresh(client, second["refresh_token"]))
        finally:
            app.state.settings = settings

    def test_two_refreshes_at_the_same_moment_keep_the_login(
        self, app: FastAPI, client: TestClient, accounts: Accounts
    ) -> None:
        """A phone on a poor connection sends the refresh twice; both answers work, nothing is revoked."""
        first = accounts.tokens("cadre_a")
        barrier = threading.Barrier(2)
        answers: list[httpx.Response] = []

        def send() -> None:
            with TestClient(app) as own:
                barrier.wait(timeout=30)
                answers.append(refresh(own, first["refresh_token"]))

        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        assert jti(answers[0].json()["refresh_token"]) == jti(answers[1].json()["refresh_token"])
        for answer in answers:
            assert me(client, answer.json()["access_token"]).status_code == 200
        assert refresh(client, answers[1].json()["refresh_token"]).status_code == 200

    def test_logout_revokes_rotated_tokens_and_the_grace_does_not_revive_them(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        first = accounts.tokens("cadre_a")
        phone = refresh(client, first["refresh_token"]).json()
        laptop = login(client).json()
        assert client.post("/api/v1/auth/logout", headers=bearer(phone["access_token"])).status_code == 204
        for token in (first["refresh_token"], phone["refresh_token"], laptop["refresh_token"]):
            assert_unauthorized(refresh(client, token))
        assert_unauthorized(me(client, laptop["access_token"]))

    def test_deactivation_revokes_rotated_tokens_and_the_grace_does_not_revive_them(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        first = accounts.tokens("cadre_a")
        second = refresh(client, first["refresh_token"]).json()
        admin_patch(client, accounts, "cadre_a", {"active": False})
        for token in (first["refresh_token"], second["refresh_token"]):
            assert_unauthorized(refresh(client, token))
        assert_unauthorized(me(client, second["access_token"]))

    def test_token_without_a_login_family_is_refused(
        self, client: TestClient, accounts: Accounts, settings: Settings
    ) -> None:
        """Tokens issued before families existed (no "fam" claim), or naming an unknown one: log in again."""
        user_id = accounts.create("cadre_a")
        claims = {"sub": str(user_id), "tv": user_row("cadre_a").token_version, "jti": "x", "exp": 4102444800}
        key = settings.secret_key.get_secret_value()
        for kind in ("access", "refresh"):
            legacy = jwt.encode(claims | {"typ": kind}, key, algorithm="HS256")
            unknown = jwt.encode(claims | {"typ": kind, "fam": "no-such-family"}, key, algorithm="HS256")
            for token in (legacy, unknown):
                assert_unauthorized(refresh(client, token) if kind == "refresh" else me(client, token))


def jti(token: str) -> str:
    """The token's id (read without checking the signature: the server checks it)."""
    value: str = jwt.decode(token, options={"verify_signature": False})["jti"]
    return value


def test_failed_login_with_a_phone_number_stores_no_phone(client: TestClient) -> None:
    client.post("/api/v1/auth/token", data={"username": "13912345678", "password": "whatever-123"})
    with db.session_scope() as session:
        keys = session.scalars(select(RateEvent.key)).all()
    assert keys
    assert not any("13912345678" in k for k in keys)


def test_parallel_wrong_passwords_do_not_get_extra_guesses(
    app: FastAPI, accounts: Accounts, settings: Settings
) -> None:
    accounts.create("cadre_a")
    login = {"username": "cadre_a", "password": "wrong-password"}
    answers = race(app, [lambda c: c.post("/api/v1/auth/token", data=login)] * 8)
    codes = sorted(r.status_code for r in answers)
    assert set(codes) <= {401, 429}
    # serialised: the second failure already imposes a wait, so most parallel guesses are refused
    assert codes.count(401) <= 2


def test_parallel_account_changes_and_logouts_are_never_a_500(app: FastAPI, accounts: Accounts) -> None:
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


def test_a_holder_read_before_a_logout_committed_here_is_not_kept() -> None:
    """A request that read the account, then a logout committed by another request of the same process, then
    the first request storing what it read: the token would live on for the cache's seconds."""
    from app.clock import unix_seconds
    from app.models.enums import RegionLevel, Role
    from app.services.platform import actor_cache
    from app.services.platform.access import Actor

    now_s = unix_seconds()
    actor = Actor(1, "cadre_a", Role.village_cadre, VILLAGE_A, RegionLevel.village)
    other = Actor(2, "cadre_b", Role.village_cadre, VILLAGE_A, RegionLevel.village)
    read_at, other_read_at = actor_cache.generation(1), actor_cache.generation(2)
    actor_cache.forget([1])  # the logout's commit
    actor_cache.put("token-read-before", actor, now_s + 600, 5, read_at)
    assert actor_cache.get("token-read-before", now_s) is None
    actor_cache.put("token-read-after", actor, now_s + 600, 5, actor_cache.generation(1))
    assert actor_cache.get("token-read-after", now_s) == actor
    actor_cache.put("someone-elses-token", other, now_s + 600, 5, other_read_at)  # not their logout
    assert actor_cache.get("someone-elses-token", now_s) == other
