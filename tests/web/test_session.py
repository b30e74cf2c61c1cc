"""The web app's session: tokens in HttpOnly, SameSite=Strict cookies, a CSRF token for every write,
renewal from the refresh cookie, logout that ends it."""

from fastapi.testclient import TestClient

from tests.fixtures import PASSWORD, Accounts


def test_a_browser_session_lives_in_cookies_and_writes_need_the_csrf_token(
    client: TestClient, accounts: Accounts
) -> None:
    accounts.create("cadre_a")
    opened = client.post("/api/v1/auth/session", data={"username": "cadre_a", "password": PASSWORD})
    assert opened.status_code == 200, opened.text
    assert opened.json()["role"] == "village_cadre"
    cookies = opened.headers.get_list("set-cookie")
    access = next(c for c in cookies if c.startswith("sw_access="))
    assert "HttpOnly" in access
    assert "SameSite=strict" in access
    assert "access_token" not in opened.text  # the page's script never sees a token
    assert client.get("/api/v1/auth/me").json()["username"] == "cadre_a"

    write = client.post("/api/v1/auth/session/refresh")
    assert (write.status_code, write.json()["field"]) == (403, "x-csrf-token")
    csrf = client.cookies["sw_csrf"]
    renewed = client.post("/api/v1/auth/session/refresh", headers={"X-CSRF-Token": csrf})
    assert renewed.status_code == 200, renewed.text
    assert client.cookies["sw_csrf"] != csrf  # a fresh token with the fresh session

    refused = client.delete("/api/v1/auth/session", headers={"X-CSRF-Token": "forged"})
    assert refused.status_code == 403
    closed = client.delete("/api/v1/auth/session", headers={"X-CSRF-Token": client.cookies["sw_csrf"]})
    assert closed.status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_a_wrong_password_opens_no_session(client: TestClient, accounts: Accounts) -> None:
    accounts.create("cadre_a")
    refused = client.post("/api/v1/auth/session", data={"username": "cadre_a", "password": "wrong-password"})
    assert refused.status_code == 401
    assert "sw_access" not in refused.headers.get("set-cookie", "")
