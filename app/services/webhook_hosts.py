"""The webhook allow-list: the hosts an admin lets region webhooks point at. It is data, changed through
the API and audited, so the office can add a partner's host without a redeploy."""

import ipaddress
import re
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import Conflict, Invalid, NotFound
from app.models import WebhookAllowedHost, WebhookEndpoint
from app.models.enums import Role
from app.services import access, audit
from app.services.access import Actor

ADMINS = frozenset({Role.admin})
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOSTNAME = re.compile(rf"^{LABEL}(?:\.{LABEL})*$")


def normalise(host: str) -> str:
    """A host name or IP address, lower-cased; 422 naming `host` otherwise."""
    host = host.strip().lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if len(host) > 253 or not HOSTNAME.match(host):
        raise Invalid(f"{host!r} is not a host name or IP address", field="host")
    return host


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
        [audit.Change("webhook.allow_host", "webhook_allowed_host", None, None, {"host": host})],
    )
    return entry, True


def disallow(session: Session, settings: Settings, actor: Actor, host: str) -> None:
    """Remove `host`; refused while an active webhook points at it (deactivate those first)."""
    access.require_role(actor, ADMINS, "changing the webhook allow-list")
    entry = session.get(WebhookAllowedHost, normalise(host), with_for_update=True)
    if entry is None:
        raise NotFound(f"{host} is not on the webhook allow-list", field="host")
    active = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))).all()
    using = [e.id for e in active if host_of(e.url) == entry.host]
    if using:
        raise Conflict(f"active webhooks {using} point at {entry.host}: deactivate them first", field="host")
    session.delete(entry)
    audit.record(
        session,
        settings,
        actor,
        [audit.Change("webhook.disallow_host", "webhook_allowed_host", None, None, {"host": entry.host})],
    )


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def is_allowed(session: Session, url: str) -> bool:
    host = host_of(url)
    return bool(host) and session.get(WebhookAllowedHost, host) is not None
