"""Acceptance 1: `shouwang serve` on a fresh SQLite file migrates, loads demo data, prints the demo
accounts, and serves an API those accounts can use at once."""

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.fixtures import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.real_clock  # the server is another process, on the real clock


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")}
    env |= {
        "SHOUWANG_DEMO_HOUSEHOLDS": "40",
        "SHOUWANG_PASSWORD_MEMORY_KIB": "1024",
        "SHOUWANG_PASSWORD_TIME_COST": "1",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120  # demo data, a scoring run and a list come before serving
            while True:
                try:
                    if httpx.get(f"{base}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None:
                    pytest.fail(f"serve exited: {log.read_text()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"serve was not ready after 120 s: {log.read_text()}")
                time.sleep(0.1)
            yield base, log
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_fresh_database_serves_demo_data_and_prints_accounts(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    base, log = served
    output = log.read_text()
    assert (tmp_path / "shouwang.db").exists()
    accounts = dict(re.findall(r"^\s+(demo-[a-z]+)\s+(\S+)\s+", output, flags=re.M))
    assert set(accounts) == {
        "demo-admin",
        "demo-district",
        "demo-department",
        "demo-township",
        "demo-cadre",
        "demo-platform",
    }
    token = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": "demo-district", "password": accounts["demo-district"]}
    ).json()
    listing = httpx.get(
        f"{base}/api/v1/households", headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json()
    assert listing["total"] == 40
    assert httpx.get(f"{base}/docs").status_code == 200
    # the first start scores the district (rules alone: 40 households are too few to train on)
    assert "demo scoring: 40 households (rules: rules alone)" in output
    cases = httpx.get(
        f"{base}/api/v1/cases", headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json()
    opened = int(re.search(r"(\d+) cases opened", output).group(1))  # type: ignore[union-attr]
    staged = int(re.search(r"demo cases: (\d+) at every step", output).group(1))  # type: ignore[union-attr]
    assert cases["total"] == opened + staged  # the scorer's flags join the staged cases, open none twice
    # and this week's list is frozen, so the district's dashboard has its figures
    week, listed = re.search(r"demo weekly list: (\S+), (\d+) households", output).groups()  # type: ignore[union-attr]
    summary = httpx.get(
        f"{base}/api/v1/risk-lists/{week}/summary",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    ).json()
    assert summary["households"] == int(listed) > 0
