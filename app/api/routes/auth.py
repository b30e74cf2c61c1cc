from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import CurrentActor, SessionDep, SettingsDep
from app.schemas.common import ErrorBody
from app.schemas.users import Me, RefreshIn, TokenPair
from app.services import auth

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
    return Me(id=actor.user_id or 0, username=actor.username, role=actor.role, region_code=actor.region_code)
