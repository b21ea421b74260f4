"""A real browser (Debian's chromium, headless, driven by Playwright) against a live server."""

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import free_port

# A browser that goes offline (or moves on) drops requests for static files half-way; the
# development server then leaves that file for the garbage collector, which warns. It is
# the test server's leak, not the app's: tolerate exactly that one.
SERVER_DROPPED_STATIC_FILE = pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <_io\.(FileIO|BufferedReader) name='[^']*/static/"
    r":pytest.PytestUnraisableExceptionWarning"
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture
def live_server(app):
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser):
    """A phone-sized page whose browser prefers Chinese, like a participant in WeChat."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    page = context.new_page()
    yield page
    context.close()
