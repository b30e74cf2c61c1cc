from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from app.models.enums import Role
from app.schemas.common import ReadModel, StrictModel
from app.schemas.households import RegionCode


def _has_a_letter(value: str) -> str:
    # A username must never be a phone or ID number: usernames appear in logs and audit rows.
    if not any(c.isascii() and c.isalpha() for c in value):
        raise ValueError("a username needs at least one letter")
    return value


Username = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{3,64}$"), AfterValidator(_has_a_letter)]
Password = Annotated[str, Field(min_length=10, max_length=128)]


DepartmentName = Annotated[
    str, Field(min_length=1, max_length=16, description="one of the policy's departments (医保, 民政 …)")
]


class UserCreate(StrictModel):
    username: Username
    password: Password
    role: Role
    region_code: RegionCode
    department: DepartmentName | None = Field(
        default=None, description="required for a department_user, for no one else"
    )


class UserUpdate(StrictModel):
    active: bool | None = Field(default=None, description="false deactivates: every token stops working")
    role: Role | None = None
    region_code: RegionCode | None = None
    department: DepartmentName | None = None
    password: Password | None = None
    unlock: bool | None = Field(default=None, description="true clears failed-login lockout")


class UserRead(ReadModel):
    id: int
    username: str
    role: Role
    region_code: str
    department: str | None
    active: bool
    is_demo: bool
    locked_until: datetime | None
    created_at: datetime
    updated_at: datetime


class TokenPair(ReadModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")


class RefreshIn(StrictModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class Me(ReadModel):
    id: int
    username: str
    role: Role
    region_code: str
    department: str | None = None
