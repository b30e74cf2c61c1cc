"""The webhook allow-list: the hosts an admin lets region webhooks point at. It is data, changed through
the API and audited, so the office can add a partner's host without a redeploy.

An entry is a host name or an exact IP address. A webhook's URL must name one of them. At delivery its
host must resolve to a public address, or to an address that is itself on the list: an IP address
entry is how an admin allows one exact address inside the county's network (services/platform/egress.py)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import Conflict, Invalid, NotFound
from app.models import WebhookAllowedHost, WebhookEndpoint
from app.models.enums import Role
from app.services.platform import access, audit, egress
from app.services.platform.access import Actor

ADMINS = frozenset({Role.admin})


def normalise(host: str) -> str:
    """A host name or an IP address in its standard form, lower-cased; 422 naming `host` otherwise
    (numbers that resolvers read as addresses, such as 2130706433 or 127.1, too)."""
    try:
        return egress.host(host.strip())[0]
    except egress.Refused as exc:
        raise Invalid(f"{host.strip()!r}: {exc.reason}", field="host") from None


def kind(host: str) -> str:
    """`address` for an exact IP address, `name` for a host name."""
    return "address" if _address(host) is not None else "name"


def _address(host: str) -> egress.IPAddress | None:
    try:
        return egress.host(host)[1]
    except egress.Refused:  # an entry made before hosts were checked this strictly
        return None


def listing(session: Session, actor: Actor) -> list[WebhookAllowedHost]:
    access.require_role(actor, ADMINS, "reading the webhook allow-list")
    return list(session.scalars(select(WebhookAllowedHost).order_by(WebhookAllowedHost.host)))


def allow(session: Session, settings: Settings, actor: Actor, host: str) -> tuple[WebhookAllowedHost, bool]:
    """Add `host` (already there: unchanged). Returns the entry and whether it was added."""
    access.require_role(actor, ADMINS, "changing the webhook allow-list")
    host = normalise(host)
    existing = session.get(WebhookAllowedHost, host)
    if existing is not None:
        return existing, False
    entry = WebhookAllowedHost(host=host, added_by=actor.username)
    session.add(entry)
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "webhook.allow_host",
                "webhook_allowed_host",
                None,
                None,
                {"host": host, "kind": kind(host), "public": _public(host)},
            )
        ],
    )
    return entry, True


def disallow(session: Session, settings: Settings, actor: Actor, host: str) -> None:
    """Remove `host`; refused while an active webhook points at it (deactivate those first)."""
    access.require_role(actor, ADMINS, "changing the webhook allow-list")
    # the entry as written first: one made before hosts were checked this strictly can still go
    entry = session.get(WebhookAllowedHost, host.strip().lower(), with_for_update=True) or session.get(
        WebhookAllowedHost, normalise(host), with_for_update=True
    )
    if entry is None:
        raise NotFound(f"{host} is not on the webhook allow-list", field="host")
    active = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))).all()
    using = [e.id for e in active if _host_of(e.url) == entry.host]
    if using:
        raise Conflict(f"active webhooks {using} point at {entry.host}: deactivate them first", field="host")
    session.delete(entry)
    audit.record(
        session,
        settings,
        actor,
        [audit.Change("webhook.disallow_host", "webhook_allowed_host", None, None, {"host": entry.host})],
    )


def _host_of(url: str) -> str | None:
    try:
        return egress.parse(url).host
    except egress.Refused:
        return None


def _public(host: str) -> bool | None:
    address = _address(host)
    return None if address is None else egress.is_public(address)


def is_allowed(session: Session, url: egress.Url) -> bool:
    return session.get(WebhookAllowedHost, url.host) is not None


def addresses(session: Session) -> frozenset[str]:
    """The exact addresses an admin allowed: reachable even when not public."""
    hosts = session.scalars(select(WebhookAllowedHost.host)).all()
    return frozenset(h for h in hosts if _address(h) is not None)
