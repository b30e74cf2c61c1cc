"""Key rotation: after `rewrap`, data decrypts with the new key alone and look-ups use the new hash key."""

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import db
from app.config import Settings
from app.models import Household, Member
from app.pii import cipher_for
from app.services.platform import keys
from app.services.platform.access import Actor
from tests.fixtures import Accounts, new_household


def test_rewrap_moves_data_to_the_new_keys(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    household = new_household(client, accounts["cadre_a"])
    with db.session_scope() as session:
        before = session.scalars(select(Member).where(Member.household_id == household["id"])).all()
        plain = sorted(cipher_for(settings).decrypt(m.id_number_encrypted) for m in before)
        old_hashes = {m.id_number_hash for m in before}

    new_key = Fernet.generate_key().decode()
    rotated = settings.model_copy(
        update={
            "encryption_keys": type(settings.encryption_keys)(f"{new_key},{settings.fernet_keys[0]}"),
            "lookup_key": type(settings.lookup_key)("a-brand-new-lookup-key-of-enough-length"),
        }
    )
    with db.session_scope() as session:
        members, phones = keys.rewrap(session, rotated, Actor.system("tests"))
    assert (members, phones) == (3, 1)

    only_new = rotated.model_copy(update={"encryption_keys": type(settings.encryption_keys)(new_key)})
    new_cipher = cipher_for(only_new)
    with db.session_scope() as session:
        after = session.scalars(select(Member).where(Member.household_id == household["id"])).all()
        assert sorted(new_cipher.decrypt(m.id_number_encrypted) for m in after) == plain
        assert {m.id_number_hash for m in after} == {new_cipher.lookup_hash(p) for p in plain}
        assert not old_hashes & {m.id_number_hash for m in after}
        phone = session.scalars(
            select(Household.phone_encrypted).where(Household.id == household["id"])
        ).one()
        assert phone is not None
        assert new_cipher.decrypt(phone) == "13812345678"


def test_rewrap_covers_webhook_and_relief_platform_secrets_and_applications(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    from app.models import PlatformKey, WebhookAllowedHost, WebhookEndpoint
    from app.services.platform import outbox
    from app.services.relief import relief_keys

    accounts.create("platform")
    with db.session_scope() as session:
        session.add(WebhookAllowedHost(host="hooks.example.cn", added_by="t"))
        session.flush()
        admin = Actor.system("tests")
        outbox.add_endpoint(session, settings, admin, "530402000000", "https://hooks.example.cn/x", "w" * 40)
        _, secret = relief_keys.create(session, settings, admin, "platform")
    new_key = Fernet.generate_key().decode()
    rotated = settings.model_copy(
        update={"encryption_keys": type(settings.encryption_keys)(f"{new_key},{settings.fernet_keys[0]}")}
    )
    with db.session_scope() as session:
        keys.rewrap(session, rotated, Actor.system("tests"))
    only_new = cipher_for(
        rotated.model_copy(update={"encryption_keys": type(settings.encryption_keys)(new_key)})
    )
    with db.session_scope() as session:
        assert only_new.decrypt(session.scalars(select(WebhookEndpoint.secret_encrypted)).one()) == "w" * 40
        assert only_new.decrypt(session.scalars(select(PlatformKey.secret_encrypted)).one()) == secret
