"""Departments' signals (医保, 民政, 教育 …): rows matched to households by the ID look-up hash (as any
active member, not only the head); good rows open or attach cases; unmatched and unreadable rows are
reported by line and kept as unmatched signals for review — never dropped."""

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import add_months, local_today
from app.config import Settings
from app.errors import Forbidden, Invalid
from app.models import Household, Member, Region, Signal
from app.models.enums import HouseholdType, RegionLevel, Role
from app.pii import cipher_for, mask_id_number, mask_pii_text, normalise_id_number
from app.schemas.department import CSV_COLUMNS, DepartmentResult, DepartmentSignal, LineProblem
from app.schemas.policy import DepartmentPolicy, DepartmentSignalRule
from app.services.cases import cases
from app.services.platform import access, audit, paging
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor
from app.services.registry import households

SENDERS = frozenset({Role.department_user})
MAX_ROWS = 20_000
Rows = Sequence[tuple[int, DepartmentSignal | dict[str, Any], list[LineProblem]]]


def own_department(session: Session, actor: Actor) -> DepartmentPolicy:
    """The policy's entry for the actor's department: a department account sends and reads as its
    department only."""
    access.require_role(actor, SENDERS, "sending department signals")
    _, policy = policy_service.current_data(session)
    found = policy.department(actor.department or "")
    if found is None:
        raise Forbidden(
            "this account belongs to no department of the policy: an admin sets it", field="department"
        )
    return found


def receive_rows(
    session: Session, settings: Settings, actor: Actor, rows: Rows, origin: str
) -> DepartmentResult:
    """rows: (line, parsed signal or the raw row, its problems). Each good row is judged by its department's
    rule: an amount is summed with the same kind of the department's earlier rows for the household (or,
    for a person registered nowhere, for that person) whose events fall in the rule's months; below the
    threshold, or for a record-only kind (a 低保 roster), the row is kept on the household's record;
    otherwise it opens or joins a case at the rule's level. A person registered nowhere whose rows reach
    a threshold gets a provisional household in the row's village and a case for the village to verify
    (部门筛查 finds 一般农户)."""
    department = own_department(session, actor)
    cipher = cipher_for(settings)
    _, policy = policy_service.current_data(session)
    checked = [(line, row, problems or _rule_problems(line, row, department)) for line, row, problems in rows]
    good = [row for _, row, problems in checked if isinstance(row, DepartmentSignal) and not problems]
    members = _members(session, actor, cipher, good)
    hashes = {cipher.lookup_hash(row.id_number) for row in good}
    running = _amounts_so_far(session, department, {hid for hid, _, _ in members.values()}, hashes)
    signals: list[cases.SignalIn] = []
    unmatched, invalid, elsewhere = [], [], []
    unreadable = 0
    for line, row, problems in checked:
        if not isinstance(row, DepartmentSignal) or problems:
            unreadable += 1
            invalid.extend(problems)
            session.add(_kept(cipher, actor, row, origin, line, "; ".join(p.message for p in problems)))
            continue
        rule = department.rule(row.signal_type)
        assert rule is not None  # _rule_problems refused the row otherwise
        person = cipher.lookup_hash(row.id_number)
        found = members.get(person)
        if found is None:
            opens, _ = _meets(rule, running, ("person", person), row, HouseholdType.ordinary)
            household = _provisional(session, settings, actor, row) if opens else None
            if household is None:
                unmatched.append(
                    LineProblem(
                        line=line,
                        field="id_number",
                        message="no registered member has this ID number, and the row opens no case here",
                    )
                )
                session.add(_kept(cipher, actor, row, origin, line, "unmatched"))
                continue
            found = (household.id, household.village_code, household.household_type)
            members[person] = found
            # the person's earlier rows are the household's now
            same = running.setdefault((("person", person), rule.signal_type), [])
            running[(("household", household.id), rule.signal_type)] = same
        household_id, village_code, household_type = found
        opens, total = _meets(rule, running, ("household", household_id), row, household_type)
        reason = _reason(department, rule, row, total)
        if row.village_code != village_code:  # the ID number decides; the cadres check the difference
            reason["reported_village_code"] = row.village_code
            elsewhere.append(
                LineProblem(
                    line=line,
                    field="village_code",
                    message=f"the ID number's household is registered in village {village_code}",
                )
            )
        signals.append(
            cases.SignalIn(
                household_id,
                "department",
                rule.level,
                [reason],
                f"{origin} line {line}",
                opens_case=opens,
                department=department.name,
                amount=row.amount,
            )
        )
    outcomes: dict[str, int] = {"unmatched": len(unmatched) + unreadable}
    for recorded in cases.receive(session, settings, policy, actor, signals):
        outcomes[recorded.outcome] = outcomes.get(recorded.outcome, 0) + 1
    return DepartmentResult(
        received=len(rows),
        outcomes=outcomes,
        unmatched=unmatched,
        invalid=invalid,
        elsewhere=elsewhere,
        received_on=local_today(),
    )


def _rule_problems(
    line: int, row: DepartmentSignal | dict[str, Any], department: DepartmentPolicy
) -> list[LineProblem]:
    if not isinstance(row, DepartmentSignal):
        return []
    if row.department != department.name:
        message = f"this account sends {department.name}'s rows only"
        return [LineProblem(line=line, field="department", message=message)]
    rule = department.rule(row.signal_type)
    if rule is None:
        kinds = ", ".join(r.signal_type for r in department.signals)
        message = f"{department.name} sends: {kinds} (the policy's list)"
        return [LineProblem(line=line, field="signal_type", message=message)]
    if rule.threshold is not None and row.amount is None:
        return [LineProblem(line=line, field="amount", message=f"{row.signal_type} needs an amount")]
    return []


def _members(
    session: Session, actor: Actor, cipher: Any, rows: list[DepartmentSignal]
) -> dict[str, tuple[int, str, HouseholdType]]:
    """Active members by ID look-up hash, only in the sender's region (a department elsewhere cannot
    open cases here): (household id, its village, its type)."""
    hashes = {cipher.lookup_hash(row.id_number) for row in rows}
    found = session.execute(
        select(Member.id_number_hash, Member.household_id, Household.village_code, Household.household_type)
        .join(Household, Member.household_id == Household.id)
        .where(
            Member.id_number_hash.in_(hashes),
            Member.left_on.is_(None),
            Household.village_code.in_(access.visible_village_codes(actor)),
        )
    )
    return {str(h): (int(hid), str(village), HouseholdType(kind)) for h, hid, village, kind in found}


# (("household", id) or ("person", ID look-up hash), signal type) → [(the event's date, amount)]
Amounts = dict[tuple[tuple[str, Any], str], list[tuple[date, Decimal]]]


def _amounts_so_far(
    session: Session, department: DepartmentPolicy, household_ids: set[int], persons: set[str]
) -> Amounts:
    """The department's earlier amounts: per household, and, for people registered nowhere, per person
    (their rows kept as unmatched), each with the date of its event."""
    longest = max((r.window_months for r in department.signals), default=12)
    since = add_months(local_today(), -longest - 1)  # rows may come in late: read a month more
    rows = session.execute(
        select(Signal.household_id, Signal.id_number_hash, Signal.reasons, Signal.amount).where(
            (Signal.household_id.in_(household_ids)) | (Signal.id_number_hash.in_(persons)),
            Signal.source == "department",
            Signal.department == department.name,
            Signal.amount.is_not(None),
            Signal.received_at >= datetime.combine(since, datetime.min.time(), UTC),
        )
    )
    found: Amounts = {}
    for hid, person, reasons, amount in rows:
        reason = reasons[0] if reasons else {}
        kept = reason.get("row", {})
        kind = str(reason.get("signal_type") or kept.get("signal_type") or "")
        try:
            day = date.fromisoformat(str(reason.get("occurred_on") or kept.get("occurred_on")))
        except ValueError:
            continue
        key: tuple[str, Any] = ("household", int(hid)) if hid is not None else ("person", person)
        found.setdefault((key, kind), []).append((day, Decimal(amount)))
    return found


def _meets(
    rule: DepartmentSignalRule,
    running: Amounts,
    key: tuple[str, Any],
    row: DepartmentSignal,
    household_type: HouseholdType,
) -> tuple[bool, Decimal | None]:
    """Whether the row opens a case, and the total over the rule's months with it. Amounts are per
    event (a bill, a school year), not running totals: the same event sent again (same date and amount)
    is counted once. Events dated before the rule's months do not count, whenever they arrive."""
    if not rule.opens_case:
        return False, None
    if rule.threshold is None or row.amount is None:
        return True, None
    since = add_months(local_today(), -rule.window_months)
    earlier = running.setdefault((key, rule.signal_type), [])
    event = (row.occurred_on, row.amount)
    if event not in earlier:
        earlier.append(event)
    total = sum((amount for day, amount in earlier if day > since), Decimal(0))
    lifted = household_type == HouseholdType.lifted and rule.threshold_lifted is not None
    threshold = rule.threshold_lifted if lifted and rule.threshold_lifted is not None else rule.threshold
    return row.occurred_on > since and total >= threshold, total


def _reason(
    department: DepartmentPolicy, rule: DepartmentSignalRule, row: DepartmentSignal, total: Decimal | None
) -> dict[str, Any]:
    text = f"{department.name}部门预警：{rule.label}"
    if row.amount is not None:
        text += f"，金额 {row.amount} 元"
    if total is not None:
        text += f"（近 {rule.window_months} 个月累计 {total} 元）"
    return {
        "code": f"department_{row.signal_type}",
        "signal_type": row.signal_type,
        "risk_type": rule.risk_type,
        "department": department.name,
        "occurred_on": row.occurred_on.isoformat(),
        "text": text + f"（{row.occurred_on}）",
    }


def _provisional(
    session: Session, settings: Settings, actor: Actor, row: DepartmentSignal
) -> Household | None:
    """A provisional household in the row's village for a person registered nowhere whose rows open a
    case (below the threshold is no reason to register anyone); the one made for them before, if any;
    None if it cannot be placed."""
    cipher = cipher_for(settings)
    household_no = f"BM-{cipher.lookup_hash(row.id_number)[:20]}"
    earlier = session.scalars(select(Household).where(Household.household_no == household_no)).one_or_none()
    if earlier is not None:  # made for this person before (they have since left it): not a second one
        in_region = session.scalar(
            access.visible_village_codes(actor).where(Region.code == earlier.village_code)
        )
        return earlier if in_region is not None else None
    village = session.get(Region, row.village_code)
    in_region = session.scalar(access.visible_village_codes(actor).where(Region.code == row.village_code))
    if village is None or village.level != RegionLevel.village or in_region is None:
        return None
    household = households.register_provisional(
        session,
        settings,
        household_no=household_no,
        village_code=row.village_code,
        name=row.name,
        id_number=row.id_number,
    )
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "household.create_provisional",
                "household",
                household.id,
                household.id,
                {"source": "department", "department": row.department, "village_code": row.village_code},
            )
        ],
    )
    return household


def _kept(
    cipher: Any, actor: Actor, row: DepartmentSignal | dict[str, Any], origin: str, line: int, note: str
) -> Signal:
    """An unmatched or unreadable row as a signal for review: the ID number encrypted, never in clear;
    the name left out; only the known columns kept, each cut to 200 characters, with any ID or phone
    number found in them masked (a row whose columns shifted puts the ID number in another column)."""
    raw = row.model_dump(mode="json") if isinstance(row, DepartmentSignal) else dict(row)
    id_number = str(raw.pop("id_number", "") or "").strip()[:400]
    kept = {k: mask_pii_text(str(raw[k]))[:200] for k in CSV_COLUMNS if k in raw and k != "name"}
    return Signal(
        household_id=None,
        source="department",
        level="high",
        sent_by=actor.username,
        department=actor.department,
        id_number_hash=cipher.lookup_hash(row.id_number) if isinstance(row, DepartmentSignal) else None,
        amount=row.amount if isinstance(row, DepartmentSignal) else None,
        reasons=[{"code": "department_unmatched", "row": kept}],
        outcome="unmatched",
        origin=f"{origin} line {line}"[:80],
        id_number_encrypted=cipher.encrypt(id_number) if id_number else None,
        note=(f"{mask_id_number(normalise_id_number(id_number))}: " if len(id_number) == 18 else "")
        + note[:400],
    )


def parse_json(
    items: list[dict[str, Any]],
) -> list[tuple[int, DepartmentSignal | dict[str, Any], list[LineProblem]]]:
    """Each item validated on its own (its number is its "line"): a bad one is kept for review with
    its problems, and does not refuse the others."""
    return [_validated(i + 1, item, item) for i, item in enumerate(items)]


def _validated(
    line: int, data: dict[str, Any], raw: dict[str, Any]
) -> tuple[int, DepartmentSignal | dict[str, Any], list[LineProblem]]:
    try:
        return line, DepartmentSignal.model_validate(data), []
    except ValidationError as exc:
        problems = [
            LineProblem(
                line=line,
                field=".".join(str(p) for p in e["loc"]) or None,
                message=e["msg"].removeprefix("Value error, "),
            )
            for e in exc.errors()
        ]
        return line, raw, problems


def parse_csv(text: str) -> list[tuple[int, DepartmentSignal | dict[str, Any], list[LineProblem]]]:
    """Rows with their problems, by line (the header is line 1). A wrong header refuses the file."""
    # newline="": the reader itself splits lines, so \r\n, \n and Excel for Mac's bare \r all end a row
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != CSV_COLUMNS:
        raise Invalid(f"the CSV header must be: {','.join(CSV_COLUMNS)}", field="header")
    rows: list[tuple[int, DepartmentSignal | dict[str, Any], list[LineProblem]]] = []
    for line, values in _lines(reader):
        if len(rows) >= MAX_ROWS:
            raise Invalid(f"at most {MAX_ROWS} rows per file", field="file")
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(CSV_COLUMNS):
            # the values can't be trusted to their columns: the whole line is kept, encrypted
            problem = LineProblem(
                line=line, field=None, message=f"{len(values)} columns, not {len(CSV_COLUMNS)}"
            )
            rows.append((line, {"id_number": ",".join(values)}, [problem]))
            continue
        raw = {k: v.strip() for k, v in zip(CSV_COLUMNS, values, strict=True)}
        data = {k: (None if k == "amount" and v == "" else v) for k, v in raw.items()}
        rows.append(_validated(line, data, raw))
    return rows


def _lines(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(line, values) after the header; a file the CSV reader cannot read (an unclosed quote running
    on, a field past the reader's limit) is refused naming the line it stopped at."""
    while True:
        starts = reader.line_num + 1  # a quoted value may run over several lines: the row's first
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise Invalid(f"line {starts}: {exc}", field="file") from None
        yield starts, values


REVIEWERS = frozenset({Role.department_user, Role.district_officer})


def unmatched(session: Session, actor: Actor, page: Any) -> tuple[list[Signal], int]:
    """Department rows that matched no registered member, newest first, for review (ID numbers masked)."""
    access.require_role(actor, REVIEWERS, "reviewing unmatched department signals")
    stmt = select(Signal).where(Signal.source == "department", Signal.outcome == "unmatched")
    if actor.role == Role.department_user:  # a department reviews its own rows; the district all of them
        own_department(session, actor)  # an account with no department reviews nothing
        stmt = stmt.where(Signal.department == actor.department)
    return paging.page_of(session, stmt, page, Signal.id.desc())
