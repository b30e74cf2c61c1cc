"""The delivery-claims migration's data steps: existing relief applications take the platform account
that sent them from the audit log (so callbacks are signed with that account's key), and webhook URLs
lose any user name and password stored in them."""

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

MIGRATION = Path(__file__).parents[2] / "migrations/versions/2026-12-03_1500_delivery_claims.py"


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("delivery_claims", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_applications_take_their_account_from_the_audit_log_and_urls_lose_credentials() -> None:
    engine = sa.create_engine("sqlite://")
    with engine.begin() as connection:
        for ddl in (
            "CREATE TABLE user_account (id INTEGER PRIMARY KEY)",
            "CREATE TABLE relief_application (id INTEGER PRIMARY KEY, platform_user_id INTEGER)",
            "CREATE TABLE audit_entry (seq INTEGER PRIMARY KEY, actor_id INTEGER, action VARCHAR(40),"
            " entity VARCHAR(32), entity_id VARCHAR(40))",
            "CREATE TABLE webhook_endpoint (id INTEGER PRIMARY KEY, url VARCHAR(500))",
            "INSERT INTO user_account (id) VALUES (7), (8)",
            "INSERT INTO relief_application (id) VALUES (1), (2), (3)",
            # 1 came from account 8; 2's receipt names a user since removed; 3 has no receipt
            "INSERT INTO audit_entry VALUES (1, 8, 'relief.application', 'relief_application', '1'),"
            " (2, 7, 'relief.amendment', 'relief_application', '2'),"
            " (3, 99, 'relief.application', 'relief_application', '2'),"
            " (4, 7, 'relief.application', 'household', '3')",
            "INSERT INTO webhook_endpoint VALUES (1, 'https://hooks:hunter2@hooks.example.cn:8443/x?a=b'),"
            " (2, 'https://hunter2@hooks.example.cn/y'), (3, 'https://hooks.example.cn/z@1')",
        ):
            connection.exec_driver_sql(ddl)
        migration = _migration()
        with Operations.context(MigrationContext.configure(connection)):
            migration._accounts_from_audit()
            migration._strip_credentials()
        accounts = connection.exec_driver_sql(
            "SELECT id, platform_user_id FROM relief_application ORDER BY id"
        ).all()
        urls = connection.exec_driver_sql("SELECT url FROM webhook_endpoint ORDER BY id").scalars().all()
    assert [tuple(row) for row in accounts] == [(1, 8), (2, None), (3, None)]
    assert urls == [
        "https://hooks.example.cn:8443/x?a=b",
        "https://hooks.example.cn/y",
        "https://hooks.example.cn/z@1",
    ]
