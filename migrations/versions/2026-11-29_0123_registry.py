"""Household registry: regions, users, households, members, reports, audit chain.

Revision ID: 52c63e73e9d8
Revises:
Create Date: 2026-11-29 01:23:12.894909+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "52c63e73e9d8"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=True),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("prev_mac", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_household_id"), ["household_id"], unique=False)

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("last_mac", sa.String(length=64), nullable=False),
        sa.Column("head_mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.bulk_insert(
        sa.table(
            "audit_head",
            sa.column("id", sa.Integer),
            sa.column("length", sa.BigInteger),
            sa.column("last_mac", sa.String),
            sa.column("head_mac", sa.String),
        ),
        [{"id": 1, "length": 0, "last_mac": "0" * 64, "head_mac": ""}],
    )
    op.create_table(
        "rate_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_event")),
    )
    with op.batch_alter_table("rate_event", schema=None) as batch_op:
        batch_op.create_index("ix_rate_event_key_occurred_at", ["key", "occurred_at"], unique=False)

    op.create_table(
        "region",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "level",
            sa.Enum("county", "township", "village", name="regionlevel", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("parent_code", sa.String(length=12), nullable=True),
        sa.Column("code_source", sa.String(length=200), nullable=False),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["parent_code"], ["region.code"], name=op.f("fk_region_parent_code_region")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_region")),
    )
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_region_level"), ["level"], unique=False)
        batch_op.create_index(batch_op.f("ix_region_parent_code"), ["parent_code"], unique=False)

    op.create_table(
        "household",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_no", sa.String(length=32), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("phone_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("phone_masked", sa.String(length=16), nullable=True),
        sa.Column(
            "household_type",
            sa.Enum("脱贫户", "一般农户", name="householdtype", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "monitoring_category",
            sa.Enum(
                "none",
                "脱贫不稳定户",
                "边缘易致贫户",
                "突发严重困难户",
                name="monitoringcategory",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "monitoring_status",
            sa.Enum(
                "not_monitored",
                "under_verification",
                "monitored",
                "risk_eliminated",
                name="monitoringstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("no_labour_capacity", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["village_code"], ["region.code"], name=op.f("fk_household_village_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household")),
        sa.UniqueConstraint("household_no", name=op.f("uq_household_household_no")),
    )
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_monitoring_status"), ["monitoring_status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_household_village_code"), ["village_code"], unique=False)

    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "village_cadre",
                "township_reviewer",
                "district_officer",
                "department_user",
                "admin",
                "platform_client",
                name="role",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_user_account_region_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("username", name=op.f("uq_user_account_username")),
    )
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_account_region_code"), ["region_code"], unique=False)

    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("id_number_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("id_number_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "relation",
            sa.Enum(
                "户主",
                "配偶",
                "之子",
                "之女",
                "之儿媳",
                "之女婿",
                "之孙子",
                "之孙女",
                "之父",
                "之母",
                "之兄弟姐妹",
                "其他",
                name="relation",
                native_enum=False,
                length=8,
            ),
            nullable=False,
        ),
        sa.Column("sex", sa.Enum("男", "女", name="sex", native_enum=False, length=2), nullable=False),
        sa.Column("ethnicity", sa.String(length=20), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=True),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column(
            "left_reason",
            sa.Enum("死亡", "婚出", "分户", "迁出", "其他", name="leftreason", native_enum=False, length=8),
            nullable=True,
        ),
        sa.Column(
            "labour_capacity",
            sa.Enum(
                "普通劳动力",
                "技能劳动力",
                "丧失劳动力",
                "无劳动力",
                name="labourcapacity",
                native_enum=False,
                length=8,
            ),
            nullable=True,
        ),
        sa.Column(
            "health",
            sa.Enum("健康", "长期慢性病", "患有大病", "残疾", name="health", native_enum=False, length=8),
            nullable=True,
        ),
        sa.Column("disability_grade", sa.Integer(), nullable=True),
        sa.Column(
            "schooling",
            sa.Enum("在校", "辍学", "不适用", name="schooling", native_enum=False, length=8),
            nullable=True,
        ),
        sa.Column(
            "school_level",
            sa.Enum(
                "学前",
                "小学",
                "初中",
                "高中",
                "中职",
                "高职",
                "本科及以上",
                name="schoollevel",
                native_enum=False,
                length=8,
            ),
            nullable=True,
        ),
        sa.Column(
            "dropout_reason",
            sa.Enum(
                "因病",
                "因残",
                "因学习困难",
                "因经济困难",
                "其他",
                name="dropoutreason",
                native_enum=False,
                length=8,
            ),
            nullable=True,
        ),
        sa.Column("basic_medical_insurance", sa.Boolean(), nullable=True),
        sa.Column("serious_illness_insurance", sa.Boolean(), nullable=True),
        sa.Column("basic_pension", sa.Boolean(), nullable=True),
        sa.Column("dibao", sa.Boolean(), nullable=True),
        sa.Column("tekun", sa.Boolean(), nullable=True),
        sa.Column(
            "employment",
            sa.Enum("本地务工", "外出务工", "无", name="employment", native_enum=False, length=8),
            nullable=True,
        ),
        sa.Column("migrant_months", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_member_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member")),
    )
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_id_number_hash"), ["id_number_hash"], unique=False)
        batch_op.create_index(
            "uq_member_active_head",
            ["household_id"],
            unique=True,
            sqlite_where=sa.text("left_on IS NULL AND relation = '户主'"),
            postgresql_where=sa.text("left_on IS NULL AND relation = '户主'"),
        )
        batch_op.create_index(
            "uq_member_active_person",
            ["id_number_hash"],
            unique=True,
            sqlite_where=sa.text("left_on IS NULL"),
            postgresql_where=sa.text("left_on IS NULL"),
        )

    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("client_ref", sa.String(length=64), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("wages", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("business", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("property", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("transfer", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("production_cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("insurance_payout", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("spending_medical", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("spending_education", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column(
            "housing_grade",
            sa.Enum("A", "B", "C", "D", name="housinggrade", native_enum=False),
            nullable=True,
        ),
        sa.Column("drinking_water_safe", sa.Boolean(), nullable=True),
        sa.Column("food_secure", sa.Boolean(), nullable=True),
        sa.Column("clothing_secure", sa.Boolean(), nullable=True),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_report_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_report_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], ["report.id"], name=op.f("fk_report_supersedes_id_report")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
        sa.UniqueConstraint("household_id", "client_ref", name=op.f("uq_report_household_id_client_ref")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_report_supersedes_id")),
    )
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_household_id"), ["household_id"], unique=False)

    op.create_table(
        "report_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "illness",
                "disability",
                "accident",
                "natural_disaster",
                "business_failure",
                "job_loss",
                name="eventkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "disaster_type",
            sa.Enum(
                "洪涝",
                "地质",
                "旱灾",
                "生物",
                "气象",
                "地震",
                "其他",
                name="disastertype",
                native_enum=False,
                length=8,
            ),
            nullable=True,
        ),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("loss", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"], name=op.f("fk_report_event_report_id_report")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_event")),
    )
    with op.batch_alter_table("report_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_event_report_id"), ["report_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_event_report_id"))

    op.drop_table("report_event")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_household_id"))

    op.drop_table("report")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_member_active_person",
            sqlite_where=sa.text("left_on IS NULL"),
            postgresql_where=sa.text("left_on IS NULL"),
        )
        batch_op.drop_index(
            "uq_member_active_head",
            sqlite_where=sa.text("left_on IS NULL AND relation = '户主'"),
            postgresql_where=sa.text("left_on IS NULL AND relation = '户主'"),
        )
        batch_op.drop_index(batch_op.f("ix_member_id_number_hash"))
        batch_op.drop_index(batch_op.f("ix_member_household_id"))

    op.drop_table("member")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_account_region_code"))

    op.drop_table("user_account")
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_village_code"))
        batch_op.drop_index(batch_op.f("ix_household_monitoring_status"))

    op.drop_table("household")
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_region_parent_code"))
        batch_op.drop_index(batch_op.f("ix_region_level"))

    op.drop_table("region")
    with op.batch_alter_table("rate_event", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_event_key_occurred_at")

    op.drop_table("rate_event")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_household_id"))

    op.drop_table("audit_entry")
