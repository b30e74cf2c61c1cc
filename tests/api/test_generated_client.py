"""Issue 16: a client generated from /openapi.json with openapi-python-client runs a cadre's day against a
live server (uvicorn on a free port, in a thread): log in, register a household, report, batch, resend
both (200), read the household and the policy, open a case and take a step. The client raises on any
status the document does not declare."""

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from openapi_python_client import generate
from openapi_python_client.config import Config, ConfigFile, MetaType

from app.clock import local_today
from tests.fixtures import PASSWORD, Accounts, household_body, report_body

PACKAGE = "shouwang_client"
# The generator reads JSON bodies and octet streams; the PNG charts, the CSV import and the workbooks (an
# import's rows to fix) are byte streams.
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GENERATOR_CONFIG = ConfigFile(
    content_type_overrides={
        "image/png": "application/octet-stream",
        "text/csv": "application/octet-stream",
        XLSX: "application/octet-stream",
        "application/pdf": "application/octet-stream",
    },
    post_hooks=[],
)


@pytest.fixture
def generated(live_server: str, tmp_path: Path) -> Iterator[ModuleType]:
    """The client package, generated offline from the live server's /openapi.json and imported."""
    document = tmp_path / "openapi.json"
    document.write_bytes(httpx.get(f"{live_server}/openapi.json").content)
    config = Config.from_sources(
        GENERATOR_CONFIG,
        MetaType.NONE,
        document,
        "utf-8",
        overwrite=True,
        output_path=tmp_path / PACKAGE,
    )
    problems = generate(config=config)
    assert not problems, "\n".join(f"{p.header}: {p.detail}" for p in problems)
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _api(package: ModuleType, module: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{module}")


def test_a_generated_client_runs_a_cadres_day(
    generated: ModuleType, live_server: str, accounts: Accounts
) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    accounts.create("cadre_a")
    anonymous = generated.Client(base_url=live_server, raise_on_unexpected_status=True)
    login = _api(generated, "auth.login_api_v1_auth_token_post").sync_detailed(
        client=anonymous, body=models.BodyLoginApiV1AuthTokenPost(username="cadre_a", password=PASSWORD)
    )
    assert login.status_code == 200, login.content
    client = generated.AuthenticatedClient(
        base_url=live_server, token=login.parsed.access_token, raise_on_unexpected_status=True
    )

    registered = _api(generated, "households.register_household_api_v1_households_post").sync_detailed(
        client=client, body=models.HouseholdCreate.from_dict(household_body())
    )
    assert registered.status_code == 201, registered.content
    household = registered.parsed
    assert isinstance(household, models.HouseholdRead)

    submit = _api(generated, "reports.submit_report_api_v1_households_household_id_reports_post")
    report = models.ReportCreate.from_dict(report_body("day-1", "2026-01-01", "2026-03-31"))
    first = submit.sync_detailed(household.id, client=client, body=report)
    again = submit.sync_detailed(household.id, client=client, body=report)
    assert (first.status_code, again.status_code) == (201, 200), again.content
    assert isinstance(again.parsed, models.ReportRead)
    assert again.parsed.id == first.parsed.id

    batch = _api(generated, "reports.submit_batch_api_v1_reports_batch_post")
    item = report_body("day-2", "2026-04-01", "2026-05-31") | {"household_id": household.id}
    body = models.BatchReportsIn.from_dict({"reports": [item]})
    stored = batch.sync_detailed(client=client, body=body)
    resent = batch.sync_detailed(client=client, body=body)
    assert (stored.status_code, resent.status_code) == (201, 200), resent.content
    assert (stored.headers["x-reports-created"], resent.headers["x-reports-created"]) == ("1", "0")
    assert [r.id for r in resent.parsed.items] == [r.id for r in stored.parsed.items]

    read = _api(generated, "households.read_household_api_v1_households_household_id_get").sync_detailed(
        household.id, client=client
    )
    assert (read.status_code, read.parsed.household_no) == (200, household.household_no)

    policy = _api(generated, "policy.read_policy_api_v1_policy_get").sync_detailed(client=client)
    assert policy.status_code == 200, policy.content
    lines = policy.parsed.data.monitoring_lines
    assert lines
    assert all(isinstance(line, models.MonitoringLineOutput) for line in lines)

    # case actions are a union on `action`: the client sends each action as its own model
    signal = _api(generated, "cases.report_api_v1_cases_post").sync_detailed(
        client=client,
        body=models.CadreReport(household_id=household.id, description="务工收入中断"),
    )
    assert signal.status_code == 201, signal.content
    act = _api(generated, "cases.act_api_v1_cases_case_id_actions_post")
    verify = models.Verify(
        action="verify",
        visited_on=local_today(),
        visitors=["李文"],
        findings="收入下降属实",
        consent_signed=True,
    )
    verified = act.sync_detailed(signal.parsed.case_id, client=client, body=verify)
    assert verified.status_code == 200, verified.content
    assert verified.parsed.step == "democratic_review"
    missing = act.sync_detailed(2_000_000_000, client=client, body=verify)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.ErrorBody)
    assert missing.parsed.field == "case_id"
