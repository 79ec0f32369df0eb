"""The wheel holds templates, catalogs and migrations, and works from a fresh venv."""

import json
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("flask_industry_auth-*.whl")
    return built


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


def test_a_host_app_runs_from_the_installed_wheel(wheel, tmp_path, smtp):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
    )
    database = f"sqlite:///{tmp_path / 'wheel.sqlite'}"
    script = ROOT / "tests" / "wheel_host.py"

    def step(*args):
        done = subprocess.run(
            [str(python), str(script), database, str(smtp.port), *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    applied = step("apply")
    assert applied["package"].startswith(str(env_dir))  # not the source checkout
    assert applied == {**applied, "label": True, "status": 302}
    deadline = time.monotonic() + 10
    while not smtp.mails and time.monotonic() < deadline:
        time.sleep(0.05)
    text = smtp.mails[0].text
    from tests.helpers import activation_details

    details = activation_details(smtp.mails[0])
    assert details["account_id"] in text
    assert step("activate", details["link"])["status"] == 302
    logged_in = step("login", details["account_id"], details["password"])
    assert logged_in["status"] == 302
    assert logged_in["location"] == "/account/change-password"
