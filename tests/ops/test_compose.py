"""compose.yaml and the Dockerfile it builds, checked without a Docker engine.

With Docker Compose at hand (the docker CLI's plugin, or the docker-compose binary the dev lock installs
into .venv), `config` must accept the file with the secrets given and refuse it without any one of them,
and its normalized model must have the expected shape. Whether or not it is at hand, the file itself
(read with PyYAML) must have that shape, and the Dockerfile must install only hashed, locked packages."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "SHOUWANG_SECRET_KEY": "ci-secret-key",
    "SHOUWANG_ENCRYPTION_KEYS": "ci-encryption-keys",
    "SHOUWANG_LOOKUP_KEY": "ci-lookup-key",
    "SHOUWANG_DB_PASSWORD": "ci-db-password",
}


def compose_command() -> list[str] | None:
    """Docker Compose v2 or later: the docker CLI's plugin, else a docker-compose binary (.venv's first)."""
    if shutil.which("docker"):
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if plugin.returncode == 0:
            return ["docker", "compose"]
    venv_binary = Path(sys.executable).parent / "docker-compose"
    for binary in (str(venv_binary) if venv_binary.exists() else None, shutil.which("docker-compose")):
        if binary is None:
            continue
        probe = subprocess.run([binary, "version", "--short"], capture_output=True, text=True, check=False)
        major = re.match(r"v?(\d+)\.", probe.stdout.strip())
        if probe.returncode == 0 and major and int(major[1]) >= 2:  # 1.x is the old Python compose
            return [binary]
    return None


COMPOSE = compose_command()
needs_compose = pytest.mark.skipif(COMPOSE is None, reason="no Docker Compose v2+ here (scripts/bootstrap)")


def run_config(tmp_path: Path, variables: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`compose config` with only these variables: nothing from this process's environment or a .env."""
    assert COMPOSE is not None
    no_env_file = tmp_path / "empty.env"
    no_env_file.write_text("")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(tmp_path))} | variables
    command = [*COMPOSE, "--env-file", str(no_env_file), "-f", str(ROOT / "compose.yaml"), "config", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


def _published(port: Any) -> tuple[str, int]:
    """(published, target) of a short ("8000-8001:8000") or normalized long port entry."""
    if isinstance(port, str):
        published, target = port.rsplit(":", 1)
        return published, int(target)
    return str(port["published"]), int(port["target"])


def _volume(volume: Any) -> tuple[str, str]:
    if isinstance(volume, str):
        source, target = volume.split(":")[:2]
        return source, target
    return str(volume["source"]), str(volume["target"])


def _healthcheck_disabled(service: dict[str, Any]) -> bool:
    healthcheck = service.get("healthcheck", {})
    return healthcheck.get("disable") is True or healthcheck.get("test") == ["NONE"]


def check_structure(model: dict[str, Any]) -> None:
    services = model["services"]
    assert set(services) == {"db", "migrate", "api", "worker"}

    db = services["db"]
    assert db["image"] == "postgres:15"
    assert "pg_isready" in db["healthcheck"]["test"]
    source, target = _volume(db["volumes"][0])
    assert target == "/var/lib/postgresql/data"
    assert source in model["volumes"], "the database lives on a named volume"

    app_services = [services[name] for name in ("migrate", "api", "worker")]
    images = {service["image"] for service in app_services}
    assert len(images) == 1, "migrate, api and worker run one image"
    for service in app_services:
        assert "build" in service, "the image is built from the Dockerfile"
        environment = service["environment"]
        assert environment["SHOUWANG_ENV"] == "production"
        assert environment["SHOUWANG_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@db:5432/" in environment["SHOUWANG_DATABASE_URL"]
        assert set(SECRETS) - {"SHOUWANG_DB_PASSWORD"} <= set(environment)
        assert service["depends_on"]["db"]["condition"] == "service_healthy"

    migrate, api, worker = app_services
    assert migrate["command"] == ["shouwang", "migrate"]
    assert migrate.get("restart", "no") == "no", "migrate runs once"
    assert _healthcheck_disabled(migrate), "the image's check asks port 8000: not for a one-shot job"

    assert api["command"][:2] == ["shouwang", "serve"]
    assert api["command"][2:] == ["--host", "0.0.0.0", "--port", "8000"]
    assert api["deploy"]["replicas"] == 2
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    published = [_published(port) for port in api["ports"]]
    assert published == [("8000-8001", 8000)], "one host port for each of the two replicas"

    assert worker["command"] == ["shouwang", "worker"]
    assert worker.get("deploy", {}).get("replicas", 1) == 1, "one worker: scheduled jobs run once"
    assert _healthcheck_disabled(worker), "the worker does not listen on port 8000"

    for service in (api, worker):
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def _compose_yaml() -> dict[str, Any]:
    model: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return model


def test_compose_file_has_the_expected_services() -> None:
    check_structure(_compose_yaml())


def test_compose_file_takes_every_secret_from_the_environment_or_refuses() -> None:
    """Each secret is `${VAR:?message}`: compose stops with the message when VAR is unset or empty."""
    text = (ROOT / "compose.yaml").read_text()
    for name in SECRETS:
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses, f"{name} is not used"
        assert all(use.startswith(":?") for use in uses), f"{name} must be ${{{name}:?message}} everywhere"
        assert not re.search(r"\$" + name + r"\b", text), f"{name} must be ${{{name}:?message}} everywhere"
    for service in ("migrate", "api", "worker"):
        environment = _compose_yaml()["services"][service]["environment"]
        for name in set(SECRETS) - {"SHOUWANG_DB_PASSWORD"}:
            assert environment[name] == f"${{{name}:?set {name} in .env or the environment}}"


def test_compose_commands_are_the_clis() -> None:
    """migrate, serve (with --host and --port) and worker are commands of the image's `shouwang`."""
    assert {"migrate", "serve", "worker"} <= set(cli.commands)
    serve_options = {opt for param in cli.commands["serve"].params for opt in param.opts}
    assert {"--host", "--port"} <= serve_options


@needs_compose
def test_compose_config_accepts_the_file_with_its_secrets(tmp_path: Path) -> None:
    result = run_config(tmp_path, SECRETS, "--format", "json")
    assert result.returncode == 0, result.stderr
    model = json.loads(result.stdout)
    check_structure(model)
    api = model["services"]["api"]
    assert api["environment"]["SHOUWANG_SECRET_KEY"] == SECRETS["SHOUWANG_SECRET_KEY"]
    assert api["environment"]["SHOUWANG_DATABASE_URL"] == (
        "postgresql+psycopg://shouwang:ci-db-password@db:5432/shouwang"
    )
    assert model["services"]["db"]["environment"]["POSTGRES_PASSWORD"] == SECRETS["SHOUWANG_DB_PASSWORD"]


@needs_compose
@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_config_refuses_without_a_secret(tmp_path: Path, missing: str) -> None:
    given = {name: value for name, value in SECRETS.items() if name != missing}
    result = run_config(tmp_path, given, "-q")
    assert result.returncode != 0
    assert f"set {missing} in .env or the environment" in result.stderr
    empty = run_config(tmp_path, given | {missing: ""}, "-q")
    assert empty.returncode != 0, f"an empty {missing} is refused too"


@needs_compose
def test_compose_config_refuses_a_broken_file(tmp_path: Path) -> None:
    """The validation can fail: the same command on a file with an unknown key answers non-zero."""
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        (ROOT / "compose.yaml").read_text().replace("    restart: unless-stopped\n", "    restartt: x\n", 1)
    )
    assert COMPOSE is not None
    command = [
        *COMPOSE,
        "--env-file",
        os.devnull,
        "-f",
        str(broken),
        "--project-directory",
        str(ROOT),
        "config",
        "-q",
    ]
    env = {"PATH": os.environ.get("PATH", "")} | SECRETS
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "restartt" in result.stderr


# The image compose builds.


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each instruction, continuation lines joined, comments dropped."""
    lines = [line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")]
    joined = "\n".join(lines).replace("\\\n", " ")
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            instructions.append((keyword.upper(), " ".join(arguments.split())))
    return instructions


def _build_stage() -> list[tuple[str, str]]:
    instructions = _instructions((ROOT / "Dockerfile").read_text())
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert len(starts) == 2, "a build stage and a runtime stage"
    return instructions[starts[0] : starts[1]]


def test_dockerfile_installs_the_runtime_lock_with_hashes_then_the_project_without_dependencies() -> None:
    stage = _build_stage()
    runs = [(i, arguments) for i, (keyword, arguments) in enumerate(stage) if keyword == "RUN"]
    pip_installs = [(i, arguments) for i, arguments in runs if "pip install" in arguments]
    assert [arguments for _, arguments in pip_installs] == [
        "pip install --require-hashes -r requirements.lock",
        "pip install --no-deps . && pip check",
    ]
    copies = {arguments: i for i, (keyword, arguments) in enumerate(stage) if keyword == "COPY"}
    assert copies["requirements.lock ./"] < pip_installs[0][0], "the lock is copied before it is installed"
    assert pip_installs[0][0] < copies["app ./app"], "dependencies are a layer of their own, before the code"


def test_dockerfile_runtime_stage_installs_no_python_package() -> None:
    instructions = _instructions((ROOT / "Dockerfile").read_text())
    runtime = instructions[[i for i, (k, _) in enumerate(instructions) if k == "FROM"][1] :]
    assert not [arguments for keyword, arguments in runtime if keyword == "RUN" and "pip " in arguments]
    assert ("COPY", "--from=build /opt/venv /opt/venv") in runtime


def test_dockerignore_keeps_secrets_out_and_what_the_dockerfile_copies_in() -> None:
    patterns = [
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for kept_out in (".env", ".venv", ".git", "*.db"):
        assert kept_out in patterns
    sources = []
    for keyword, arguments in _instructions((ROOT / "Dockerfile").read_text()):
        if keyword == "COPY" and not arguments.startswith("--from"):
            words = [word for word in arguments.split() if not word.startswith("--")]
            sources += words[:-1]
    assert "requirements.lock" in sources
    for source in sources:
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which is missing"
        assert not any(Path(source).match(pattern) for pattern in patterns), f".dockerignore drops {source}"
