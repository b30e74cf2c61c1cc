"""The `shouwang` command: each subcommand works, and fails with a clear message and a non-zero code."""

import gc
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app import collector, db
from app.cli import main
from app.config import get_settings
from app.demo import accounts as demo_accounts
from app.models import Household, Member, Region, Report, User

runner = CliRunner()
# Random, as production requires (a repeated character or a text-derived Fernet key is refused).
PRODUCTION_SECRETS = {
    "SHOUWANG_SECRET_KEY": "_kiDK_hFjEM4wkfFsbdsEl52DBq58_pKD25oo5bp",
    "SHOUWANG_LOOKUP_KEY": "bsAD_xttHfAWWOd6dDsjiTww7a9w2W_yH2HS0yXI",
    "SHOUWANG_ENCRYPTION_KEYS": "1WMoH5keVHcLRXTF-QLUH7Qsjp-tT6f4QeTDG_sRb3A=",
}


def invoke_in_production(monkeypatch: pytest.MonkeyPatch, args: list[str], *, without: str = "") -> Result:
    """Run a command with SHOUWANG_ENV=production and real-looking secrets (minus `without`)."""
    monkeypatch.setenv("SHOUWANG_ENV", "production")
    for name, value in PRODUCTION_SECRETS.items():
        if name == without:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        return runner.invoke(main, args)
    finally:
        get_settings.cache_clear()


class TestUsersCreate:
    def test_password_from_stdin(self) -> None:
        result = runner.invoke(
            main,
            [
                "users",
                "create",
                "--username",
                "li.cadre",
                "--role",
                "village_cadre",
                "--region",
                "530402202201",
            ],
            input="a-long-password\n",
        )
        assert result.exit_code == 0, result.output
        with db.session_scope() as session:
            user = session.scalars(select(User).where(User.username == "li.cadre")).one()
            assert user.password_hash.startswith("$argon2id$")
            assert "a-long-password" not in user.password_hash

    def test_region_level_must_match_role(self) -> None:
        result = runner.invoke(
            main,
            ["users", "create", "--username", "wrong", "--role", "village_cadre", "--region", "530402202000"],
            input="a-long-password\n",
        )
        assert result.exit_code != 0
        assert "region" in result.output

    def test_short_password_refused(self) -> None:
        result = runner.invoke(
            main,
            ["users", "create", "--username", "shorty", "--role", "admin", "--region", "530402000000"],
            input="short\n",
        )
        assert result.exit_code != 0
        assert "password" in result.output

    def test_deactivate(self) -> None:
        runner.invoke(
            main,
            ["users", "create", "--username", "gone", "--role", "admin", "--region", "530402000000"],
            input="a-long-password\n",
        )
        result = runner.invoke(main, ["users", "deactivate", "--username", "gone"])
        assert result.exit_code == 0
        with db.session_scope() as session:
            assert session.scalars(select(User.active).where(User.username == "gone")).one() is False


class TestRegionsImport:
    def test_import_another_county(self, tmp_path: Path) -> None:
        csv = tmp_path / "county.csv"
        csv.write_text(
            "code,name,level,parent_code,code_source\n"
            "530421000000,峨山彝族自治县,county,,test\n"
            "530421100000,双江街道,township,530421000000,test\n"
            "530421100201,示例村,village,530421100000,test\n",
            encoding="utf-8",
        )
        result = runner.invoke(main, ["regions", "import", str(csv)])
        assert result.exit_code == 0, result.output
        assert "3 created" in result.output
        again = runner.invoke(main, ["regions", "import", str(csv)])
        assert "0 created, 0 updated" in again.output
        with db.session_scope() as session:
            assert session.get(Region, "530421100201") is not None

    def test_bad_rows_are_reported_and_nothing_is_written(self, tmp_path: Path) -> None:
        csv = tmp_path / "bad.csv"
        csv.write_text(
            "code,name,level,parent_code\n"
            "530421000000,某县,county,\n"
            "12345,短码,township,530421000000\n"
            "530421100201,孤村,village,530421999000\n",
            encoding="utf-8",
        )
        result = runner.invoke(main, ["regions", "import", str(csv)])
        assert result.exit_code != 0
        assert "line 3" in result.output
        with db.session_scope() as session:
            assert session.get(Region, "530421000000") is None

    def test_orphan_village_refused(self, tmp_path: Path) -> None:
        csv = tmp_path / "orphan.csv"
        csv.write_text(
            "code,name,level,parent_code\n530421100201,孤村,village,530421999000\n", encoding="utf-8"
        )
        result = runner.invoke(main, ["regions", "import", str(csv)])
        assert result.exit_code != 0
        assert "township parent" in result.output

    def test_missing_file(self) -> None:
        result = runner.invoke(main, ["regions", "import", "/nonexistent.csv"])
        assert result.exit_code != 0


class TestDemoData:
    def test_generates_households_members_and_three_years_of_quarterly_reports(self) -> None:
        result = runner.invoke(main, ["demo-data", "--households", "60", "--seed", "7"])
        assert result.exit_code == 0, result.output
        assert "households/s" in result.output
        with db.session_scope() as session:
            assert session.scalar(select(func.count()).select_from(Household)) == 60
            members = session.scalar(select(func.count()).select_from(Member)) or 0
            assert 60 * 1.5 < members < 60 * 6
            reports = session.scalar(select(func.count()).select_from(Report)) or 0
            assert reports == 60 * 12
            heads = session.scalar(select(func.count()).select_from(Member).where(Member.relation == "户主"))
            assert heads == 60
            villages = session.scalar(select(func.count(func.distinct(Household.village_code))))
            assert (villages or 0) > 5
            illustrative = session.scalars(select(Region).where(Region.illustrative.is_(True))).all()
            assert illustrative
            assert all("illustrative" in r.code_source for r in illustrative)

    def test_years_sets_the_history_length(self) -> None:
        result = runner.invoke(main, ["demo-data", "--households", "5", "--years", "3"])
        assert result.exit_code == 0, result.output
        with db.session_scope() as session:
            assert session.scalar(select(func.count()).select_from(Report)) == 5 * 12

    def test_second_run_adds_more(self) -> None:
        runner.invoke(main, ["demo-data", "--households", "10", "--seed", "1"])
        result = runner.invoke(main, ["demo-data", "--households", "10", "--seed", "2"])
        assert result.exit_code == 0, result.output
        with db.session_scope() as session:
            assert session.scalar(select(func.count()).select_from(Household)) == 20

    def test_refused_in_production(self, monkeypatch: pytest.MonkeyPatch) -> None:
        result = invoke_in_production(monkeypatch, ["demo-data", "--households", "5"])
        assert result.exit_code == 2
        assert "production" in result.output


class TestDemoBootstrap:
    def test_prints_one_account_per_role_that_can_log_in(self, client: object) -> None:
        from fastapi.testclient import TestClient

        assert isinstance(client, TestClient)
        with db.session_scope() as session:
            accounts = demo_accounts.reset_demo_accounts(session, get_settings())
        assert {a[2].value for a in accounts} == {
            "village_cadre",
            "township_reviewer",
            "district_officer",
            "department_user",
            "admin",
            "platform_client",
        }
        username, password = accounts[0][0], accounts[0][1]
        response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
        assert response.status_code == 200


class TestProductionSettings:
    @pytest.mark.parametrize(
        "missing", ["SHOUWANG_SECRET_KEY", "SHOUWANG_LOOKUP_KEY", "SHOUWANG_ENCRYPTION_KEYS"]
    )
    def test_refuses_demo_or_missing_secrets(self, monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
        result = invoke_in_production(monkeypatch, ["migrate"], without=missing)
        assert result.exit_code == 2
        assert missing.removeprefix("SHOUWANG_").lower() in result.output.lower() or missing in result.output

    def test_serve_refuses_active_demo_accounts(self, monkeypatch: pytest.MonkeyPatch) -> None:
        with db.session_scope() as session:
            demo_accounts.reset_demo_accounts(session, get_settings())
        result = invoke_in_production(monkeypatch, ["serve", "--port", "1"])
        assert result.exit_code == 2
        assert "demo accounts" in result.output

    def test_serve_keeps_the_collector_out_of_the_requests_way(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """What start-up loaded is frozen, and young collections run every 50,000 allocations, not 700:
        a 1,000-report batch was 8 % slower without it (bench/RESULTS.md)."""
        seen: dict[str, Any] = {}

        def run(app: Any, **options: Any) -> None:
            seen["threshold"] = gc.get_threshold()
            seen["frozen"] = gc.get_freeze_count()

        monkeypatch.setattr("uvicorn.run", run)
        monkeypatch.setenv("SHOUWANG_SCHEDULER_IN_PROCESS", "false")
        threshold = gc.get_threshold()
        result = invoke_in_production(monkeypatch, ["serve", "--port", "1"])  # conftest restores gc
        assert result.exit_code == 0, result.output
        assert seen["threshold"] == (collector.YOUNG_THRESHOLD, *collector.OLDER_THRESHOLDS) != threshold
        assert seen["frozen"] > 10_000

    def test_a_pool_too_small_for_a_scoring_run_is_refused_by_name(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A run holds a connection and renews its lease on another: with one, the nightly run would
        wait on itself until the pool gave up."""
        monkeypatch.setenv("SHOUWANG_DB_POOL_SIZE", "1")
        result = invoke_in_production(monkeypatch, ["worker"])
        assert result.exit_code == 2
        assert "db_pool_size" in result.output
        assert "greater than or equal to 2" in result.output


INCOME_FIELDS = ("wages", "business", "property", "transfer", "production_cost")


def sent_body(report: Report, events: list[dict[str, Any]]) -> dict[str, Any]:
    """A stored report as a client would send it again."""
    return {
        "client_ref": report.client_ref,
        "period_start": report.period_start.isoformat(),
        "period_end": report.period_end.isoformat(),
        "income": {
            f: str(getattr(report, f))
            for f in ("wages", "business", "property", "transfer", "production_cost")
        },
        "insurance_payout": str(report.insurance_payout),
        "spending": {"medical": str(report.spending_medical), "education": str(report.spending_education)},
        "housing_grade": report.housing_grade,
        "drinking_water_safe": report.drinking_water_safe,
        "food_secure": report.food_secure,
        "clothing_secure": report.clothing_secure,
        "events": events,
    }


class TestDemoReportsAreReplayable:
    def test_resending_a_demo_report_is_a_replay_not_a_conflict(self, client: object) -> None:
        from fastapi.testclient import TestClient

        from tests.fixtures import Accounts

        assert isinstance(client, TestClient)
        result = runner.invoke(main, ["demo-data", "--households", "40", "--seed", "3"])
        assert result.exit_code == 0, result.output
        accounts = Accounts(client, get_settings())
        with db.session_scope() as session:
            report = session.scalars(
                select(Report).join(Household).where(Household.village_code == "530402202201")
            ).first()
            assert report is not None
            body = sent_body(report, events=[])
            household_id = report.household_id
        response = client.post(
            f"/api/v1/households/{household_id}/reports", json=body, headers=accounts["cadre_a"]
        )
        assert response.status_code == 200, response.text

    def test_every_demo_report_carries_the_hash_the_api_gives_its_content(self) -> None:
        """The demo writes its reports' content hash as text (fast); it must be the API's, byte for byte,
        with and without events, or a cadre re-sending a demo report would get a conflict."""
        from app.schemas.reports import ReportCreate
        from app.services.registry.report_checks import body_hash

        result = runner.invoke(main, ["demo-data", "--households", "150", "--seed", "5"])
        assert result.exit_code == 0, result.output
        with db.session_scope() as session:
            reports = session.scalars(select(Report).options(selectinload(Report.events))).all()
            with_events = 0
            for report in reports:
                events = [
                    {
                        "kind": e.kind.value,
                        "disaster_type": e.disaster_type.value if e.disaster_type else None,
                        "occurred_on": e.occurred_on.isoformat(),
                        "loss": str(e.loss),
                    }
                    for e in report.events
                ]
                with_events += bool(events)
                body = ReportCreate.model_validate(sent_body(report, events))
                assert report.body_hash == body_hash(body), report.id
        assert len(reports) == 150 * 12
        assert with_events > 0
