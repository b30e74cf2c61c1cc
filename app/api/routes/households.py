from typing import Annotated, get_args

from fastapi import APIRouter, Header, Query, Response

from app.api.deps import CurrentActor, PageDep, PathId, SessionDep, SettingsDep
from app.models.enums import (
    Health,
    HouseholdType,
    HousingGrade,
    LabourCapacity,
    MonitoringCategory,
    MonitoringStatus,
    Relation,
    Sex,
)
from app.schemas.case_actions import RiskType
from app.schemas.common import ErrorBody, Page
from app.schemas.history import AuditEntryRead
from app.schemas.households import (
    FormChoices,
    HouseholdCreate,
    HouseholdRead,
    HouseholdSummary,
    HouseholdUpdate,
    IdNumberMixin,
    MemberCreate,
    MemberFactRead,
    MemberRead,
    MemberUpdate,
)
from app.schemas.risk import RiskLevel
from app.services.platform.concurrency import etag
from app.services.registry import household_views, households, members

router = APIRouter(
    prefix="/households",
    tags=["households"],
    responses={
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)

CODE = r"^[0-9]{12}$"
IfMatch = Annotated[str | None, Header(description="the ETag of the version you read")]


@router.get("", response_model=Page[HouseholdSummary], summary="Households in the caller's region")
def list_households(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    township: Annotated[str | None, Query(pattern=CODE)] = None,
    village: Annotated[str | None, Query(pattern=CODE)] = None,
    status: Annotated[MonitoringStatus | None, Query()] = None,
    category: Annotated[MonitoringCategory | None, Query()] = None,
    household_type: Annotated[HouseholdType | None, Query()] = None,
    household_no: Annotated[str | None, Query(max_length=32)] = None,
    no_labour_capacity: Annotated[bool | None, Query()] = None,
    risk_level: Annotated[RiskLevel | None, Query(description="level in the current scoring run")] = None,
    reason: Annotated[
        str | None, Query(pattern=r"^[a-z_]{1,40}$", description="reason code, e.g. water_unsafe")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            pattern=r"^[\w·-]{1,32}$",
            description="part of the household number; for a village cadre also part of the head's name",
        ),
    ] = None,
) -> Page[HouseholdSummary]:
    """Phones are masked in lists; ID numbers are not listed, and the head's name only in a village
    cadre's list of the village. Risk level, staleness and open case are not in a department's list."""
    filters = household_views.HouseholdFilters(
        township,
        village,
        status,
        category,
        household_type,
        household_no,
        no_labour_capacity,
        risk_level=risk_level,
        reason=reason,
        q=q,
    )
    items, total = household_views.list_households(session, actor, filters, page)
    return Page[HouseholdSummary].of(items, total, page)


@router.post(
    "",
    response_model=HouseholdRead,
    status_code=201,
    summary="Register a household with its members",
    responses={
        200: {
            "model": HouseholdRead,
            "description": "Sent before: nothing stored",
        },
        409: {"model": ErrorBody},
    },
)
def register_household(
    body: HouseholdCreate, session: SessionDep, settings: SettingsDep, actor: CurrentActor, response: Response
) -> HouseholdRead:
    """201 when registered; with a `client_ref` (an offline draft's), the same body sent again answers the
    stored household with 200 and stores nothing; a different body under that `client_ref` is a 409."""
    household, created = households.register_once(session, settings, actor, body)
    if not created:
        response.status_code = 200
    response.headers["ETag"] = etag(household.version)
    return household_views.household_view(session, settings, actor, household, reveal=False)


@router.get(
    "/choices",
    response_model=FormChoices,
    summary="The values the registry's and the reports' forms offer (the API's own enums)",
)
def form_choices(_actor: CurrentActor) -> FormChoices:
    """For the forms' <select>s, so that a page offers exactly what the API accepts."""
    return FormChoices(
        household_types=list(HouseholdType),
        relations=list(Relation),
        sexes=list(Sex),
        labour_capacities=list(LabourCapacity),
        healths=list(Health),
        disability_grades=[1, 2, 3, 4],
        housing_grades=list(HousingGrade),
        risk_types=list(get_args(RiskType)),
    )


@router.get("/{household_id}", response_model=HouseholdRead, summary="One household with its members")
def read_household(
    household_id: PathId,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
    response: Response,
    reveal: Annotated[bool, Query(description="show ID numbers and phone in full (audited)")] = False,
) -> HouseholdRead:
    """ID numbers and phone are masked unless `reveal=true`, which village cadres, township reviewers and
    district officers may ask for; every reveal is written to the audit log."""
    household = households.load(session, actor, household_id)
    response.headers["ETag"] = etag(household.version)
    return household_views.household_view(session, settings, actor, household, reveal=reveal)


@router.patch(
    "/{household_id}",
    response_model=HouseholdRead,
    summary="Change a household",
    responses={409: {"model": ErrorBody}, 412: {"model": ErrorBody}, 428: {"model": ErrorBody}},
)
def update_household(
    household_id: PathId,
    body: HouseholdUpdate,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
    response: Response,
    if_match: IfMatch = None,
) -> HouseholdRead:
    """Send the version you read (field `version` or `If-Match`); a stale one is refused, changing nothing."""
    household = households.update(session, settings, actor, household_id, body, if_match)
    response.headers["ETag"] = etag(household.version)
    return household_views.household_view(session, settings, actor, household, reveal=False)


@router.post(
    "/{household_id}/members",
    response_model=MemberRead,
    status_code=201,
    summary="Add a member",
    responses={409: {"model": ErrorBody}},
)
def add_member(
    household_id: PathId,
    body: MemberCreate,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
    response: Response,
) -> MemberRead:
    member = members.add_member(session, settings, actor, household_id, body)
    response.headers["ETag"] = etag(member.version)
    return household_views.member_read(settings, member)


@router.patch(
    "/{household_id}/members/{member_id}",
    response_model=MemberRead,
    summary="Change a member, or record them leaving",
    responses={409: {"model": ErrorBody}, 412: {"model": ErrorBody}, 428: {"model": ErrorBody}},
)
def update_member(
    household_id: PathId,
    member_id: PathId,
    body: MemberUpdate,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
    response: Response,
    if_match: IfMatch = None,
) -> MemberRead:
    """A member leaving (death, marriage out, household split…) sets `left_on` and `left_reason`; the member
    stays in the household's history. A leaving head names `successor_head_id`."""
    member = members.update_member(session, settings, actor, household_id, member_id, body, if_match)
    response.headers["ETag"] = etag(member.version)
    return household_views.member_read(settings, member)


@router.get(
    "/{household_id}/members/{member_id}/facts",
    response_model=list[MemberFactRead],
    summary="A member's dated facts: since when and until when each held",
)
def member_facts(
    household_id: PathId, member_id: PathId, session: SessionDep, actor: CurrentActor
) -> list[MemberFactRead]:
    """Health, labour capacity, disability grade, schooling, school level, dropout reason, 低保 and 特困,
    each from the day it began to hold (a member change's `effective_on`) to the day it gave way. A change
    supersedes what was recorded from its day on: those rows stay, with `superseded_at`."""
    return household_views.facts(session, actor, household_id, member_id)


@router.get(
    "/{household_id}/history",
    response_model=Page[AuditEntryRead],
    summary="Every change to the household and its reports: who, when, what",
)
def household_history(
    household_id: PathId, session: SessionDep, actor: CurrentActor, page: PageDep
) -> Page[AuditEntryRead]:
    entries, total = household_views.history(session, actor, household_id, page)
    return Page[AuditEntryRead].of(entries, total, page)


class LookupIn(IdNumberMixin):
    id_number: str


@router.post(
    "/lookup",
    response_model=list[HouseholdSummary],
    summary="Find a person's household by ID number",
    responses={409: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
def lookup(
    body: LookupIn, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> list[HouseholdSummary]:
    """Exact match on the keyed hash, so the ID number travels in the body, never in a URL. Outside the
    caller's region the answer only says the person is registered elsewhere; such answers are rate-limited."""
    return household_views.lookup(session, settings, actor, body.id_number)
