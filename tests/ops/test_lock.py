"""The locked dependencies agree with pyproject.toml's pins (scripts/lock regenerates them): the dev lock
holds every pin at its version, the runtime lock the runtime ones at the dev lock's versions and no dev
tools, every requirement carries hashes; and bootstrap and the Dockerfile install from them."""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Dev pins the runtime needs too, so they are rightly in requirements.lock: PyYAML comes with
# uvicorn[standard] (the dev extra pins it because tests read compose.yaml with it).
ALSO_RUNTIME = {"pyyaml"}

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;]+)")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Locked:
    name: str
    version: str
    hashes: tuple[str, ...]
    line: str


def _pins(requirements: list[str]) -> dict[str, str]:
    """name -> version of every `name==version` requirement (any other form is refused: pins only)."""
    pins: dict[str, str] = {}
    for requirement in requirements:
        match = _PIN.match(requirement.strip())
        assert match, f"pyproject.toml requirement not pinned with ==: {requirement!r}"
        pins[_normalize(match["name"])] = match["version"]
    return pins


def _pyproject() -> tuple[dict[str, str], dict[str, str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return _pins(project["dependencies"]), _pins(project["optional-dependencies"]["dev"])


def parse_lock(text: str) -> list[Locked]:
    """The requirements of a lock file, continuation lines joined, comments dropped."""
    entries = []
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        match = _PIN.match(line)
        assert match, f"not a pinned requirement: {line[:120]!r}"
        hashes = tuple(re.findall(r"--hash=(sha256:[0-9a-f]{64})\b", line))
        entries.append(Locked(_normalize(match["name"]), match["version"], hashes, line))
    return entries


def _lock(name: str) -> list[Locked]:
    path = ROOT / name
    assert path.is_file(), f"{name} is missing: run scripts/lock"
    entries = parse_lock(path.read_text())
    assert entries, f"{name} holds no requirement"
    return entries


def _versions(entries: list[Locked]) -> dict[str, set[str]]:
    versions: dict[str, set[str]] = {}
    for entry in entries:
        versions.setdefault(entry.name, set()).add(entry.version)
    return versions


def test_parse_lock_reads_requirements_and_their_hashes() -> None:
    entries = parse_lock(
        "# header\n"
        "Foo_Bar==1.2 ; python_full_version < '3.12' \\\n"
        f"    --hash=sha256:{'a' * 64} \\\n"
        f"    --hash=sha256:{'b' * 64}\n"
        "    # via shouwang (pyproject.toml)\n"
        "baz==3.0\n"
    )
    assert [(e.name, e.version, len(e.hashes)) for e in entries] == [("foo-bar", "1.2", 2), ("baz", "3.0", 0)]


@pytest.mark.parametrize("name", ["requirements.lock", "requirements-dev.lock"])
def test_every_locked_requirement_carries_a_hash(name: str) -> None:
    unhashed = [entry.line for entry in _lock(name) if not entry.hashes]
    assert not unhashed, f"{name}: requirements without --hash (run scripts/lock): {unhashed}"


def test_dev_lock_holds_every_pin_of_pyproject_at_its_version() -> None:
    runtime, dev = _pyproject()
    locked = _versions(_lock("requirements-dev.lock"))
    wrong = {
        name: (version, sorted(locked.get(name, set())))
        for name, version in (runtime | dev).items()
        if locked.get(name) != {version}
    }
    assert not wrong, f"pyproject.toml pin -> requirements-dev.lock (run scripts/lock): {wrong}"


def test_runtime_lock_holds_the_runtime_pins_and_no_dev_tools() -> None:
    runtime, dev = _pyproject()
    locked = _versions(_lock("requirements.lock"))
    wrong = {
        name: (v, sorted(locked.get(name, set()))) for name, v in runtime.items() if locked.get(name) != {v}
    }
    assert not wrong, f"pyproject.toml pin -> requirements.lock (run scripts/lock): {wrong}"
    dev_only = sorted(
        name for name in dev if name in locked and name not in runtime and name not in ALSO_RUNTIME
    )
    assert not dev_only, f"requirements.lock holds dev-only packages: {dev_only}"
    assert "pytest" not in locked


def test_runtime_lock_is_at_the_dev_locks_versions() -> None:
    """The image runs exactly the versions the tests ran with (scripts/lock constrains one by the other)."""
    dev = {(e.name, e.version) for e in _lock("requirements-dev.lock")}
    differing = sorted(
        f"{e.name}=={e.version}" for e in _lock("requirements.lock") if (e.name, e.version) not in dev
    )
    assert not differing, f"in requirements.lock but not in requirements-dev.lock: {differing}"


def test_bootstrap_installs_from_the_dev_lock_and_reinstalls_when_it_changes() -> None:
    script = (ROOT / "scripts" / "bootstrap").read_text()
    assert re.search(r"pip install [^\n]*--require-hashes -r requirements-dev\.lock", script)
    assert re.search(r"pip install [^\n]*--no-deps -e \.", script)
    stamp_line = next(line for line in script.splitlines() if line.startswith("wanted="))
    assert "requirements-dev.lock" in stamp_line
    assert "pyproject.toml" in stamp_line


def test_lock_script_writes_both_locks_with_hashes_for_python_311_and_later() -> None:
    script = (ROOT / "scripts" / "lock").read_text()
    assert re.search(r"^UV_VERSION=\d+\.\d+\.\d+$", script, re.MULTILINE), "uv's version is pinned"
    for option in ("--universal", "--python-version 3.11", "--generate-hashes"):
        assert option in script
    assert "--extra dev -o requirements-dev.lock" in script
    assert "--constraint requirements-dev.lock -o requirements.lock" in script
