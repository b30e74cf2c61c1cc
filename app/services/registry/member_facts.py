"""Members' dated facts (member_fact): health, labour capacity, disability grade, schooling, school level,
dropout reason, 低保 and 特困 each hold from a date to a date. The member's columns show the facts that
hold today; the member services change both together, here, in the caller's transaction."""

from datetime import date
from enum import Enum
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.clock import local_today
from app.errors import Invalid
from app.models import Member, MemberFact
from app.models.base import utcnow
from app.models.enums import MemberFactKind

DATED_FIELDS = tuple(kind.value for kind in MemberFactKind)


def as_text(value: Any) -> str:
    """A member column's value as a fact's text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def from_text(kind: MemberFactKind, text: str) -> bool | int | str:
    """A fact's text as the member column's value (enums as their strings)."""
    if kind in (MemberFactKind.dibao, MemberFactKind.tekun):
        return text == "true"
    if kind == MemberFactKind.disability_grade:
        return int(text)
    return text


def effective_day(effective_on: date | None, birth_date: date, field: str = "effective_on") -> date:
    """The day given facts start to hold: the caller's date, else today; never before the birth date."""
    day = effective_on or local_today()
    if day < birth_date:
        raise Invalid(f"{field} must not be before the member's birth date ({birth_date:%Y})", field=field)
    return day


def open_facts(session: Session, member: Member, day: date, recorded_by: str) -> None:
    """A new member's recorded facts, holding from `day` (the member is flushed: it has its id)."""
    session.add_all(
        MemberFact(
            member_id=member.id,
            fact=kind,
            value=as_text(value),
            valid_from=day,
            recorded_by=recorded_by,
        )
        for kind in MemberFactKind
        if (value := getattr(member, kind.value)) is not None
    )


def changed_fields(
    session: Session, member: Member, before: dict[str, Any], redated: set[str], day: date
) -> list[str]:
    """After the member's columns changed from `before`: the dated fields whose facts change on `day`,
    those whose value changed and those in `redated` (given again, dated before the recorded start)."""
    changed = [name for name in DATED_FIELDS if getattr(member, name) != before[name]]
    candidates = [name for name in DATED_FIELDS if name in redated and name not in changed]
    if not candidates:
        return changed
    with session.no_autoflush:  # the member's pending changes are flushed by the caller, versioned
        open_since = dict(
            session.execute(
                select(MemberFact.fact, MemberFact.valid_from).where(
                    MemberFact.member_id == member.id,
                    MemberFact.fact.in_([MemberFactKind(name) for name in candidates]),
                    MemberFact.valid_to.is_(None),
                    MemberFact.superseded_at.is_(None),
                )
            )
            .tuples()
            .all()
        )
    return changed + [
        name
        for name in candidates
        if getattr(member, name) is not None and open_since.get(MemberFactKind(name), day) > day
    ]


def record_changes(session: Session, member: Member, fields: list[str], day: date, recorded_by: str) -> None:
    """The facts of `fields` hold the member's values from `day`: the rows recorded for that day on
    are superseded, what held before it is written again ending on it, and the new facts open."""
    if not fields:
        return
    now = utcnow()
    kinds = [MemberFactKind(name) for name in fields]
    ended = []
    for fact in session.scalars(
        select(MemberFact).where(
            MemberFact.member_id == member.id,
            MemberFact.fact.in_(kinds),
            MemberFact.superseded_at.is_(None),
            or_(MemberFact.valid_to.is_(None), MemberFact.valid_to > day),
        )
    ):
        fact.superseded_at = now
        if fact.valid_from < day:
            ended.append(
                MemberFact(
                    member_id=member.id,
                    fact=fact.fact,
                    value=fact.value,
                    valid_from=fact.valid_from,
                    valid_to=day,
                    recorded_at=now,
                    recorded_by=recorded_by,
                )
            )
    session.flush()  # superseded before their successors are written: one open fact per kind
    session.add_all(ended)
    session.add_all(
        MemberFact(
            member_id=member.id,
            fact=kind,
            value=as_text(value),
            valid_from=day,
            recorded_at=now,
            recorded_by=recorded_by,
        )
        for kind in kinds
        if (value := getattr(member, kind.value)) is not None
    )


def history(session: Session, member_id: int) -> list[MemberFact]:
    """A member's facts as recorded, by kind and date; superseded rows too, after the others."""
    return list(
        session.scalars(
            select(MemberFact)
            .where(MemberFact.member_id == member_id)
            .order_by(
                MemberFact.superseded_at.is_not(None), MemberFact.fact, MemberFact.valid_from, MemberFact.id
            )
        )
    )
