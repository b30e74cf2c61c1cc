"""What the relief platform is told about the cases of the households that applied through it, written in
the transaction of the change it reports (a transactional outbox: services/relief/relief_outbox.py posts
the messages). It lives with the cases, which write it, so that the cases never import the relief room,
which opens cases."""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Assistance, Case, ReliefApplication, ReliefMessage
from app.models.base import utcnow
from app.schemas.relief import WITHIN_SCOPE

# a case action → (event, the status the platform is told)
EVENTS = {
    "verify": ("village_verification", "village_verified"),
    "notice": ("public_notice", "public_notice"),
    "approve": ("township_review", "township_approved"),
    "return": ("township_review", "returned_to_village"),
    "confirm": ("decided", "confirmed"),
    "reject": ("decided", "rejected"),
    "close": ("decided", "withdrawn"),
}


def enqueue(
    session: Session, application: ReliefApplication, event: str, status: str, details: dict[str, Any]
) -> ReliefMessage:
    """The next message of `application` (its row locked: sequences never collide)."""
    session.refresh(application, with_for_update=True)
    application.last_sequence += 1
    application.status = status
    message_id = str(uuid.uuid4())
    payload = {
        "message_id": message_id,
        "application_id": application.application_id,
        "sequence": application.last_sequence,
        "event": event,
        "status": status,
        "case_id": application.case_id,
        "at": utcnow().isoformat(),
        **details,
    }
    message = ReliefMessage(
        message_id=message_id,
        application_id=application.application_id,
        sequence=application.last_sequence,
        event=event,
        payload=payload,
    )
    session.add(message)
    return message


def on_case_action(session: Session, case: Case, action: str, data: dict[str, Any]) -> None:
    """Tell the platform about a step of a case that came from it."""
    if action == "review" and data.get("outcome") == "disagreed":
        action = "reject"
        data = data | {"reason": "民主评议未通过"}
    if action not in EVENTS:
        return
    event, status = EVENTS[action]
    for application in _applications(session, case.id):
        details: dict[str, Any] = {"step": case.step, "case_status": case.status}
        if action == "verify":
            details["visited_on"] = data.get("visited_on")
        elif action == "notice":
            details |= {"starts_on": data.get("starts_on"), "ends_on": data.get("ends_on")}
        elif action in ("return", "reject", "close"):
            details["reason"] = data.get("reason")
        if action == "confirm":  # the category and the measures' kinds: no risk types (因病 is health)
            details |= {
                "monitoring_category": data.get("monitoring_category"),
                "assistance": _measures(session, case.household_id),
            }
        if event == "decided":
            details["within_scope"] = application.difficulty_type in WITHIN_SCOPE
            if action == "reject" and not details["within_scope"]:
                details["note"] = (
                    "the difficulty is outside 两不愁三保障 and drinking water, which monitoring covers"
                )
        enqueue(session, application, event, status, details)


def on_assistance(session: Session, measure: Assistance) -> None:
    """The first measure for a household whose application the platform sent (and that was not turned
    down): assistance started, once per application."""
    applications = session.scalars(
        select(ReliefApplication).where(
            ReliefApplication.household_id == measure.household_id,
            ReliefApplication.status.not_in(("rejected", "withdrawn", "assistance_started")),
        )
    ).all()
    for application in applications:
        enqueue(
            session,
            application,
            "assistance_started",
            "assistance_started",
            {"measure": _measure(measure)},
        )


def _applications(session: Session, case_id: int) -> list[ReliefApplication]:
    return list(
        session.scalars(
            select(ReliefApplication)
            .where(ReliefApplication.case_id == case_id)
            .order_by(ReliefApplication.id)
        )
    )


def _measure(m: Assistance) -> dict[str, Any]:
    """A measure's kind, who gives it and since when (not its free-text item, which may name an illness)."""
    return {"category": m.category, "department": m.department, "started_on": m.started_on.isoformat()}


def _measures(session: Session, household_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Assistance)
        .where(Assistance.household_id == household_id, Assistance.status != "stopped")
        .order_by(Assistance.id)
    )
    return [_measure(m) for m in rows]
