from typing import Annotated

from fastapi import APIRouter, Header, Response

from app.api.deps import CurrentActor, PageDep, SessionDep, SettingsDep
from app.models import PolicyVersion
from app.schemas.common import ErrorBody, Page
from app.schemas.policy import PolicyRead, PolicyUpdate
from app.services.platform import policy as policy_service
from app.services.platform.concurrency import etag

router = APIRouter(prefix="/policy", tags=["policy"], responses={403: {"model": ErrorBody}})


@router.get("", response_model=PolicyRead, summary="The current policy: lines, margins, cut-offs, deadlines")
def read_policy(session: SessionDep, actor: CurrentActor, response: Response) -> PolicyVersion:
    policy = policy_service.read(session, actor)
    response.headers["ETag"] = etag(policy.version)
    return policy


@router.put(
    "",
    response_model=PolicyRead,
    status_code=201,
    summary="Store a new policy version (admin)",
    responses={409: {"model": ErrorBody}, 412: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def update_policy(
    body: PolicyUpdate,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
    response: Response,
    if_match: Annotated[str | None, Header(description="the ETag of the version you read")] = None,
) -> PolicyVersion:
    """The whole policy is sent; it becomes the next version and is audited. Earlier versions stay, and
    every scoring run records the version it used."""
    policy = policy_service.update(session, settings, actor, body, if_match)
    response.headers["ETag"] = etag(policy.version)
    return policy


@router.get("/versions", response_model=Page[PolicyRead], summary="Every policy version, newest first")
def list_versions(session: SessionDep, actor: CurrentActor, page: PageDep) -> Page[PolicyRead]:
    rows, total = policy_service.versions(session, actor, page)
    return Page[PolicyRead].of(rows, total, page)
