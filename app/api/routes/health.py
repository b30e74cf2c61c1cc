from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.services.platform import health

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    detail: str


@router.get(
    "/readyz",
    summary="The database answers and its schema is at the head revision",
    responses={200: {"model": Readiness}, 503: {"model": Readiness, "description": "Not ready"}},
)
def readyz(request: Request) -> JSONResponse:
    ready, detail = health.readiness(request.app.state.engine)
    return JSONResponse(
        status_code=200 if ready else 503,
        content={"status": "ready" if ready else "not_ready", "detail": detail},
    )
