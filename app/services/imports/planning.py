"""What importing a chunk of households would do to the registry: register a new household, change what
the file says differently of a registered one (members, address, phone, its year of income, its
monitoring record), or nothing. Read only: the dry run answers this, the import then writes it."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.config import Settings
from app.errors import AppError
from app.models import Household, Member, Report
from app.models.enums import MonitoringCategory, MonitoringStatus, Relation
from app.pii import PiiCipher, cipher_for
from app.services.imports.drafts import Draft
from app.services.imports.rows import Problem, RowParser
from app.services.registry.member_rules import MEMBER_PLAIN_FIELDS, member_problems

Action = Literal["create", "update", "unchanged", "invalid"]
MEMBER_COMPARED = ("name", "sex", *MEMBER_PLAIN_FIELDS)
# a head changes in the registry only when the head leaves, naming the successor (members.update_member)
HEAD_CHANGE = (
    "the registry has another head (户主): record the head leaving, with the successor, in Shouwang first"
)
REPORT_COLUMNS = {
    "wages": "wages",
    "business": "business",
    "property": "property",
    "transfer": "transfer",
    "production_cost": "production_cost",
    "spending_medical": "spending_medical",
    "spending_education": "spending_education",
}


@dataclass(slots=True)
class MemberChange:
    member_id: int
    version: int  # as read when planned: a change made since is refused, not overwritten
    row: int  # index of the draft's row
    fields: dict[str, Any]


@dataclass(slots=True)
class Plan:
    draft: Draft
    action: Action = "create"
    household_id: int | None = None
    household_version: int | None = None
    household_fields: dict[str, Any] = field(default_factory=dict)  # address, phone
    new_members: list[int] = field(default_factory=list)  # indexes of the draft's rows
    member_changes: list[MemberChange] = field(default_factory=list)
    report: Literal["create", "supersede"] | None = None
    superseded_report: int | None = None
    monitoring: bool = False  # bring the household into monitoring as the file says
    warnings: list[Problem] = field(default_factory=list)


def report_ref(year: int) -> str:
    return f"import-{year}"


def plan_chunk(
    session: Session, settings: Settings, parser: RowParser, drafts: Sequence[Draft]
) -> list[Plan]:
    cipher = cipher_for(settings)
    numbers = [d.household_no for d in drafts if d.household_no]
    existing = {
        h.household_no: h
        for h in session.scalars(
            select(Household)
            .where(Household.household_no.in_(numbers))
            .options(selectinload(Household.members))
        )
    }
    hashes = {
        cipher.lookup_hash(r.values["id_number"]): (d, r.line)
        for d in drafts
        for r in d.rows
        if "id_number" in r.values
    }
    registered = session.execute(
        select(Member.id_number_hash, Household.household_no)
        .join(Household, Member.household_id == Household.id)
        .where(Member.id_number_hash.in_(list(hashes)), Member.left_on.is_(None))
    ).all()
    for id_hash, household_no in registered:
        draft, line = hashes[id_hash]
        if household_no != draft.household_no:
            draft.problems.append(
                parser.problem(
                    line, "id_number", f"the person is an active member of household {household_no}"
                )
            )
    plans = []
    for draft in drafts:
        plan = Plan(draft)
        household = existing.get(draft.household_no)
        if household is not None:
            _compare(session, cipher, parser, plan, household)
        elif draft.valid:
            plan.new_members = list(range(len(draft.rows)))
            plan.report = "create" if "income_year" in draft.values else None
            plan.monitoring = "monitoring_category" in draft.values
            _illness_evidence(parser, plan)
        if not draft.valid:
            plan.action = "invalid"
        plans.append(plan)
    return plans


def _illness_evidence(parser: RowParser, plan: Plan) -> None:
    """因病 needs compliant medical spending in the file's year of income, when the file gives the year's
    figures (without them, the county's record is taken as decided on evidence held elsewhere)."""
    values = plan.draft.values
    if not plan.monitoring or "因病" not in values.get("risk_types", []) or "income_year" not in values:
        return
    if values.get("spending_medical", Decimal(0)) > 0:
        return
    line = int(values.get("risk_types@line", plan.draft.first_line))
    plan.draft.problems.append(
        parser.problem(
            line, "risk_types", "因病 needs compliant out-of-pocket medical spending (合规自付医疗支出)"
        )
    )


def _compare(
    session: Session, cipher: PiiCipher, parser: RowParser, plan: Plan, household: Household
) -> None:
    draft = plan.draft
    plan.household_id, plan.household_version = household.id, household.version
    values = draft.values
    if draft.village_code is not None and household.village_code != draft.village_code:
        line = int(values.get("village_name@line", values.get("village_code@line", draft.first_line)))
        draft.problems.append(
            parser.problem(
                line, "village_name", f"household {household.household_no} is registered in another village"
            )
        )
        return
    if "address" in values and values["address"] != household.address:
        plan.household_fields["address"] = values["address"]
    if "phone" in values:
        stored = cipher.decrypt(household.phone_encrypted) if household.phone_encrypted is not None else None
        if values["phone"] != stored:
            plan.household_fields["phone"] = values["phone"]
    if "household_type" in values and values["household_type"] != household.household_type:
        kept = household.household_type.value
        why = f"kept {kept}: a household type changes by a correction the township approves"
        plan.warnings.append(parser.problem(draft.first_line, "household_type", why))
    _compare_members(cipher, parser, plan, household)
    _compare_report(session, plan, household)
    _compare_monitoring(parser, plan, household)
    changed = (
        plan.household_fields or plan.new_members or plan.member_changes or plan.report or plan.monitoring
    )
    plan.action = "update" if changed else "unchanged"


def _compare_members(cipher: PiiCipher, parser: RowParser, plan: Plan, household: Household) -> None:
    by_hash = {m.id_number_hash: m for m in household.members}
    active = [m for m in household.members if m.left_on is None]
    matched = 0
    for index, row in enumerate(plan.draft.rows):
        if "id_number" not in row.values:
            continue
        member = by_hash.get(cipher.lookup_hash(row.values["id_number"]))
        head_in_file = row.values.get("relation") == Relation.head
        if member is None:
            plan.new_members.append(index)
            if head_in_file and any(m.relation == Relation.head for m in active):
                row.problems.append(parser.problem(row.line, "relation", HEAD_CHANGE))
            continue
        if member.left_on is not None:
            plan.warnings.append(
                parser.problem(
                    row.line,
                    "id_number",
                    f"kept as left on {member.left_on}: correct the leaving in Shouwang",
                )
            )
            continue
        matched += 1
        if "relation" in row.values and head_in_file != (member.relation == Relation.head):
            row.problems.append(parser.problem(row.line, "relation", HEAD_CHANGE))
        fields = {
            name: row.values[name]
            for name in MEMBER_COMPARED
            if name in row.values and row.values[name] != getattr(member, name)
        }
        if not fields:
            continue
        merged = {
            name: getattr(member, name)
            for name in (*MEMBER_PLAIN_FIELDS, "birth_date", "left_on", "left_reason")
        }
        errors: list[AppError] = member_problems(merged | fields, "")
        for error in errors:
            row.problems.append(parser.problem(row.line, error.field or "name", error.message))
        plan.member_changes.append(MemberChange(member.id, member.version, index, fields))
    if active and not matched:
        plan.draft.problems.append(
            parser.problem(
                plan.draft.first_line,
                "household_no",
                f"none of these people is a member of registered household {household.household_no}: "
                "check the household number",
            )
        )


def _compare_report(session: Session, plan: Plan, household: Household) -> None:
    values = plan.draft.values
    if "income_year" not in values:
        return
    ref = report_ref(values["income_year"])
    reports = session.scalars(
        select(Report).where(Report.household_id == household.id, Report.client_ref.startswith(ref))
    ).all()
    superseded = {r.supersedes_id for r in reports}
    current = next((r for r in reports if r.id not in superseded), None)
    if current is None:
        plan.report = "create"
        return
    if any(
        getattr(current, column) != values.get(name, Decimal(0)) for name, column in REPORT_COLUMNS.items()
    ):
        plan.report, plan.superseded_report = "supersede", current.id


def _compare_monitoring(parser: RowParser, plan: Plan, household: Household) -> None:
    values = plan.draft.values
    category = values.get("monitoring_category")
    if category is None or category == MonitoringCategory.none:
        return
    eliminated = values.get("risk_eliminated_on") if values.get("risk_eliminated") else None
    status = household.monitoring_status
    if status == MonitoringStatus.not_monitored or (
        status == MonitoringStatus.monitored
        and (not household.risk_types or household.monitored_since is None)
    ):
        plan.monitoring = True
        _illness_evidence(parser, plan)
        return
    same = (
        household.monitoring_category == category
        and sorted(household.risk_types or []) == sorted(values.get("risk_types", []))
        and household.monitored_since == values.get("identified_on")
        and household.risk_eliminated_on == eliminated
    )
    if not same:
        line = int(values.get("monitoring_category@line", plan.draft.first_line))
        plan.warnings.append(
            parser.problem(
                line,
                "monitoring_category",
                f"kept Shouwang's record ({status}): once monitored, a household's record changes by a case",
            )
        )
