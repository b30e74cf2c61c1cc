"""Where the service posts to. A URL is checked in full before it is stored (scheme, host, port, no
credentials, nothing a header could be smuggled in with); at delivery its host is resolved and the
address refused unless it is public or an admin allowed that exact address, so a webhook cannot reach
into the county's own network (SSRF). The connection then goes to the address that was checked
(app/services/platform/delivery.py), so a name cannot resolve to another address between check and connect.

Reasons given here are safe to show through the API: they never name the addresses that were tried.
"""

import ipaddress
import re
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOSTNAME = re.compile(rf"^{LABEL}(?:\.{LABEL})*$")
# Resolvers (inet_aton) and browsers read a name whose last label is a number as an IPv4 address:
# 2130706433, 0x7f000001, 017700000001 and 127.1 are all 127.0.0.1.
NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
PORT = re.compile(r"^[0-9]{1,5}$")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Web ports, or unprivileged ones: not SSH, SMTP or the other services of the low ports.
WEB_PORTS = frozenset({80, 443})
FIRST_UNPRIVILEGED_PORT = 1024
# Addresses that carry an IPv4 address inside (NAT64, 6to4): checked as that address.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class Refused(Exception):
    """A URL, or an address, the service does not post to. `reason` names neither."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unresolved(Exception):
    """The host name did not resolve (or not in time): worth trying again later."""


@dataclass(frozen=True)
class Url:
    text: str
    scheme: str
    host: str  # a lower-case host name, or an IP address in its standard form
    port: int
    target: str  # path and query, as sent in the request line
    address: IPAddress | None  # the host, when it is an address

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if isinstance(self.address, ipaddress.IPv6Address) else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def host(text: str) -> tuple[str, IPAddress | None]:
    """A host name or an IP address in its standard form, lower-cased; Refused otherwise, and for
    numbers that resolvers read as addresses (2130706433, 0x7f000001, 017700000001, 127.1)."""
    value = text.lower()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        address = None
    if address is not None:
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            raise Refused("an address with a zone (%) is not accepted")
        return str(address), address
    value = value.removesuffix(".")
    if len(value) > 253 or not HOSTNAME.match(value):
        raise Refused("not a host name or IP address")
    if NUMERIC_LABEL.match(value.rsplit(".", 1)[-1]):
        raise Refused("write an IP address as four decimal numbers (a.b.c.d), or give a host name")
    return value, None


def parse(url: str) -> Url:
    """A URL the service may post to, or Refused with the reason."""
    if any(not ("!" <= ch <= "~") for ch in url):
        raise Refused("the URL may hold no spaces, line breaks, control or non-ASCII characters")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise Refused("not a URL") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise Refused("the URL must start with http:// or https://")
    if "@" in parts.netloc:
        raise Refused("the URL may carry no user name or password (the receiver checks the signature)")
    netloc = parts.netloc
    host_text, port_text = netloc, ""
    closing = netloc.rfind("]")
    colon = netloc.rfind(":")
    if colon > closing:
        host_text, port_text = netloc[:colon], netloc[colon + 1 :]
    if not host_text:
        raise Refused("the URL has no host")
    if port_text and not PORT.match(port_text):
        raise Refused("the port must be a number from 1 to 65535")
    port = int(port_text) if port_text else DEFAULT_PORTS[scheme]
    if not 1 <= port <= 65535:
        raise Refused("the port must be a number from 1 to 65535")
    name, address = host(host_text)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Url(url, scheme, name, port, target, address)


def check_port(port: int) -> None:
    if port not in WEB_PORTS and port < FIRST_UNPRIVILEGED_PORT:
        raise Refused(f"the port must be 80, 443 or from {FIRST_UNPRIVILEGED_PORT} to 65535")


def is_public(address: IPAddress) -> bool:
    """Reachable on the internet: not loopback, link-local (169.254.169.254), private, shared,
    unspecified, multicast or reserved, also when an IPv4 address hides inside an IPv6 one."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return is_public(inner)
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_unspecified
    )


def resolve(url: Url, allowed: frozenset[str] | None, timeout: float) -> str:
    """The address to connect to for `url`: the first of its host's addresses that is public or in
    `allowed` (exact addresses an admin allowed). `allowed` None: any address (a URL the operator set,
    not one an account stored). Refused, or Unresolved when the name does not resolve in time."""
    candidates = [url.address] if url.address is not None else _lookup(url.host, url.port, timeout)
    for address in candidates:
        if allowed is None or is_public(address) or str(address) in allowed:
            return str(address)
    raise Refused("the host's address is not public, and no admin allowed it (webhooks/allowed-hosts)")


def _lookup(name: str, port: int, timeout: float) -> list[IPAddress]:
    """The name's addresses, within `timeout`: getaddrinfo has no timeout of its own, so it runs in a
    daemon thread, which a resolver that never answers leaves behind without holding up the worker (or
    its shutdown)."""
    found: list[list[IPAddress] | BaseException] = []
    done = threading.Event()

    def look_up() -> None:
        try:
            infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
            found.append([ipaddress.ip_address(str(info[4][0])) for info in infos])
        except BaseException as exc:  # handed to the caller's thread
            found.append(exc)
        finally:
            done.set()

    threading.Thread(target=look_up, name="egress-resolve", daemon=True).start()
    if not done.wait(max(timeout, 0.001)):
        raise Unresolved("the host name was not resolved in time")
    [result] = found
    if isinstance(result, OSError | UnicodeError | ValueError):
        raise Unresolved("the host name could not be resolved")
    if isinstance(result, BaseException):
        raise result
    return result
