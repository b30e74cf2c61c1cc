"""Departments' signals (医保, 民政, 教育 …): rows matched to households by the ID look-up hash (as any
active member, not only the head); good rows open or attach cases; unmatched and unreadable rows are
reported by line and kept as unmatched signals for review — never dropped."""

import csv
import io
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import local_today
from app.config import Settings
from app.errors import Invalid
from app.models import Household, Member, Signal
from app.models.enums import Role
from app.pii import cipher_for, mask_id_number, normalise_id_number
from app.schemas.department import CSV_COLUMNS, DepartmentResult, DepartmentSignal, LineProblem
from app.services import access, cases, paging
from app.services import policy as policy_service
from app.services.access import Actor

SENDERS = frozenset({Role.department_user})
RISK_TYPE_OF = {
    "medical_self_pay": "因病",
    "dropout": "因学",
    "education_cost": "因学",
    "disability": "因残",
    "disaster": "因自然灾害",
    "accident": "因意外事故",
    "unemployment": "因务工就业不稳",
    "industry_failure": "因产业项目失败",
}
MAX_ROWS = 20_000


def receive_rows(
    session: Session,
    settings: Settings,
    actor: Actor,
    rows: Sequence[tuple[int, DepartmentSignal | dict[str, Any], list[LineProblem]]],
    origin: str,
) -> DepartmentResult:
    """rows: (line, parsed signal or the raw row, its problems)."""
    access.require_role(actor, SENDERS, "sending department signals")
    cipher = cipher_for(settings)
    _, policy = policy_service.current_data(session)
    good = [(line, row) for line, row, problems in rows if isinstance(row, DepartmentSignal) and not problems]
    hashes = {cipher.lookup_hash(row.id_number) for _, row in good}
    # only households in the sender's region: a department elsewhere cannot open cases here
    found = session.execute(
        select(Member.id_number_hash, Member.household_id, Household.village_code)
        .join(Household, Member.household_id == Household.id)
        .where(
            Member.id_number_hash.in_(hashes),
            Member.left_on.is_(None),
            Household.village_code.in_(access.visible_village_codes(actor)),
        )
    )
    members: dict[str, tuple[int, str]] = {str(row[0]): (int(row[1]), str(row[2])) for row in found}
    signals, unmatched, invalid, elsewhere = [], [], [], []
    unreadable = 0
    for line, row, problems in rows:
        if not isinstance(row, DepartmentSignal) or problems:
            unreadable += 1
            invalid.extend(problems)
            session.add(_kept(cipher, actor, row, origin, line, "; ".join(p.message for p in problems)))
            continue
        household_id, village_code = members.get(cipher.lookup_hash(row.id_number), (None, ""))
        if household_id is None:
            unmatched.append(
                LineProblem(line=line, field="id_number", message="no registered member has this ID number")
            )
            session.add(_kept(cipher, actor, row, origin, line, "unmatched"))
            continue
        reason: dict[str, Any] = {
            "code": f"department_{row.signal_type}",
            "risk_type": RISK_TYPE_OF.get(row.signal_type, "其他"),
            "department": row.department,
            "text": f"{row.department}部门预警：{row.signal_type}"
            + (f"，金额 {row.amount} 元" if row.amount is not None else "")
            + f"（{row.occurred_on}）",
        }
        if row.village_code != village_code:  # the ID number decides; the cadres check the difference
            reason["reported_village_code"] = row.village_code
            elsewhere.append(
                LineProblem(
                    line=line,
                    field="village_code",
                    message=f"the ID number's household is registered in village {village_code}",
                )
            )
        signals.append(cases.SignalIn(household_id, "department", "high", [reason], f"{origin} line {line}"))
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


def _kept(
    cipher: Any, actor: Actor, row: DepartmentSignal | dict[str, Any], origin: str, line: int, note: str
) -> Signal:
    """An unmatched or unreadable row as a signal for review: the ID number encrypted, never in clear;
    the name left out; only the known columns kept, each cut to 200 characters."""
    raw = row.model_dump(mode="json") if isinstance(row, DepartmentSignal) else dict(row)
    id_number = str(raw.pop("id_number", "") or "").strip()[:400]
    kept = {k: str(raw[k])[:200] for k in CSV_COLUMNS if k in raw and k != "name"}
    return Signal(
        household_id=None,
        source="department",
        level="high",
        sent_by=actor.username,
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
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
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
        stmt = stmt.where(Signal.sent_by == actor.username)
    return paging.page_of(session, stmt, page, Signal.id.desc())
