"""走访记录: a visit is recorded once (offline drafts repeat), read by its village, township and district,
refused elsewhere; its photos are images by their content, of a phone's size, encrypted at rest, and never
travel in outbound messages; a visit that finds a problem opens a case in the same request."""

import io
import json
import random
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from app import db
from app.config import Settings
from app.models import OutboxMessage, ReliefMessage, VisitPhoto, WebhookAllowedHost
from app.services.relief import relief_outbox
from tests.fixtures import TOWNSHIP_1, Accounts, free_port, new_household, race
from tests.platform.test_webhooks import Receiver
from tests.relief.test_relief import Platform, application, callback, platform, walk  # noqa: F401  (fixtures)


def png(width: int = 40, height: int = 30, colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "blue").save(out, "JPEG")
    return out.getvalue()


def visit_body(ref: str = "visit-1", **changes: Any) -> dict[str, Any]:
    body = {
        "client_ref": ref,
        "visited_on": "2026-11-28",
        "kind": "routine",
        "visitors": ["李文", "张帮"],
        "findings": "户主腰伤，暂不能外出务工",
        "flags": ["income_change"],
    }
    return body | changes


def record(client: TestClient, headers: dict[str, str], household: int, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/households/{household}/visits", json=body, headers=headers)


def upload(
    client: TestClient, headers: dict[str, str], visit: int, data: bytes, kind: str = "image/png"
) -> Any:
    return client.post(
        f"/api/v1/visits/{visit}/photos", content=data, headers=headers | {"Content-Type": kind}
    )


def test_a_visit_with_a_photo_is_read_by_its_village_and_township_and_refused_elsewhere(
    client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    household = int(new_household(client, cadre)["id"])
    stored = record(client, cadre, household, visit_body())
    assert stored.status_code == 201, stored.text
    visit = stored.json()["id"]
    # the offline draft sent again: the same visit, nothing stored twice; its id on another body: refused
    again = record(client, cadre, household, visit_body())
    assert (again.status_code, again.json()["id"]) == (200, visit)
    other = record(client, cadre, household, visit_body(findings="另一次走访"))
    assert (other.status_code, other.json()["field"]) == (409, "client_ref")

    image = png()
    added = upload(client, cadre, visit, image, kind="application/octet-stream")  # told by the content
    assert added.status_code == 201, added.text
    assert (added.json()["media_type"], added.json()["width"], added.json()["height"]) == (
        "image/png",
        40,
        30,
    )
    assert upload(client, cadre, visit, image).status_code == 200  # the same photo again: kept once
    photo = added.json()["id"]
    by_township = upload(client, accounts["township_1"], visit, jpeg(), kind="image/jpeg")
    assert by_township.status_code == 201, by_township.text

    for reader in ("cadre_a", "township_1", "district"):
        got = client.get(f"/api/v1/visits/{visit}/photos/{photo}", headers=accounts[reader])
        assert got.status_code == 200, (reader, got.text)
        assert (got.content, got.headers["content-type"]) == (image, "image/png")
        assert "no-store" in got.headers["cache-control"]
    listed = client.get(f"/api/v1/households/{household}/visits", headers=accounts["township_1"]).json()
    assert [len(v["photos"]) for v in listed["items"]] == [2]
    assert listed["items"][0]["visitors"] == ["李文", "张帮"]

    for outsider, status in (("cadre_b", 404), ("cadre_c", 404), ("township_2", 404), ("department", 403)):
        assert (
            client.get(f"/api/v1/visits/{visit}/photos/{photo}", headers=accounts[outsider]).status_code
            == status
        )
        assert client.get(f"/api/v1/visits/{visit}", headers=accounts[outsider]).status_code == status
    assert upload(client, accounts["cadre_b"], visit, png(colour="green")).status_code == 404
    assert record(client, accounts["cadre_b"], household, visit_body("b-1")).status_code == 404
    assert record(client, accounts["district"], household, visit_body("d-1")).status_code == 403

    # encrypted at rest: the stored column is not the image
    with db.session_scope() as session:
        raw = session.scalars(select(VisitPhoto.content_encrypted).where(VisitPhoto.id == photo)).one()
    assert image not in raw
    assert b"PNG" not in raw


def test_an_oversize_or_non_image_photo_is_refused_and_nothing_is_kept(
    client: TestClient, accounts: Accounts, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    cadre = accounts["cadre_a"]
    household = int(new_household(client, cadre)["id"])
    visit = record(client, cadre, household, visit_body()).json()["id"]
    monkeypatch.setattr(settings, "visit_photo_max_bytes", 2048)
    big = png(1000, 1000, "white")[:0] + bytes(png(600, 600)) + b"\0" * 4096
    too_big = upload(client, cadre, visit, big)
    assert (too_big.status_code, too_big.json()["field"]) == (413, "photo")
    text = upload(client, cadre, visit, "这不是照片".encode() * 10, kind="image/jpeg")  # declared an image
    assert (text.status_code, text.json()["field"]) == (415, "photo")
    assert "JPEG" in text.json()["message"]
    assert text.json()["message_zh"] == "照片须为 JPEG、PNG 或 WebP 格式"
    truncated = upload(client, cadre, visit, jpeg()[:200], kind="image/jpeg")
    assert truncated.status_code == 415
    noise = io.BytesIO()
    Image.frombytes("RGB", (40, 40), random.Random(7).randbytes(40 * 40 * 3)).save(noise, "JPEG")
    half = noise.getvalue()[: len(noise.getvalue()) // 2]  # an upload cut short: the header is whole
    assert upload(client, cadre, visit, half, kind="image/jpeg").status_code == 415
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    assert upload(client, cadre, visit, gif.getvalue(), kind="image/gif").status_code == 415
    assert upload(client, cadre, visit, b"", kind="image/png").status_code == 415
    assert client.get(f"/api/v1/visits/{visit}", headers=cadre).json()["photos"] == []


def test_a_visit_that_finds_illness_opens_a_case_and_no_outbound_message_carries_the_visit(
    client: TestClient, accounts: Accounts
) -> None:
    with db.session_scope() as session:
        session.add(WebhookAllowedHost(host="127.0.0.1", added_by="test"))
    hook = {"region_code": TOWNSHIP_1, "url": f"http://127.0.0.1:{free_port()}/hook", "secret": "s" * 40}
    assert client.post("/api/v1/webhooks", json=hook, headers=accounts["admin"]).status_code == 201
    cadre = accounts["cadre_a"]
    household = int(new_household(client, cadre)["id"])
    no_flag = record(client, cadre, household, visit_body(flags=[], open_case={"level": "high"}))
    assert (no_flag.status_code, no_flag.json()["field"]) == (422, "open_case")

    found = record(
        client, cadre, household, visit_body("ill-1", flags=["illness"], open_case={"level": "high"})
    )
    assert found.status_code == 201, found.text
    visit = found.json()
    assert visit["signal_outcome"] == "opened"
    assert visit["case_id"] is not None
    photo = upload(client, cadre, visit["id"], png()).json()
    case = client.get(f"/api/v1/cases/{visit['case_id']}", headers=accounts["township_1"]).json()
    assert case["source"] == "cadre_report"
    assert any(r.get("text") == "走访发现：患病" and r.get("risk_type") == "因病" for r in case["reasons"])
    # the visit's own words and photos stay on the visit: not in the case, not in any outbound message
    assert "腰伤" not in json.dumps(case, ensure_ascii=False)
    with db.session_scope() as session:
        payloads = [m.payload for m in session.scalars(select(OutboxMessage))]
        payloads += [m.payload for m in session.scalars(select(ReliefMessage))]
    assert payloads, "the new case was not announced to the webhook"
    sent = json.dumps(payloads, ensure_ascii=False)
    assert "腰伤" not in sent
    assert "visit" not in sent
    assert "photo" not in sent
    assert str(photo["id"]) not in [str(v) for p in payloads for k, v in p.items() if k != "case_id"]


def test_the_same_visit_sent_twice_at_once_is_stored_once(
    app: FastAPI, client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    household = int(new_household(client, cadre)["id"])
    url = f"/api/v1/households/{household}/visits"
    answers = race(app, [lambda c: c.post(url, json=visit_body("twice"), headers=cadre)] * 4)
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert client.get(url, headers=cadre).json()["total"] == 1


def test_a_visit_on_an_applicants_household_never_travels_in_the_relief_callbacks(
    platform: Platform,  # noqa: F811
    callback: Receiver,  # noqa: F811
    client: TestClient,
    accounts: Accounts,
    settings: Settings,
) -> None:
    case_id = platform.post("applications", application()).json()["case_id"]
    household = client.get(f"/api/v1/cases/{case_id}", headers=accounts["cadre_a"]).json()["household_id"]
    found = visit_body("applicant-1", flags=["illness"], open_case={"level": "high"}, findings="户主腰伤住院")
    visited = record(client, accounts["cadre_a"], household, found)
    assert (visited.status_code, visited.json()["signal_outcome"]) == (201, "attached"), visited.text
    image = png()
    photo = upload(client, accounts["cadre_a"], visited.json()["id"], image).json()
    walk(client, accounts, case_id)  # verified, reviewed, announced, approved, confirmed: each told back
    assert relief_outbox.deliver_due(db.session_scope, settings) >= 5
    sent = b"".join(body for _, body in callback.posts)
    # the case's own facts go back (its steps, the day the village verified); the visit's do not
    for words in ("腰伤", "张帮", "走访发现", "photos"):
        assert words.encode() not in sent, words
    assert f"/photos/{photo['id']}".encode() not in sent
    assert image[8:40] not in sent  # not the photo's bytes
