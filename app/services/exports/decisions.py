"""The county's monitoring decisions of a period for the national system, in the shipped import mapping's
layout (one row per member, the household's columns repeated): households identified in the period and
households whose risk was eliminated in it, with category, risk types and dates. The office uploads or
types it into the national system without retyping; importing it elsewhere gives the same records."""

from datetime import date, timedelta
from typing import IO, Any

import xlsxwriter
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from app.config import Settings
from app.db import Sessions
from app.errors import Invalid
from app.models import Household, Region
from app.models.enums import MonitoringCategory, Role
from app.pii import cipher_for
from app.services.imports import mapping
from app.services.platform import access, audit
from app.services.platform.access import Actor
from app.services.registry.member_rules import MEMBER_PLAIN_FIELDS

EXPORTERS = frozenset({Role.district_officer})  # names and ID numbers: not for admins, who read no household
MAX_DAYS = 366
# the member's values as the shipped mapping writes them (joined_on is not the national system's)
BOOLEANS = tuple(f for f in MEMBER_PLAIN_FIELDS if f in mapping.BOOLEAN_FIELDS)
MEMBER_VALUES = tuple(f for f in MEMBER_PLAIN_FIELDS if f not in mapping.BOOLEAN_FIELDS and f != "joined_on")


def _in(column: Any, start: date, end: date) -> Any:
    return and_(column >= start, column <= end)


def write(
    session: Session,
    sessions: Sessions,
    settings: Settings,
    actor: Actor,
    start: date,
    end: date,
    out: IO[bytes],
) -> int:
    """Write the period's decisions to `out`; the households written."""
    access.require_role(actor, EXPORTERS, "exporting the county's decisions")
    if end < start or end - start > timedelta(days=MAX_DAYS):
        raise Invalid(f"the period runs forwards, at most {MAX_DAYS} days", field="to")
    columns = mapping.load()
    headers = list(columns.columns.values())
    at = {name: headers.index(header) for name, header in columns.columns.items()}
    regions = {
        code: (name, parent)
        for code, name, parent in session.execute(select(Region.code, Region.name, Region.parent_code))
    }
    households = session.scalars(
        access.visible_households(select(Household), actor)
        .where(
            Household.monitoring_category != MonitoringCategory.none,
            or_(_in(Household.monitored_since, start, end), _in(Household.risk_eliminated_on, start, end)),
        )
        .order_by(Household.household_no)
        .options(selectinload(Household.members))
    ).all()
    cipher = cipher_for(settings)
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": False})
    sheet = book.add_worksheet("监测对象")
    sheet.write_row(0, 0, headers, book.add_format({"bold": True}))
    line = 0
    for household in households:
        village, township_code = regions.get(household.village_code, ("", None))
        shared: dict[str, str] = {
            "household_no": household.household_no,
            "village_code": household.village_code,
            "township_name": regions.get(township_code or "", ("", None))[0],
            "village_name": village,
            "household_type": household.household_type.value,
            "monitoring_category": household.monitoring_category.value,
            "risk_types": "、".join(household.risk_types or []),
            "identified_on": household.monitored_since.isoformat() if household.monitored_since else "",
            "risk_eliminated": "是" if household.risk_eliminated_on else "否",
            "risk_eliminated_on": household.risk_eliminated_on.isoformat()
            if household.risk_eliminated_on
            else "",
        }
        for member in sorted(household.members, key=lambda m: (m.relation != "户主", m.id)):
            if member.left_on is not None:
                continue
            values = shared | {"name": member.name, "id_number": cipher.decrypt(member.id_number_encrypted)}
            for name in MEMBER_VALUES:
                value = getattr(member, name)
                values[name] = "" if value is None else str(value)
            for name in BOOLEANS:
                value = getattr(member, name)
                values[name] = "" if value is None else "是" if value else "否"
            line += 1
            for name, value in values.items():
                if name in at and value != "":
                    sheet.write_string(line, at[name], value)
    book.close()
    session.commit()  # the read ends first: a request holds one connection at a time
    audit.record_apart(
        sessions,
        settings,
        actor,
        [
            audit.Change(
                "export.decisions",
                "export",
                None,
                None,
                {"from": start.isoformat(), "to": end.isoformat(), "households": len(households)},
            )
        ],
    )
    return len(households)
