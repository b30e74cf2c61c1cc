"""Personal data: resident ID validation (GB 11643), encryption at rest, keyed look-up hash, masking."""

import csv
import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import date
from functools import cache, lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet

from app.config import Settings

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# re.ASCII: \d would otherwise accept full-width and other Unicode digits, which int() reads, so one
# person could be registered twice under two spellings of the same number.
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$", re.ASCII)
_PHONE_SHAPE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$", re.ASCII)
# GB/T 2260 province-level codes (national, stable since 1997), and 83 for Taiwan residents' residence
# permits (81, 82 and 83 permits carry "810000", "820000", "830000"). An ID number's first two digits
# name the province where it was first issued, so codes since replaced (e.g. Yuxi's 5324xx before 1997)
# stay valid below the province level: that is why only the province is checked against a list.
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
        "65", "71", "81", "82", "83",
    }
)  # fmt: skip
_PERMIT_AREAS = frozenset({"810000", "820000", "830000"})


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
    if not area_code_plausible(value[:6]):
        raise ValueError(f"ID number begins with {value[:6]}, which is not a Chinese area code (GB/T 2260)")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValueError("ID number encodes a birth date that does not exist") from None
    if born > today or born.year < 1900:
        raise ValueError("ID number encodes an impossible birth date")
    return born


def area_code_plausible(area: str) -> bool:
    """Whether an ID number's first six digits can be an area code: a province-level code, then a
    prefecture (never 00 below a province); or a foreigner's permanent residence number (9, the issuing
    province, a nationality code). Within the district's own prefecture (current and former codes), the
    county must be one the district knows (app/data/county_codes.csv)."""
    if area[:1] == "9":
        return area[1:3] in PROVINCE_CODES
    if area in _PERMIT_AREAS:
        return True
    counties = known_county_codes()
    if area[:4] in {code[:4] for code in counties}:
        return area in counties
    return area[:2] in PROVINCE_CODES and area[2:4] != "00"


@cache
def known_county_codes() -> frozenset[str]:
    """The county-level area codes of the district's prefecture, current and former: IDs issued there
    carry one of them (older residents keep the code of the county as it was when the ID was issued)."""
    with (Path(__file__).parent / "data" / "county_codes.csv").open(encoding="utf-8") as f:
        return frozenset(row["code"] for row in csv.DictReader(f))


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

    def encrypt_bytes(self, value: bytes) -> bytes:
        return self._fernet.encrypt(value)

    def decrypt_bytes(self, token: bytes) -> bytes:
        return self._fernet.decrypt(token)

    def rotate(self, token: bytes) -> bytes:
        return self._fernet.rotate(token)

    def lookup_hash(self, id_number: str) -> str:
        return hmac.new(self._lookup_key, id_number.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=8)
def _cipher(keys: tuple[str, ...], lookup_key: str) -> PiiCipher:
    return PiiCipher(list(keys), lookup_key)


def cipher_for(settings: Settings) -> PiiCipher:
    return _cipher(tuple(settings.fernet_keys), settings.lookup_key.get_secret_value())


# Personal data typed into free text (notes, findings, descriptions): found here and masked before it
# is stored. Full-width digits count as digits; groups may be split by a space or a hyphen.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")
_TEXT_ID18 = re.compile(r"(?<![0-9])[0-9]{6}[ -]?[0-9]{8}[ -]?[0-9]{3}[0-9Xx](?![0-9])")
_TEXT_ID15 = re.compile(r"(?<![0-9])[0-9]{15}(?![0-9])")
_TEXT_MOBILE = re.compile(r"(?<![0-9])(?:(?:\+|00)?86[ -]?)?1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}(?![0-9])")
_TEXT_LANDLINE = re.compile(r"(?<![0-9])(?:0[0-9]{2,3}-|[(（]0[0-9]{2,3}[)）] ?)[0-9]{7,8}(?![0-9])")


def _looks_like_id18(number: str) -> bool:
    """A valid check digit, or (a mistyped one) a real area and birth date: both are a person's number."""
    if id_check_digit(number[:17]) == number[17].upper():
        return True
    return area_code_plausible(number[:6]) and _real_date(number[6:14])


def _looks_like_id15(number: str) -> bool:
    """The 15-digit form (before 1999): area code, then YYMMDD of a 19xx birth, then a sequence number."""
    return area_code_plausible(number[:6]) and _real_date("19" + number[6:12])


def _real_date(yyyymmdd: str) -> bool:
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return True


def mask_pii_text(text: str) -> str:
    """`text` with every ID number (18 or 15 digits) and phone number in it masked like the masked fields
    (ID: first 6 and last 4 digits; phone: last 4), so free text never holds them in clear."""
    if not any(c.isdigit() for c in text):
        return text
    ascii_text = text.translate(_FULL_WIDTH)
    spans: list[tuple[int, int, str]] = []

    def keep(pattern: re.Pattern[str], mask: Callable[[str], str | None]) -> None:
        for found in pattern.finditer(ascii_text):
            if any(s < found.end() and found.start() < e for s, e, _ in spans):
                continue
            masked = mask(re.sub(r"[^0-9Xx]", "", found.group()))
            if masked is not None:
                spans.append((found.start(), found.end(), masked))

    keep(_TEXT_ID18, lambda n: mask_id_number(n.upper()) if _looks_like_id18(n) else None)
    keep(_TEXT_ID15, lambda n: n[:6] + "*" * 5 + n[-4:] if _looks_like_id15(n) else None)
    keep(_TEXT_MOBILE, lambda n: mask_phone(n[-11:]))
    keep(_TEXT_LANDLINE, lambda n: mask_phone(n))
    if not spans:
        return text
    out, last = [], 0
    for start, end, masked in sorted(spans):
        out += [text[last:start], masked]
        last = end
    return "".join([*out, text[last:]])
