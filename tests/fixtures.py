"""Plain factory helpers and fixtures shared by the tests (no factory library)."""

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import db
from app.config import Settings
from app.models.enums import Role
from app.pii import id_check_digit
from app.schemas.users import UserCreate
from app.services.platform import users as user_service
from app.services.platform.access import Actor

__all__ = [
    "COUNTY",
    "DECISIONS",
    "TOWNSHIP_1",
    "TOWNSHIP_2",
    "VILLAGE_A",
    "VILLAGE_B",
    "VILLAGE_C",
    "Accounts",
    "accounts",
    "cadre",
    "case_action",
    "decide_case",
    "household_body",
    "make_id",
    "member_body",
    "new_household",
    "free_port",
    "live_server",
    "poor",
    "race",
    "to_district_decision",
    "report_body",
]

COUNTY = "530402000000"
TOWNSHIP_1 = "530402202000"  # 洛河彝族乡
VILLAGE_A = "530402202201"  # 洛河村
VILLAGE_B = "530402202202"  # 把者岱村, same township as A
TOWNSHIP_2 = "530402201000"  # 小石桥彝族乡
VILLAGE_C = "530402201201"  # 响水村, another township
PASSWORD = "correct-horse-battery"

ACCOUNT_SPECS: dict[str, tuple[Role, str]] = {
    "cadre_a": (Role.village_cadre, VILLAGE_A),
    "cadre_b": (Role.village_cadre, VILLAGE_B),
    "cadre_c": (Role.village_cadre, VILLAGE_C),
    "township_1": (Role.township_reviewer, TOWNSHIP_1),
    "township_2": (Role.township_reviewer, TOWNSHIP_2),
    "district": (Role.district_officer, COUNTY),
    "department": (Role.department_user, COUNTY),
    "department_2": (Role.department_user, COUNTY),  # another department's account
    "admin": (Role.admin, COUNTY),
    "platform": (Role.platform_client, COUNTY),
}

# each department account belongs to one department
DEPARTMENTS = {
    "department": "医保",
    "department_2": "民政",
    "department_edu": "教育",
    "department_ems": "应急",
    "department_hr": "人社",
}
ACCOUNT_SPECS |= dict.fromkeys(DEPARTMENTS, (Role.department_user, COUNTY))

_serial = itertools.count(1)


def make_id(
    birth: date = date(1980, 5, 17), seq: int | None = None, male: bool = True, area: str = "530402"
) -> str:
    """A valid 18-character resident ID number (GB 11643 checksum)."""
    n = next(_serial) if seq is None else seq
    code = (n % 500) * 2 + (1 if male else 0)
    first17 = f"{area}{birth:%Y%m%d}{code:03d}"
    return first17 + id_check_digit(first17)


def member_body(
    relation: str = "户主", *, male: bool = True, birth: date = date(1980, 5, 17), **extra: Any
) -> dict[str, Any]:
    return {
        "name": "测试" + relation,
        "id_number": make_id(birth, male=male),
        "relation": relation,
        "sex": "男" if male else "女",
        "birth_date": birth.isoformat(),
        "labour_capacity": "普通劳动力",
        **extra,
    }


def household_body(
    village: str = VILLAGE_A,
    *,
    household_no: str | None = None,
    members: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "household_no": household_no or f"T{village[-6:]}-{next(_serial):05d}",
        "village_code": village,
        "address": "一组 12 号",
        "phone": "13812345678",
        "household_type": "脱贫户",
        "members": members
        if members is not None
        else [
            member_body("户主", birth=date(1970, 3, 1)),
            member_body("配偶", male=False, birth=date(1972, 8, 9)),
            member_body("之子", birth=date(2000, 1, 15)),
        ],
        **extra,
    }


def report_body(
    client_ref: str,
    start: str,
    end: str,
    *,
    wages: Any = "3000",
    business: Any = "2000",
    prop: Any = "100",
    transfer: Any = "900",
    cost: Any = "500",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "client_ref": client_ref,
        "period_start": start,
        "period_end": end,
        "income": {
            "wages": wages,
            "business": business,
            "property": prop,
            "transfer": transfer,
            "production_cost": cost,
        },
        **extra,
    }


class Accounts:
    """Users by nickname (see ACCOUNT_SPECS), created and logged in on first use."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.ids: dict[str, int] = {}
        self._headers: dict[str, dict[str, str]] = {}

    def create(self, name: str) -> int:
        if name not in self.ids:
            role, region = ACCOUNT_SPECS[name]
            with db.session_scope() as session:
                user = user_service.create(
                    session,
                    self.settings,
                    Actor.system("tests"),
                    UserCreate(
                        username=name,
                        password=PASSWORD,
                        role=role,
                        region_code=region,
                        department=DEPARTMENTS.get(name),
                    ),
                )
                self.ids[name] = user.id
        return self.ids[name]

    def tokens(self, name: str) -> dict[str, Any]:
        self.create(name)
        if ACCOUNT_SPECS[name][0] == Role.platform_client:
            # a platform account cannot log in (it signs its requests); a token is minted to check that
            # one (say, issued before that rule) still opens nothing
            from app.models import User
            from app.services.platform import auth

            with db.session_scope() as session:
                user = session.get(User, self.ids[name])
                assert user is not None
                return dict(auth.tokens_for(session, self.settings, user).model_dump())
        response = self.client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    def log_in_again(self) -> None:
        """Fresh tokens on next use: after the clock has moved past the old ones' lifetime."""
        self._headers.clear()

    def __getitem__(self, name: str) -> dict[str, str]:
        if name not in self._headers:
            self._headers[name] = {"Authorization": f"Bearer {self.tokens(name)['access_token']}"}
        return self._headers[name]


@pytest.fixture
def accounts(client: TestClient, settings: Settings) -> Accounts:
    return Accounts(client, settings)


@pytest.fixture
def cadre(accounts: Accounts) -> dict[str, str]:
    """The cadre of village A, the village most tests work in."""
    return accounts["cadre_a"]


def new_household(client: TestClient, headers: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    response = client.post("/api/v1/households", json=household_body(**kwargs), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def poor(client: TestClient, accounts: Accounts) -> int:
    """A household at 7,000 a head in 2025, in cadre_a's village."""
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    body = report_body(
        "2025", "2025-01-01", "2025-12-31", wages="21000", business="0", prop="0", transfer="0", cost="0"
    )
    assert (
        client.post(f"/api/v1/households/{household['id']}/reports", json=body, headers=cadre).status_code
        == 201
    )
    return int(household["id"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def live_server(app: FastAPI, clean_db: None) -> Iterator[str]:
    """The app on a free port, served by uvicorn in a thread (the test's clock and database)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def race(app: FastAPI, calls: list[Callable[[TestClient], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls at the same moment, each from its own client and thread."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            barrier.wait()
            results[index] = calls[index](client)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# a village's cadre and its township's reviewer (ACCOUNT_SPECS)
CADRE_OF = {VILLAGE_A: "cadre_a", VILLAGE_B: "cadre_b", VILLAGE_C: "cadre_c"}
TOWNSHIP_OF = {VILLAGE_A: "township_1", VILLAGE_B: "township_1", VILLAGE_C: "township_2"}
DECISIONS: dict[str, dict[str, Any]] = {
    "confirmed": {
        "action": "confirm",
        "monitoring_category": "脱贫不稳定户",
        "risk_types": ["因务工就业不稳"],
    },
    "rejected": {"action": "reject", "reason": "收入未低于监测线"},
    "withdrawn": {"action": "close", "reason": "重复登记"},
}


def case_action(client: TestClient, headers: dict[str, str], case_id: int, **body: Any) -> httpx.Response:
    return client.post(f"/api/v1/cases/{case_id}/actions", json=body, headers=headers)


def to_district_decision(
    client: TestClient, accounts: Accounts, case_id: int, village: str = VILLAGE_A
) -> None:
    """The village verifies, reviews and announces; the notice has run its days (its end is moved to
    today in the database); the township approves."""
    from app.clock import local_today
    from app.models import Case

    cadre, today = accounts[CADRE_OF[village]], local_today().isoformat()
    steps: list[dict[str, Any]] = [
        {
            "action": "verify",
            "visited_on": today,
            "visitors": ["李文"],
            "findings": "核实属实",
            "consent_signed": True,
        },
        {"action": "review", "held_on": today, "outcome": "agreed", "attendees": 21},
        {"action": "notice", "starts_on": today, "objections": ""},
    ]
    for body in steps:
        response = case_action(client, cadre, case_id, **body)
        assert response.status_code == 200, response.text
    with db.session_scope() as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.notice_ends_on = local_today()
    approved = case_action(client, accounts[TOWNSHIP_OF[village]], case_id, action="approve")
    assert approved.json()["step"] == "district_decision", approved.text


def decide_case(
    client: TestClient, accounts: Accounts, case_id: int, outcome: str, village: str = VILLAGE_A
) -> None:
    """Take the case through the procedure to the district's decision (withdrawn: closed where it is)."""
    if outcome != "withdrawn":
        to_district_decision(client, accounts, case_id, village)
    response = case_action(client, accounts["district"], case_id, **DECISIONS[outcome])
    assert (response.status_code, response.json()["outcome"]) == (200, outcome), response.text
