from typing import Annotated, Any, get_args

from fastapi import APIRouter, Body, Depends, Query
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.api.deps import CurrentActor, PageDep, PathId, SessionDep, SettingsDep, get_current_actor
from app.api.errors import validation_errors
from app.errors import combine
from app.models.enums import CaseStep
from app.schemas.case_actions import ACTIONS, CaseActionBody, Confirm, RiskType
from app.schemas.cases import (
    Assignee,
    CadreReport,
    CaseDetail,
    CaseEventRead,
    CaseHousehold,
    CasePage,
    CaseRead,
    CaseSource,
    NotificationRead,
    NotificationsMarked,
    Procedure,
    ProcedureAction,
    ProcedureStep,
    SignalRead,
)
from app.schemas.common import ErrorBody, Page, PageParams
from app.services.cases import case_actions, case_views, escalation, procedure
from app.services.cases import cases as case_service
from app.services.platform import policy as policy_service

router = APIRouter(
    prefix="/cases",
    tags=["cases"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
CODE = r"^[0-9]{12}$"
# the categories `confirm` accepts, read off its body's type so the form offers exactly those
CONFIRM_CATEGORIES = [
    str(value)
    for option in get_args(Confirm.model_fields["monitoring_category"].annotation)
    for value in get_args(option)
]


def _page(session: Session, items: list[Any], total: int, overdue: int, page: PageParams) -> CasePage:
    labels = case_views.labels(session, items)
    return CasePage(
        items=[CaseRead.of(c).model_copy(update=labels[c.id]) for c in items],
        total=total,
        page=page.page,
        page_size=page.page_size,
        overdue=overdue,
    )


@router.get("", response_model=CasePage, summary="Cases in the caller's region, by due time")
def list_cases(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    step: Annotated[CaseStep | None, Query()] = None,
    overdue: Annotated[bool | None, Query()] = None,
    source: Annotated[CaseSource | None, Query()] = None,
    township_code: Annotated[str | None, Query(pattern=CODE)] = None,
    village_code: Annotated[str | None, Query(pattern=CODE)] = None,
) -> CasePage:
    filters = {
        "status": status,
        "step": step,
        "overdue": overdue,
        "source": source,
        "township_code": township_code,
        "village_code": village_code,
    }
    items, total, overdue_count = case_views.list_cases(session, actor, page, filters)
    return _page(session, items, total, overdue_count, page)


@router.post(
    "",
    response_model=SignalRead,
    status_code=201,
    summary="A cadre reports a household in difficulty (基层干部排查)",
    responses={422: {"model": ErrorBody}},
)
def report(body: CadreReport, session: SessionDep, settings: SettingsDep, actor: CurrentActor) -> SignalRead:
    """Opens a case, or attaches to the household's open case; a monitored household's report is recorded
    on its monitoring record (`outcome` says which)."""
    row = case_service.report_by_cadre(
        session, settings, actor, body.household_id, body.level, body.description, body.risk_type
    )
    return SignalRead.model_validate(row)


@router.get(
    "/procedure",
    response_model=Procedure,
    summary="The case procedure: steps, owners, windows, actions",
    dependencies=[Depends(get_current_actor)],
)
def read_procedure(session: SessionDep) -> Procedure:
    """The tables the service applies (the web app names steps and actions from them); the windows in days
    under the current policy."""
    _, policy = policy_service.current_data(session)
    return Procedure(
        steps=[
            ProcedureStep(
                step=rule.step,
                label_zh=rule.label_zh,
                owner=rule.owner,
                escalates_to=rule.escalates_to,
                window_days=procedure.window_days(rule.step, policy.case_deadlines),
            )
            for rule in procedure.STEPS.values()
        ],
        actions=[
            ProcedureAction(
                action=rule.action,
                label_zh=rule.label_zh,
                steps=[s for s in procedure.STEPS if s in rule.steps],
                roles=sorted(rule.roles),
                next_step=rule.next_step,
                outcome=rule.outcome,
            )
            for rule in procedure.ACTIONS.values()
        ],
    )


@router.get("/{case_id}", response_model=CaseDetail, summary="One case with its timeline")
def get_case(case_id: PathId, session: SessionDep, settings: SettingsDep, actor: CurrentActor) -> CaseDetail:
    """`allowed_actions` are exactly the actions you may take now (any other is refused); `assignees` the
    people you may reassign it to."""
    case, events = case_views.get(session, actor, case_id)
    read = CaseRead.of(case).model_copy(update=case_views.labels(session, [case])[case.id])
    allowed = case_actions.allowed(session, actor, case)
    assignees = case_actions.assignees(session, case) if "reassign" in allowed else []
    return CaseDetail(
        **read.model_dump(),
        timeline=[CaseEventRead.model_validate(e) for e in events],
        allowed_actions=allowed,
        household=CaseHousehold.model_validate(case_views.household_on_case(session, settings, actor, case)),
        assignees=[Assignee(id=u.id, username=u.username, role=u.role.value) for u in assignees],
        confirm_categories=CONFIRM_CATEGORIES,
    )


@router.post(
    "/{case_id}/actions",
    response_model=CaseRead,
    summary="Take a step: verify, review, notice, approve, return, confirm, reject, close, reassign",
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def act(
    case_id: PathId,
    body: Annotated[CaseActionBody, Body(examples=[{"action": "approve", "comment": ""}])],
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> CaseRead:
    """Refusals in this order: outside your region 404; not valid at the case's step or on a closed case
    409; the wrong role for the step 403; a bad body 422 naming the field."""
    case = case_actions.check(session, actor, case_id, body.get("action"))
    model = ACTIONS[str(body["action"])]
    try:
        parsed = model.model_validate(body)
    except ValidationError as exc:
        raise combine(validation_errors(exc), f"{body['action']}: invalid body") from None
    return CaseRead.of(case_actions.apply(session, settings, actor, case, parsed))


inbox_router = APIRouter(tags=["cases"], responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}})


@inbox_router.get("/inbox", response_model=CasePage, summary="Cases waiting on me, by due time")
def inbox(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    step: Annotated[CaseStep | None, Query()] = None,
    overdue: Annotated[bool | None, Query()] = None,
    source: Annotated[CaseSource | None, Query()] = None,
    township_code: Annotated[str | None, Query(pattern=CODE)] = None,
    village_code: Annotated[str | None, Query(pattern=CODE)] = None,
    risk_type: Annotated[
        RiskType | None, Query(description="a reason's national risk type, e.g. 因病")
    ] = None,
) -> CasePage:
    """Your role's steps in your region, overdue steps escalated to you, and cases assigned to you."""
    filters = {
        "step": step,
        "overdue": overdue,
        "source": source,
        "township_code": township_code,
        "village_code": village_code,
        "risk_type": risk_type,
    }
    items, total, overdue_count = escalation.inbox(session, actor, page, filters)
    return _page(session, items, total, overdue_count, page)


@inbox_router.get("/notifications", response_model=Page[NotificationRead], summary="My notifications")
def notifications(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    unread: Annotated[bool | None, Query(description="only unread (true) or read (false) ones")] = None,
) -> Page[NotificationRead]:
    items, total = escalation.notifications(session, actor, page, unread)
    return Page[NotificationRead].of(items, total, page)


@inbox_router.post(
    "/notifications/read-all", response_model=NotificationsMarked, summary="Mark all of mine read"
)
def mark_all_read(session: SessionDep, actor: CurrentActor) -> NotificationsMarked:
    return NotificationsMarked(marked=escalation.mark_all_read(session, actor))


@inbox_router.post(
    "/notifications/{notification_id}/read", response_model=NotificationRead, summary="Mark one read"
)
def mark_read(notification_id: PathId, session: SessionDep, actor: CurrentActor) -> NotificationRead:
    return NotificationRead.model_validate(escalation.mark_read(session, actor, notification_id))
