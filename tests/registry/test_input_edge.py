"""Input at the edge (issue 16, "bad input that still gets a 500 or is stored wrongly"): text that is not
text, ids and dates no column or calendar of ours can hold, ID numbers from nowhere, and personal numbers
typed into free text."""

import importlib
import json
import pkgutil
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from pydantic import Field, PlainValidator, SkipValidation, ValidationError
from sqlalchemy import func, select

import app.schemas
from app import db
from app.clock import local_today
from app.config import Settings
from app.models import Assistance, Base, Member, Signal
from app.models.enums import Role
from app.pii import cipher_for, id_check_digit, mask_pii_text, validate_id_number
from app.schemas.common import MAX_ID, StrictModel, may_hold_text
from tests.cases.test_assistance import monitored
from tests.fixtures import VILLAGE_A, Accounts, household_body, make_id, member_body, new_household
from tests.registry.test_validation import unchanged

SIGNALS = "/api/v1/department-signals"
PHONE = "13987654321"


def post_raw(client: TestClient, url: str, payload: Any, headers: dict[str, str]) -> Response:
    """JSON as any client may write it: an unpaired surrogate travels as the escape \\ud800."""
    body = json.dumps(payload, ensure_ascii=True).encode()
    return client.post(url, content=body, headers=headers | {"content-type": "application/json"})


def refused(response: Response, field: str) -> str:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] == field, body
    return str(body["message"])


def department_item(**overrides: Any) -> dict[str, Any]:
    return {
        "department": "医保",
        "id_number": make_id(date(1961, 2, 3)),
        "name": "某某",
        "village_code": VILLAGE_A,
        "signal_type": "medical_self_pay",
        "occurred_on": "2026-01-06",
        "note": "住院",
    } | overrides


def all_rows_text() -> str:
    """Every row of every table, as text: what a database dump would show."""
    with db.session_scope() as session:
        return "\n".join(
            repr(tuple(row))
            for table in Base.metadata.sorted_tables
            for row in session.execute(select(table))
        )


# --- text that is not text ------------------------------------------------------------------------


class TestUnpairedSurrogates:
    def test_a_department_signal_holding_one_is_refused_and_the_review_list_still_reads(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        """It used to be stored, and then GET /department-signals/unmatched answered 500 for everyone."""
        department = accounts["department"]
        with unchanged():
            note = post_raw(client, SIGNALS, {"signals": [department_item(note="住\ud800院")]}, department)
            assert "surrogate" in refused(note, "signals[0].note")
            id_number = post_raw(
                client, SIGNALS, {"signals": [department_item(id_number="\ud800")]}, department
            )
            refused(id_number, "signals[0].id_number")  # a 500 at once, before
        listed = client.get(f"{SIGNALS}/unmatched", headers=accounts["district"])
        assert listed.status_code == 200, listed.text

    def test_in_a_household_body_the_field_is_named(self, client: TestClient, accounts: Accounts) -> None:
        body = household_body()
        body["members"][1]["name"] = "测\udc00试"
        cadre = accounts["cadre_a"]
        with unchanged():
            assert "surrogate" in refused(
                post_raw(client, "/api/v1/households", body, cadre), "members[1].name"
            )

    def test_stored_text_holding_one_is_still_read_back(self, client: TestClient, accounts: Accounts) -> None:
        """Defence in depth for rows stored before the check: JSON columns can hold the escape (SQLite's
        text and PostgreSQL's json type keep it as written); reading such a row back must not answer 500."""
        accounts.create("department")
        row = {"department": "医保", "note": "a\ud800b", "signal_type": "x\udfffy"}
        with db.session_scope() as session:
            session.add(
                Signal(
                    household_id=None,
                    source="department",
                    level="high",
                    sent_by="department",
                    reasons=[{"code": "department_unmatched", "row": row}],
                    outcome="unmatched",
                    origin="json line 1",
                    note="kept",
                )
            )
        listed = client.get(f"{SIGNALS}/unmatched", headers=accounts["district"])
        assert listed.status_code == 200, listed.text
        assert listed.json()["items"][0]["row"]["signal_type"] == "x\ufffdy"


class TestControlCharacters:
    def test_single_line_fields_refuse_control_characters_and_line_breaks(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        cadre = accounts["cadre_a"]
        household = new_household(client, cadre)
        url = f"/api/v1/households/{household['id']}"
        cases = [
            ("POST", "/api/v1/households", household_body(address="一组\x0712号"), "address"),
            ("POST", "/api/v1/households", household_body(address="一组\n12号"), "address"),
            ("POST", "/api/v1/households", household_body(address="一组\u202812号"), "address"),
            ("PATCH", url, {"version": household["version"], "address": "二组\x1b[31m"}, "address"),
            ("POST", f"{url}/members", member_body("之女", male=False, ethnicity="彝\x85族"), "ethnicity"),
            ("POST", f"{url}/members", member_body("之女", male=False, name="小\t红"), "name"),
        ]
        with unchanged():
            for method, target, body, field in cases:
                message = refused(client.request(method, target, json=body, headers=cadre), field)
                assert "control character" in message or "single line" in message, message

    def test_free_text_may_span_lines(self, client: TestClient, accounts: Accounts) -> None:
        household = new_household(client, accounts["cadre_a"])
        body = {"household_id": household["id"], "description": "户主住院\r\n\t妻子务工收入中断\n"}
        response = client.post("/api/v1/cases", json=body, headers=accounts["cadre_a"])
        assert response.status_code == 201, response.text
        case = client.get(f"/api/v1/cases/{response.json()['case_id']}", headers=accounts["cadre_a"]).json()
        assert "户主住院\n\t妻子务工收入中断" in json.dumps(case["reasons"], ensure_ascii=False).replace(
            "\\n", "\n"
        ).replace("\\t", "\t")
        bell = client.post(
            "/api/v1/cases", json=body | {"description": "户主住院\x07"}, headers=accounts["cadre_a"]
        )
        refused(bell, "description")

    def test_a_case_action_is_checked_like_any_body(self, client: TestClient, accounts: Accounts) -> None:
        cadre = accounts["cadre_a"]
        household = new_household(client, cadre)
        opened = client.post(
            "/api/v1/cases", json={"household_id": household["id"], "description": "突发"}, headers=cadre
        )
        url = f"/api/v1/cases/{opened.json()['case_id']}/actions"
        verify = {
            "action": "verify",
            "visited_on": local_today().isoformat(),
            "visitors": ["李文", "王\x08华"],
            "findings": "属实\ud800",
            "consent_signed": True,
        }
        with unchanged():
            response = post_raw(client, url, verify, cadre)
            refused(response, "visitors[1]")
            assert {e["field"] for e in response.json()["errors"]} == {"findings", "visitors[1]"}
            odd_action = post_raw(client, url, {"action": "ver\ud800ify"}, cadre)
            assert 400 <= odd_action.status_code < 500, odd_action.text

    def test_in_a_batch_item_the_place_is_named(self, client: TestClient, accounts: Accounts) -> None:
        items = [department_item(), department_item(note="a\x00b")]
        department = accounts["department"]
        with unchanged():
            refused(
                client.post(SIGNALS, json={"signals": items}, headers=department),
                "signals[1].note",
            )

    def test_query_path_and_form_values_are_checked_too(self, client: TestClient, accounts: Accounts) -> None:
        query = client.get(
            "/api/v1/households", params={"household_no": "T1\x01"}, headers=accounts["cadre_a"]
        )
        refused(query, "household_no")
        path = client.delete("/api/v1/webhooks/allowed-hosts/exa%07mple.org", headers=accounts["admin"])
        refused(path, "host")
        accounts.create("cadre_a")
        form = client.post("/api/v1/auth/token", data={"username": "cadre_a\x1b", "password": "x" * 12})
        refused(form, "username")

    def test_every_field_that_can_hold_text_is_checked(self) -> None:
        """The check goes only on fields that can hold text; it is added as each model class is made, and
        this names any field of any request model that can hold text but would not be checked."""
        unchecked = [
            f"{model.__qualname__}.{name}"
            for model in request_models()
            for name, field in model.model_fields.items()
            if may_hold_text(field.annotation)
            and not any(
                name in validator.info.fields
                for key, validator in model.__pydantic_decorators__.field_validators.items()
                if key.startswith("_text_only_")
            )
        ]
        assert not unchecked, unchecked

    def test_fields_declared_at_each_level_of_a_model_are_checked(self) -> None:
        class Parent(StrictModel):
            note: str
            count: int = 0
            tags: list[str] = []

        class Child(Parent):
            extra: str | None = None
            amounts: dict[str, Decimal] = {}

        with pytest.raises(ValidationError) as refused_:
            Child.model_validate(
                {"note": "a\x07", "tags": ["ok", "b\x00"], "extra": "c\u2028d", "amounts": {"d\x1b": 1}}
            )
        assert {tuple(e["loc"]) for e in refused_.value.errors()} == {
            ("note",),
            ("tags", 1),
            ("extra",),
            ("amounts", "d\x1b"),
        }
        assert Child.model_validate({"note": " plain ", "count": 3}).note == "plain"

    @pytest.mark.parametrize(
        ("annotation", "holds_text"),
        [
            (str, True),
            (int | None, False),
            (Decimal, False),
            (date, False),
            (Role, False),
            (list[str], True),
            (list[int], True),  # a list is walked whatever it holds
            (Literal["a", "b"], False),
            (Annotated[int, Field(ge=1)], False),
            (Annotated[str | None, Field(max_length=3)], True),
            (Any, True),
            (StrictModel, False),  # a nested model checks its own fields
            (Annotated[int, PlainValidator(lambda v: v)], True),  # its validator may hand back text
            (SkipValidation[int], True),
        ],
    )
    def test_which_field_types_can_hold_text(self, annotation: Any, holds_text: bool) -> None:
        assert may_hold_text(annotation) is holds_text


# --- integers: within the database's columns ---------------------------------------------------------


def request_models() -> Iterator[type[StrictModel]]:
    """Every request body model (StrictModel and its subclasses), once all schema modules are loaded."""
    for module in pkgutil.iter_modules(app.schemas.__path__):
        importlib.import_module(f"app.schemas.{module.name}")
    importlib.import_module("app.api.router")
    seen: set[type[StrictModel]] = set()
    todo: list[type[StrictModel]] = [StrictModel]
    while todo:
        model = todo.pop()
        for sub in model.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    yield from sorted(seen, key=lambda m: m.__qualname__)


def integer_nodes(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        if schema.get("type") == "integer":
            yield path, schema
        for key, value in schema.items():
            yield from integer_nodes(value, f"{path}.{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from integer_nodes(value, f"{path}[{i}]")


def test_every_integer_in_a_request_body_has_an_upper_bound() -> None:
    unbounded = [
        f"{model.__qualname__}{path}"
        for model in request_models()
        for path, node in integer_nodes(model.model_json_schema())
        if node.get("maximum", 2**63) > 2**63 - 1
    ]
    assert not unbounded, unbounded


def test_every_integer_query_and_path_parameter_has_an_upper_bound(client: TestClient) -> None:
    unbounded = [
        f"{path} {param['name']}"
        for path, operations in client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for operation in operations.values()
        for param in operation.get("parameters", [])
        for _, node in integer_nodes(param.get("schema"))
        if node.get("maximum", 2**63) > MAX_ID
    ]
    assert not unbounded, unbounded


@pytest.mark.parametrize("user_id", [2**31, 2**63, 2**70], ids=["2^31", "2^63", "2^70"])
def test_reassigning_a_case_to_an_id_no_column_holds_is_a_422(
    client: TestClient, accounts: Accounts, user_id: int
) -> None:
    """2^63 answered 500 on SQLite."""
    household = new_household(client, accounts["cadre_a"])
    opened = client.post(
        "/api/v1/cases",
        json={"household_id": household["id"], "description": "突发"},
        headers=accounts["cadre_a"],
    )
    case_id = opened.json()["case_id"]
    body = {"action": "reassign", "user_id": user_id, "reason": "换人"}
    with unchanged():
        response = client.post(f"/api/v1/cases/{case_id}/actions", json=body, headers=accounts["cadre_a"])
        refused(response, "user_id")


def test_a_version_no_column_holds_is_a_422(client: TestClient, accounts: Accounts) -> None:
    household = new_household(client, accounts["cadre_a"])
    with unchanged():
        response = client.patch(
            f"/api/v1/households/{household['id']}",
            json={"version": 2**63, "address": "二组"},
            headers=accounts["cadre_a"],
        )
        refused(response, "version")


# --- dates: a plausible range for each kind -----------------------------------------------------------


def date_fields() -> Iterator[tuple[type[StrictModel], str]]:
    for model in request_models():
        properties = model.model_json_schema().get("properties", {})
        for name in model.model_fields:
            if '"format": "date"' in json.dumps(properties.get(name, {})):
                yield model, name


def test_every_date_in_a_request_body_has_a_plausible_range() -> None:
    assert len(list(date_fields())) >= 15
    accepted = []
    for model, name in date_fields():
        for value in ("0001-01-01", "9999-12-31", "1899-12-31", 0, 1_700_000_000, "0"):
            try:
                model.__pydantic_validator__.validate_assignment(model.model_construct(), name, value)
            except ValidationError:
                continue
            accepted.append(f"{model.__qualname__}.{name} accepts {value!r}")
    assert not accepted, accepted


@pytest.mark.parametrize(
    "started_on", ["0001-01-01", "9999-12-31", 0, "1999-12-31", "a year and 2 days ahead"]
)
def test_an_assistance_start_date_out_of_range_is_refused(
    client: TestClient, accounts: Accounts, started_on: Any
) -> None:
    """0001-01-01, 9999-12-31 and 0 were stored as a measure's start."""
    if started_on == "a year and 2 days ahead":
        started_on = (local_today() + timedelta(days=367)).isoformat()
    hid = monitored(client, accounts, ("30000",))
    cadre = accounts["cadre_a"]
    measure = {"category": "健康帮扶", "item": "大病救助", "department": "医保局", "started_on": started_on}
    with unchanged():
        response = client.post(f"/api/v1/households/{hid}/assistance", json=measure, headers=cadre)
        refused(response, "started_on")


def test_an_assistance_start_date_may_be_planned_within_a_year(
    client: TestClient, accounts: Accounts
) -> None:
    hid = monitored(client, accounts, ("30000",))
    for started_on in (date(2000, 1, 1), local_today() + timedelta(days=366)):
        measure = {
            "category": "健康帮扶",
            "item": "大病救助",
            "department": "医保局",
            "started_on": str(started_on),
        }
        response = client.post(
            f"/api/v1/households/{hid}/assistance", json=measure, headers=accounts["cadre_a"]
        )
        assert response.status_code == 201, response.text


def test_date_ranges_are_documented_in_the_openapi(client: TestClient) -> None:
    schemas = client.app.openapi()["components"]["schemas"]  # type: ignore[attr-defined]
    started_on = json.dumps(schemas["AssistanceCreate"]["properties"]["started_on"])
    assert "2000-01-01" in started_on
    period = json.dumps(schemas["ReportCreate"]["properties"]["period_start"])
    assert "2000-01-01" in period
    assert "today" in period


# --- ID numbers: a real area code ---------------------------------------------------------------------


def id_with_area(area: str, birth: str = "19800517", seq: str = "123") -> str:
    first17 = f"{area}{birth}{seq}"
    return first17 + id_check_digit(first17)


@pytest.mark.parametrize(
    "area",
    # no province; a prefecture of 00; within 玉溪 (the district's prefecture, now and before 1997) a
    # county that never existed
    ["000000", "990101", "200101", "720101", "530012", "100000", "530499", "530401", "532499"],
    ids=lambda a: f"area-{a}",
)
def test_an_id_number_from_no_province_is_refused(client: TestClient, accounts: Accounts, area: str) -> None:
    with pytest.raises(ValueError, match="area code"):
        validate_id_number(id_with_area(area), today=local_today())
    body = household_body()
    body["members"][1]["id_number"] = id_with_area(area, "19720809", "124")
    body["members"][1]["birth_date"] = "1972-08-09"
    cadre = accounts["cadre_a"]
    with unchanged():
        assert "area code" in refused(
            client.post("/api/v1/households", json=body, headers=cadre), "members[1].id_number"
        )


@pytest.mark.parametrize(
    "area",
    [
        "530402",  # 红塔区
        "532401",  # 玉溪地区玉溪市: Hongta's code before 1997, still on its older residents' IDs
        "530403",  # 江川区, a neighbouring county
        "530421",  # 江川县, as it was before 2015
        "530481",  # 澄江市
        "530102",  # 昆明五华区: outside the district's prefecture, the province's check only
        "110101",  # 北京东城区
        "469001",  # 五指山市, a county under Hainan's province directly
        "810000",  # a Hong Kong resident's residence permit
        "830000",  # a Taiwan resident's residence permit
        "953104",  # a foreigner's permanent residence ID (2023 form): issued in Yunnan, to a Myanmar national
    ],
)
def test_real_area_codes_are_accepted(area: str) -> None:
    assert validate_id_number(id_with_area(area), today=local_today()) == date(1980, 5, 17)


def test_a_member_registered_before_the_area_check_can_still_be_edited_without_a_500(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    """An ID number stored before area codes were checked is read again when the birth date changes: it
    is refused by name (fix the ID number), never a 500."""
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    member = household["members"][1]
    bogus = id_with_area("990101", "19720809", "124")  # household_body's spouse: born 1972-08-09
    with db.session_scope() as session:
        row = session.get(Member, member["id"])
        assert row is not None
        row.id_number_encrypted = cipher_for(settings).encrypt(bogus)
    with db.session_scope() as session:
        version = session.scalar(select(Member.version).where(Member.id == member["id"]))
    url = f"/api/v1/households/{household['id']}/members/{member['id']}"
    with unchanged():
        response = client.patch(url, json={"version": version, "birth_date": "1972-08-10"}, headers=cadre)
        refused(response, "id_number")
        assert "area code" in response.json()["errors"][0]["message"]


# --- personal numbers in free text are stored masked --------------------------------------------------


ID = make_id(date(1980, 5, 17), seq=5)
ID_MASKED = f"{ID[:6]}********{ID[-4:]}"


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("电话13812345678", "电话*******5678"),
        ("电话 138 1234 5678。", "电话 *******5678。"),
        ("+86 13812345678", "*******5678"),
        ("+8613812345678", "*******5678"),
        ("１３８１２３４５６７８", "*******5678"),
        ("座机0877-2123456", "座机*******3456"),
        (f"身份证{ID}号", f"身份证{ID_MASKED}号"),
        (f"身份证 {ID[:6]} {ID[6:14]} {ID[14:]}", f"身份证 {ID_MASKED}"),
        (f"末位错 {ID[:17]}{'1' if ID[17] != '1' else '2'}", f"末位错 {ID[:6]}********{ID[14:17]}"),
        ("旧证530402800517001", "旧证530402*****7001"),
    ],
)
def test_ids_and_phones_in_free_text_are_masked(raw: str, masked: str) -> None:
    assert mask_pii_text(raw).startswith(masked)


def test_other_numbers_in_free_text_are_kept() -> None:
    kept = (
        "户号 T202201-00001，区划 530402202201，金额 12345.67 元，2026-01-06 住院 15 天，"
        "单号 20260106123456789，卡号 6222021234567890123"
    )
    assert mask_pii_text(kept) == kept


def test_a_note_with_a_phone_and_an_id_number_is_stored_masked_everywhere(
    client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    stranger = make_id(date(1961, 2, 3))
    household = new_household(client, cadre, address=f"一组 12 号，电话 {PHONE}")
    assert household["address"] == "一组 12 号，电话 *******4321"
    report = {
        "household_id": household["id"],
        "description": f"户主住院，联系其子 {PHONE}，身份证 {stranger}",
    }
    case_id = client.post("/api/v1/cases", json=report, headers=cadre).json()["case_id"]
    verify = {
        "action": "verify",
        "visited_on": local_today().isoformat(),
        "visitors": ["李文"],
        "findings": f"属实。\n电话：{PHONE}",
        "consent_signed": True,
    }
    assert client.post(f"/api/v1/cases/{case_id}/actions", json=verify, headers=cadre).status_code == 200
    unmatched = department_item(note=f"家属电话 {PHONE}")
    assert (
        client.post(SIGNALS, json={"signals": [unmatched]}, headers=accounts["department"]).status_code == 200
    )
    hid = monitored(client, accounts, ("30000",))
    measure = {
        "category": "就业帮扶",
        "item": f"公益岗位，联系 {PHONE}",
        "department": "人社局",
        "started_on": "2026-06-01",
    }
    assert client.post(f"/api/v1/households/{hid}/assistance", json=measure, headers=cadre).status_code == 201

    case = client.get(f"/api/v1/cases/{case_id}", headers=accounts["district"])
    assert "*******4321" in case.text
    assert stranger[:6] + "********" + stranger[-4:] in case.text
    measures = client.get(f"/api/v1/households/{hid}/assistance", headers=cadre).json()["measures"]
    assert measures[0]["item"] == "公益岗位，联系 *******4321"
    dump = all_rows_text()
    assert PHONE not in dump
    assert stranger not in dump
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Assistance)) == 1
        stored = session.scalar(select(Signal.reasons).where(Signal.outcome == "unmatched"))
        assert stored is not None
        assert stored[0]["row"]["note"] == "家属电话 *******4321"
