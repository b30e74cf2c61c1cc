"""Key rotation for personal data: re-encrypt under the newest Fernet key, re-hash under the look-up key.

Run it after putting a new key first in SHOUWANG_ENCRYPTION_KEYS (keep the old ones until it finishes),
or after changing SHOUWANG_LOOKUP_KEY (until then duplicates and look-ups cannot match stored hashes).
"""

from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import Base, Household, Member
from app.pii import PiiCipher, cipher_for
from app.services.platform import audit
from app.services.platform.access import Actor

CHUNK = 1000


def rewrap(session: Session, settings: Settings, actor: Actor) -> tuple[int, int]:
    """Re-encrypt every ID number and phone, recompute every look-up hash; return (members, households)."""
    cipher = cipher_for(settings)
    members = households = 0
    table = Base.metadata.tables["member"]
    statement = (
        update(table)
        .where(table.c.id == bindparam("member_id"))
        .values(id_number_encrypted=bindparam("token"), id_number_hash=bindparam("lookup"))
    )
    last = 0
    while rows := session.execute(
        select(Member.id, Member.id_number_encrypted).where(Member.id > last).order_by(Member.id).limit(CHUNK)
    ).all():
        params = []
        for member_id, token in rows:
            plain = cipher.decrypt(token)
            params.append(
                {"member_id": member_id, "token": cipher.encrypt(plain), "lookup": cipher.lookup_hash(plain)}
            )
        session.connection().execute(statement, params)
        members += len(rows)
        last = rows[-1][0]
    htable = Base.metadata.tables["household"]
    phone_statement = (
        update(htable)
        .where(htable.c.id == bindparam("household_id"))
        .values(phone_encrypted=bindparam("token"))
    )
    last = 0
    while phones := session.execute(
        select(Household.id, Household.phone_encrypted)
        .where(Household.id > last, Household.phone_encrypted.is_not(None))
        .order_by(Household.id)
        .limit(CHUNK)
    ).all():
        session.connection().execute(
            phone_statement,
            [{"household_id": h, "token": cipher.rotate(token)} for h, token in phones if token is not None],
        )
        households += len(phones)
        last = phones[-1][0]
    entries = _rewrap_risk_lists(session, cipher)
    others = {f"{t}.{c}": _rewrap_column(session, cipher, t, c, n) for t, c, n in OTHER_SECRETS}
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "keys.rewrap",
                "keys",
                None,
                None,
                {"members": members, "households": households, "risk_list_entries": entries} | others,
            )
        ],
    )
    return members, households


# other encrypted columns (tables with an integer id) and how many rows at a time: webhook and relief
# platform secrets, applications, helpers' phones, visit photos (megabytes each: a few at a time)
OTHER_SECRETS = (
    ("webhook_endpoint", "secret_encrypted", CHUNK),
    ("platform_key", "secret_encrypted", CHUNK),
    ("relief_application", "payload_encrypted", CHUNK),
    ("helper", "phone_encrypted", CHUNK),
    ("visit_photo", "content_encrypted", 8),
)


def _rewrap_column(session: Session, cipher: PiiCipher, table_name: str, column: str, chunk: int) -> int:
    table = Base.metadata.tables[table_name]
    statement = update(table).where(table.c.id == bindparam("row_id")).values({column: bindparam("token")})
    done, last = 0, 0
    while rows := session.execute(
        select(table.c.id, table.c[column]).where(table.c.id > last).order_by(table.c.id).limit(chunk)
    ).all():
        session.connection().execute(
            statement, [{"row_id": row_id, "token": cipher.rotate(token)} for row_id, token in rows]
        )
        done += len(rows)
        last = rows[-1][0]
    return done


def _rewrap_risk_lists(session: Session, cipher: PiiCipher) -> int:
    """The heads' ID numbers frozen in weekly lists (the lists stay as they were; only the key changes)."""
    table = Base.metadata.tables["risk_list_entry"]
    statement = (
        update(table)
        .where(table.c.list_id == bindparam("l"), table.c.household_id == bindparam("h"))
        .values(head_id_encrypted=bindparam("token"))
    )
    done, after = 0, (0, 0)
    while rows := session.execute(
        select(table.c.list_id, table.c.household_id, table.c.head_id_encrypted)
        .where(tuple_(table.c.list_id, table.c.household_id) > after, table.c.head_id_encrypted.is_not(None))
        .order_by(table.c.list_id, table.c.household_id)
        .limit(CHUNK)
    ).all():
        session.connection().execute(
            statement, [{"l": lid, "h": hid, "token": cipher.rotate(token)} for lid, hid, token in rows]
        )
        done += len(rows)
        after = (rows[-1][0], rows[-1][1])
    return done
