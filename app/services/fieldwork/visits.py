"""走访记录: who went to a household, on which day, why, and what they found.

A visit is recorded by the household's village cadre or a reviewer of its township (the village work
team reports to the township), once: the client's own id (`client_ref`) makes a repeat of an offline
draft answer the stored visit. A visit is never changed. One that finds a problem may open a case in the
same request, as a cadre's report (基层干部排查) naming what was found; the findings' words stay on the
visit (they may describe a family's troubles) and never travel with the case's outbound messages."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import Conflict, Forbidden, NotFound
from app.models import Household, Signal, Visit, VisitPhoto
from app.models.enums import Role
from app.pii import cipher_for
from app.schemas.common import PageParams
from app.schemas.fieldwork import FINDING_LABELS, FINDING_RISK_TYPES, VisitCreate
from app.services.cases import cases
from app.services.fieldwork import tasks
from app.services.platform import access, audit, paging
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor
from app.services.registry import households

RECORDERS = frozenset({Role.village_cadre, Role.township_reviewer})
READERS = frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer})


@dataclass(frozen=True, slots=True)
class VisitView:
    visit: Visit
    photos: list[VisitPhoto]
    signal: Signal | None


def record(
    session: Session, settings: Settings, actor: Actor, household_id: int, body: VisitCreate
) -> tuple[VisitView, bool]:
    """Store the visit (True), or answer the one stored with this client_ref and body (False)."""
    household = writable_household(session, actor, household_id)
    body_hash = cipher_for(settings).lookup_hash(body.model_dump_json())
    known = session.scalars(
        select(Visit).where(Visit.household_id == household.id, Visit.client_ref == body.client_ref)
    ).one_or_none()
    if known is not None:
        if known.body_hash != body_hash:
            raise Conflict("client_ref was already used for a different visit", field="client_ref")
        return view(session, known), False
    visit = Visit(
        household_id=household.id,
        village_code=household.village_code,
        visited_on=body.visited_on,
        kind=body.kind,
        visitors=body.visitors,
        findings=body.findings,
        flags=list(body.flags),
        client_ref=body.client_ref,
        body_hash=body_hash,
        recorded_by_id=actor.user_id,
    )
    session.add(visit)
    session.flush()
    tasks.complete_for(session, visit)
    signal = _open_case(session, settings, actor, household, visit, body) if body.open_case else None
    if signal is not None:
        visit.signal_id = signal.id
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "visit.record",
                "visit",
                visit.id,
                household.id,
                {
                    "visited_on": visit.visited_on,
                    "kind": visit.kind,
                    "flags": visit.flags,
                    "signal": visit.signal_id,
                },
            )
        ],
    )
    return VisitView(visit, [], signal), True


def for_household(
    session: Session, actor: Actor, household_id: int, page: PageParams
) -> tuple[list[VisitView], int]:
    """The household's visits, the latest first."""
    _readable_household(session, actor, household_id)
    stmt = select(Visit).where(Visit.household_id == household_id)
    rows, total = paging.page_of(session, stmt, page, Visit.visited_on.desc(), Visit.id.desc())
    return _views(session, rows), total


def get(session: Session, actor: Actor, visit_id: int) -> VisitView:
    return view(session, readable_visit(session, actor, visit_id))


def readable_visit(session: Session, actor: Actor, visit_id: int) -> Visit:
    """The visit if the actor may read its household; 404 otherwise (it may exist elsewhere)."""
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFound(f"visit {visit_id} not found", field="visit_id")
    try:
        _readable_household(session, actor, visit.household_id)
    except NotFound:
        raise NotFound(f"visit {visit_id} not found", field="visit_id") from None
    return visit


def writable_household(session: Session, actor: Actor, household_id: int) -> Household:
    """The household, locked, if the actor may record field work on it: its village's cadre or a reviewer
    of its township; 404 outside the actor's region."""
    household = households.load(session, actor, household_id, members=False, lock=True)
    if actor.role not in RECORDERS:
        raise Forbidden(f"role {actor.role.value} may not record visits")
    if actor.role == Role.village_cadre:
        access.require_household_writer(actor, household)
    return household


def view(session: Session, visit: Visit) -> VisitView:
    return _views(session, [visit])[0]


def _views(session: Session, visits: list[Visit]) -> list[VisitView]:
    ids = [v.id for v in visits]
    photos: dict[int, list[VisitPhoto]] = {i: [] for i in ids}
    for photo in session.scalars(
        select(VisitPhoto).where(VisitPhoto.visit_id.in_(ids)).order_by(VisitPhoto.id)
    ):
        photos[photo.visit_id].append(photo)
    signal_ids = [v.signal_id for v in visits if v.signal_id is not None]
    signals = (
        {s.id: s for s in session.scalars(select(Signal).where(Signal.id.in_(signal_ids)))}
        if signal_ids
        else {}
    )
    return [
        VisitView(v, photos[v.id], signals.get(v.signal_id) if v.signal_id is not None else None)
        for v in visits
    ]


def _readable_household(session: Session, actor: Actor, household_id: int) -> None:
    access.require_role(actor, READERS, "reading visits")
    households.load(session, actor, household_id, members=False)  # 404 outside the actor's region


def _open_case(
    session: Session, settings: Settings, actor: Actor, household: Household, visit: Visit, body: VisitCreate
) -> Signal:
    assert body.open_case is not None
    found = "、".join(FINDING_LABELS[f] for f in body.flags)
    reason: dict[str, object] = {"code": "visit", "text": f"走访发现：{found}", "visit_id": visit.id}
    risk_type = next((FINDING_RISK_TYPES[f] for f in body.flags if f in FINDING_RISK_TYPES), None)
    if risk_type is not None:
        reason["risk_type"] = risk_type
    _, policy = policy_service.current_data(session)
    [signal] = cases.receive(
        session,
        settings,
        policy,
        actor,
        [cases.SignalIn(household.id, "cadre_report", body.open_case.level, [reason], f"visit:{visit.id}")],
    )
    return signal
