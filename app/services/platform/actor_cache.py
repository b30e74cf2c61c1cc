"""Who holds an access token, remembered for a few seconds by this process.

Forgotten whenever this process commits a change to an account or a login (logout, role, deactivation,
token rotation), so such a change applies here at once; other replicas read it again within the setting's
seconds. An entry never outlives its token."""

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from app.models import RefreshFamily, User
from app.services.platform.access import Actor

MAX_ENTRIES = 10_000  # tokens in use at once in a district are far fewer; a flood only empties it
_CHANGED = "actor_cache.changed"
seconds_clock: Callable[[], float] = time.monotonic  # not the app's clock: tests freeze that one

_lock = threading.Lock()
_entries: dict[str, tuple[float, float, Actor]] = {}  # token: (kept until, monotonic; token expiry, epoch)
_generation = 0  # counts the clearings: what was read before one is not stored after it


def get(token: str, now_epoch: float) -> Actor | None:
    entry = _entries.get(token)
    if entry is None:
        return None
    kept_until, expires, actor = entry
    if seconds_clock() >= kept_until or now_epoch >= expires:
        _entries.pop(token, None)
        return None
    return actor


def generation() -> int:
    """Take it before reading the account: `put` stores nothing read before a change committed here."""
    return _generation


def put(token: str, actor: Actor, expires_epoch: float, seconds: int, read_at: int) -> None:
    if seconds <= 0:
        return
    with _lock:
        if read_at != _generation:  # a logout or a role change committed while it was being read
            return
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[token] = (seconds_clock() + seconds, expires_epoch, actor)


def clear() -> None:
    global _generation
    with _lock:
        _generation += 1
        _entries.clear()


@event.listens_for(Session, "after_flush")
def _note_account_changes(session: Session, _flush: UOWTransaction) -> None:
    touched = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, User | RefreshFamily) for obj in touched):
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    # after the commit, not at the flush: a request reading in between would cache the old state again
    if session.info.pop(_CHANGED, False):
        clear()


@event.listens_for(Session, "after_soft_rollback")
def _nothing_changed(session: Session, _previous: Any) -> None:
    session.info.pop(_CHANGED, None)
