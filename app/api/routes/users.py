from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CurrentActor, PageDep, PathId, SessionDep, SettingsDep
from app.models import User
from app.models.enums import Role
from app.schemas.common import ErrorBody, Page
from app.schemas.users import UserCreate, UserRead, UserUpdate
from app.services.platform import users as user_service

router = APIRouter(
    prefix="/users", tags=["users"], responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}}
)


@router.get("", response_model=Page[UserRead], summary="List accounts in the admin's district")
def list_users(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    role: Annotated[Role | None, Query()] = None,
    active: Annotated[bool | None, Query()] = None,
) -> Page[UserRead]:
    items, total = user_service.list_users(session, actor, page, role, active)
    return Page[UserRead].of(items, total, page)


@router.post(
    "",
    response_model=UserRead,
    status_code=201,
    summary="Create an account",
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def create_user(body: UserCreate, session: SessionDep, settings: SettingsDep, actor: CurrentActor) -> User:
    return user_service.create(session, settings, actor, body)


@router.patch("/{user_id}", response_model=UserRead, summary="Change, deactivate or unlock an account")
def update_user(
    user_id: PathId, body: UserUpdate, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> User:
    """Deactivating, changing the role or the password invalidates every token the user holds.

    An admin cannot change their own role or region (403); the county's last active admin cannot be
    deactivated, given another role or moved (409). Both name the field.
    """
    return user_service.update(session, settings, actor, user_id, body)
