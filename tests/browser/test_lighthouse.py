"""Lighthouse's accessibility audit of the login windows (the manual's 登入畫面), in both
languages: a score of 1.0. Optional beside axe (test_accessibility.py): Lighthouse comes from
npm (`make lighthouse` puts it in .venv/lighthouse) and runs Debian's Chromium; without it
these tests are skipped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from flask_industry_auth.testkit import Browser
from tests.browser.conftest import CHROMIUM, REQUIRED, ROOT

LIGHTHOUSE = ROOT / ".venv" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
WINDOWS = ["password", "business", "citizen"]


@pytest.fixture(scope="module")
def lighthouse():
    if not LIGHTHOUSE.exists():
        message = "Lighthouse is not installed (make test installs it with npm)"
        # Skipped only where it cannot be had: no npm, and the run is not CI's
        # (INDUSTRY_AUTH_REQUIRE_BROWSER=1). With npm here, `make test` would have installed it.
        if REQUIRED or shutil.which("npm"):
            pytest.fail(message)
        pytest.skip(f"{message}: npm is not found")
    return LIGHTHOUSE


def audit(lighthouse: Path, url: str, cookie: str, tmp_path: Path) -> dict:
    """Lighthouse's report (accessibility only) of ``url``, opened with ``cookie``."""
    report = tmp_path / "report.json"
    headers = json.dumps({"Cookie": cookie})
    subprocess.run(
        [
            str(lighthouse),
            url,
            "--only-categories=accessibility",
            "--output=json",
            f"--output-path={report}",
            f"--extra-headers={headers}",
            "--quiet",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
        ],
        check=True,
        timeout=180,
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        capture_output=True,
    )
    return json.loads(report.read_text("utf-8"))


@pytest.mark.parametrize("locale", ["zh_Hant_TW", "en"])
@pytest.mark.parametrize("kind", WINDOWS)
def test_each_login_window_scores_full_marks(lighthouse, live, tmp_path, kind, locale):
    browser = Browser(live.url)  # a session that chose the language
    status, _, _ = browser.post("/account/language", {"locale": locale, "next": "/account/login"})
    assert status == 302
    url = f"{live.url}/account/login?type={kind}"
    _, page, _ = browser.get(f"/account/login?type={kind}")  # what Lighthouse is sent
    assert f'<html lang="{"en" if locale == "en" else "zh-Hant-TW"}"' in page
    result = audit(lighthouse, url, browser.cookie_header(), tmp_path)
    assert result["finalDisplayedUrl"] == url
    category = result["categories"]["accessibility"]
    failed = [
        (ref["id"], result["audits"][ref["id"]]["title"])
        for ref in category["auditRefs"]
        if ref["weight"] and result["audits"][ref["id"]]["score"] not in (1, None)
    ]
    assert (category["score"], failed) == (1, [])
