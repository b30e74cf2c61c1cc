"""What a risk list's entry is made of: its columns, the household's row they are read from (head, region,
the run's result, the open case), the measures in place, and the change since last week's list."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from app.clock import local_date
from app.models import Assistance, Case, Helper, HelperAssignment, Household, Member, Region, RiskResult
from app.models.enums import MonitoringStatus, Relation
from app.pii import PiiCipher, mask_id_number
from app.services.cases.assistance import ANSWERS

LEVEL_RANK = {"high": 2, "medium": 1}


COLUMNS = (
    "list_id",
    "household_id",
    "household_no",
    "township_code",
    "township_name",
    "village_code",
    "village_name",
    "address",
    "head_name",
    "head_id_encrypted",
    "head_id_masked",
    "household_type",
    "monitoring_category",
    "monitoring_status",
    "level",
    "score",
    "reasons",
    "reason_codes",
    "risk_types",
    "case_id",
    "case_step",
    "case_days_open",
    "overdue",
    "measures",
    "risk_types_without_measure",
    "risk_types_confirmed",
    "change",
    "previous_level",
    "resolved_reason",
    "helper_id",
    "helper_name",
)


@dataclass(frozen=True)
class Previous:
    level: str | None
    household_no: str


def household_rows(run_id: int | None, household_ids: Any) -> Any:
    """The columns an entry is made of, for `household_ids` (a subquery), ordered by household."""
    village, township = aliased(Region), aliased(Region)
    head = aliased(Member)
    result = aliased(RiskResult)
    case = aliased(Case)
    pairing = aliased(HelperAssignment)
    helper = aliased(Helper)
    return (
        select(
            Household.id,
            Household.household_no,
            township.code,
            township.name,
            village.code,
            village.name,
            Household.address,
            head.name,
            head.id_number_encrypted,
            Household.household_type,
            Household.monitoring_category,
            Household.monitoring_status,
            Household.risk_types,
            result.level,
            result.score,
            result.reasons,
            result.reason_codes,
            case.id,
            case.step,
            case.opened_at,
            case.due_at,
            helper.id,
            helper.name,
        )
        .join(village, village.code == Household.village_code)
        .join(township, township.code == village.parent_code)
        .outerjoin(
            head,
            and_(head.household_id == Household.id, head.relation == Relation.head, head.left_on.is_(None)),
        )
        .outerjoin(result, and_(result.household_id == Household.id, result.run_id == (run_id or -1)))
        .outerjoin(case, and_(case.household_id == Household.id, case.status == "open"))
        .outerjoin(pairing, and_(pairing.household_id == Household.id, pairing.ended_on.is_(None)))
        .outerjoin(helper, helper.id == pairing.helper_id)
        .where(Household.id.in_(household_ids))
        .order_by(Household.id)
    )


def entry_row(
    list_id: int,
    row: Any,
    measures: list[tuple[str, str, str]],
    moment: tuple[date, datetime, PiiCipher],
    change: tuple[str, str | None],
    resolved_reason: str | None = None,
) -> tuple[Any, ...]:
    """An entry's values in COLUMNS' order; `moment` is the list's day, time and the cipher that masks
    the head's ID number."""
    today, now, cipher = moment
    (hid, no, t_code, t_name, v_code, v_name, address, head_name, head_id, htype, category, status) = row[:12]
    confirmed, level, score, reasons, reason_codes = row[12:17]
    case_id, step, opened_at, due_at, helper_id, helper_name = row[17:23]
    reasons = reasons or []
    confirmed = list(confirmed or []) if status == MonitoringStatus.monitored else []
    risk_types = sorted({*confirmed, *(r.get("risk_type") for r in reasons if r.get("risk_type"))})
    answered = {category for category, _, _ in measures}
    unmet = sum(1 for t in confirmed if not (ANSWERS.get(t, frozenset()) & answered))
    return (
        list_id,
        hid,
        no,
        t_code,
        t_name,
        v_code,
        v_name,
        address,
        head_name,
        head_id,
        masked_id(cipher, head_id),
        _value(htype),
        _value(category),
        _value(status),
        level,
        score,
        "；".join(str(r.get("text", r.get("code", ""))) for r in reasons),
        reason_codes or "",
        "|" + "|".join(risk_types) + "|" if risk_types else "",
        case_id,
        step,
        (today - local_date(opened_at)).days if opened_at else None,
        bool(due_at is not None and due_at < now),
        "；".join(f"{category}：{item}（{_MEASURE_STATUS.get(s, s)}）" for category, item, s in measures),
        unmet,
        len(confirmed),
        change[0],
        change[1],
        resolved_reason,
        helper_id,
        helper_name,
    )


_MEASURE_STATUS = {"planned": "计划", "in_progress": "实施中", "done": "已完成"}


def masked_id(cipher: PiiCipher, token: bytes | None) -> str | None:
    """The ID number masked; none for a number under a key this service no longer holds (rewrap was
    skipped): the list is still made, and shows no number for that head."""
    if not token:
        return None
    try:
        return mask_id_number(cipher.decrypt(token))
    except InvalidToken:
        return None


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def change_from(previous: Previous | None, level: str | None) -> tuple[str, str | None]:
    if previous is None:
        return "new", None
    now, then = LEVEL_RANK.get(level or "", 0), LEVEL_RANK.get(previous.level or "", 0)
    kind = "level_up" if now > then else "level_down" if now < then else "continuing"
    return kind, previous.level


def measures_in_place(session: Session, household_ids: Any) -> dict[int, list[tuple[str, str, str]]]:
    """The measures in place (not stopped) of the listed households."""
    found: dict[int, list[tuple[str, str, str]]] = {}
    rows = session.execute(
        select(Assistance.household_id, Assistance.category, Assistance.item, Assistance.status)
        .where(Assistance.household_id.in_(household_ids), Assistance.status != "stopped")
        .order_by(Assistance.household_id, Assistance.id)
    )
    for hid, category, item, status in rows:
        found.setdefault(hid, []).append((category, item, status))
    return found
