"""Typed dependencies: settings, the request's session (one transaction), the calling actor."""

from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Annotated

import anyio.to_thread
from anyio import CancelScope, CapacityLimiter
from fastapi import Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import READ_ONLY_OPTIONS, Sessions
from app.errors import AppError
from app.schemas.common import MAX_ID, MAX_PAGE, PageParams
from app.services.platform import auth
from app.services.platform.access import Actor

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


# Dependencies that do no I/O are `async`: FastAPI runs a plain `def` one on a worker thread, a hop that
# costs more than the work under load.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: commit when the route returns, roll back on any error. A GET (or
    HEAD) reads only (db.READ_ONLY_OPTIONS); a GET that records something does it in a transaction of its own.

    The commit happens before the response is sent, so a failed commit is never reported as success.
    Opening the session does no I/O (its connection is taken when first used, on the route's thread);
    ending it is one trip to a worker thread, shielded from cancellation so a connection always goes back.
    """
    sessions: Sessions = request.app.state.sessionmaker
    reads = request.method in ("GET", "HEAD") and "reveal" not in request.query_params
    # reads need no write lock (SQLite); a reveal writes its audit entry, so it is not a read
    session = sessions(bind=_read_only(sessions.kw["bind"])) if reads else sessions()
    try:
        yield session
    except BaseException as exc:
        await _end_shielded(session, exc)
        raise
    await _end_shielded(session, None)


async def _end_shielded(session: Session, error: BaseException | None) -> None:
    with CancelScope(shield=True):
        # its own limiter: waiting for a worker thread while holding a connection could starve the pool
        await anyio.to_thread.run_sync(_end, session, error, limiter=CapacityLimiter(1))


@lru_cache(maxsize=8)
def _read_only(engine: Engine) -> Engine:
    return engine.execution_options(**READ_ONLY_OPTIONS)


def _end(session: Session, error: BaseException | None) -> None:
    try:
        if error is None:
            session.commit()
        elif isinstance(error, AppError):
            if error.persist:
                session.commit()
                return
            session.rollback()
            if error.after_rollback is not None:
                error.after_rollback(session)
                session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def get_sessions(request: Request) -> Sessions:
    """The app's session factory, for work that reads in transactions of its own (a streamed export)."""
    sessions: Sessions = request.app.state.sessionmaker
    return sessions


SessionsDep = Annotated[Sessions, Depends(get_sessions)]


# scope="function": the code after `yield` (the commit) runs when the route returns, before the
# response is sent. With the default ("request") FastAPI sends the response first, so a failed commit
# would already have been answered 201.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_current_actor(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Actor:
    """The bearer token's holder, or the browser session's (its cookie, and the CSRF header on writes).
    A holder this process read seconds ago is answered here; reading one takes a worker thread."""
    from app.errors import Unauthorized
    from app.web import session as web_session

    if not token and (cookie := request.cookies.get(web_session.ACCESS)):
        web_session.check_csrf(request)
        token = cookie
    if not token:
        raise Unauthorized("not authenticated: send a bearer access token")
    known = auth.cached_actor(token)
    if known is not None:
        return known
    return await run_in_threadpool(auth.actor_from_token, session, settings, token)


CurrentActor = Annotated[Actor, Depends(get_current_actor)]


async def page_params(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


PageDep = Annotated[PageParams, Depends(page_params)]

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
