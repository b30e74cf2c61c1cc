"""Writing a planned household through the registry's own services, as the household's village would:
the same rules, versions and audit rows as the API, under the importing account's id and name."""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.config import Settings
from app.models.enums import RegionLevel, Role
from app.schemas.households import HouseholdCreate, HouseholdUpdate, MemberUpdate
from app.schemas.reports import Income, ReportCreate, Spending
from app.services.imports.bodies import member_body
from app.services.imports.planning import Plan, report_ref
from app.services.platform.access import Actor
from app.services.registry import households, members, monitored_import, report_submission
from app.services.registry.report_checks import Item


def village_actor(importer: Actor, village_code: str) -> Actor:
    """The importer acting as the household's village writes (the services' rules are the village's);
    the audit rows carry the importer's own account."""
    return Actor(importer.user_id, importer.username, Role.village_cadre, village_code, RegionLevel.village)


def _report_body(values: dict[str, Any], ref: str, supersedes: int | None) -> ReportCreate:
    year = int(values["income_year"])
    zero = Decimal(0)
    return ReportCreate(
        client_ref=ref,
        period_start=date(year, 1, 1),
        period_end=date(year, 12, 31),
        income=Income(
            wages=values["wages"],
            business=values["business"],
            property=values["property"],
            transfer=values["transfer"],
            production_cost=values["production_cost"],
        ),
        spending=Spending(
            medical=values.get("spending_medical", zero), education=values.get("spending_education", zero)
        ),
        supersedes=supersedes,
    )


def apply(session: Session, settings: Settings, importer: Actor, plan: Plan, note: str) -> None:
    """Write one valid plan; the caller holds the transaction (a savepoint per household)."""
    draft = plan.draft
    assert draft.village_code is not None
    actor = village_actor(importer, draft.village_code)
    values = draft.values
    if plan.action == "create":
        body = HouseholdCreate(
            household_no=draft.household_no,
            village_code=draft.village_code,
            address=values.get("address", ""),
            phone=values.get("phone"),
            household_type=values["household_type"],
            members=[member_body(m) for m in draft.members],
        )
        plan.household_id = households.register(session, settings, actor, body).id
    else:
        assert plan.household_id is not None
        if plan.household_fields:
            households.update(
                session,
                settings,
                actor,
                plan.household_id,
                HouseholdUpdate(version=plan.household_version, **plan.household_fields),
                None,
            )
        if plan.action == "update":
            for index in plan.new_members:
                members.add_member(
                    session, settings, actor, plan.household_id, member_body(draft.members[index])
                )
            for change in plan.member_changes:
                members.update_member(
                    session,
                    settings,
                    actor,
                    plan.household_id,
                    change.member_id,
                    MemberUpdate(version=change.version, **change.fields),
                    None,
                )
    _apply_report(session, settings, actor, plan)
    if plan.monitoring:
        eliminated = values.get("risk_eliminated_on") if values.get("risk_eliminated") else None
        monitored_import.import_monitored(
            session,
            settings,
            actor,
            household_no=draft.household_no,
            category=values["monitoring_category"],
            risk_types=values["risk_types"],
            identified_on=values["identified_on"],
            note=note,
            eliminated_on=eliminated,
            evidence_as_of=date(int(values["income_year"]) + 1, 1, 1) if "income_year" in values else None,
            illness_evidence="income_year" in values,  # without its figures, the county's record stands
        )


def _apply_report(session: Session, settings: Settings, actor: Actor, plan: Plan) -> None:
    if plan.report is None:
        return
    values = plan.draft.values
    ref = report_ref(values["income_year"])
    if plan.report == "supersede":
        ref = f"{ref}-{plan.superseded_report}"
    body = _report_body(values, ref, plan.superseded_report)
    report_submission.submit(
        session, settings, actor, [Item(body=body, prefix="", household_id=plan.household_id)]
    )
