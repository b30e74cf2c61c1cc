"""Accounts: created by an admin (API) or the command line, scoped to a region matching the role."""

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.models import Region, User
from app.models.enums import ROLE_REGION_LEVEL, Role
from app.schemas.common import PageParams
from app.schemas.users import UserCreate, UserUpdate
from app.security import hash_password
from app.services.platform import access, audit, paging
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor

USER_ADMINS = frozenset({Role.admin})


def _check_region(session: Session, actor: Actor, role: Role, region_code: str) -> None:
    region = session.get(Region, region_code)
    if region is None or (
        not actor.is_system
        and session.scalar(access.regions_within(actor).where(Region.code == region_code)) is None
    ):
        raise Invalid(f"region {region_code} does not exist in your district", field="region_code")
    expected = ROLE_REGION_LEVEL[role]
    if region.level != expected:
        raise Invalid(
            f"a {role.value} needs a {expected.value} region, not a {region.level.value}", field="region_code"
        )


def _check_department(session: Session, role: Role, department: str | None) -> None:
    """A department account belongs to exactly one of the policy's departments; no one else has one."""
    if role != Role.department_user:
        if department is not None:
            raise Invalid("only a department_user belongs to a department", field="department")
        return
    _, policy = policy_service.current_data(session)
    names = [d.name for d in policy.departments]
    if department not in names:
        raise Invalid(f"a department_user needs a department, one of: {', '.join(names)}", field="department")


def create(
    session: Session, settings: Settings, actor: Actor, body: UserCreate, *, is_demo: bool = False
) -> User:
    access.require_role(actor, USER_ADMINS, "user administration")
    _check_region(session, actor, body.role, body.region_code)
    _check_department(session, body.role, body.department)
    if session.scalar(select(User.id).where(User.username == body.username)) is not None:
        raise Conflict(f"username {body.username} is taken", field="username")
    user = User(
        username=body.username,
        password_hash=hash_password(settings, body.password),
        role=body.role,
        region_code=body.region_code,
        department=body.department,
        is_demo=is_demo,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "user.create",
                "user",
                user.id,
                None,
                {
                    "username": body.username,
                    "role": body.role,
                    "region_code": body.region_code,
                    "department": body.department,
                },
            )
        ],
    )
    return user


def _visible(actor: Actor) -> Select[tuple[User]]:
    """Users an admin may manage: those whose region lies in the admin's (command-line work sees all)."""
    access.require_role(actor, USER_ADMINS, "user administration")
    if actor.is_system:
        return select(User)
    return select(User).where(User.region_code.in_(access.regions_within(actor)))


def get(session: Session, actor: Actor, user_id: int, *, lock: bool = False) -> User:
    stmt = _visible(actor).where(User.id == user_id)
    # populate_existing: the caller's own row was loaded (unlocked) when their token was checked.
    user = session.scalar(stmt.with_for_update().execution_options(populate_existing=True) if lock else stmt)
    if user is None:
        raise NotFound(f"user {user_id} not found", field="user_id")
    return user


def list_users(
    session: Session, actor: Actor, page: PageParams, role: Role | None, active: bool | None
) -> tuple[list[User], int]:
    stmt = _visible(actor)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if active is not None:
        stmt = stmt.where(User.active == active)
    return paging.page_of(session, stmt, page, User.id)


def _refuse_own_access_change(actor: Actor, user: User, role: Role, region_code: str) -> None:
    """An admin's own role and region are changed by another admin: changing them oneself would raise
    one's own rights or turn the account manager into a reader of household data."""
    if actor.user_id != user.id:
        return
    if role != user.role:
        raise Forbidden("you cannot change your own role; another admin must do it", field="role")
    if region_code != user.region_code:
        raise Forbidden("you cannot change your own region; another admin must do it", field="region_code")


def _lock_admins(session: Session) -> None:
    """Lock every active admin row, in id order, before the row being changed: two admins demoting or
    deactivating each other at once then run one after the other and cannot both succeed."""
    session.execute(
        select(User.id)
        .where(User.role == Role.admin, User.active.is_(True))
        .order_by(User.id)
        .with_for_update()
    )


def _keep_an_admin(
    session: Session, actor: Actor, user: User, *, active: bool, role: Role, region_code: str
) -> None:
    """Refuse to leave the county with no active admin: nobody could then manage accounts through the
    API. The command line may (it can create an admin, and must be able to stop a compromised one)."""
    if actor.is_system or not (user.active and user.role == Role.admin):
        return
    if active and role == Role.admin and region_code == user.region_code:
        return
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .where(
            User.role == Role.admin,
            User.active.is_(True),
            User.region_code == user.region_code,
            User.id != user.id,
        )
    )
    if others:
        return
    field, change = (
        ("active", "deactivated")
        if not active
        else ("role", "given another role")
        if role != Role.admin
        else ("region_code", "moved to another region")
    )
    raise Conflict(
        f"{user.username} is the last active admin of {user.region_code} and cannot be {change}; "
        "make another account admin first",
        field=field,
    )


def update(session: Session, settings: Settings, actor: Actor, user_id: int, body: UserUpdate) -> User:
    """Apply an admin's change; own role and region, and removing the last admin, are refused."""
    access.require_role(actor, USER_ADMINS, "user administration")
    fields = body.model_dump(exclude_unset=True)
    for name in ("active", "role", "region_code", "password", "unlock"):
        if name in fields and fields[name] is None:
            raise Invalid(f"{name} must not be null", field=name)
    if body.active is False or body.role is not None or body.region_code is not None:
        _lock_admins(session)
    user = get(session, actor, user_id, lock=True)
    before = {
        "active": user.active,
        "role": user.role,
        "region_code": user.region_code,
        "department": user.department,
    }
    role = body.role or user.role
    region_code = body.region_code or user.region_code
    if "department" in fields:
        department = fields["department"]
    else:  # a role change away from department_user drops the department
        department = user.department if role == Role.department_user else None
    active = user.active if body.active is None else body.active
    _refuse_own_access_change(actor, user, role, region_code)
    if "role" in fields or "region_code" in fields:
        _check_region(session, actor, role, region_code)
    if "role" in fields or "department" in fields:
        _check_department(session, role, department)
    if department != user.department:
        user.department = department
        user.token_version += 1  # what the account may read changed: its tokens go
    _keep_an_admin(session, actor, user, active=active, role=role, region_code=region_code)
    if active != user.active:
        user.active = active
        user.token_version += 1
    if role != user.role:
        user.role = role
        user.token_version += 1
    user.region_code = region_code
    changes = audit.diff(
        before,
        {
            "active": user.active,
            "role": user.role,
            "region_code": user.region_code,
            "department": user.department,
        },
    )
    if body.password is not None:
        user.password_hash = hash_password(settings, body.password)
        user.token_version += 1
        changes["password"] = {"before": "***", "after": "***"}
    if body.unlock:
        user.failed_logins, user.locked_until = 0, None
        changes["unlock"] = {"before": None, "after": True}
    session.flush()
    if changes:
        audit.record(session, settings, actor, [audit.Change("user.update", "user", user.id, None, changes)])
    return user
