from fastapi import APIRouter

from app.api.routes import (
    assistance,
    auth,
    cases,
    department,
    households,
    policy,
    regions,
    relief,
    reports,
    risk,
    risk_lists,
    type_corrections,
    users,
    webhooks,
)

api_router = APIRouter(prefix="/api/v1")
for module in (
    auth,
    users,
    regions,
    households,
    type_corrections,
    reports,
    policy,
    risk,
    risk_lists,
    cases,
    department,
    assistance,
    webhooks,
    relief,
):
    api_router.include_router(module.router)
api_router.include_router(cases.inbox_router)
api_router.include_router(relief.case_router)
