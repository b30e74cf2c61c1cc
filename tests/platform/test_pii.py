"""Acceptance 6: raw ID numbers and phones are in no column of any table and in no log line; the look-up
hash depends on the look-up key; encryption keys rotate; lists mask; the log filter redacts."""

import io
import json
import logging
from collections.abc import Iterator
from datetime import date

import pytest
from cryptography.fernet import Fernet, InvalidToken
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import logs
from app.config import DEMO_ENCRYPTION_KEY, Settings
from app.main import create_app
from app.models import Base, Household, Member
from app.pii import PiiCipher, cipher_for, id_check_digit
from tests.fixtures import VILLAGE_A, VILLAGE_B, Accounts, household_body, make_id, member_body, report_body

API = "/api/v1/households"


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Everything the service logs while the test runs, through the service's own logging setup.

    configure_logging replaces the root logger's handlers; afterwards the root logger and the loggers it
    touches get their previous state back (pytest's own per-phase capture handlers are left to pytest).
    """
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    names = ("alembic", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        n: (
            list(logging.getLogger(n).handlers),
            logging.getLogger(n).propagate,
            logging.getLogger(n).disabled,
            logging.getLogger(n).level,
        )
        for n in names
    }
    stream = io.StringIO()
    logs.configure_logging(stream=stream)
    ours = list(root.handlers)
    try:
        yield stream
    finally:
        for handler in ours:
            root.removeHandler(handler)
        for handler in saved_handlers:
            if not type(handler).__module__.startswith("_pytest") and handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(saved_level)
        for n, (handlers, propagate, disabled, level) in saved.items():
            logger = logging.getLogger(n)
            logger.handlers, logger.propagate, logger.disabled = handlers, propagate, disabled
            logger.setLevel(level)


def _dump_database(session: Session) -> str:
    """Every value of every column of every table, as text (bytes decoded too)."""
    parts: list[str] = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)).all():
            for value in row:
                if isinstance(value, bytes | bytearray | memoryview):
                    parts.append(bytes(value).decode("utf-8", errors="replace"))
                    parts.append(bytes(value).decode("latin-1"))
                elif isinstance(value, dict | list):
                    parts.append(json.dumps(value, ensure_ascii=False))
                    parts.append(str(value))
                else:
                    parts.append(str(value))
    return "\n".join(parts)


def _exercise_the_service(client: TestClient, accounts: Accounts) -> tuple[list[str], list[str], int]:
    """Every path that handles personal data: register, read, reveal, update phone, add and change
    members, a member leaving, look-up, duplicates, invalid input, reports. Returns the raw ID numbers,
    the raw phones and how many requests were made."""
    cadre, cadre_b = accounts["cadre_a"], accounts["cadre_b"]
    requests = 0
    ids: list[str] = []
    phones = ["13987654321", "15912340000", "18611112222"]

    members = [
        member_body("户主", birth=date(1966, 2, 3)),
        member_body("配偶", male=False, birth=date(1968, 5, 6)),
        member_body("之子", birth=date(1995, 10, 11)),
    ]
    ids += [m["id_number"] for m in members]
    first = client.post(API, json=household_body(VILLAGE_A, phone=phones[0], members=members), headers=cadre)
    requests += 1
    assert first.status_code == 201, first.text
    hid = first.json()["id"]

    other = [member_body("户主", birth=date(1977, 7, 7))]
    ids += [m["id_number"] for m in other]
    second = client.post(API, json=household_body(VILLAGE_B, phone=phones[1], members=other), headers=cadre_b)
    requests += 1
    assert second.status_code == 201, second.text

    for params in ({}, {"reveal": "true"}):
        response = client.get(f"{API}/{hid}", headers=cadre, params=params)
        requests += 1
        assert response.status_code == 200, response.text
    revealed = response.json()
    assert revealed["phone"] == phones[0]

    update = client.patch(
        f"{API}/{hid}", headers=cadre, json={"version": revealed["version"], "phone": phones[2]}
    )
    requests += 1
    assert update.status_code == 200, update.text

    added = member_body("之女", male=False, birth=date(1999, 12, 1))
    ids.append(added["id_number"])
    response = client.post(f"{API}/{hid}/members", headers=cadre, json=added)
    requests += 1
    assert response.status_code == 201, response.text
    daughter = response.json()

    # A typo in an ID number corrected: both the old and the new number are personal data.
    corrected = make_id(date(1999, 12, 1), male=False)
    ids.append(corrected)
    response = client.patch(
        f"{API}/{hid}/members/{daughter['id']}",
        headers=cadre,
        json={"version": daughter["version"], "id_number": corrected},
    )
    requests += 1
    assert response.status_code == 200, response.text

    son = next(m for m in revealed["members"] if m["relation"] == "之子")
    response = client.patch(
        f"{API}/{hid}/members/{son['id']}",
        headers=cadre,
        json={"version": son["version"], "left_on": "2024-03-01", "left_reason": "分户"},
    )
    requests += 1
    assert response.status_code == 200, response.text

    for headers in (cadre, cadre_b):
        response = client.post(f"{API}/lookup", json={"id_number": ids[0]}, headers=headers)
        requests += 1
        assert response.status_code in (200, 409), response.text

    # Duplicates inside and outside the caller's scope.
    response = client.post(
        API, json=household_body(VILLAGE_A, members=[{**members[1], "relation": "户主"}]), headers=cadre
    )
    requests += 1
    assert response.status_code == 409, response.text
    response = client.post(API, json=household_body(VILLAGE_B, members=[{**members[0]}]), headers=cadre_b)
    requests += 1
    assert response.status_code == 409, response.text

    # Invalid input carrying personal data: a bad checksum, and a malformed phone.
    bad = ids[0][:17] + ("1" if ids[0][17] != "1" else "2")
    ids.append(bad)
    response = client.post(
        API, json=household_body(VILLAGE_A, members=[member_body("户主", id_number=bad)]), headers=cadre
    )
    requests += 1
    assert response.status_code == 422, response.text
    assert bad not in response.text
    phones.append("1391234567")  # ten digits: refused, and still nobody's business
    response = client.post(API, json=household_body(VILLAGE_A, phone=phones[-1]), headers=cadre)
    requests += 1
    assert response.status_code == 422, response.text

    response = client.post(
        f"{API}/{hid}/reports", headers=cadre, json=report_body("q1", "2024-01-01", "2024-03-31")
    )
    requests += 1
    assert response.status_code == 201, response.text
    response = client.post(
        "/api/v1/reports/batch",
        headers=cadre,
        json={
            "reports": [
                {**report_body("q2", "2024-04-01", "2024-06-30"), "household_id": hid},
                {
                    **report_body("q3", "2024-07-01", "2024-09-30"),
                    "household_no": first.json()["household_no"],
                },
            ]
        },
    )
    requests += 1
    assert response.status_code == 201, response.text

    history = client.get(f"{API}/{hid}/history", headers=cadre)
    requests += 1
    assert history.status_code == 200
    return ids, phones, requests


def test_no_raw_id_number_or_phone_in_any_table_or_log_line(
    client: TestClient, accounts: Accounts, session: Session, captured_logs: io.StringIO
) -> None:
    for name in ("cadre_a", "cadre_b"):
        accounts[name]  # log in before capturing, so only household traffic is counted below
    captured_logs.truncate(0)
    captured_logs.seek(0)

    ids, phones, requests = _exercise_the_service(client, accounts)
    logging.getLogger("app.test").error("failed to import member %s", ids[0])  # a slip the filter must catch
    try:
        raise ValueError(f"cannot parse phone {phones[0]}")
    except ValueError:
        logging.getLogger("app.test").exception("import failed")

    dump = _dump_database(session)
    # The dump is real: the household and the masked values are in it.
    assert "*******2222" in dump
    assert ids[0][:6] + "********" + ids[0][-4:] in dump
    for raw in ids + phones:
        assert raw not in dump, f"{raw} is stored in the clear"

    text = captured_logs.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    request_lines = [
        line for line in lines if line.get("message") == "request" and line.get("name") == "app.access"
    ]
    assert len(request_lines) >= requests
    paths = {line["path"] for line in request_lines}
    assert "/api/v1/households/{id}" in paths, paths
    assert "/api/v1/households/{id}/members/{id}" in paths, paths
    assert "[redacted]" in text  # the deliberate slips above were caught, not lost
    for raw in ids + phones:
        assert raw not in text, f"{raw} appears in the log"


def test_stored_values_are_encrypted_and_hashed_with_the_configured_keys(
    client: TestClient, accounts: Accounts, session: Session, settings: Settings
) -> None:
    id_number = make_id(date(1966, 2, 3))
    body = household_body(
        VILLAGE_A,
        phone="13987654321",
        members=[member_body("户主", id_number=id_number, birth=date(1966, 2, 3))],
    )
    assert client.post(API, json=body, headers=accounts["cadre_a"]).status_code == 201

    member = session.scalars(select(Member)).one()
    household = session.scalars(select(Household)).one()
    cipher = cipher_for(settings)
    assert cipher.decrypt(member.id_number_encrypted) == id_number
    assert household.phone_encrypted is not None
    assert cipher.decrypt(household.phone_encrypted) == "13987654321"
    assert member.id_number_hash == cipher.lookup_hash(id_number)
    other_key = PiiCipher(settings.fernet_keys, settings.lookup_key.get_secret_value() + "-rotated")
    assert member.id_number_hash != other_key.lookup_hash(id_number)


def test_lookup_hash_changes_with_the_lookup_key() -> None:
    key = Fernet.generate_key().decode()
    id_number = make_id(date(1980, 1, 1))
    one = PiiCipher([key], "lookup-key-one-" + "a" * 32)
    two = PiiCipher([key], "lookup-key-two-" + "b" * 32)

    assert one.lookup_hash(id_number) == one.lookup_hash(id_number)
    assert one.lookup_hash(id_number) != two.lookup_hash(id_number)
    assert one.lookup_hash(id_number) != one.lookup_hash(make_id(date(1980, 1, 1)))
    assert id_number not in one.lookup_hash(id_number)
    assert len(one.lookup_hash(id_number)) == 64


def test_encryption_keys_rotate() -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    id_number = make_id(date(1980, 1, 1))
    old = PiiCipher([old_key], "lookup")
    rotated = PiiCipher([new_key, old_key], "lookup")
    new_only = PiiCipher([new_key], "lookup")

    token = old.encrypt(id_number)
    assert id_number.encode() not in token
    assert rotated.decrypt(token) == id_number  # old data stays readable after the new key is added
    fresh = rotated.encrypt(id_number)
    assert new_only.decrypt(fresh) == id_number  # new data is written under the newest key
    with pytest.raises(InvalidToken):
        old.decrypt(fresh)
    with pytest.raises(InvalidToken):
        new_only.decrypt(token)
    assert new_only.decrypt(rotated.rotate(token)) == id_number


def test_reveal_still_works_after_a_new_key_is_added(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    body = household_body(VILLAGE_A, phone="13987654321")
    created = client.post(API, json=body, headers=accounts["cadre_a"]).json()

    new_key = Fernet.generate_key().decode()
    keys = SecretStr(f"{new_key},{DEMO_ENCRYPTION_KEY}")
    rotated_settings = settings.model_copy(update={"encryption_keys": keys})
    assert rotated_settings.fernet_keys[0] == new_key
    rotated_app = create_app(rotated_settings)
    try:
        with TestClient(rotated_app) as rotated:
            response = rotated.get(
                f"{API}/{created['id']}", headers=accounts["cadre_a"], params={"reveal": "true"}
            )
            assert response.status_code == 200, response.text
            assert response.json()["phone"] == "13987654321"
            shown = [m["id_number"] for m in response.json()["members"]]
            assert shown == [m["id_number"] for m in body["members"]]
            # A duplicate is still detected: the look-up key did not change.
            again = rotated.post(
                API,
                json=household_body(VILLAGE_A, members=[{**body["members"][0]}]),
                headers=accounts["cadre_a"],
            )
            assert again.status_code == 409, again.text
    finally:
        rotated_app.state.engine.dispose()


def test_list_responses_mask_id_numbers_and_phones(client: TestClient, accounts: Accounts) -> None:
    phones = ["13987654321", "15912340000"]
    bodies = [household_body(VILLAGE_A, phone=phones[0]), household_body(VILLAGE_A, phone=phones[1])]
    for body in bodies:
        assert client.post(API, json=body, headers=accounts["cadre_a"]).status_code == 201
    raw_ids = [m["id_number"] for body in bodies for m in body["members"]]

    for who in ("cadre_a", "township_1", "district", "department"):
        response = client.get(API, headers=accounts[who])
        assert response.status_code == 200, response.text
        assert sorted(h["phone"] for h in response.json()["items"]) == ["*******0000", "*******4321"], who
        for raw in raw_ids + phones:
            assert raw not in response.text, who

    lookup = client.post(f"{API}/lookup", json={"id_number": raw_ids[0]}, headers=accounts["cadre_a"])
    assert lookup.status_code == 200
    assert lookup.json()[0]["phone"] == "*******4321"
    for raw in raw_ids + phones:
        assert raw not in lookup.text


def _id_ending_in_x() -> str:
    for seq in range(100):
        first17 = f"530402198005170{seq:02d}"
        if id_check_digit(first17) == "X":
            return first17 + "X"
    raise AssertionError("no ID number ending in X found")


@pytest.mark.parametrize(
    "raw",
    [
        make_id(date(1980, 5, 17)),
        _id_ending_in_x(),
        _id_ending_in_x().lower(),
        "13812345678",
        "0877-2123456",
    ],
)
def test_redact_masks_personal_data_that_slipped_into_a_message(raw: str) -> None:
    message = f"could not save member {raw}, retrying"
    redacted = logs.redact(message)
    assert raw not in redacted
    assert "[redacted]" in redacted
    assert redacted.startswith("could not save member ")


def test_redact_keeps_other_numbers() -> None:
    message = "household 42 region 530402202201 took 1234 ms, request abc123"
    assert logs.redact(message) == message


def test_log_filter_redacts_arguments_extras_and_exceptions(captured_logs: io.StringIO) -> None:
    id_number, phone = make_id(date(1980, 5, 17)), "13812345678"
    logger = logging.getLogger("app.test")
    logger.warning("member %s phone %s", id_number, phone, extra={"detail": f"id={id_number}"})
    try:
        raise RuntimeError(f"duplicate key {id_number}")
    except RuntimeError:
        logger.exception("insert failed")

    text = captured_logs.getvalue()
    assert "insert failed" in text
    assert "member [redacted] phone [redacted]" in text
    assert "RuntimeError" in text
    assert id_number not in text
    assert phone not in text
