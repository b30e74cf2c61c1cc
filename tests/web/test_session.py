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


def test_logout_works_with_an_expired_access_cookie_and_ends_only_this_login(
    client: TestClient, accounts: Accounts
) -> None:
    accounts.create("cadre_a")
    desk = accounts["cadre_a"]  # the same user logged in elsewhere (a bearer token)
    client.post("/api/v1/auth/session", data={"username": "cadre_a", "password": PASSWORD})
    csrf = client.cookies["sw_csrf"]
    client.cookies.delete("sw_access")  # expired while the phone lay in a pocket
    closed = client.delete("/api/v1/auth/session", headers={"X-CSRF-Token": csrf})
    assert closed.status_code == 204
    assert "sw_refresh" not in client.cookies
    assert client.post("/api/v1/auth/session/refresh", headers={"X-CSRF-Token": csrf}).status_code in (
        401,
        403,
    )
    assert client.get("/api/v1/auth/me", headers=desk).status_code == 200  # the other login lives on


def test_another_site_cannot_log_the_browser_in_and_api_answers_are_not_stored(
    client: TestClient, accounts: Accounts
) -> None:
    accounts.create("cadre_a")
    form = {"username": "cadre_a", "password": PASSWORD}
    forged = client.post("/api/v1/auth/session", data=form, headers={"Origin": "http://evil.example"})
    assert (forged.status_code, forged.json()["field"]) == (403, "origin")
    cross = client.post("/api/v1/auth/session", data=form, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    opened = client.post("/api/v1/auth/session", data=form, headers={"Sec-Fetch-Site": "same-origin"})
    assert opened.status_code == 200
    assert client.get("/api/v1/auth/me").headers["cache-control"] == "no-store"  # personal data: not cached
