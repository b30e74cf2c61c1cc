"""Pure ASGI middleware: request ids and access logging, a cap on body size and on requests at work."""

import asyncio
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.context import request_id_var
from app.logs import redact
from app.metrics import RequestMetrics

logger = logging.getLogger("app.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_NUMBER = re.compile(r"/(\d+|[^/]*\d{6,}[^/]*)(?=/|$)")


class RequestContext:
    """Gives each request an id (X-Request-ID, kept if the caller sent a sane one), logs one line and
    counts it in the metrics by its route template."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        # A caller's id is kept for tracing only if it is harmless: it lands in logs and audit rows.
        safe = _SAFE_ID.match(incoming) and redact(incoming) == incoming
        request_id = incoming if safe else new_request_id()
        token = request_id_var.set(request_id)
        root_path = scope.get("root_path", "")
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # Numbers become {id}: lines group by endpoint, and nothing a client typed is logged verbatim
            # (the query string, where personal data could appear, is never logged).
            path = _NUMBER.sub("/{id}", scope.get("path", ""))[:200]
            seconds = time.perf_counter() - started
            # the matched route's template ("/api/v1/households/{household_id}"): a bounded set of labels
            route = _template(scope, root_path)
            self.metrics.observe(scope.get("method", ""), route, status, seconds)
            logger.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "path": path,
                    "status": status,
                    "ms": round(seconds * 1000, 1),
                },
            )
            request_id_var.reset(token)


def new_request_id() -> str:
    """A random id the log redaction leaves whole: about one hex id in 500 holds a run of digits shaped like a
    phone number, and would be logged as "[redacted]", untraceable."""
    while True:
        candidate = uuid.uuid4().hex
        if redact(candidate) == candidate:
            return candidate


def _template(scope: Scope, root_path: str) -> str:
    """The matched route's path template. A route of an included router knows only its own part
    ("/households/{household_id}"): the prefix is what precedes that part, filled in, in the path."""
    template = getattr(scope.get("route"), "path", None)
    if not isinstance(template, str):
        mounted = scope.get("root_path", "")[len(root_path) :]  # a mounted app (the web app's files)
        return f"{mounted}/{{path}}" if mounted else "unmatched"
    filled = template
    for name, value in scope.get("path_params", {}).items():
        filled = re.sub(r"\{" + re.escape(name) + r"(:[^}]*)?\}", str(value).replace("\\", r"\\"), filled)
    path = scope.get("root_path", "")[len(root_path) :] + scope.get("path", "")
    prefix = path[: -len(filled)] if filled and path.endswith(filled) else ""
    return prefix + template


class InFlightLimit:
    """At most `limit` requests at work at once; the others wait here, in the event loop, holding nothing,
    and are let in in the order they came (asyncio's semaphore lets no newcomer past a waiter).

    Sync routes and dependencies run on a pool of 40 threads, and a request takes a database connection
    in its first dependency and keeps it to the end. With more requests under way than threads, every
    thread could be waiting for a connection while the requests holding the connections waited for a
    thread: 48 clients froze the API until the pool's 30 s timeout, then got 500s. Below the thread count,
    a request holding a connection always finds a thread. Inside the body limit: a slow upload is read
    before it takes a place; the place is given back when the answer starts (a download to a slow phone does
    not hold it), and the health and metrics endpoints never wait (the engineer on call reads them when the
    API is busiest), nor do the web app's files."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.places: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in UNLIMITED or path.startswith(FILES):
            await self.app(scope, receive, send)
            return
        if self.places is None:  # made in the server's event loop
            self.places = asyncio.Semaphore(self.limit)
        places = self.places
        await places.acquire()
        held = True

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                places.release()

        async def send_then_give_back(message: Message) -> None:
            if message["type"] == "http.response.start":
                give_back()
            await send(message)

        try:
            await self.app(scope, receive, send_then_give_back)
        finally:
            give_back()


# health and metrics, and the web app's shell and service worker (files: no database, no reason to queue
# behind an export)
UNLIMITED = frozenset({"/healthz", "/readyz", "/metrics", "/", "/sw.js"})
# the web app's other files
FILES = "/static/"


class BodySizeLimit:
    """Refuses bodies over the limit with 413, by Content-Length or while streaming; a path in `larger`
    (a district's import file) has its own limit."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and not length.isdigit():
            await _send_error(
                send, 400, b'{"code":"invalid","message":"bad Content-Length","field":"Content-Length"}'
            )
            return
        if length is not None and int(length) > limit:
            await self._refuse(send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(send, limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, limit: int) -> None:
        payload = (
            b'{"code":"too_large","message":"the request body exceeds '
            + str(limit).encode()
            + b' bytes","field":"body"}'
        )
        await _send_error(send, 413, payload)


async def _send_error(send: Send, status: int, payload: bytes) -> None:
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
