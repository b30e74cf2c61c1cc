"""A visit's photos (a bill, the house): an image by its content, not by what the phone declared, of a
size a phone sends; encrypted at rest in their own table, read only by those who may read the household,
and never part of an outbound message (webhooks and relief callbacks carry case facts, not visits)."""

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from app.config import Settings
from app.errors import Conflict, NotFound, TooLarge, UnsupportedMedia
from app.models import VisitPhoto
from app.pii import cipher_for
from app.services.fieldwork import visits
from app.services.platform import audit
from app.services.platform.access import Actor

# what a phone's camera or screenshot gives, and every browser shows
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PIXELS = 40_000_000  # a 40-megapixel photo; more is a decompression bomb, not a picture of a bill


@dataclass(frozen=True, slots=True)
class Picture:
    media_type: str
    width: int
    height: int


def identify(data: bytes) -> Picture:
    """What the bytes are, read from the content: JPEG, PNG or WebP, whole and of a sane size (415)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind, (width, height) = image.format, image.size
                if kind not in MEDIA_TYPES:
                    raise UnsupportedMedia(
                        f"a photo must be JPEG, PNG or WebP, not {kind}",
                        field="photo",
                        message_zh="照片须为 JPEG、PNG 或 WebP 格式",
                    )
                if width * height > MAX_PIXELS:
                    raise TooLarge(f"a photo may have at most {MAX_PIXELS} pixels", field="photo")
                image.verify()  # the file's structure: a corrupt PNG is refused here …
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # … and every pixel decoded: a JPEG cut short in its upload is refused here
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise UnsupportedMedia(
            "the file is not a JPEG, PNG or WebP image",
            field="photo",
            message_zh="照片须为 JPEG、PNG 或 WebP 格式",
        ) from exc
    return Picture(MEDIA_TYPES[kind], width, height)


def add(
    session: Session, settings: Settings, actor: Actor, visit_id: int, data: bytes
) -> tuple[VisitPhoto, bool]:
    """Keep a photo of the visit (True), or answer the same photo kept before (False)."""
    visit = visits.readable_visit(session, actor, visit_id)
    visits.writable_household(session, actor, visit.household_id)  # locks it: photos are counted under it
    if len(data) > settings.visit_photo_max_bytes:
        raise TooLarge(f"a photo may have at most {settings.visit_photo_max_bytes} bytes", field="photo")
    if not data:
        raise UnsupportedMedia("the photo is empty", field="photo")
    picture = identify(data)
    digest = hashlib.sha256(data).hexdigest()
    known = session.scalars(
        select(VisitPhoto).where(VisitPhoto.visit_id == visit.id, VisitPhoto.sha256 == digest)
    ).one_or_none()
    if known is not None:
        return known, False
    count = session.scalar(select(func.count()).where(VisitPhoto.visit_id == visit.id)) or 0
    if count >= settings.visit_photo_max_count:
        raise Conflict(f"a visit keeps at most {settings.visit_photo_max_count} photos", field="photo")
    photo = VisitPhoto(
        visit_id=visit.id,
        media_type=picture.media_type,
        size=len(data),
        sha256=digest,
        width=picture.width,
        height=picture.height,
        content_encrypted=cipher_for(settings).encrypt_bytes(data),
        uploaded_by_id=actor.user_id,
    )
    session.add(photo)
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "visit.photo.add",
                "visit_photo",
                photo.id,
                visit.household_id,
                {"visit_id": visit.id, "media_type": photo.media_type, "size": photo.size, "sha256": digest},
            )
        ],
    )
    return photo, True


def read(
    session: Session, settings: Settings, actor: Actor, visit_id: int, photo_id: int
) -> tuple[str, bytes]:
    """The photo's media type and bytes, for a reader of the visit's household; 404 otherwise."""
    visit = visits.readable_visit(session, actor, visit_id)
    photo = session.scalars(
        select(VisitPhoto)
        .where(VisitPhoto.id == photo_id, VisitPhoto.visit_id == visit.id)
        .options(undefer(VisitPhoto.content_encrypted))
    ).one_or_none()
    if photo is None:
        raise NotFound(f"photo {photo_id} of visit {visit_id} not found", field="photo_id")
    return photo.media_type, cipher_for(settings).decrypt_bytes(photo.content_encrypted)
