from fastapi import APIRouter, Depends

from app.api.edge import checked_text_params
from app.api.routes import (
    assistance,
    auth,
    campaigns,
    cases,
    coverage,
    department,
    exports,
    field_visits,
    helpers,
    households,
    imports,
    policy,
    referrals,
    regions,
    relief,
    reports,
    risk,
    risk_drift,
    risk_labels,
    risk_lists,
    type_corrections,
    users,
    visits,
    webhooks,
)

# every query, path and form value is checked as text (bodies are checked by their models)
api_router = APIRouter(prefix="/api/v1", dependencies=[Depends(checked_text_params)])
for module in (
    auth,
    users,
    regions,
    households,
    imports,
    type_corrections,
    visits,
    helpers,
    field_visits,
    campaigns,
    coverage,
    reports,
    policy,
    risk,
    risk_drift,
    risk_labels,
    risk_lists,
    cases,
    department,
    assistance,
    referrals,
    webhooks,
    relief,
    exports,
):
    api_router.include_router(module.router)
api_router.include_router(cases.inbox_router)
api_router.include_router(relief.case_router)
