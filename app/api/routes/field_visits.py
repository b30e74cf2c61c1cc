from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.api.deps import CurrentActor, PageDep, PathId, SessionDep, SettingsDep
from app.schemas.common import ErrorBody, Page
from app.schemas.fieldwork import PhotoRead, VisitCreate, VisitRead
from app.services.fieldwork import photos as photo_service
from app.services.fieldwork import visits as visit_service
from app.services.fieldwork.visits import VisitView

router = APIRouter(
    tags=["field work"],
    responses={
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)

IMAGE_BODY = {
    "requestBody": {
        "required": True,
        "description": "the image's bytes: JPEG, PNG or WebP, told by the content (any Content-Type is read)",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _read(view: VisitView) -> VisitRead:
    return VisitRead.model_validate(view.visit).model_copy(
        update={
            "photos": [PhotoRead.model_validate(p) for p in view.photos],
            "case_id": view.signal.case_id if view.signal is not None else None,
            "signal_outcome": view.signal.outcome if view.signal is not None else None,
        }
    )


@router.post(
    "/households/{household_id}/visits",
    response_model=VisitRead,
    status_code=201,
    summary="Record a visit to the household (走访记录); optionally open a case from what it found",
    responses={200: {"model": VisitRead, "description": "Sent before: the stored visit, nothing stored"}},
)
def record(
    household_id: PathId,
    body: VisitCreate,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
    response: Response,
) -> VisitRead:
    """By the household's village cadre or a reviewer of its township. 201 when stored; 200 with the stored
    visit when the same `client_ref` and body were sent before (an offline draft sent twice); 409 when that
    `client_ref` was used for another body. With `open_case`, the visit's findings open a case (or join the
    open one) as a cadre's report, in the same transaction."""
    view, created = visit_service.record(session, settings, actor, household_id, body)
    if not created:
        response.status_code = 200
    return _read(view)


@router.get(
    "/households/{household_id}/visits",
    response_model=Page[VisitRead],
    summary="The household's visits, the latest first",
)
def of_household(
    household_id: PathId, session: SessionDep, actor: CurrentActor, page: PageDep
) -> Page[VisitRead]:
    views, total = visit_service.for_household(session, actor, household_id, page)
    return Page[VisitRead].of([_read(v) for v in views], total, page)


@router.get(
    "/visits/{visit_id}", response_model=VisitRead, summary="One visit, with its photos' descriptions"
)
def read(visit_id: PathId, session: SessionDep, actor: CurrentActor) -> VisitRead:
    return _read(visit_service.get(session, actor, visit_id))


async def _image(request: Request) -> bytes:
    return await request.body()  # the body-size middleware has already refused anything over its limit


@router.post(
    "/visits/{visit_id}/photos",
    response_model=PhotoRead,
    status_code=201,
    summary="Add a photo to a visit (a bill, the house): the image's bytes as the body",
    openapi_extra=IMAGE_BODY,
    responses={
        200: {"model": PhotoRead, "description": "The same photo was added before: nothing stored"},
        413: {"model": ErrorBody, "description": "Over the photo size limit"},
        415: {"model": ErrorBody, "description": "Not a JPEG, PNG or WebP image (by its content)"},
    },
)
def add_photo(
    visit_id: PathId,
    data: Annotated[bytes, Depends(_image)],
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
    response: Response,
) -> PhotoRead:
    """By those who may record visits on the household. The image is checked by its content (JPEG, PNG or
    WebP, whole), kept encrypted, and never sent in a webhook or relief callback."""
    photo, created = photo_service.add(session, settings, actor, visit_id, data)
    if not created:
        response.status_code = 200
    return PhotoRead.model_validate(photo)


@router.get(
    "/visits/{visit_id}/photos/{photo_id}",
    summary="A visit's photo (the image itself)",
    response_class=Response,
    responses={
        200: {"content": {t: {} for t in photo_service.MEDIA_TYPES.values()}, "description": "The image"}
    },
)
def photo(
    visit_id: PathId, photo_id: PathId, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> Response:
    media_type, data = photo_service.read(session, settings, actor, visit_id, photo_id)
    # personal data: kept out of shared caches; the type is the one found in the content, never sniffed
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=media_type, headers=headers)
