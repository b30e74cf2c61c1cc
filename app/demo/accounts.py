"""The demo accounts: one per role, created or given fresh passwords, and which of them are active (a
production server refuses to start while any is)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.demo.regions import COUNTY, DEMO_TOWNSHIP, DEMO_VILLAGE
from app.models import User
from app.models.enums import Role
from app.security import generate_password, hash_password
from app.services.platform import audit
from app.services.platform.access import Actor

DEMO_ACCOUNTS = (
    ("demo-admin", Role.admin, COUNTY),
    ("demo-district", Role.district_officer, COUNTY),
    ("demo-department", Role.department_user, COUNTY),
    ("demo-township", Role.township_reviewer, DEMO_TOWNSHIP),
    ("demo-cadre", Role.village_cadre, DEMO_VILLAGE),
    ("demo-platform", Role.platform_client, COUNTY),
)
DEMO_DEPARTMENT = {"demo-department": "医保"}


def reset_demo_accounts(session: Session, settings: Settings) -> list[tuple[str, str, Role, str]]:
    """Create the demo accounts, or give them fresh passwords; returns (username, password, role, region)."""
    audit.lock_chain(session)
    accounts = []
    for username, role, region in DEMO_ACCOUNTS:
        password = generate_password()
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is None:
            user = User(
                username=username,
                role=role,
                region_code=region,
                department=DEMO_DEPARTMENT.get(username),
                is_demo=True,
                password_hash=hash_password(settings, password),
            )
            session.add(user)
        else:
            user.department = DEMO_DEPARTMENT.get(username)
            user.password_hash = hash_password(settings, password)
            user.active, user.failed_logins, user.locked_until = True, 0, None
        accounts.append((username, password, role, region))
    session.flush()
    audit.record(
        session,
        settings,
        Actor.system("demo"),
        [audit.Change("user.demo_reset", "user", None, None, {"usernames": [a[0] for a in accounts]})],
    )
    return accounts


def active_demo_accounts(session: Session) -> list[str]:
    return list(
        session.scalars(select(User.username).where(User.is_demo.is_(True), User.active.is_(True))).all()
    )
