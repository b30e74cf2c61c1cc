"""One person, one active household: the check, by the ID number's keyed hash, before a person is
registered, added or made active again, and the probe budget that keeps "registered elsewhere" answers
from telling an actor who lives outside their region."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import AppError, Conflict, TooManyRequests, combine
from app.models import Household, Member, Region
from app.services.platform import access, rates
from app.services.platform.access import Actor

PROBE_WINDOW = timedelta(hours=1)


def is_visible_village(session: Session, actor: Actor, village_code: str) -> bool:
    stmt = access.visible_village_codes(actor).where(Region.code == village_code)
    return session.scalar(stmt) is not None


def require_probe_budget(session: Session, settings: Settings, actor: Actor, field: str) -> str:
    """Refuse every person check once the actor has had too many "registered elsewhere" answers.

    Refusing only checks of registered people would itself answer the probe, so over the limit all
    checks (look-ups, registrations, new members) wait, whatever their answer would be.
    """
    key = f"probe:{actor.username}"
    if rates.recent_count(session, key, PROBE_WINDOW) >= settings.probe_limit_per_hour:
        raise TooManyRequests(
            "too many look-ups of people registered elsewhere; try again later",
            field=field,
            headers={"Retry-After": "3600"},
        )
    return key


def check_not_registered(
    session: Session,
    settings: Settings,
    actor: Actor,
    hashes: dict[str, str],
    *,
    exclude_member_id: int | None = None,
) -> None:
    """Refuse a person already active in a household; name that household only inside the actor's scope."""
    if not hashes:
        return
    key = require_probe_budget(session, settings, actor, next(iter(hashes.values())))
    stmt = (
        select(Member.id_number_hash, Household.household_no, Household.village_code)
        .join(Household, Member.household_id == Household.id)
        .where(Member.id_number_hash.in_(hashes), Member.left_on.is_(None))
    )
    if exclude_member_id is not None:
        stmt = stmt.where(Member.id != exclude_member_id)
    errors: list[AppError] = []
    elsewhere = False
    for id_hash, household_no, village_code in session.execute(stmt):
        field = hashes[id_hash]
        if is_visible_village(session, actor, village_code):
            errors.append(
                Conflict(f"this person is already an active member of household {household_no}", field=field)
            )
        else:
            elsewhere = True
            errors.append(Conflict("this person is already registered in another household", field=field))
    if not errors:
        return
    if elsewhere:
        error = combine(errors, "person already registered")
        error.after_rollback = lambda s: rates.hit(s, key, PROBE_WINDOW)
        raise error
    raise combine(errors, "person already registered")
