"""Browser sessions: the API's own tokens, kept in HttpOnly, SameSite=Strict cookies the page's script
cannot read, with a double-submit CSRF token that every write must echo in a header. A bearer token (the
API's clients) needs none of this; a cookie never authenticates a write without the header."""

import hmac
import secrets

from fastapi import Request, Response

from app.errors import Forbidden
from app.schemas.users import TokenPair

ACCESS = "sw_access"
REFRESH = "sw_refresh"
CSRF = "sw_csrf"
CSRF_HEADER = "x-csrf-token"
REFRESH_PATH = "/api/v1/auth/session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFRESH_MAX_AGE = 14 * 24 * 3600


def set_cookies(request: Request, response: Response, tokens: TokenPair, *, production: bool) -> str:
    """The session's cookies; returns the CSRF token (also readable by the page as a cookie). In production
    they are Secure whatever the scheme the app saw (TLS usually ends at a proxy before it)."""
    secure = production or request.url.scheme == "https"
    csrf = secrets.token_urlsafe(32)
    common = {"secure": secure, "samesite": "strict"}
    response.set_cookie(
        ACCESS,
        tokens.access_token,
        max_age=tokens.expires_in,
        path="/",
        httponly=True,
        **common,  # type: ignore[arg-type]
    )
    response.set_cookie(
        REFRESH,
        tokens.refresh_token,
        max_age=REFRESH_MAX_AGE,
        path=REFRESH_PATH,
        httponly=True,
        **common,  # type: ignore[arg-type]
    )
    response.set_cookie(CSRF, csrf, max_age=REFRESH_MAX_AGE, path="/", httponly=False, **common)  # type: ignore[arg-type]
    return csrf


def clear_cookies(response: Response) -> None:
    for name, path in ((ACCESS, "/"), (REFRESH, REFRESH_PATH), (CSRF, "/")):
        response.delete_cookie(name, path=path, samesite="strict")


def check_same_origin(request: Request) -> None:
    """A request that sets or uses the session's cookies comes from this service's own pages: another
    site's form must not log the browser into an account of its choosing (login CSRF)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise Forbidden("the session is opened from this service's own pages only", field="origin")
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise Forbidden("the session is opened from this service's own pages only", field="origin")


def check_csrf(request: Request) -> None:
    """A write authenticated by cookie must come from this service's pages and carry the CSRF cookie's
    value in the header."""
    if request.method in SAFE_METHODS:
        return
    check_same_origin(request)
    sent = request.headers.get(CSRF_HEADER, "")
    expected = request.cookies.get(CSRF, "")
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("this write needs the page's CSRF token (header X-CSRF-Token)", field=CSRF_HEADER)
