from fastapi import APIRouter

from app.api.deps import CurrentActor, PageDep, PathId, SessionDep, SettingsDep
from app.models import RiskRun
from app.schemas.common import ErrorBody, Page
from app.schemas.risk import HouseholdRiskRead, ModelStatusRead, RiskRunRead, RunRequest
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
    summary="The early-warning model in use, its metrics against the baselines, recent versions",
)
def risk_model(session: SessionDep, settings: SettingsDep, actor: CurrentActor) -> ModelStatusRead:
    """`mode` says what the next run uses: `rules` during cold start. Metrics come with 95 % bootstrap
    intervals, from the temporal hold-out the model was judged on."""
    return risk_service.model_status(session, settings, actor)
