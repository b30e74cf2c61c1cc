"""Personal data: resident ID validation (GB 11643), encryption at rest, keyed look-up hash, masking."""

import hashlib
import hmac
import re
from datetime import date
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet

from app.config import Settings

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# re.ASCII: \d would otherwise accept full-width and other Unicode digits, which int() reads, so one
# person could be registered twice under two spellings of the same number.
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$", re.ASCII)
_PHONE_SHAPE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$", re.ASCII)


def normalise_id_number(value: str) -> str:
    return value.strip().upper()


def id_check_digit(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def validate_id_number(value: str, *, today: date) -> date:
    """Check an 18-character resident ID number; return the birth date it encodes.

    Raises ValueError with a message fit for the client.
    """
    if len(value) != 18:
        raise ValueError("ID number must have 18 characters")
    if not _ID_SHAPE.match(value):
        raise ValueError("ID number must be 17 digits followed by a digit or X")
    if id_check_digit(value[:17]) != value[17]:
        raise ValueError("ID number checksum (GB 11643) does not match")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValueError("ID number encodes a birth date that does not exist") from None
    if born > today or born.year < 1900:
        raise ValueError("ID number encodes an impossible birth date")
    return born


def validate_phone(value: str) -> str:
    phone = value.strip().replace(" ", "")
    if not _PHONE_SHAPE.match(phone):
        raise ValueError("phone must be an 11-digit mobile number or an area-code landline number")
    return phone


def mask_id_number(value: str) -> str:
    return value[:6] + "*" * 8 + value[-4:]


def mask_phone(value: str) -> str:
    return "*" * (len(value) - 4) + value[-4:]


def mask_name(value: str) -> str:
    return value[:1] + "*" * max(len(value) - 1, 1)


class PiiCipher:
    """Encrypts with the newest Fernet key, decrypts with any (MultiFernet), hashes with the look-up key."""

    def __init__(self, fernet_keys: list[str], lookup_key: str) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in fernet_keys])
        self._lookup_key = lookup_key.encode()

    def encrypt(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def decrypt(self, token: bytes) -> str:
        return self._fernet.decrypt(token).decode()

    def rotate(self, token: bytes) -> bytes:
        return self._fernet.rotate(token)

    def lookup_hash(self, id_number: str) -> str:
        return hmac.new(self._lookup_key, id_number.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=8)
def _cipher(keys: tuple[str, ...], lookup_key: str) -> PiiCipher:
    return PiiCipher(list(keys), lookup_key)


def cipher_for(settings: Settings) -> PiiCipher:
    return _cipher(tuple(settings.fernet_keys), settings.lookup_key.get_secret_value())
