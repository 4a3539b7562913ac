"""Browser tests: Debian's Chromium driven by Playwright (no browser download) against the
web app of the session cluster (tests/cluster.py), every app on real sidecars and stores.

- `browser`: one Chromium for the session; each test gets a fresh context (no cookies).
- `web`: the web app's address; `shoot(page, name)` saves a screenshot artefact to
  `.artifacts/browser/` (CI keeps it); `axe(page)` runs axe-core in the page and returns the
  serious and critical violations (the tests assert there are none).
"""

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.harness import ROOT, Cluster

ARTIFACTS = Path(os.environ.get("SC_ARTIFACTS", ROOT / ".artifacts")) / "browser"
AXE = ROOT / "tests" / "browser" / "node" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = {"serious", "critical"}


def chromium_path() -> str:
    """Debian's Chromium (set-up installs it); SC_CHROMIUM overrides."""
    found = (
        os.environ.get("SC_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if not found:
        pytest.fail("Chromium is missing: run ./taskw setup (it installs Debian's chromium)")
    return found


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for the browser tests. Package scope: Playwright's sync API keeps an
    event loop running in this thread while it is started, and every later test that calls
    asyncio.run() would fail, so it stops when the last browser test is done."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def web(cluster: Cluster) -> str:
    """The web app's address (localhost: a secure context, so its Secure cookie is kept)."""
    return cluster.apps["web"].url.replace("127.0.0.1", "localhost")


@pytest.fixture
def context(browser: Browser, web: str) -> Iterator[BrowserContext]:
    # bypass_csp: axe-core is injected as a script tag (the pages' CSP allows only our own
    # scripts; tests/browser/test_web_security.py checks the header itself).
    ctx = browser.new_context(
        base_url=web, bypass_csp=True, viewport={"width": 1280, "height": 900}
    )
    ctx.set_default_timeout(20_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def shoot(page: Page, name: str, full_page: bool = True) -> Path:
    """Save a screenshot artefact (`.artifacts/browser/<name>.png`)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def axe(page: Page, exclude: list[str] | None = None) -> list[dict[str, Any]]:
    """axe-core's violations of impact serious or critical on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    options = {"resultTypes": ["violations"]}
    context: Any = {"exclude": [[sel] for sel in exclude]} if exclude else "document"
    result = page.evaluate(
        "([ctx, opts]) => axe.run(ctx === 'document' ? document : ctx, opts)", [context, options]
    )
    return [v for v in result["violations"] if v.get("impact") in SERIOUS]


def assert_accessible(page: Page, name: str) -> None:
    """No serious or critical axe-core violation on `name` (the page as it is now)."""
    found = axe(page)
    report = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in found
    ]
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(report, indent=2))
    assert not found, f"{name}: accessibility violations: {json.dumps(report, indent=2)}"
