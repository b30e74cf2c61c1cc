"""Optimistic concurrency: the client names the version it read (body field or If-Match)."""

from app.errors import Conflict, Invalid, PreconditionFailed, PreconditionRequired


def parse_if_match(header: str | None) -> int | None:
    if header is None:
        return None
    text = header.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    try:
        return int(text)
    except ValueError:
        raise Invalid('If-Match must be the version from the ETag, e.g. "3"', field="If-Match") from None


def check_version(current: int, body_version: int | None, if_match: str | None) -> None:
    """412 for a stale If-Match, 409 for a stale body version, 428 when neither is given."""
    header_version = parse_if_match(if_match)
    if header_version is None and body_version is None:
        raise PreconditionRequired("send the version you read (field version or If-Match)", field="version")
    if header_version is not None and header_version != current:
        raise PreconditionFailed(f"stale version {header_version}; current is {current}", field="If-Match")
    if body_version is not None and body_version != current:
        raise Conflict(f"stale version {body_version}; current is {current}", field="version")


def etag(version: int) -> str:
    return f'"{version}"'
