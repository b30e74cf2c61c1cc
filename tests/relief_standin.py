"""A stand-in for the provincial relief platform, run as its own HTTP server in the end-to-end tests:

    python -m uvicorn tests.relief_standin:app --port 9000

It signs and sends applications to Shouwang (POST /control/send), receives Shouwang's callbacks
(POST /callbacks), checks their signatures, records every raw delivery, and can be told to fail, time
out or answer slowly (POST /control/mode). Everything it saw: GET /control/deliveries.
"""

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

app = FastAPI(title="relief platform stand-in")
state: dict[str, Any] = {
    "key_id": "",
    "secret": "",
    "service": "",
    "mode": "ok",  # ok | fail | timeout | slow
    "delay": 0.0,
    "deliveries": [],  # every raw callback, in arrival order
}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


@app.post("/control/configure")
async def configure(request: Request) -> dict[str, str]:
    state.update(await request.json())
    return {"ok": "configured"}


@app.post("/control/mode")
async def mode(request: Request) -> dict[str, Any]:
    body = await request.json()
    state["mode"], state["delay"] = body["mode"], float(body.get("delay", 0))
    return {"mode": state["mode"], "delay": state["delay"]}


@app.get("/control/deliveries")
async def deliveries() -> list[dict[str, Any]]:
    return list(state["deliveries"])


@app.post("/control/send")
async def send(request: Request) -> dict[str, Any]:
    """Sign the given application (or reconciliation) as the platform does, and post it to Shouwang."""
    wanted = await request.json()
    body = json.dumps(wanted["payload"], ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    headers = {
        "content-type": "application/json",
        "x-shouwang-key-id": state["key_id"],
        "x-shouwang-timestamp": timestamp,
        "x-shouwang-signature": sign(state["secret"], timestamp, body),
    }
    path = wanted.get("path", "applications")
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(
            f"{state['service']}/api/v1/integrations/relief-platform/{path}", content=body, headers=headers
        )
    return {"status": answer.status_code, "body": answer.json()}


@app.post("/callbacks")
async def callback(request: Request) -> Response:
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    timestamp = headers.get("x-shouwang-timestamp", "")
    valid = bool(state["secret"]) and hmac.compare_digest(
        sign(state["secret"], timestamp, body), headers.get("x-shouwang-signature", "")
    )
    state["deliveries"].append(
        {
            "at": time.time(),
            "mode": state["mode"],
            "key_id": headers.get("x-shouwang-key-id"),
            "signature_valid": valid,
            "body": body.decode(),
        }
    )
    if state["mode"] == "fail":
        return Response(status_code=503)
    if state["mode"] in ("timeout", "slow"):
        await asyncio.sleep(state["delay"])
    return Response(status_code=200 if valid else 401)
