"""The board in a real browser: Debian's chromium driven by Playwright, axe-core on every view.

Each view is loaded at desktop width, at a phone width and at the CSS width of a desktop at 200%
zoom; axe-core (node_modules, installed by .ci/run from package-lock.json) must find no serious or critical
violation at desktop and phone width, no page may scroll sideways, and a screenshot of each goes to
tmp/artefacts/board/. The test follows links from the overview to a commitment to a milestone and back.
Without chromium or axe-core it is skipped, except under CI=true, where it fails.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.board.pages import FOKUS_ZZP, VL_SOURCE, by_key

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTEFACTS = Path(os.environ.get("NAKOMING_TEST_ARTEFACTS", ROOT / "tmp" / "artefacts")) / "board"
WIDTHS = {"desktop": (1280, 900), "phone": (375, 740), "zoom200": (640, 450)}
# axe-core at desktop and phone width (it takes seconds a page); at 200% zoom the page must reflow without
# sideways scrolling, checked on every view.
AXE_AT = ("desktop", "phone")
BLOCKING = ("serious", "critical")

pytestmark = pytest.mark.usefixtures("seeded")


def _chromium() -> str | None:
    return (
        os.environ.get("NAKOMING_TEST_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


def _missing() -> str | None:
    if _chromium() is None:
        return "Debian's chromium is not installed (apt-get install chromium; .ci/run does this)"
    if not AXE.is_file():
        return f"axe-core is not installed at {AXE.relative_to(ROOT)} (npm ci; .ci/run does this)"
    return None


@pytest.fixture
def browser_tools() -> str:
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser test cannot run in CI: {reason}")
        pytest.skip(reason)
    return _chromium()  # type: ignore[return-value]


@pytest.fixture
async def served(app: Any) -> AsyncIterator[str]:
    """The test's app (seeded, in the test's transaction) on a real loopback port, in this event loop."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None, access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _check(page: Any, name: str, axe: bool) -> list[str]:
    """axe-core's serious/critical violations (when `axe`) and sideways scrolling on the loaded page; saves a
    screenshot."""
    problems = []
    if axe:
        await page.add_script_tag(path=str(AXE))
        result = await page.evaluate(
            "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', "
            "'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}, resultTypes: ['violations']})"
        )
        problems = [
            f"{name}: {v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in BLOCKING
        ]
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 1:
        problems.append(f"{name}: scrolls sideways by {overflow}px")
    await page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)
    return problems


async def test_every_view_in_chromium_with_axe(
    browser_tools: str, served: str, client: httpx.AsyncClient
) -> None:
    from playwright.async_api import async_playwright

    zzp = await by_key(client, "/v1/commitments", FOKUS_ZZP)
    cots = await by_key(client, "/v1/milestones", "vl-alle-14-cots-gestart")
    vl = await by_key(client, "/v1/sources", VL_SOURCE)
    views = {
        "overview": "/board",
        "overview-en": "/board?lang=en",
        "commitment": f"/board/commitments/{zzp['id']}",
        "milestone": f"/board/milestones/{cots['id']}",
        "programme": f"/board/programmes/{vl['id']}",
        "programmes": "/board/programmes",
        "signals": "/board/signals",
        "tk": "/board/tk",
        "invalid-filter": "/board?due_after=x",
    }
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=browser_tools, args=["--no-sandbox"])
        try:
            for width_name, (width, height) in WIDTHS.items():
                page = await browser.new_page(viewport={"width": width, "height": height})
                for name, path in views.items():
                    response = await page.goto(served + path)
                    assert response is not None and response.status in (200, 422), (
                        path,
                        response and response.status,
                    )
                    problems += await _check(page, f"{name}-{width_name}", axe=width_name in AXE_AT)
                await page.close()

            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(served + "/board")
            # The first Tab reaches the skip link, and focus is visible on it.
            await page.keyboard.press("Tab")
            focused = await page.evaluate(
                "() => { const e = document.activeElement; const s = getComputedStyle(e);"
                " return [e.className, s.outlineStyle, s.boxShadow]; }"
            )
            assert focused[0] == "skip" and focused[1] != "none" and focused[2] != "none", focused
            # Overview -> commitment -> milestone, and back.
            await page.click(f"a[href='/board/commitments/{zzp['id']}']")
            assert (await page.text_content("h1")).strip() == zzp["title"]
            milestone_link = page.locator("main article.milestone h3 a").first
            title = (await milestone_link.text_content()).strip()
            await milestone_link.click()
            await page.wait_for_url("**/board/milestones/**")
            assert (await page.text_content("h1")).strip() == title
            await page.go_back()
            assert page.url.endswith(f"/board/commitments/{zzp['id']}")
            await page.go_back()
            assert page.url.endswith("/board")
            assert (await page.text_content("h1")).strip() == "Overzicht van toezeggingen"
            await page.screenshot(path=str(ARTEFACTS / "followed-back-to-overview.png"))
        finally:
            await browser.close()
    assert not problems, "\n".join(problems)
