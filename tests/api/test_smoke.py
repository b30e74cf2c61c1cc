from typing import Any

from fastapi.testclient import TestClient

from app.config import Settings
from tests.fixtures import VILLAGE_A, Accounts, new_household, report_body


def test_register_read_report(client: TestClient, accounts: Accounts) -> None:
    household = new_household(client, accounts["cadre_a"], village=VILLAGE_A)
    assert household["size"] == 3
    response = client.post(
        f"/api/v1/households/{household['id']}/reports",
        json=report_body("r1", "2025-01-01", "2025-12-31"),
        headers=accounts["cadre_a"],
    )
    assert response.status_code == 201, response.text
    assert response.json()["per_capita_net_income"] == "1833.33"


def test_readyz_is_503_when_the_schema_is_not_at_head(settings: Settings, tmp_path: Any) -> None:
    from app.main import create_app

    empty = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'empty.db'}"})
    with TestClient(create_app(empty)) as c:
        response = c.get("/readyz")
    assert response.status_code == 503
    assert "schema" in response.json()["detail"]
