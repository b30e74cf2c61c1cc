"""API-wide behaviour: health, one error shape, size limit, OpenAPI, docs switch, request ids."""

from collections.abc import Iterator

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.fixtures import Accounts, household_body


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_readyz_fails_when_database_unreachable(settings: Settings) -> None:
    broken = settings.model_copy(update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    with TestClient(create_app(broken)) as c:
        response = c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"


def test_unknown_route_uses_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert set(response.json()) >= {"code", "message", "field"}


def test_body_too_large_is_413(client: TestClient, accounts: Accounts, settings: Settings) -> None:
    body = household_body(address="x" * (settings.max_body_bytes + 10))
    response = client.post("/api/v1/households", json=body, headers=accounts["cadre_a"])
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_body_too_large_without_content_length_is_413(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    chunk = b"x" * 65536

    def stream() -> Iterator[bytes]:
        for _ in range(settings.max_body_bytes // len(chunk) + 2):
            yield chunk

    response = client.post(
        "/api/v1/reports/batch",
        content=stream(),
        headers={**accounts["cadre_a"], "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_openapi_documents_the_contract(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/v1/auth/token",
        "/api/v1/auth/refresh",
        "/api/v1/users",
        "/api/v1/users/{user_id}",
        "/api/v1/households",
        "/api/v1/households/{household_id}",
        "/api/v1/households/{household_id}/members",
        "/api/v1/households/{household_id}/members/{member_id}",
        "/api/v1/households/{household_id}/reports",
        "/api/v1/reports/batch",
        "/api/v1/households/{household_id}/history",
        "/api/v1/regions",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    assert client.get("/docs").status_code == 200


def test_docs_can_be_turned_off(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"docs_enabled": False}))) as c:
        assert c.get("/docs").status_code == 404
        assert c.get("/openapi.json").status_code == 404


def test_request_id_is_returned_and_kept(client: TestClient) -> None:
    assert client.get("/healthz").headers["x-request-id"]
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"


def test_regions_are_scoped(client: TestClient, accounts: Accounts) -> None:
    cadre = client.get("/api/v1/regions", headers=accounts["cadre_a"]).json()
    assert [r["code"] for r in cadre["items"]] == ["530402202201"]
    township = client.get(
        "/api/v1/regions", params={"level": "village"}, headers=accounts["township_1"]
    ).json()
    assert township["total"] == 5
    assert all(r["parent_code"] == "530402202000" for r in township["items"])
    district = client.get("/api/v1/regions", params={"page_size": 500}, headers=accounts["district"]).json()
    assert district["total"] > 30
    assert any(r["illustrative"] for r in district["items"])
