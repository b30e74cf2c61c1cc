from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import CurrentActor, SessionDep, SettingsDep
from app.errors import Unauthorized
from app.schemas.common import ErrorBody
from app.schemas.users import Me, RefreshIn, TokenPair
from app.services.platform import auth
from app.services.platform.access import Actor
from app.web import session as web_session

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=TokenPair,
    summary="Log in (OAuth2 password flow)",
    responses={401: {"model": ErrorBody}, 429: {"model": ErrorBody, "description": "throttled or locked"}},
)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, settings: SettingsDep
) -> TokenPair:
    """A short-lived access token and a longer-lived refresh token.

    Failed attempts slow down (doubling waits) and, at the limit, lock the account for a while.
    """
    return auth.login(session, settings, form.username, form.password)


@router.post(
    "/refresh",
    response_model=TokenPair,
    summary="Exchange a refresh token for new tokens",
    responses={401: {"model": ErrorBody}},
)
def refresh(body: RefreshIn, session: SessionDep, settings: SettingsDep) -> TokenPair:
    """Spends the refresh token: keep the new one. Sending a spent one again revokes every token of that
    login (401), except the one just replaced, for a few seconds, which gets the current one again."""
    return auth.refresh(session, settings, body.refresh_token)


@router.post("/logout", status_code=204, summary="Revoke all of the caller's tokens, on every device")
def logout(session: SessionDep, settings: SettingsDep, actor: CurrentActor) -> None:
    auth.logout_everywhere(session, settings, actor)


@router.get("/me", response_model=Me, summary="Who the token belongs to")
def me(actor: CurrentActor) -> Me:
    return _me(actor)


def _me(actor: Actor) -> Me:
    return Me(
        id=actor.user_id or 0,
        username=actor.username,
        role=actor.role,
        region_code=actor.region_code,
        department=actor.department,
    )


@router.post(
    "/session",
    response_model=Me,
    summary="Log in from the web app: the tokens go into HttpOnly cookies, with a CSRF token",
    responses={
        401: {"model": ErrorBody},
        403: {"model": ErrorBody, "description": "sent from another site"},
        429: {"model": ErrorBody, "description": "throttled or locked"},
    },
)
def open_session(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> Me:
    """The page's script never sees a token: every later request carries the cookies, and every write
    the `X-CSRF-Token` header with the value of the `sw_csrf` cookie."""
    web_session.check_same_origin(request)
    tokens = auth.login(session, settings, form.username, form.password)
    web_session.set_cookies(request, response, tokens, production=settings.env == "production")
    return _me(auth.actor_from_token(session, settings, tokens.access_token))


@router.post(
    "/session/refresh",
    response_model=Me,
    summary="Renew the web app's session from its refresh cookie",
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)
def refresh_session(request: Request, response: Response, session: SessionDep, settings: SettingsDep) -> Me:
    web_session.check_csrf(request)
    cookie = request.cookies.get(web_session.REFRESH)
    if not cookie:
        raise Unauthorized("no session: log in", field="session")
    tokens = auth.refresh(session, settings, cookie)
    web_session.set_cookies(request, response, tokens, production=settings.env == "production")
    return _me(auth.actor_from_token(session, settings, tokens.access_token))


@router.delete(
    "/session",
    status_code=204,
    summary="Log out of the web app: the session's tokens are revoked and its cookies cleared",
    responses={403: {"model": ErrorBody, "description": "no CSRF token, or sent from another site"}},
)
def close_session(request: Request, response: Response, session: SessionDep, settings: SettingsDep) -> None:
    """Works with the refresh cookie alone (the access cookie may have expired while the phone lay in a
    pocket), ends this login only (not the user's sessions on other devices), and always clears the
    cookies."""
    web_session.check_csrf(request)
    token = request.cookies.get(web_session.REFRESH) or request.cookies.get(web_session.ACCESS)
    if token:
        auth.end_login(session, settings, token)
    web_session.clear_cookies(response)
