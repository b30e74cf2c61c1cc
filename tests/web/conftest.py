"""The web app in a real browser: Playwright for Python driving Debian's headless Chromium (installed by
scripts/bootstrap), against the app served on a free port. Screenshots go to SCREENSHOTS, printed at the
end of the run."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

SCREENSHOTS = Path(
    os.environ.get("SHOUWANG_SCREENSHOTS") or Path(tempfile.gettempdir()) / "shouwang-screenshots"
)
# Chromium as this machine's closed network needs it: no background connections, no sandbox as root
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Chromium is not installed: scripts/bootstrap installs Debian's chromium package"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A mid-range Android phone's viewport; console errors are collected and must stay empty."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.console_errors = console_errors(page)  # type: ignore[attr-defined]
    yield page
    context.close()


def console_errors(page: Page) -> list[str]:
    """The page's console errors and uncaught exceptions as they happen (each with the resource's URL)."""
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(f"{m.text} {m.location.get('url', '')}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def shot(page: Page, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SCREENSHOTS.exists() and any(SCREENSHOTS.iterdir()):
        terminalreporter.write_line(f"web app screenshots: {SCREENSHOTS}")
