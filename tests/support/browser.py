"""Headless Chromium for browser tests, driven by Playwright.

Playwright's own browser download does not work on our machines, so the tests drive the system
Chromium (Debian's ``chromium`` package, ``/usr/bin/chromium``). When it is missing, the harness
installs it with apt (as root, or through passwordless sudo); when that is impossible, the test
fails with what to install, never skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from include.paths import REPO_ROOT

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def output_folder(name: str) -> Path:
    """Where a test leaves what a person may want to look at (``test-output/<name>``)."""
    folder = Path(os.environ.get("MES_TEST_OUTPUT") or REPO_ROOT / "test-output") / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def chromium_page(width: int = 1440, height: int = 1000) -> Iterator[Page]:
    """A page of a fresh headless Chromium, closed afterwards."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable(), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser.new_context(viewport={"width": width, "height": height}).new_page()
        finally:
            browser.close()


def log_in(page: Page, url: str, password: str, username: str = "admin") -> None:
    """Through Airflow's own login page, as a user does."""
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # The login page then navigates on its own: a goto before it lands is interrupted by it.
    page.wait_for_url(lambda address: "login" not in address, timeout=60_000)
    page.wait_for_load_state("load")


def chromium_executable() -> str:
    """The system Chromium; installed from Debian's packages when it is missing."""
    configured = os.environ.get("MES_CHROMIUM")
    if configured:
        return configured
    found = _find()
    if found:
        return found
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log = []
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        try:
            done = subprocess.run(
                prefix + command, env=env, capture_output=True, text=True, timeout=900
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.append(f"{' '.join(command)}: {exc}")
            break
        log.append(done.stdout[-1500:] + done.stderr[-1500:])
        if done.returncode != 0:
            break
    found = _find()
    if not found:
        pytest.fail(
            "the browser tests need Chromium and it could not be installed: install Debian's "
            "package (`apt-get install chromium`) or set MES_CHROMIUM to a Chromium binary.\n"
            + "\n".join(log)[-3000:],
            pytrace=False,
        )
    return found


def _find() -> str | None:
    for candidate in CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium")
