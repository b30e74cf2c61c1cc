"""Leases on named jobs, kept in the database: one holder at a time across processes and machines.

A holder that dies simply stops renewing; once its lease has expired another may take the job.
Each call runs in its own short transaction so the lease is visible to others at once.
"""

import os
import socket
import uuid
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from app.db import Sessions, transaction
from app.models import JobLease
from app.models.base import utcnow


def acquire(sessions: Sessions, name: str, holder: str, ttl: timedelta) -> bool:
    now = utcnow()
    try:
        with transaction(sessions) as session:
            session.add(JobLease(name=name, holder=holder, lease_until=now + ttl))
        return True
    except IntegrityError:
        pass
    except OperationalError:
        return False  # SQLite: another process holds the write lock (a run is writing its results)
    with transaction(sessions) as session:
        current = session.scalar(select(JobLease.holder).where(JobLease.name == name))
        expired_or_dead = JobLease.lease_until < now
        if current is not None and _holder_is_dead(current):
            # killed on this machine: no need to wait for the lease to run out
            expired_or_dead = expired_or_dead | (JobLease.holder == current)
        taken = session.execute(
            update(JobLease)
            .where(JobLease.name == name, expired_or_dead)
            .values(holder=holder, lease_until=now + ttl)
        )
        return bool(taken.rowcount)  # type: ignore[attr-defined]


def holder_id() -> str:
    """host:pid:random — lets a process on the same host see that a holder has died."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _holder_is_dead(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def renew(sessions: Sessions, name: str, holder: str, ttl: timedelta) -> bool:
    with transaction(sessions) as session:
        renewed = session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.holder == holder)
            .values(lease_until=utcnow() + ttl)
        )
        return bool(renewed.rowcount)  # type: ignore[attr-defined]


def release(sessions: Sessions, name: str, holder: str) -> None:
    with transaction(sessions) as session:
        session.execute(delete(JobLease).where(JobLease.name == name, JobLease.holder == holder))
