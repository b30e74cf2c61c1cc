"""Production refuses secrets that are the demo ones in disguise, or guessable whatever their length."""

import base64
import secrets

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from pydantic import ValidationError

from app.cli import main
from app.config import DEMO_ENCRYPTION_KEY, DEMO_LOOKUP_KEY, DEMO_SECRET_KEY, Settings, get_settings

DEMO_FERNET_BYTES = base64.urlsafe_b64decode(DEMO_ENCRYPTION_KEY)  # b"demo-key-not-for-production-0000"


def b64(value: str | bytes) -> str:
    return base64.b64encode(value.encode() if isinstance(value, str) else value).decode()


def fernet_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def good() -> dict[str, str]:
    return {
        "secret_key": secrets.token_urlsafe(48),
        "lookup_key": secrets.token_hex(16),  # 32 hex characters is enough
        "encryption_keys": f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
    }


def production(**overrides: str) -> Settings:
    # model_validate: the given values only, not the environment or a .env file
    return Settings.model_validate({"env": "production"} | good() | overrides)


def refusal(**overrides: str) -> str:
    with pytest.raises(ValidationError) as refused:
        production(**overrides)
    message = str(refused.value)
    for value in overrides.values():
        if value.strip():
            assert value.strip() not in message  # the error never prints the secret
    return message


def demo_in_disguise(demo: str) -> list[str]:
    return [
        b64(demo),
        b64(demo).rstrip("="),
        base64.urlsafe_b64encode(demo.encode()).decode(),
        demo.encode().hex(),
        demo.encode().hex().upper(),
        base64.b32encode(demo.encode()).decode(),
        b64(demo.encode().hex()),
        demo.upper(),
        f"  {demo}\n",
        f'"{demo}"',
    ]


WEAK = [
    "a" * 40,
    " " * 40,
    "\t \n" * 15,
    "ab" * 20,
    "abcdefghij" * 4,  # ten different characters, but one unit repeated
    "0123456" * 6,
]


def test_random_secrets_are_accepted() -> None:
    for _ in range(20):
        assert production().env == "production"


@pytest.mark.parametrize("name", ["secret_key", "lookup_key"])
@pytest.mark.parametrize(
    "value",
    [
        *demo_in_disguise(DEMO_SECRET_KEY),
        *demo_in_disguise(DEMO_LOOKUP_KEY),
        DEMO_FERNET_BYTES.decode(),  # the demo Fernet key's 32 characters, as a text secret
        b64(DEMO_FERNET_BYTES).upper(),
        f"x-{DEMO_SECRET_KEY}-x",
    ],
)
def test_demo_keys_in_another_encoding_are_refused(name: str, value: str) -> None:
    message = refusal(**{name: value})
    assert f"SHOUWANG_{name.upper()}" in message
    assert "demo" in message


@pytest.mark.parametrize("name", ["secret_key", "lookup_key"])
@pytest.mark.parametrize("value", WEAK)
def test_low_entropy_secrets_are_refused_whatever_their_length(name: str, value: str) -> None:
    assert len(value) >= 32
    message = refusal(**{name: value})
    assert f"SHOUWANG_{name.upper()}" in message
    assert any(reason in message for reason in ("blank", "distinct characters", "repeats a unit"))


@pytest.mark.parametrize(
    "key",
    [
        "ZGVtby1rZXktbm90LWZvci1wcm9kdWN0aW9uLTAwMDB=",  # differs only in bits Fernet ignores
        "ZGVtby1r!ZXktbm90LWZvci1wcm9kdWN0aW9uLTAwMDA=",  # a stray character Fernet skips
        fernet_of(DEMO_FERNET_BYTES.upper()),
    ],
)
def test_demo_fernet_key_is_refused_however_it_is_written(key: str) -> None:
    Fernet(key)  # a key Fernet accepts
    message = refusal(encryption_keys=f"{Fernet.generate_key().decode()},{key}")
    assert "SHOUWANG_ENCRYPTION_KEYS (key 2 of 2)" in message
    assert "demo" in message


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (bytes(32), "distinct byte values"),
        (b"a" * 32, "distinct byte values"),
        (bytes(range(16)) * 2, "repeats a unit"),
        (b"for-tests-only-00000000000000000", "distinct byte values"),
        (b"my-own-passphrase-for-the-county", "printable text"),
        (DEMO_SECRET_KEY.encode()[:32], "printable text"),
    ],
)
def test_low_entropy_fernet_keys_are_refused(raw: bytes, reason: str) -> None:
    message = refusal(encryption_keys=fernet_of(raw))
    assert "SHOUWANG_ENCRYPTION_KEYS (key 1 of 1)" in message
    assert reason in message


def test_demo_mode_keeps_its_demo_keys() -> None:
    settings = Settings.model_validate({})
    assert settings.is_demo
    assert settings.secret_key.get_secret_value() == DEMO_SECRET_KEY


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SHOUWANG_SECRET_KEY", b64(DEMO_SECRET_KEY)),
        ("SHOUWANG_LOOKUP_KEY", "z" * 48),
        ("SHOUWANG_ENCRYPTION_KEYS", fernet_of(DEMO_FERNET_BYTES.upper())),
    ],
)
def test_startup_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("SHOUWANG_ENV", "production")
    for name, secret in good().items():
        monkeypatch.setenv(f"SHOUWANG_{name.upper()}", secret)
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["migrate"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert variable in result.output
    assert value not in result.output  # the secret itself is never echoed


def test_a_blank_metrics_token_turns_metrics_off_and_production_refuses_a_weak_one() -> None:
    assert production(metrics_token="").metrics_token is None  # left blank in .env: off, not open
    assert production(metrics_token="   ").metrics_token is None
    assert "SHOUWANG_METRICS_TOKEN" in refusal(metrics_token="x")
    assert "SHOUWANG_METRICS_TOKEN" in refusal(metrics_token="ab" * 20)
    token = secrets.token_urlsafe(32)
    assert production(metrics_token=token).metrics_token.get_secret_value() == token  # type: ignore[union-attr]
