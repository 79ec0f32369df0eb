"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium, never a downloaded
browser) against the demo portal, served on 127.0.0.1 by the test session.

Without Chromium these tests are skipped, and the run says so; CI installs Chromium and sets
INDUSTRY_AUTH_REQUIRE_BROWSER=1, which turns a missing browser into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest

from examples.portal import create_app
from examples.portal.mailsink import MailSink
from examples.portal.server import listen, serve
from flask_industry_auth.mail import wait_for_delivery

CHROMIUM = os.environ.get("INDUSTRY_AUTH_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("INDUSTRY_AUTH_SCREENSHOT_DIR", ROOT / "build" / "screenshots"))
REQUIRED = os.environ.get("INDUSTRY_AUTH_REQUIRE_BROWSER") == "1"


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return "Chromium is not installed (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    return None


def pytest_report_header(config):
    reason = browser_unavailable()
    return (
        f"browser tests: SKIPPED - {reason}" if reason else f"browser tests: Chromium at {CHROMIUM}"
    )


def pytest_collection_modifyitems(config, items):
    reason = browser_unavailable()
    if reason is None:
        return
    if REQUIRED:
        raise pytest.UsageError(f"browser tests required but {reason}")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=f"no Chromium browser here: {reason}"))


class LivePortal:
    """The demo portal on 127.0.0.1, served as ``make demo`` serves it, with its mail sink."""

    def __init__(self, tmp: Path) -> None:
        self.sink = MailSink()
        self.sink.start()
        sock = listen(0)  # bound now: no other process can take the port meanwhile
        port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.app = create_app(
            port=port,
            smtp_port=self.sink.port,
            mail_sink=self.sink,
            database_url=f"sqlite:///{tmp / 'browser.sqlite'}",
            instance_path=str(tmp / "i"),
            TESTING=True,  # allows the fast argon2 parameters below
            MAIL_SUPPRESS_SEND=False,
            INDUSTRY_AUTH_ARGON2_TIME_COST=1,
            INDUSTRY_AUTH_ARGON2_MEMORY_COST=1024,
            INDUSTRY_AUTH_ARGON2_PARALLELISM=1,
            INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT="100/minute",
            INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP="1000/minute",
            INDUSTRY_AUTH_RATELIMIT_REGISTER_PER_IP="1000/minute",
            INDUSTRY_AUTH_RATELIMIT_RESET_PER_IP="1000/minute",
        )
        self.server = serve(self.app, sock)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def mail_count(self) -> int:
        return len(self.sink.mails)

    def wait_mail(self, count: int, timeout: float = 15):
        deadline = time.monotonic() + timeout
        while len(self.sink.mails) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.sink.mails) >= count
        return self.sink.mails[count - 1]

    def stop(self) -> None:
        self.server.shutdown()  # and closes it
        self.thread.join(10)
        with self.app.app_context():
            wait_for_delivery(10)  # no mail in flight when the sink goes
            from examples.portal.app import db

            db.engine.dispose()
        self.sink.stop()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    portal = LivePortal(tmp_path_factory.mktemp("live"))
    yield portal
    portal.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-TW")
    page = context.new_page()
    yield page
    context.close()


_counter = iter(range(1, 10_000))
VALID_UBNS = ["04595257", "22099131", "10458575", "12345670", "62140097", "00000074", "04595252"]


def applicant(live) -> dict:
    """Fresh applicant data (a new email each time)."""
    n = next(_counter)
    return {
        "business_name": f"瀏覽器測試股份有限公司{n}",
        "business_id": VALID_UBNS[n % 7],
        "responsible_person": "王大明",
        "contact_person": "林小華",
        "phone": "02-2311-2345#123",
        "address": "臺北市中正區福州街15號",
        "email": f"browser{n}-{int(time.time() * 1000)}@example.com",
    }


def mail_details(mail) -> dict:
    text = mail.text
    link = re.search(r"(http://\S+/activate/\S+)", text)
    found = {
        "account_id": re.search(r"(?:電子身分帳號|Account ID)[:：]\s*(\S+)", text).group(1),
        "link": link.group(1) if link else None,
    }
    password = re.search(r"(?:臨時密碼|Temporary password)[:：]\s*(\S+)", text)
    found["password"] = password.group(1) if password else None
    return found
