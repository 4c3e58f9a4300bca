"""Browser fixtures: the real server (uvicorn on 127.0.0.1) and Debian's Chromium driven by Playwright.

Chromium comes from ``scripts/install_browser.sh`` (apt), never from ``playwright install``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from tests.utils.live_server import LiveServer, live_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1366, "height": 768}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("未找到 /usr/bin/chromium：请先运行 scripts/install_browser.sh")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("browser") / "data") as running:
        yield running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def local_only(route: Route) -> None:
        # No request may leave 127.0.0.1: the workbench ships every asset itself.
        if route.request.url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    yield page
    context.close()
    assert not errors, f"页面脚本出错：{errors}"
    assert not outside, f"页面请求了外部地址：{outside}"


class Shots:
    """Saves numbered full-page screenshots to test-artifacts/screenshots/<flow>-NN-<step>.png."""

    def __init__(self, page: Page, flow: str) -> None:
        self.page = page
        self.flow = flow
        self.count = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, step: str, *, full_page: bool = False) -> Path:
        self.count += 1
        path = SCREENSHOTS / f"{self.flow}-{self.count:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


def login(page: Page, url: str, token: str, shot: Shots | None = None) -> None:
    page.goto(url + "/")
    page.fill("#token", token)
    if shot:
        shot("login")
    page.click("button[type=submit]")
    page.wait_for_selector("#user-name")
