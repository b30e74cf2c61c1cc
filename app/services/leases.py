"""Leases on named jobs, kept in the database: one holder at a time across processes and machines.

A holder that dies simply stops renewing; once its lease has expired another may take the job.
Each call runs in its own short transaction so the lease is visible to others at once.
"""

from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError, OperationalError

from app.db import session_scope
from app.models import JobLease
from app.models.base import utcnow


def acquire(name: str, holder: str, ttl: timedelta) -> bool:
    now = utcnow()
    try:
        with session_scope() as session:
            session.add(JobLease(name=name, holder=holder, lease_until=now + ttl))
        return True
    except IntegrityError:
        pass
    except OperationalError:
        return False  # SQLite: another process holds the write lock (a run is writing its results)
    with session_scope() as session:
        taken = session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.lease_until < now)
            .values(holder=holder, lease_until=now + ttl)
        )
        return bool(taken.rowcount)  # type: ignore[attr-defined]


def renew(name: str, holder: str, ttl: timedelta) -> bool:
    with session_scope() as session:
        renewed = session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.holder == holder)
            .values(lease_until=utcnow() + ttl)
        )
        return bool(renewed.rowcount)  # type: ignore[attr-defined]


def release(name: str, holder: str) -> None:
    with session_scope() as session:
        session.execute(delete(JobLease).where(JobLease.name == name, JobLease.holder == holder))
