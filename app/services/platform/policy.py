"""Policy versions: read the current one, add a new one (never edit), list them."""

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import NotFound
from app.models import PolicyVersion
from app.models.enums import Role
from app.schemas.common import PageParams
from app.schemas.policy import PolicyData, PolicyUpdate
from app.services.platform import access, audit
from app.services.platform.access import Actor
from app.services.platform.concurrency import check_version

POLICY_READERS = frozenset(
    {Role.village_cadre, Role.township_reviewer, Role.district_officer, Role.department_user, Role.admin}
)
POLICY_WRITERS = frozenset({Role.admin})


def current(session: Session) -> PolicyVersion:
    """The newest version (the migrations seed version 1 with the defaults)."""
    policy = session.scalars(select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(1)).first()
    if policy is None:
        raise NotFound("no policy version exists; run the migrations", field="policy")
    return policy


def current_data(session: Session) -> tuple[int, PolicyData]:
    """The newest version's number and its values, checked. Read-only: the same object is handed to every
    caller of the same values (checking them anew took half a millisecond of every request)."""
    row = session.execute(
        select(PolicyVersion.version, PolicyVersion.data).order_by(PolicyVersion.version.desc()).limit(1)
    ).first()
    if row is None:
        raise NotFound("no policy version exists; run the migrations", field="policy")
    return row[0], checked(row[1])


def checked(data: dict[str, Any]) -> PolicyData:
    """The values as PolicyData, from the last few distinct values seen (keyed by their text, not their
    version number: another database, or a test's, has other values under the same number)."""
    key = json.dumps(data, sort_keys=True)
    found = _checked.get(key)
    if found is None:
        found = PolicyData.model_validate(data)
        if len(_checked) >= 32:
            _checked.clear()
        _checked[key] = found
    return found


_checked: dict[str, PolicyData] = {}


def read(session: Session, actor: Actor) -> PolicyVersion:
    access.require_role(actor, POLICY_READERS, "reading the policy")
    return current(session)


def update(
    session: Session, settings: Settings, actor: Actor, body: PolicyUpdate, if_match: str | None
) -> PolicyVersion:
    """Store the body as the next version; the previous versions stay as they were."""
    access.require_role(actor, POLICY_WRITERS, "changing the policy")
    audit.lock_chain(session)  # one policy change at a time: versions are consecutive
    latest = current(session)
    check_version(latest.version, body.version, if_match)
    # fields left out keep their current values (a PUT of one share must not reset the lines)
    sent = body.model_dump(mode="json", exclude_unset=True, exclude={"version", "note"})
    data = PolicyData.model_validate(latest.data | sent).model_dump(mode="json")
    changes = audit.diff(latest.data, data)
    policy = PolicyVersion(version=latest.version + 1, created_by=actor.username, note=body.note, data=data)
    session.add(policy)
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [audit.Change("policy.update", "policy", policy.version, None, changes | {"note": body.note})],
    )
    return policy


def versions(session: Session, actor: Actor, page: PageParams) -> tuple[list[PolicyVersion], int]:
    access.require_role(actor, POLICY_READERS, "reading the policy")
    total = session.scalar(select(func.count()).select_from(PolicyVersion)) or 0
    rows = session.scalars(
        select(PolicyVersion).order_by(PolicyVersion.version.desc()).offset(page.offset).limit(page.page_size)
    ).all()
    return list(rows), total
