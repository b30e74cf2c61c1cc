"""One delivery core for the transactional outboxes (region webhooks, relief platform callbacks).

A pass claims due messages in a short transaction (a lease: other workers skip them, and a crashed
worker's claim lapses), commits, posts each one outside any transaction, and records each outcome in a
new short transaction: a receiver that never answers holds no database lock. Failures back off
exponentially; a message is parked as dead after the set attempts, or at once when it can never be sent
(its webhook removed, its URL invalid), and only a dead one is replayed. Whatever goes wrong with one
message stays with that message.

A kind of message supplies its table, which messages may go now (order per key), and for each message
the URL, the body and the signing; everything else is here.
"""

import functools
import logging
import ssl
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, TypeVar

import httpcore
import httpx
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from app import clock, lifecycle
from app.config import Settings
from app.errors import Conflict, NotFound
from app.models.outbox import Deliverable
from app.services.platform import egress

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=Deliverable)
Scope = Callable[[], AbstractContextManager[Session]]

BATCH = 20
LEASE_MARGIN = timedelta(seconds=60)
# the reasons recorded for the API: generic, so that they never map the network behind the receiver
TIMED_OUT = "no answer within the time limit"
NO_CONNECTION = "could not connect to the receiver"
NO_ANSWER = "the receiver closed the connection without a valid answer"
FAILED = "the delivery failed"


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    backoff_first: timedelta
    backoff_max: timedelta
    deadline_seconds: float  # the whole post: resolving, connecting, sending and the answer's head

    def backoff(self, attempts: int) -> timedelta:
        wait: timedelta = self.backoff_first * 2 ** (attempts - 1)
        return min(wait, self.backoff_max)


@dataclass(frozen=True)
class Post:
    url: egress.Url
    body: bytes
    headers: Callable[[str], dict[str, str]]  # the signed headers for a timestamp (signed when sent)
    allowed: frozenset[str] | None  # exact addresses allowed beyond public ones; None: any address


@dataclass(frozen=True)
class Park:
    """The message can never be sent as it stands: parked as dead at once."""

    reason: str


@dataclass(frozen=True)
class Fail:
    """The message cannot be sent now (say, no key to sign with): a failed attempt."""

    reason: str


Work = Post | Park | Fail


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the receiver's HTTP status (None: no answer)
    error: str | None  # None: delivered
    park: bool = False


class Kind(Protocol[M]):
    name: str
    model: type[M]

    def policy(self, settings: Settings) -> Policy: ...

    def ready(self, stmt: Select[tuple[M]]) -> Select[tuple[M]]:
        """`stmt` narrowed to the messages that may go now (e.g. none before an earlier one)."""
        ...

    def prepare(self, session: Session, settings: Settings, message: M, cache: dict[Any, Any]) -> Work: ...

    def describe(self, message: M) -> dict[str, Any]:
        """Ids for the log (never personal data)."""
        ...


@dataclass(frozen=True)
class _Claim:
    id: int
    token: str
    attempts: int
    work: Work
    log: dict[str, Any]


def deliver_due(scope: Scope, settings: Settings, kind: Kind[M], limit: int = 200) -> int:
    """Post the due messages of `kind`, each at most once in this pass; returns how many were delivered.
    Safe to run in several workers at once."""
    policy = kind.policy(settings)
    tried: set[int] = set()
    delivered = 0
    # on SIGTERM the batch under way is finished and recorded, and no other is claimed
    while len(tried) < limit and not lifecycle.stopping.is_set():
        claims = _claim(scope, settings, kind, policy, min(BATCH, limit - len(tried)), tried)
        if not claims:
            break
        for claim in claims:
            tried.add(claim.id)
            outcome = _attempt(kind.name, claim, policy)
            delivered += _record(scope, kind, policy, claim, outcome)
    return delivered


def _claim(
    scope: Scope, settings: Settings, kind: Kind[M], policy: Policy, size: int, tried: set[int]
) -> list[_Claim]:
    model = kind.model
    now = clock.now()
    with scope() as session:
        stmt = select(model).where(
            model.status == "pending",
            model.next_attempt_at <= now,
            or_(model.claimed_until.is_(None), model.claimed_until <= now),
        )
        if tried:
            stmt = stmt.where(model.id.not_in(tried))
        stmt = kind.ready(stmt).order_by(model.id).limit(size).with_for_update(skip_locked=True)
        rows = session.scalars(stmt).all()
        token = uuid.uuid4().hex
        until = now + timedelta(seconds=policy.deadline_seconds) * len(rows) + LEASE_MARGIN
        cache: dict[Any, Any] = {}
        claims = []
        for row in rows:
            row.attempts += 1
            row.claimed_until, row.claim_token = until, token
            work = _prepare(session, settings, kind, row, cache)
            claims.append(_Claim(row.id, token, row.attempts, work, kind.describe(row)))
    return claims


def _prepare(session: Session, settings: Settings, kind: Kind[M], row: M, cache: dict[Any, Any]) -> Work:
    try:
        return kind.prepare(session, settings, row, cache)
    except Exception:
        logger.exception("%s message could not be prepared", kind.name, extra=kind.describe(row))
        return Fail("the message could not be prepared for sending")


def _attempt(name: str, claim: _Claim, policy: Policy) -> Outcome:
    work = claim.work
    if isinstance(work, Park):
        return Outcome(None, work.reason, park=True)
    if isinstance(work, Fail):
        return Outcome(None, work.reason)
    try:
        status = send(work, policy.deadline_seconds)
    except egress.Refused as exc:
        return _failed(name, claim, exc.reason, exc)
    except egress.Unresolved as exc:
        return _failed(name, claim, str(exc), exc)
    except httpcore.ConnectError as exc:
        return _failed(name, claim, NO_CONNECTION, exc)
    except httpcore.TimeoutException as exc:
        return _failed(name, claim, TIMED_OUT, exc)
    except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
        return _failed(name, claim, NO_ANSWER, exc)
    except Exception as exc:
        return _failed(name, claim, FAILED, exc, trace=True)
    return Outcome(status, None if 200 <= status < 300 else f"HTTP {status}")


def _failed(name: str, claim: _Claim, reason: str, exc: Exception, *, trace: bool = False) -> Outcome:
    """The generic reason for the API; the detail (which may name internal addresses) for the log."""
    logger.warning(
        "%s delivery failed: %s",
        name,
        reason,
        exc_info=trace,
        extra=claim.log | {"attempts": claim.attempts, "detail": f"{type(exc).__name__}: {exc}"[:500]},
    )
    return Outcome(None, reason)


def _record(scope: Scope, kind: Kind[M], policy: Policy, claim: _Claim, outcome: Outcome) -> int:
    with scope() as session:
        row = session.get(kind.model, claim.id, with_for_update=True)
        if row is None or row.claim_token != claim.token:
            return 0  # the lease ran out and another worker took the message: its outcome counts
        now = clock.now()
        row.claimed_until, row.claim_token = None, None
        row.last_status, row.last_error = outcome.status, outcome.error
        if outcome.error is None:
            row.status, row.delivered_at = "delivered", now
            return 1
        if outcome.park or row.attempts >= policy.max_attempts:
            row.status = "dead"
            logger.warning("%s message parked", kind.name, extra=claim.log | {"attempts": row.attempts})
        else:
            row.next_attempt_at = now + policy.backoff(row.attempts)
    return 0


def replay(session: Session, model: type[M], message_id: int) -> M:
    """The dead message `message_id` made due again from now, with a fresh count of attempts (404 if
    there is none; 409 unless it is dead: a delivered message is never sent twice, a pending one is on
    its way)."""
    message = session.get(model, message_id, with_for_update=True)
    if message is None:
        raise NotFound(f"message {message_id} not found", field="message_id")
    if message.status != "dead":
        raise Conflict(
            f"message {message_id} is {message.status}: only dead messages are replayed", field="message_id"
        )
    revive(message)
    return message


def revive(message: Deliverable) -> None:
    """A dead message goes out again from now, with a fresh count of attempts."""
    message.status, message.attempts, message.next_attempt_at = "pending", 0, clock.now()
    message.claimed_until = message.claim_token = None


def send(post: Post, deadline_seconds: float) -> int:
    """POST `post` within `deadline_seconds` in all, to the address its host was checked to have;
    returns the HTTP status (the answer's body is not read)."""
    deadline = _Deadline(deadline_seconds)
    address = egress.resolve(post.url, post.allowed, deadline.left())
    headers = [
        ("host", post.url.host_header),
        ("content-type", "application/json"),
        *post.headers(str(clock.unix_seconds())).items(),
    ]
    url = httpcore.URL(
        scheme=post.url.scheme.encode(),
        host=post.url.host.encode(),
        port=post.url.port,
        target=post.url.target.encode(),
    )
    timeouts = dict.fromkeys(("connect", "read", "write", "pool"), deadline_seconds)
    pool = httpcore.ConnectionPool(
        ssl_context=_ssl_context(), network_backend=_Pinned(address, deadline), retries=0
    )
    with (
        pool,
        pool.stream("POST", url, headers=headers, content=post.body, extensions={"timeout": timeouts}) as r,
    ):
        return r.status


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


class _Deadline:
    def __init__(self, seconds: float) -> None:
        # elapsed time, not a reading of the date: monotonic, so a clock step cannot stretch it
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        return self._end - time.monotonic()

    def clamp(self, timeout: float | None, error: type[Exception]) -> float:
        left = self.left()
        if left <= 0:
            raise error("the delivery's deadline passed")
        return left if timeout is None else min(timeout, left)


class _Pinned(httpcore.NetworkBackend):
    """Connects to the checked address whatever the URL's name resolves to by now (no DNS rebinding),
    and holds every step of the exchange to one deadline: a receiver that trickles its answer a byte at
    a time stalls nobody (httpx's timeouts apply to each step alone)."""

    def __init__(self, address: str, deadline: _Deadline) -> None:
        self._address, self._deadline, self._inner = address, deadline, httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,  # noqa: ARG002 - the name was resolved and checked already
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        limit = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(self._address, port, limit, local_address, socket_options)
        return _Held(stream, self._deadline)

    def connect_unix_socket(
        self,
        path: str,  # noqa: ARG002
        timeout: float | None = None,  # noqa: ARG002
        socket_options: Any = None,  # noqa: ARG002
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("deliveries go over TCP only")


class _Held(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        limit = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _Held(self._inner.start_tls(ssl_context, server_hostname, limit), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)
