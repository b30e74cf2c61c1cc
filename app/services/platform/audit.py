"""The audit chain: every write appends an HMAC-chained row; verify() detects tampering."""

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import bulk
from app.config import Settings
from app.context import request_id_var
from app.db import Sessions, transaction
from app.models import AuditEntry, AuditHead, Base
from app.models.base import utcnow
from app.services.platform.access import Actor

logger = logging.getLogger(__name__)
GENESIS = "0" * 64
AUDIT_TABLE = Base.metadata.tables["audit_entry"]
_PLAIN = (str, int, float, bool, type(None))
_AS_JSON: dict[type, Callable[[Any], Any]] = {
    Decimal: str,
    date: date.isoformat,
    datetime: datetime.isoformat,
}
HEAD_ID = 1


@dataclass(frozen=True, slots=True)
class Change:
    action: str
    entity: str
    entity_id: str | int | None
    household_id: int | None
    changes: dict[str, Any]


def jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if (convert := _AS_JSON.get(type(value))) is not None:
        return convert(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        # a batch's changes are flat dicts of plain values, amounts and dates: no call back in for those
        return {
            str(k): v if type(v) in _PLAIN else _AS_JSON.get(type(v), jsonable)(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _key(settings: Settings) -> bytes:
    return hashlib.sha256(b"shouwang-audit:" + settings.secret_key.get_secret_value().encode()).digest()


# the canonical JSON a row's mac is taken over (and the form its changes are stored in)
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _entry_mac(key: bytes, row: dict[str, Any]) -> str:
    """The mac of a stored row (verify): its columns, in order, as canonical JSON."""
    return _mac(key, _CANONICAL.encode([*_head_values(row), row["changes"], row["prev_mac"]]))


def _head_values(row: dict[str, Any]) -> list[Any]:
    return [
        row["seq"],
        row["occurred_at"].isoformat(),
        row["actor_id"],
        row["actor"],
        row["request_id"],
        row["action"],
        row["entity"],
        row["entity_id"],
        row["household_id"],
    ]


def _mac(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def _head_mac(key: bytes, length: int, last_mac: str) -> str:
    return hmac.new(key, f"head:{length}:{last_mac}".encode(), hashlib.sha256).hexdigest()


def lock_chain(session: Session) -> AuditHead:
    """Lock the chain head until commit: every writer of the audit log queues behind it.

    Bulk jobs that check-then-insert (demo data, seeding) take it first to run one at a time.
    """
    head = session.scalars(select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()).one_or_none()
    if head is None:
        head = AuditHead(id=HEAD_ID, length=0, last_mac=GENESIS, head_mac="")
        session.add(head)
        session.flush()
    return head


def record_apart(sessions: Sessions, settings: Settings, actor: Actor, changes: list[Change]) -> None:
    """`record` in a transaction of its own, for work that read in a read-only one (an export): the
    chain's lock is held for the entries only, not while a file was being built."""
    with transaction(sessions) as session:
        record(session, settings, actor, changes)


def record(session: Session, settings: Settings, actor: Actor, changes: list[Change]) -> None:
    """Append one chained audit row per change, inside the caller's transaction.

    The head row is locked until commit, so concurrent writers append one after the other.
    """
    if not changes:
        return
    key = _key(settings)
    head = lock_chain(session)
    now = utcnow()
    request_id = request_id_var.get()
    rows: list[tuple[Any, ...]] = []
    seq, prev = head.length, head.last_mac
    # The mac's payload is the text `_entry_mac` makes from the stored row: canonical JSON of the row's
    # columns. It is put together here from parts, each encoded once: what every row of the call shares,
    # and the changes, which are also what the row stores (a 1,000-report batch encoded them twice).
    shared = _CANONICAL.encode([now.isoformat(), actor.user_id, actor.username, request_id])[1:-1]
    for change in changes:
        seq += 1
        entity_id = None if change.entity_id is None else str(change.entity_id)
        own = _CANONICAL.encode([change.action, change.entity, entity_id, change.household_id])[1:-1]
        changes_json = _CANONICAL.encode(jsonable(change.changes))
        mac = _mac(key, f'[{seq},{shared},{own},{changes_json},"{prev}"]')
        rows.append(
            (
                seq,
                now,
                actor.user_id,
                actor.username,
                request_id,
                change.action,
                change.entity,
                entity_id,
                change.household_id,
                changes_json,
                prev,
                mac,
            )
        )
        prev = mac
    bulk.insert_tuples(session, AUDIT_TABLE, _COLUMNS + ("mac",), rows, encoded={"changes"})
    head.length, head.last_mac = seq, prev
    head.head_mac = _head_mac(key, seq, prev)
    session.flush()
    # what changed, never the values: they hold names and ID numbers (the audit rows keep those)
    logger.info(
        "audited",
        extra={
            "actions": sorted({c.action for c in changes}),
            "entity": changes[0].entity,
            "count": len(changes),
            "actor_id": actor.user_id,
        },
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields whose values differ, as {field: {"before": b, "after": a}}."""
    return {
        name: {"before": jsonable(before.get(name)), "after": jsonable(after.get(name))}
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


@dataclass
class VerifyResult:
    ok: bool
    length: int
    problems: list[str]
    last_mac: str = GENESIS


@dataclass(frozen=True)
class Checkpoint:
    """A chain position recorded outside the database by an earlier verify or a backup: (length, mac of
    that row)."""

    length: int
    mac: str

    def to_json(self) -> str:
        return json.dumps({"length": self.length, "mac": self.mac})

    @classmethod
    def from_json(cls, text: str) -> "Checkpoint":
        """Raises ValueError, KeyError or TypeError for a file that is not a checkpoint."""
        data = json.loads(text)
        return cls(length=int(data["length"]), mac=str(data["mac"]))


def verify(
    session: Session, settings: Settings, *, checkpoint: Checkpoint | None = None, batch: int = 5000
) -> VerifyResult:
    """Walk the chain from the first row; report every broken link, bad mac and head mismatch.

    With a checkpoint, also report a chain that no longer reaches it: wiping the log, or rolling it
    back together with its head, is then detected too.
    """
    key = _key(settings)
    problems: list[str] = []
    expected_seq, prev = 1, GENESIS
    last_seq = 0
    while True:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last_seq).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not entries:
            break
        for entry in entries:
            row = {c: getattr(entry, c) for c in _COLUMNS}
            if entry.seq != expected_seq:
                problems.append(
                    f"row {entry.seq}: expected sequence number {expected_seq} (rows missing or inserted)"
                )
            if entry.prev_mac != prev:
                problems.append(f"row {entry.seq}: does not link to the row before it")
            if not hmac.compare_digest(_entry_mac(key, row), entry.mac):
                problems.append(f"row {entry.seq}: contents do not match its mac (edited)")
            if checkpoint is not None and entry.seq == checkpoint.length and entry.mac != checkpoint.mac:
                problems.append(f"row {entry.seq}: differs from the checkpoint taken earlier (rewritten)")
            expected_seq, prev, last_seq = entry.seq + 1, entry.mac, entry.seq
    count = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    head = session.get(AuditHead, HEAD_ID)
    if head is None:
        if count:
            problems.append("the chain head is missing")
    else:
        if head.length or head.head_mac:
            if not hmac.compare_digest(_head_mac(key, head.length, head.last_mac), head.head_mac):
                problems.append("the chain head does not match its mac (edited)")
        if head.length != last_seq or head.last_mac != prev:
            problems.append(
                f"the chain head names {head.length} rows but the table ends at row {last_seq} "
                "(trailing rows deleted or appended)"
            )
    if checkpoint is not None and last_seq < checkpoint.length:
        problems.append(
            f"the chain ends at row {last_seq} but an earlier verify saw {checkpoint.length} rows "
            "(rows deleted or rolled back)"
        )
    return VerifyResult(ok=not problems, length=count, problems=problems, last_mac=prev)


_COLUMNS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor",
    "request_id",
    "action",
    "entity",
    "entity_id",
    "household_id",
    "changes",
    "prev_mac",
)
