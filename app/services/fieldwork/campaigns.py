"""集中排查: the district opens a campaign over the county or some townships, for every registered
household or those of some types and monitoring categories; each household in scope gets a task (one
INSERT … SELECT, so a county of 100,000 households opens in seconds), visits in the period complete them,
and the campaign closes with a frozen summary by township and village: visited, cases opened, risks
eliminated."""

import io
from datetime import date, datetime, time, timedelta
from typing import Any

import xlsxwriter
from sqlalchemy import Integer, and_, cast, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from app.clock import district_zone
from app.config import Settings
from app.errors import Conflict, Invalid, NotFound
from app.models import Campaign, Case, FieldTask, Household, Region, Visit
from app.models.base import utcnow
from app.models.enums import RegionLevel, Role
from app.schemas.common import PageParams
from app.schemas.fieldwork import CampaignCreate
from app.services.platform import access, audit, paging
from app.services.platform.access import Actor

OPENERS = frozenset({Role.district_officer})
READERS = frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer})
FIGURES = ("tasks", "visited", "cases_opened", "risks_eliminated")


def open_campaign(session: Session, settings: Settings, actor: Actor, body: CampaignCreate) -> Campaign:
    access.require_role(actor, OPENERS, "opening a campaign")
    if body.townships is not None:
        _check_townships(session, actor, body.townships)
    campaign = Campaign(
        name=body.name,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        townships=body.townships,
        household_types=body.household_types,
        monitoring_categories=body.monitoring_categories,
        opened_by=actor.username,
    )
    session.add(campaign)
    session.flush()
    campaign.tasks = _create_tasks(session, actor, campaign)
    _complete_from_visits(session, campaign)
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "campaign.open",
                "campaign",
                campaign.id,
                None,
                {
                    "name": campaign.name,
                    "starts_on": campaign.starts_on,
                    "ends_on": campaign.ends_on,
                    "townships": campaign.townships,
                    "household_types": campaign.household_types,
                    "monitoring_categories": campaign.monitoring_categories,
                    "tasks": campaign.tasks,
                },
            )
        ],
    )
    return campaign


def listing(session: Session, actor: Actor, page: PageParams) -> tuple[list[Campaign], int]:
    access.require_role(actor, READERS, "reading campaigns")
    return paging.page_of(session, select(Campaign), page, Campaign.starts_on.desc(), Campaign.id.desc())


def get(session: Session, actor: Actor, campaign_id: int) -> Campaign:
    access.require_role(actor, READERS, "reading campaigns")
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found", field="campaign_id")
    return campaign


def progress(session: Session, actor: Actor, campaign_id: int) -> tuple[Campaign, list[dict[str, Any]]]:
    """Tasks and visits by township and village, in the actor's region (live while the campaign runs)."""
    campaign = get(session, actor, campaign_id)
    return campaign, _by_village(session, actor, campaign)


def close(session: Session, settings: Settings, actor: Actor, campaign_id: int) -> Campaign:
    access.require_role(actor, OPENERS, "closing a campaign")
    campaign = session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found", field="campaign_id")
    if campaign.status != "open":
        raise Conflict(f"campaign {campaign_id} is already closed", field="campaign_id")
    villages = _by_village(session, actor, campaign, outcomes=True)
    totals = {
        k: sum(v[k] for v in villages) for k in ("tasks", "visited", "cases_opened", "risks_eliminated")
    }
    campaign.summary = {"totals": totals, "villages": villages}
    campaign.status, campaign.closed_by, campaign.closed_at = "closed", actor.username, utcnow()
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [audit.Change("campaign.close", "campaign", campaign.id, None, {"totals": totals})],
    )
    return campaign


def summary(session: Session, actor: Actor, campaign_id: int) -> tuple[Campaign, list[dict[str, Any]]]:
    """A closed campaign and its frozen summary's villages in the actor's region."""
    campaign = get(session, actor, campaign_id)
    if campaign.summary is None:
        raise Conflict(
            f"campaign {campaign_id} is open: its summary comes when it closes", field="campaign_id"
        )
    visible = set(session.scalars(access.visible_village_codes(actor)))
    return campaign, [v for v in campaign.summary["villages"] if v["village_code"] in visible]


def summary_xlsx(campaign: Campaign, rows: list[dict[str, Any]]) -> bytes:
    """The summary as a workbook: one row per village, then the totals."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("汇总")
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, [campaign.name, f"{campaign.starts_on} 至 {campaign.ends_on}"], bold)
    sheet.write_row(2, 0, ["乡镇", "村", "排查户数", "已走访", "走访率", "新开案件", "风险消除"], bold)
    for i, v in enumerate(rows, start=3):
        sheet.write_row(i, 0, [v["township_name"], v["village_name"], *_figures(v)])
    sheet.write_row(3 + len(rows), 0, ["合计", "", *_figures(totals(rows))], bold)
    sheet.set_column(0, 1, 16)
    book.close()
    return out.getvalue()


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {k: sum(int(v[k]) for v in rows) for k in FIGURES}


def _figures(row: dict[str, Any]) -> list[Any]:
    share = round(row["visited"] / row["tasks"], 4) if row["tasks"] else 0
    return [row["tasks"], row["visited"], share, row["cases_opened"], row["risks_eliminated"]]


# ---- the work -------------------------------------------------------------------------------------------


def _check_townships(session: Session, actor: Actor, codes: list[str]) -> None:
    known = set(
        session.scalars(
            select(Region.code).where(
                Region.code.in_(codes),
                Region.level == RegionLevel.township,
                Region.code.in_(access.regions_within(actor)),
            )
        )
    )
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise Invalid(f"not townships of your district: {', '.join(unknown)}", field="townships")


def _create_tasks(session: Session, actor: Actor, campaign: Campaign) -> int:
    village = aliased(Region)
    chosen = select(
        literal("campaign"),
        Household.id,
        Household.village_code,
        village.parent_code,
        literal(campaign.id),
        literal(campaign.starts_on),
        literal(campaign.ends_on),
    ).join(village, village.code == Household.village_code)
    chosen = chosen.where(Household.village_code.in_(access.visible_village_codes(actor)))
    if campaign.townships is not None:
        chosen = chosen.where(village.parent_code.in_(campaign.townships))
    groups = []
    if campaign.household_types:
        groups.append(Household.household_type.in_(campaign.household_types))
    if campaign.monitoring_categories:
        groups.append(Household.monitoring_category.in_(campaign.monitoring_categories))
    if groups:
        chosen = chosen.where(or_(*groups))
    columns = ["kind", "household_id", "village_code", "township_code", "campaign_id", "opens_on", "due_on"]
    session.execute(insert(FieldTask).from_select(columns, chosen))
    return int(session.scalar(select(func.count()).where(FieldTask.campaign_id == campaign.id)) or 0)


def _complete_from_visits(session: Session, campaign: Campaign) -> None:
    """Visits already made in the campaign's period count: a campaign opened on its tenth day is not
    behind by the visits of its first nine."""

    def in_period(visit: Any) -> Any:
        return and_(
            visit.household_id == FieldTask.household_id,
            visit.visited_on >= campaign.starts_on,
            visit.visited_on <= campaign.ends_on,
        )

    first, earliest = aliased(Visit), aliased(Visit)
    first_id = select(first.id).where(in_period(first)).order_by(first.visited_on, first.id).limit(1)
    first_day = select(func.min(earliest.visited_on)).where(in_period(earliest))
    session.execute(
        update(FieldTask)
        .where(FieldTask.campaign_id == campaign.id, first_id.exists())
        .values(visit_id=first_id.scalar_subquery(), done_on=first_day.scalar_subquery())
        .execution_options(synchronize_session=False)
    )


def _by_village(
    session: Session, actor: Actor, campaign: Campaign, *, outcomes: bool = False
) -> list[dict[str, Any]]:
    # counted by the task's own village code first (an index range), named after: grouping by the joined
    # names would sort every task row
    counts = (
        select(
            FieldTask.village_code,
            func.count(FieldTask.id).label("tasks"),
            func.sum(cast(FieldTask.done_on.is_not(None), Integer)).label("done"),
        )
        .where(
            FieldTask.campaign_id == campaign.id,
            FieldTask.village_code.in_(access.visible_village_codes(actor)),
        )
        .group_by(FieldTask.village_code)
        .subquery()
    )
    village, township = aliased(Region), aliased(Region)
    stmt = (
        select(township.code, township.name, village.code, village.name, counts.c.tasks, counts.c.done)
        .join(village, village.code == counts.c.village_code)
        .join(township, township.code == village.parent_code)
        .order_by(township.code, village.code)
    )
    rows = [
        {
            "township_code": t_code,
            "township_name": t_name,
            "village_code": v_code,
            "village_name": v_name,
            "tasks": int(tasks),
            "visited": int(done or 0),
            "cases_opened": 0,
            "risks_eliminated": 0,
        }
        for t_code, t_name, v_code, v_name, tasks, done in session.execute(stmt)
    ]
    if outcomes:
        opened, eliminated = _outcomes(session, campaign)
        for row in rows:
            row["cases_opened"] = opened.get(row["village_code"], 0)
            row["risks_eliminated"] = eliminated.get(row["village_code"], 0)
    return rows


def _outcomes(session: Session, campaign: Campaign) -> tuple[dict[str, int], dict[str, int]]:
    """By village: identification cases opened in the period, and risk eliminations confirmed in it, of
    the campaign's households."""
    start, end = _start(campaign.starts_on), _start(campaign.ends_on + timedelta(days=1))
    in_scope = select(FieldTask.household_id).where(FieldTask.campaign_id == campaign.id)
    opened = session.execute(
        select(Case.village_code, func.count())
        .where(
            Case.household_id.in_(in_scope),
            Case.kind == "identification",
            Case.opened_at >= start,
            Case.opened_at < end,
        )
        .group_by(Case.village_code)
    ).tuples()
    eliminated = session.execute(
        select(Case.village_code, func.count())
        .where(
            Case.household_id.in_(in_scope),
            and_(Case.kind == "elimination", Case.outcome == "confirmed"),
            Case.closed_at >= start,
            Case.closed_at < end,
        )
        .group_by(Case.village_code)
    ).tuples()
    return {v: int(n) for v, n in opened}, {v: int(n) for v, n in eliminated}


def _start(day: date) -> datetime:
    """The district's midnight at the start of the day."""
    return datetime.combine(day, time.min, tzinfo=district_zone())
