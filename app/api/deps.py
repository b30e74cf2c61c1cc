"""Typed dependencies: settings, the request's session (one transaction), the calling actor."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import READ_ONLY, Sessions
from app.errors import AppError
from app.schemas.common import MAX_ID, MAX_PAGE, PageParams
from app.services.platform import auth
from app.services.platform.access import Actor

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: commit when the route returns, roll back on any error.

    The commit happens before the response is sent, so a failed commit is never reported as success.
    """
    session: Session = request.app.state.sessionmaker()
    if request.method in ("GET", "HEAD") and "reveal" not in request.query_params:
        # Reads need no write lock (SQLite); a reveal writes its audit entry, so it is not a read.
        session.connection(execution_options={READ_ONLY: True})
    try:
        yield session
        session.commit()
    except AppError as exc:
        if exc.persist:
            session.commit()
            raise
        session.rollback()
        if exc.after_rollback is not None:
            exc.after_rollback(session)
            session.commit()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_sessions(request: Request) -> Sessions:
    """The app's session factory, for work that reads in transactions of its own (a streamed export)."""
    sessions: Sessions = request.app.state.sessionmaker
    return sessions


SessionsDep = Annotated[Sessions, Depends(get_sessions)]


# scope="function": the code after `yield` (the commit) runs when the route returns, before the
# response is sent. With the default ("request") FastAPI sends the response first, so a failed commit
# would already have been answered 201.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_current_actor(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Actor:
    """The bearer token's holder, or the browser session's (its cookie, and the CSRF header on writes)."""
    from app.errors import Unauthorized
    from app.web import session as web_session

    if not token and (cookie := request.cookies.get(web_session.ACCESS)):
        web_session.check_csrf(request)
        token = cookie
    if not token:
        raise Unauthorized("not authenticated: send a bearer access token")
    return auth.actor_from_token(session, settings, token)


CurrentActor = Annotated[Actor, Depends(get_current_actor)]


def page_params(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


PageDep = Annotated[PageParams, Depends(page_params)]

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
