from fastapi import APIRouter

from app.api.deps import CurrentActor, PageDep, PathId, SessionDep, SettingsDep
from app.models import RiskRun, TrainingRequest
from app.schemas.common import ErrorBody, Page
from app.schemas.risk import (
    HouseholdRiskRead,
    ModelStatusRead,
    ModelVersionRead,
    RiskRunRead,
    RunRequest,
    TrainingRequestRead,
)
from app.services.scoring import model_admin
from app.services.scoring import risk as risk_service

router = APIRouter(tags=["risk"], responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}})


@router.post(
    "/risk/runs", response_model=RiskRunRead, status_code=202, summary="Ask for a scoring run (admin)"
)
def request_run(body: RunRequest, session: SessionDep, actor: CurrentActor) -> RiskRun:
    """The run is queued for `shouwang worker`, which picks it up within seconds; poll the run for its
    status. An open request is returned rather than duplicated."""
    return risk_service.request(session, actor, body.as_of)


@router.get("/risk/runs", response_model=Page[RiskRunRead], summary="Scoring runs, newest first")
def list_runs(session: SessionDep, actor: CurrentActor, page: PageDep) -> Page[RiskRunRead]:
    runs, total = risk_service.list_runs(session, actor, page)
    return Page[RiskRunRead].of(runs, total, page)


@router.get("/risk/runs/{run_id}", response_model=RiskRunRead, summary="One scoring run")
def get_run(run_id: PathId, session: SessionDep, actor: CurrentActor) -> RiskRun:
    return risk_service.get_run(session, actor, run_id)


@router.get(
    "/households/{household_id}/risk",
    response_model=HouseholdRiskRead,
    summary="The household's level and reasons in the current run",
)
def household_risk(
    household_id: PathId, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> HouseholdRiskRead:
    return risk_service.household_risk(session, settings, actor, household_id)


@router.get(
    "/risk/model",
    response_model=ModelStatusRead,
    summary="The champion in use (the learned model or a baseline), how every scorer did, recent versions",
)
def risk_model(session: SessionDep, settings: SettingsDep, actor: CurrentActor) -> ModelStatusRead:
    """`mode` says what the next run uses: `rules` during cold start, `baseline` when a baseline won.
    The champion was chosen on rolling-origin folds by recall at the policy's alert budget (95 %
    bootstrap intervals, paired across scorers); the newest fold's full metrics come with it."""
    return risk_service.model_status(session, settings, actor)


@router.post(
    "/risk/model/training",
    response_model=TrainingRequestRead,
    status_code=202,
    summary="Ask for a training (admin)",
)
def request_training(session: SessionDep, settings: SettingsDep, actor: CurrentActor) -> TrainingRequest:
    """Training takes minutes: `shouwang worker` does it and records the outcome on the request (the
    champion it stored, or why none, e.g. cold start). An open request is returned, not duplicated."""
    return model_admin.request_training(session, settings, actor)


@router.get(
    "/risk/model/training/{request_id}",
    response_model=TrainingRequestRead,
    summary="A training request and what came of it (admin)",
)
def training_request(request_id: PathId, session: SessionDep, actor: CurrentActor) -> TrainingRequest:
    return model_admin.get_request(session, actor, request_id)


@router.post(
    "/risk/models/{model_id}/confirm",
    response_model=ModelVersionRead,
    responses={409: {"model": ErrorBody}},
    summary="Install a champion awaiting confirmation (admin)",
)
def confirm_model(
    model_id: PathId, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> ModelVersionRead:
    """Only a `pending` champion, and only while the active one cannot be loaded (after a scikit-learn
    upgrade or a key rotation): 409 otherwise. The replacement is audited."""
    return risk_service.model_read(model_admin.confirm(session, settings, actor, model_id))
