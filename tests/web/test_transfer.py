"""What a phone downloads: the app's files and the API's JSON come gzip-compressed to a browser that
accepts it; an Excel file, a zip already, is sent as it is."""

from fastapi.testclient import TestClient

from app import db
from app.clock import local_today
from app.config import get_settings
from app.services.lists import risk_list_generation, risk_lists
from app.services.platform.access import Actor
from tests.fixtures import Accounts, new_household

GZIP = {"Accept-Encoding": "gzip"}


def test_the_apps_files_and_json_come_compressed(client: TestClient, accounts: Accounts) -> None:
    script = client.get("/static/cadre.js", headers=GZIP)
    assert script.status_code == 200
    assert script.headers["content-encoding"] == "gzip"
    assert "householdPage" in script.text  # the browser reads it as it was
    assert (
        client.get("/static/cadre.js", headers={"Accept-Encoding": "identity"}).headers.get(
            "content-encoding"
        )
        is None
    )

    for _ in range(12):
        new_household(client, accounts["cadre_a"])
    listed = client.get("/api/v1/households?page_size=50", headers={**accounts["cadre_a"], **GZIP})
    assert listed.status_code == 200
    assert listed.headers["content-encoding"] == "gzip"
    assert listed.json()["total"] == 12


def test_an_excel_file_is_not_compressed_twice(client: TestClient, accounts: Accounts) -> None:
    for _ in range(3):
        new_household(client, accounts["cadre_a"])
    week = risk_lists.week_of(local_today())
    with db.session_scope() as session:
        risk_list_generation.generate(session, get_settings(), Actor.system("test"), week)
    sheet = client.get(f"/api/v1/risk-lists/{week}?format=xlsx", headers={**accounts["district"], **GZIP})
    assert sheet.status_code == 200, sheet.text
    assert sheet.content.startswith(b"PK")  # a zip, as written
    assert "content-encoding" not in sheet.headers
    table = client.get(f"/api/v1/risk-lists/{week}?format=csv", headers={**accounts["district"], **GZIP})
    assert table.headers["content-encoding"] == "gzip"  # the CSV, text, is
