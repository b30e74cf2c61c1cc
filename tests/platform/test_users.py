"""Account administration through the API: only an admin creates, lists and changes accounts."""

import threading
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import db
from app.config import Settings
from app.errors import Conflict
from app.models import AuditEntry, User
from app.models.enums import Role
from app.schemas.users import UserUpdate
from app.services.platform import auth
from app.services.platform import users as user_service
from tests.fixtures import (
    COUNTY,
    PASSWORD,
    TOWNSHIP_1,
    VILLAGE_A,
    VILLAGE_B,
    Accounts,
)

USERS = "/api/v1/users"
NEW_PASSWORD = "a-new-long-password"


def user_body(
    username: str = "cadre_new", role: str = "village_cadre", region_code: str = VILLAGE_A, **extra: Any
) -> dict[str, Any]:
    return {"username": username, "password": NEW_PASSWORD, "role": role, "region_code": region_code, **extra}


def create(client: TestClient, admin: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    response = client.post(USERS, json=user_body(**kwargs), headers=admin)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def login(client: TestClient, username: str, password: str = NEW_PASSWORD) -> httpx.Response:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def usernames(client: TestClient, admin: dict[str, str], **params: Any) -> list[str]:
    response = client.get(USERS, params={"page_size": 500, **params}, headers=admin)
    assert response.status_code == 200, response.text
    return [u["username"] for u in response.json()["items"]]


def assert_invalid(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid"
    fields = {body["field"], *(e["field"] for e in body.get("errors", []))}
    assert field in fields, body


class TestCreate:
    def test_admin_creates_an_account_that_can_log_in(self, client: TestClient, accounts: Accounts) -> None:
        response = client.post(USERS, json=user_body(), headers=accounts["admin"])
        assert response.status_code == 201, response.text
        user = response.json()
        assert user["username"] == "cadre_new"
        assert user["role"] == "village_cadre"
        assert user["region_code"] == VILLAGE_A
        assert user["active"] is True
        assert isinstance(user["id"], int)
        assert "password" not in user
        assert "password_hash" not in user
        assert NEW_PASSWORD not in response.text

        tokens = login(client, "cadre_new")
        assert tokens.status_code == 200, tokens.text
        me = client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
        )
        assert me.json() == {
            "id": user["id"],
            "username": "cadre_new",
            "role": "village_cadre",
            "region_code": VILLAGE_A,
            "department": None,
        }

    @pytest.mark.parametrize(
        ("role", "region"),
        [
            ("village_cadre", VILLAGE_B),
            ("township_reviewer", TOWNSHIP_1),
            ("district_officer", COUNTY),
            ("department_user", COUNTY),
            ("admin", COUNTY),
            ("platform_client", COUNTY),
        ],
    )
    def test_every_role_at_its_region_level(
        self, client: TestClient, accounts: Accounts, role: str, region: str
    ) -> None:
        department = {"department": "残联"} if role == "department_user" else {}
        user = create(
            client, accounts["admin"], username=f"new_{role}", role=role, region_code=region, **department
        )
        assert (user["role"], user["region_code"], user["department"]) == (
            role,
            region,
            department.get("department"),
        )

    @pytest.mark.parametrize(
        ("role", "region"),
        [
            ("village_cadre", TOWNSHIP_1),
            ("village_cadre", COUNTY),
            ("township_reviewer", VILLAGE_A),
            ("township_reviewer", COUNTY),
            ("district_officer", TOWNSHIP_1),
            ("admin", VILLAGE_A),
            ("platform_client", TOWNSHIP_1),
        ],
    )
    def test_region_level_must_match_role(
        self, client: TestClient, accounts: Accounts, role: str, region: str
    ) -> None:
        response = client.post(
            USERS, json=user_body(role=role, region_code=region), headers=accounts["admin"]
        )
        assert_invalid(response, "region_code")
        assert "cadre_new" not in usernames(client, accounts["admin"])

    @pytest.mark.parametrize("region", ["530402999999", "110101001001", "12345"])
    def test_unknown_region_is_refused(self, client: TestClient, accounts: Accounts, region: str) -> None:
        response = client.post(USERS, json=user_body(region_code=region), headers=accounts["admin"])
        assert_invalid(response, "region_code")
        assert login(client, "cadre_new").status_code == 401

    def test_duplicate_username_is_a_conflict(self, client: TestClient, accounts: Accounts) -> None:
        first = create(client, accounts["admin"])
        response = client.post(
            USERS, json=user_body(role="township_reviewer", region_code=TOWNSHIP_1), headers=accounts["admin"]
        )
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "conflict"
        assert response.json()["field"] == "username"
        listed = client.get(USERS, params={"page_size": 500}, headers=accounts["admin"]).json()["items"]
        assert [u for u in listed if u["username"] == "cadre_new"] == [first]

    @pytest.mark.parametrize("extra", [{"is_admin": True}, {"active": False}, {"password_hash": "x"}])
    def test_unknown_field_is_refused(
        self, client: TestClient, accounts: Accounts, extra: dict[str, Any]
    ) -> None:
        response = client.post(USERS, json=user_body(**extra), headers=accounts["admin"])
        assert_invalid(response, next(iter(extra)))
        assert "cadre_new" not in usernames(client, accounts["admin"])

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"password": "short"}, "password"),
            ({"username": "x"}, "username"),
            ({"username": "bad name!"}, "username"),
            ({"role": "superuser"}, "role"),
            ({"role": None}, "role"),
        ],
    )
    def test_invalid_fields_are_named(
        self, client: TestClient, accounts: Accounts, changes: dict[str, Any], field: str
    ) -> None:
        response = client.post(USERS, json=user_body() | changes, headers=accounts["admin"])
        assert_invalid(response, field)

    @pytest.mark.parametrize("missing", ["username", "password", "role", "region_code"])
    def test_missing_field_is_named(self, client: TestClient, accounts: Accounts, missing: str) -> None:
        body = user_body()
        del body[missing]
        assert_invalid(client.post(USERS, json=body, headers=accounts["admin"]), missing)


class TestList:
    def test_pagination(self, client: TestClient, accounts: Accounts) -> None:
        admin = accounts["admin"]
        for i in range(5):
            create(client, admin, username=f"cadre_{i}")
        everyone = usernames(client, admin)
        assert set(everyone) == {"admin", *(f"cadre_{i}" for i in range(5))}

        pages = []
        for page in (1, 2, 3):
            response = client.get(USERS, params={"page": page, "page_size": 2}, headers=admin)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["total"] == 6
            assert (body["page"], body["page_size"]) == (page, 2)
            pages.append([u["username"] for u in body["items"]])
        assert [len(p) for p in pages] == [2, 2, 2]
        assert [name for p in pages for name in p] == everyone

        beyond = client.get(USERS, params={"page": 4, "page_size": 2}, headers=admin).json()
        assert beyond["items"] == []
        assert beyond["total"] == 6

    @pytest.mark.parametrize("params", [{"page": 0}, {"page_size": 0}, {"page_size": 501}, {"page": "x"}])
    def test_bad_page_parameters_are_refused(
        self, client: TestClient, accounts: Accounts, params: dict[str, Any]
    ) -> None:
        response = client.get(USERS, params=params, headers=accounts["admin"])
        assert_invalid(response, next(iter(params)))

    def test_filters_by_role_and_active(self, client: TestClient, accounts: Accounts) -> None:
        admin = accounts["admin"]
        create(client, admin, username="cadre_1")
        gone = create(client, admin, username="cadre_2")
        create(client, admin, username="reviewer", role="township_reviewer", region_code=TOWNSHIP_1)
        response = client.patch(f"{USERS}/{gone['id']}", json={"active": False}, headers=admin)
        assert response.status_code == 200, response.text

        assert usernames(client, admin, role="village_cadre") == ["cadre_1", "cadre_2"]
        assert usernames(client, admin, role="township_reviewer") == ["reviewer"]
        assert usernames(client, admin, active="false") == ["cadre_2"]
        assert usernames(client, admin, role="village_cadre", active="true") == ["cadre_1"]
        one = client.get(USERS, params={"role": "village_cadre", "page_size": 1}, headers=admin).json()
        assert one["total"] == 2
        assert_invalid(client.get(USERS, params={"role": "king"}, headers=admin), "role")


class TestUpdate:
    def test_change_role_and_region(self, client: TestClient, accounts: Accounts) -> None:
        admin = accounts["admin"]
        user = create(client, admin)
        response = client.patch(
            f"{USERS}/{user['id']}",
            json={"role": "township_reviewer", "region_code": TOWNSHIP_1},
            headers=admin,
        )
        assert response.status_code == 200, response.text
        assert (response.json()["role"], response.json()["region_code"]) == ("township_reviewer", TOWNSHIP_1)
        tokens = login(client, "cadre_new").json()
        me = client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        ).json()
        assert (me["role"], me["region_code"]) == ("township_reviewer", TOWNSHIP_1)

    def test_move_cadre_to_another_village(self, client: TestClient, accounts: Accounts) -> None:
        user = create(client, accounts["admin"])
        response = client.patch(
            f"{USERS}/{user['id']}", json={"region_code": VILLAGE_B}, headers=accounts["admin"]
        )
        assert response.status_code == 200, response.text
        assert response.json()["region_code"] == VILLAGE_B

    @pytest.mark.parametrize(
        "changes",
        [
            {"role": "township_reviewer"},
            {"region_code": TOWNSHIP_1},
            {"role": "district_officer", "region_code": TOWNSHIP_1},
        ],
    )
    def test_region_level_must_still_match(
        self, client: TestClient, accounts: Accounts, changes: dict[str, Any]
    ) -> None:
        user = create(client, accounts["admin"])
        response = client.patch(f"{USERS}/{user['id']}", json=changes, headers=accounts["admin"])
        assert_invalid(response, "region_code")
        listed = client.get(USERS, params={"role": "village_cadre"}, headers=accounts["admin"]).json()[
            "items"
        ]
        assert [(u["role"], u["region_code"]) for u in listed] == [("village_cadre", VILLAGE_A)]

    def test_deactivate_and_reactivate(self, client: TestClient, accounts: Accounts) -> None:
        admin = accounts["admin"]
        user = create(client, admin)
        response = client.patch(f"{USERS}/{user['id']}", json={"active": False}, headers=admin)
        assert response.status_code == 200, response.text
        assert response.json()["active"] is False
        assert login(client, "cadre_new").status_code == 401
        response = client.patch(f"{USERS}/{user['id']}", json={"active": True}, headers=admin)
        assert response.json()["active"] is True
        assert login(client, "cadre_new").status_code == 200

    def test_change_password(self, client: TestClient, accounts: Accounts) -> None:
        user = create(client, accounts["admin"])
        response = client.patch(
            f"{USERS}/{user['id']}", json={"password": "another-password-1"}, headers=accounts["admin"]
        )
        assert response.status_code == 200, response.text
        assert "another-password-1" not in response.text
        assert login(client, "cadre_new").status_code == 401
        assert login(client, "cadre_new", "another-password-1").status_code == 200

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"username": "renamed"}, "username"),
            ({"is_admin": True}, "is_admin"),
            ({"active": None}, "active"),
            ({"role": None}, "role"),
            ({"password": "short"}, "password"),
            ({"active": "maybe"}, "active"),
        ],
    )
    def test_invalid_changes_are_refused(
        self, client: TestClient, accounts: Accounts, changes: dict[str, Any], field: str
    ) -> None:
        user = create(client, accounts["admin"])
        response = client.patch(f"{USERS}/{user['id']}", json=changes, headers=accounts["admin"])
        assert_invalid(response, field)
        assert login(client, "cadre_new").status_code == 200

    def test_unknown_user_is_404(self, client: TestClient, accounts: Accounts) -> None:
        response = client.patch(f"{USERS}/987654", json={"active": False}, headers=accounts["admin"])
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"


NON_ADMINS = ["cadre_a", "township_1", "district", "department"]  # a platform token is refused outright (401)


class TestOnlyAdmins:
    @pytest.mark.parametrize("who", NON_ADMINS)
    def test_non_admin_cannot_create(self, client: TestClient, accounts: Accounts, who: str) -> None:
        response = client.post(USERS, json=user_body(), headers=accounts[who])
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
        assert login(client, "cadre_new").status_code == 401

    @pytest.mark.parametrize("who", NON_ADMINS)
    def test_non_admin_cannot_list(self, client: TestClient, accounts: Accounts, who: str) -> None:
        response = client.get(USERS, headers=accounts[who])
        assert response.status_code == 403, response.text
        assert "username" not in response.text

    @pytest.mark.parametrize("who", NON_ADMINS)
    def test_non_admin_cannot_change(self, client: TestClient, accounts: Accounts, who: str) -> None:
        target = create(client, accounts["admin"])
        caller = accounts[who]
        attempts = (
            {"active": False},
            {"role": "admin", "region_code": COUNTY},
            {"password": "hijacked-pass"},
        )
        for changes in attempts:
            response = client.patch(f"{USERS}/{target['id']}", json=changes, headers=caller)
            assert response.status_code == 403, response.text
        own = client.patch(
            f"{USERS}/{accounts.ids[who]}", json={"role": "admin", "region_code": COUNTY}, headers=caller
        )
        assert own.status_code == 403, own.text
        listed = client.get(USERS, params={"page_size": 500}, headers=accounts["admin"]).json()["items"]
        by_name = {u["username"]: u for u in listed}
        assert (by_name["cadre_new"]["role"], by_name["cadre_new"]["active"]) == ("village_cadre", True)
        assert by_name[who]["role"] != "admin"
        assert login(client, "cadre_new").status_code == 200


def bearer_of(client: TestClient, username: str, password: str = NEW_PASSWORD) -> dict[str, str]:
    response = login(client, username, password)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def second_admin(client: TestClient, accounts: Accounts) -> tuple[int, dict[str, str]]:
    """Another active admin of the county, logged in."""
    other = create(client, accounts["admin"], username="admin_two", role="admin", region_code=COUNTY)
    return other["id"], bearer_of(client, "admin_two")


def account(username: str) -> tuple[Role, str, bool]:
    with db.session_scope() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return user.role, user.region_code, user.active


def user_updates(user_id: int) -> int:
    with db.session_scope() as session:
        return len(
            session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "user.update", AuditEntry.entity_id == str(user_id)
                )
            ).all()
        )


class TestAdminsOwnAccount:
    """An admin manages accounts and reads no household data; they cannot change that about themselves."""

    @pytest.mark.parametrize(
        "changes",
        [
            {"role": "district_officer"},
            {"role": "department_user"},
            {"role": "township_reviewer", "region_code": TOWNSHIP_1},
            {"role": "village_cadre", "region_code": VILLAGE_A},
            {"role": "platform_client"},
        ],
    )
    def test_admin_cannot_change_own_role(
        self, client: TestClient, accounts: Accounts, changes: dict[str, Any]
    ) -> None:
        admin = accounts["admin"]
        response = client.patch(f"{USERS}/{accounts.ids['admin']}", json=changes, headers=admin)
        assert response.status_code == 403, response.text
        assert (response.json()["code"], response.json()["field"]) == ("forbidden", "role")
        assert "own role" in response.json()["message"]
        assert account("admin") == (Role.admin, COUNTY, True)
        assert user_updates(accounts.ids["admin"]) == 0
        # still an admin, with the same token, and still no household data
        assert client.get("/api/v1/auth/me", headers=admin).json()["role"] == "admin"
        assert client.get("/api/v1/households", headers=admin).status_code == 403

    @pytest.mark.parametrize("region", [TOWNSHIP_1, VILLAGE_A])
    def test_admin_cannot_change_own_region(
        self, client: TestClient, accounts: Accounts, region: str
    ) -> None:
        admin = accounts["admin"]
        response = client.patch(
            f"{USERS}/{accounts.ids['admin']}", json={"region_code": region}, headers=admin
        )
        assert response.status_code == 403, response.text
        assert (response.json()["code"], response.json()["field"]) == ("forbidden", "region_code")
        assert account("admin") == (Role.admin, COUNTY, True)

    def test_admin_may_change_own_password(self, client: TestClient, accounts: Accounts) -> None:
        admin = accounts["admin"]
        response = client.patch(
            f"{USERS}/{accounts.ids['admin']}", json={"password": "admins-new-password"}, headers=admin
        )
        assert response.status_code == 200, response.text
        assert login(client, "admin", "admins-new-password").status_code == 200

    def test_another_admin_may_change_an_admins_role(self, client: TestClient, accounts: Accounts) -> None:
        admin_id = accounts.create("admin")
        _, other = second_admin(client, accounts)
        response = client.patch(f"{USERS}/{admin_id}", json={"role": "district_officer"}, headers=other)
        assert response.status_code == 200, response.text
        assert account("admin") == (Role.district_officer, COUNTY, True)


class TestLastAdmin:
    """The county always keeps an active admin: without one nobody can manage accounts through the API."""

    def test_last_active_admin_cannot_deactivate_themselves(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        admin = accounts["admin"]
        response = client.patch(f"{USERS}/{accounts.ids['admin']}", json={"active": False}, headers=admin)
        assert response.status_code == 409, response.text
        assert (response.json()["code"], response.json()["field"]) == ("conflict", "active")
        assert "last active admin" in response.json()["message"]
        assert account("admin") == (Role.admin, COUNTY, True)
        assert client.get(USERS, headers=admin).status_code == 200
        assert login(client, "admin", PASSWORD).status_code == 200

    def test_inactive_admins_do_not_count(self, client: TestClient, accounts: Accounts) -> None:
        admin = accounts["admin"]
        other_id, _ = second_admin(client, accounts)
        assert client.patch(f"{USERS}/{other_id}", json={"active": False}, headers=admin).status_code == 200
        response = client.patch(f"{USERS}/{accounts.ids['admin']}", json={"active": False}, headers=admin)
        assert response.status_code == 409, response.text
        assert response.json()["field"] == "active"

    def test_an_admin_may_leave_when_another_remains(self, client: TestClient, accounts: Accounts) -> None:
        second_admin(client, accounts)
        response = client.patch(
            f"{USERS}/{accounts.ids['admin']}", json={"active": False}, headers=accounts["admin"]
        )
        assert response.status_code == 200, response.text
        assert account("admin")[2] is False

    @pytest.mark.parametrize(
        ("changes", "field"),
        [(UserUpdate(active=False), "active"), (UserUpdate(role=Role.district_officer), "role")],
    )
    def test_an_admin_removed_meanwhile_cannot_remove_the_last_one(
        self, client: TestClient, accounts: Accounts, settings: Settings, changes: UserUpdate, field: str
    ) -> None:
        """admin_two's request has passed the token check when admin deactivates admin_two; admin_two's
        change to admin then lands on the county's last active admin (on PostgreSQL, two requests really
        interleave like this)."""
        admin_id = accounts.create("admin")
        other_id, other = second_admin(client, accounts)
        with db.session_scope() as session:
            actor = auth.actor_from_token(session, settings, other["Authorization"].removeprefix("Bearer "))
        assert (
            client.patch(f"{USERS}/{other_id}", json={"active": False}, headers=accounts["admin"]).status_code
            == 200
        )
        with pytest.raises(Conflict) as refused, db.session_scope() as session:
            user_service.update(session, settings, actor, admin_id, changes)
        assert refused.value.field == field
        assert account("admin") == (Role.admin, COUNTY, True)

    @pytest.mark.parametrize("changes", [{"active": False}, {"role": "district_officer"}])
    def test_two_admins_removing_each_other_at_once_leave_one(
        self, app: FastAPI, client: TestClient, accounts: Accounts, changes: dict[str, Any]
    ) -> None:
        admin_id = accounts.create("admin")
        other_id, other = second_admin(client, accounts)
        calls = [(other_id, accounts["admin"]), (admin_id, other)]
        barrier = threading.Barrier(2)
        answers: list[httpx.Response] = []

        def send(target: int, headers: dict[str, str]) -> None:
            with TestClient(app) as own:
                barrier.wait(timeout=30)
                answers.append(own.patch(f"{USERS}/{target}", json=changes, headers=headers))

        threads = [threading.Thread(target=send, args=call) for call in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        statuses = sorted(a.status_code for a in answers)
        assert statuses in ([200, 401], [200, 409]), [a.text for a in answers]
        remaining = [
            name for name in ("admin", "admin_two") if account(name)[0] == Role.admin and account(name)[2]
        ]
        assert len(remaining) == 1
        # ...and can still manage accounts
        headers = bearer_of(client, remaining[0], PASSWORD if remaining == ["admin"] else NEW_PASSWORD)
        assert client.get(USERS, headers=headers).status_code == 200


@pytest.mark.parametrize("username", ["13912345678", "530402198001011234"])
def test_username_shaped_like_personal_data_is_refused(
    client: TestClient, accounts: Accounts, username: str
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
