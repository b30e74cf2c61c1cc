"""Who holds an access token, remembered for a few seconds by this process.

A user's tokens are forgotten whenever this process commits a change to their account or one of their
logins (logout, role, deactivation, token rotation), so such a change applies here at once; other replicas
read it again within the setting's seconds. Someone else's login or change forgets nothing (a morning of
logins would otherwise empty the cache again and again). An entry never outlives its token."""

import threading
import time
from collections.abc import Callable, Iterable
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
# per user, the changes committed here: what was read before one is not stored after it
_generations: dict[int, int] = {}


def get(token: str, now_epoch: float) -> Actor | None:
    entry = _entries.get(token)
    if entry is None:
        return None
    kept_until, expires, actor = entry
    if seconds_clock() >= kept_until or now_epoch >= expires:
        _entries.pop(token, None)
        return None
    return actor


def generation(user_id: int) -> int:
    """Take it before reading the account: `put` stores nothing read before a change committed here."""
    return _generations.get(user_id, 0)


def put(token: str, actor: Actor, expires_epoch: float, seconds: int, read_at: int) -> None:
    if seconds <= 0 or actor.user_id is None:
        return
    with _lock:
        if read_at != _generations.get(actor.user_id, 0):  # a logout or a role change committed meanwhile
            return
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[token] = (seconds_clock() + seconds, expires_epoch, actor)


def forget(user_ids: Iterable[int]) -> None:
    """The users' tokens, as a change to their accounts or logins commits."""
    users = set(user_ids)
    with _lock:
        for user_id in users:
            _generations[user_id] = _generations.get(user_id, 0) + 1
        for token in [t for t, (_, _, actor) in _entries.items() if actor.user_id in users]:
            del _entries[token]


@event.listens_for(Session, "after_flush")
def _note_account_changes(session: Session, _flush: UOWTransaction) -> None:
    # a new login (a new RefreshFamily) changes none of the tokens already given out
    changed = {obj.id for obj in (*session.dirty, *session.deleted) if isinstance(obj, User)} | {
        obj.user_id for obj in (*session.dirty, *session.deleted) if isinstance(obj, RefreshFamily)
    }
    if changed:
        session.info.setdefault(_CHANGED, set()).update(changed)


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    # after the commit, not at the flush: a request reading in between would cache the old state again
    changed = session.info.pop(_CHANGED, None)
    if changed:
        forget(changed)


@event.listens_for(Session, "after_soft_rollback")
def _nothing_changed(session: Session, _previous: Any) -> None:
    session.info.pop(_CHANGED, None)
