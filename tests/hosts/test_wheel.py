"""The wheel holds templates, catalogs and migrations, and works from a fresh venv."""

import json
import re
import subprocess
import time
import zipfile

import pytest

from tests.helpers import activation_details
from tests.hosts.harness import APPS

pytestmark = [pytest.mark.hosts, pytest.mark.slow]


def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for expected in [
        "flask_industry_auth/templates/industry_auth/login.html",
        "flask_industry_auth/templates/industry_auth/email/activation_message.txt",
        "flask_industry_auth/migrations/env.py",
        "flask_industry_auth/migrations/versions/0001_initial.py",
        "flask_industry_auth/translations/zh_Hant_TW/LC_MESSAGES/industry_auth.mo",
        "flask_industry_auth/translations/en/LC_MESSAGES/industry_auth.mo",
        "flask_industry_auth/data/common-passwords.txt.gz",
        "flask_industry_auth/static/industry_auth.css",
    ]:
        assert expected in names
    assert not [n for n in names if n.startswith(("tests/", "examples/"))]


def test_wheel_ships_typing_and_licence(wheel):
    # PEP 561: type checkers read the package's annotations only with py.typed; the MIT
    # licence (and the notice of the Django word list it ships) must travel with the code.
    names = zipfile.ZipFile(wheel).namelist()
    assert "flask_industry_auth/py.typed" in names
    licences = [
        n
        for n in names
        if re.fullmatch(r"flask_industry_auth-[^/]+\.dist-info/(licenses/)?LICEN[CS]E[^/]*", n)
    ]
    assert licences, [n for n in names if ".dist-info/" in n]


def test_a_host_app_runs_from_the_installed_wheel(plain_venv, tmp_path, smtp):
    database = f"sqlite:///{tmp_path / 'wheel.sqlite'}"
    script = APPS / "wheel_host.py"

    def step(*args):
        done = subprocess.run(
            [str(plain_venv.python), str(script), database, str(smtp.port), *args],
            cwd=tmp_path,
            env=plain_venv.env({}),
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    applied = step("apply")
    assert applied["package"].startswith(str(plain_venv.path))  # not the source checkout
    assert applied == {**applied, "label": True, "status": 302}
    deadline = time.monotonic() + 10
    while not smtp.mails and time.monotonic() < deadline:
        time.sleep(0.05)
    text = smtp.mails[0].text
    details = activation_details(smtp.mails[0])
    assert details["account_id"] in text
    assert step("activate", details["link"])["status"] == 302
    logged_in = step("login", details["account_id"], details["password"])
    assert logged_in["status"] == 302
    assert logged_in["location"] == "/account/change-password"
