"""The pieces of the host-portal tests: virtual environments with the built wheel, host apps
served over real HTTP in subprocesses, and a browser that reads CSRF tokens from the forms.

The hosts run the package from the wheel in venvs of their own; the test process only drives
them (it borrows ``tests.helpers``' form data and mail parsing, and the demo's mail sink).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
import venv
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import psycopg
import requests
from psycopg import sql
from sqlalchemy.engine import make_url

from examples.portal.mailsink import MailSink, ReceivedMail
from tests.helpers import OWN_PASSWORD, VALID, activation_details

APPS = Path(__file__).resolve().parent / "apps"
SERVE = APPS / "serve.py"
#: Variables of the test process that must not leak into a host: they would point it at the
#: source checkout, another app or another environment, or (PYTHONDONTWRITEBYTECODE) make
#: every host process compile its whole stack again, seconds each time.
_NOT_INHERITED = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONDONTWRITEBYTECODE",
    "VIRTUAL_ENV",
    "FLASK_",
    "INDUSTRY_AUTH_",
)
#: The venvs made in this session, for the run's summary (name -> {distribution: version}).
VENV_VERSIONS: dict[str, dict[str, str]] = {}
#: Every host server started in this session, so that each test can be held to what the
#: servers wrote to stderr meanwhile (conftest.py).
SERVERS: list[HostServer] = []


# -- virtual environments ---------------------------------------------------------------


@dataclass
class Venv:
    """A fresh virtual environment with the wheel (and a host's own packages) installed."""

    name: str
    path: Path

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def env(self, settings: dict[str, str]) -> dict[str, str]:
        """The environment of a host process: this venv first on PATH, the host's settings."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
        env.update(
            PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}",
            PYTHONUNBUFFERED="1",
            # Bytecode of the hosts (and the venv) in the venv, not in tests/hosts/apps/.
            PYTHONPYCACHEPREFIX=str(self.path / "pycache"),
            **settings,
        )
        return env

    def flask(
        self, app: str, *args: str, settings: dict[str, str], cwd: Path, timeout: float = 180
    ) -> CommandResult:
        """Run the venv's real ``flask`` command: ``flask --app APP ARGS...``."""
        command = [str(self.bin / "flask"), "--app", app, *args]
        done = subprocess.run(
            command,
            cwd=cwd,
            env=self.env(settings),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return CommandResult(" ".join(["flask", *args]), done.returncode, done.stdout, done.stderr)

    def versions(self) -> dict[str, str]:
        done = subprocess.run(
            [str(self.python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
            capture_output=True,
            text=True,
            check=True,
        )
        return {d["name"]: d["version"] for d in json.loads(done.stdout)}


@dataclass
class CommandResult:
    command: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        return f"`{self.command}` exited {self.returncode}\n--- output ---\n{self.output[-6000:]}"

    def check(self) -> CommandResult:
        assert self.returncode == 0, self.describe()
        assert "Traceback" not in self.output, self.describe()
        return self


def create_venv(name: str, path: Path, wheel: Path, *requirements: str) -> Venv:
    """A fresh venv with ``wheel`` and ``requirements`` installed by pip in one resolution,
    so pip must find versions that satisfy the wheel's requirements and the host's at once."""
    venv.EnvBuilder(with_pip=True).create(path)
    env = Venv(name, path)
    # --no-compile: the hosts compile into PYTHONPYCACHEPREFIX on first import anyway.
    pip = [env.python, "-m", "pip", "install", "--disable-pip-version-check", "--no-compile"]
    done = subprocess.run(
        [*pip, "--quiet", wheel, *requirements],
        capture_output=True,
        text=True,
        timeout=900,
        env=env.env({}),
    )
    if done.returncode != 0:
        # Not a skip: a host that cannot install the package beside its own stack is a finding.
        raise AssertionError(
            f"pip could not install {wheel.name} beside {requirements} in the {name} venv:\n"
            f"{done.stdout[-4000:]}\n{done.stderr[-8000:]}"
        )
    VENV_VERSIONS[name] = env.versions()
    return env


# -- databases --------------------------------------------------------------------------


class Databases:
    """Fresh databases for hosts: SQLite files in ``folder``, or, when ``server_url`` (the
    suite's INDUSTRY_AUTH_TEST_DATABASE_URL) is set, PostgreSQL databases ``hosts_<random>``
    created beside it and dropped afterwards, so nothing collides with the rest of the suite."""

    def __init__(self, folder: Path, server_url: str | None) -> None:
        self.folder, self.server_url = folder, server_url
        self.created: list[str] = []

    def new(self, label: str) -> str:
        if not self.server_url:
            return f"sqlite:///{self.folder / f'{label}-{secrets.token_hex(3)}.sqlite'}"
        name = f"hosts_{secrets.token_hex(6)}"
        with self._admin() as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        with self._admin() as connection:
            for name in self.created:
                connection.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        self.created.clear()

    def _admin(self):
        # psycopg speaks libpq URLs: the SQLAlchemy URL without "+psycopg", on its own database.
        url = make_url(self.server_url).set(drivername="postgresql")
        return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


# -- host servers -----------------------------------------------------------------------


class HostServer:
    """A host app served by werkzeug's threaded server (``apps/serve.py``) in a subprocess
    of ``venv``, on 127.0.0.1 and a port the server picked itself; stdout and stderr go to
    files in ``log_dir``."""

    def __init__(
        self,
        name: str,
        venv: Venv,
        app_file: str,
        *,
        settings: dict[str, str],
        log_dir: Path,
        factory: str = "create_app",
        ready_path: str = "/",
    ) -> None:
        self.name, self.venv, self.settings = name, venv, settings
        self.app_file, self.factory, self.ready_path = app_file, factory, ready_path
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = log_dir / f"{name}.stdout"
        self.stderr_path = log_dir / f"{name}.stderr"
        self.process: subprocess.Popen | None = None
        self.base_url = ""
        self.package_dir = ""
        #: Where this test's part of stderr starts (set by conftest before each test).
        self.test_mark = 0

    def start(self, timeout: float = 90) -> HostServer:
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [str(self.venv.python), str(SERVE), str(APPS / self.app_file), self.factory],
                cwd=self.stdout_path.parent,
                env=self.venv.env(self.settings),
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        SERVERS.append(self)
        deadline = time.monotonic() + timeout
        while not self.base_url:
            self._check_alive(deadline)
            line = self.stdout_path.read_text().partition("\n")
            if line[1]:
                started = json.loads(line[0])
                self.base_url = f"http://127.0.0.1:{started['port']}"
                self.package_dir = started["package"]
            else:
                time.sleep(0.05)
        # The package must come from the venv's wheel, never from the source checkout.
        assert self.package_dir.startswith(str(self.venv.path)), self.package_dir
        while True:  # until it answers HTTP at all
            self._check_alive(deadline)
            try:
                requests.get(self.base_url + self.ready_path, timeout=5, allow_redirects=False)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)

    def _check_alive(self, deadline: float) -> None:
        if self.process.poll() is not None:
            raise AssertionError(
                f"host server {self.name} exited {self.process.returncode}:\n{self.log()[-8000:]}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"host server {self.name} did not answer:\n{self.log()[-8000:]}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    # stderr: werkzeug's request log and every traceback of the host ------------------------
    def log_size(self) -> int:
        return self.stderr_path.stat().st_size if self.stderr_path.exists() else 0

    def log(self, since: int = 0) -> str:
        if not self.stderr_path.exists():
            return ""
        with self.stderr_path.open("rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", "replace")

    def tracebacks(self, since: int = 0, wait: float = 1.0) -> str:
        """The tracebacks written since ``since`` (werkzeug logs them just after the 500),
        the exception itself first."""
        deadline = time.monotonic() + wait
        while "Traceback" not in self.log(since) and time.monotonic() < deadline:
            time.sleep(0.05)
        return first_traceback(self.log(since)) or "(no traceback in the host's stderr)"


def first_traceback(text: str) -> str | None:
    """The first traceback in a log (with its chained ones), led by the exception it ended
    with; ``None`` if there is none."""
    start = text.find("Traceback (most recent call last)")
    if start < 0:
        return None
    block = []
    for line in text[start:].splitlines():
        if block and line.startswith(("127.0.0.1 - - [", "Error on request")):
            break  # werkzeug's next log line: the traceback is over
        block.append(line)
    exceptions = [
        line
        for line in block
        if line.strip()
        and not line.startswith((" ", "\t", "[", "(", "Traceback", "During handling", "The above"))
    ]
    return f"{exceptions[-1] if exceptions else block[-1]}\n" + "\n".join(block)[-6000:]


@contextmanager
def running(server: HostServer):
    """Start ``server``, and always terminate it afterwards (even if it never answered)."""
    try:
        yield server.start()
    finally:
        server.stop()


# -- a browser --------------------------------------------------------------------------

_CSRF_INPUT = re.compile(r"<input\b[^>]*\bname=\"csrf_token\"[^>]*>")
_VALUE = re.compile(r"\bvalue=\"([^\"]*)\"")


class Browser:
    """One visitor's browser, minus the browser: a cookie jar (``requests.Session``), CSRF
    tokens read from the forms it is shown, and not one response of 500 or above."""

    def __init__(self, server: HostServer, prefix: str = "") -> None:
        self.server = server
        self.base_url = server.base_url + prefix
        self.http = requests.Session()

    def close(self) -> None:
        self.http.close()

    def at(self, prefix: str) -> Browser:
        """The same browser (the same cookie jar) on another portal of the same server."""
        other = Browser(self.server, prefix)
        other.http.close()
        other.http = self.http
        return other

    def url(self, path: str) -> str:
        return path if "://" in path else self.base_url + path

    def get(self, path: str, *, follow: bool = False) -> requests.Response:
        return self._send("GET", path, follow)

    def post(
        self,
        path: str,
        data: dict | None = None,
        *,
        token_from: str | requests.Response | None = None,
        follow: bool = False,
    ) -> requests.Response:
        """POST ``data`` with the CSRF token of the form the visitor would submit: the one on
        ``token_from`` (a page to GET, or a response already shown; default ``path``)."""
        token = self.csrf_token(path if token_from is None else token_from)
        return self._send("POST", path, follow, data={"csrf_token": token, **(data or {})})

    def csrf_token(self, page: str | requests.Response) -> str:
        response = self.get(page, follow=True) if isinstance(page, str) else page
        tag = _CSRF_INPUT.search(response.text)
        assert tag, f"no csrf_token input on {response.url} ({response.status_code})"
        return unescape(_VALUE.search(tag.group(0)).group(1))

    def location(self, response: requests.Response) -> str | None:
        """Where a redirect points, as a path of this browser's portal (``/account/login``),
        or ``None`` if ``response`` is no redirect."""
        if not response.is_redirect:
            return None
        target = urljoin(response.url, response.headers["Location"])
        prefix = urlsplit(self.base_url).path
        path = urlsplit(target).path
        return path.removeprefix(prefix) if path.startswith(prefix + "/") else path

    def _send(self, method: str, path: str, follow: bool, **kwargs) -> requests.Response:
        mark = self.server.log_size()
        response = self.http.request(
            method, self.url(path), allow_redirects=follow, timeout=60, **kwargs
        )
        for hop in (*response.history, response):
            assert hop.status_code < 500, (
                f"{hop.request.method} {hop.url} answered {hop.status_code}; "
                f"the host {self.server.name} wrote:\n{self.server.tracebacks(mark)}"
            )
        return response


def html_lang(response: requests.Response) -> str | None:
    found = re.search(r"<html\b[^>]*\blang=\"([^\"]*)\"", response.text)
    return found.group(1) if found else None


def describe(response: requests.Response) -> str:
    location = response.headers.get("Location")
    where = f" -> {location}" if location else ""
    return f"{response.request.method} {response.url}: {response.status_code}{where}"


# -- mail -------------------------------------------------------------------------------


def wait_for_mail(sink: MailSink, recipient: str, timeout: float = 20) -> ReceivedMail:
    """The first mail ``sink`` received for ``recipient``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for mail in list(sink.mails):
            if recipient in mail.recipients:
                return mail
        time.sleep(0.05)
    raise AssertionError(f"no mail for {recipient} within {timeout}s: {sink.mails}")


def unique_email() -> str:
    return f"applicant-{secrets.token_hex(4)}@example.com"


# -- the applicant's steps --------------------------------------------------------------


@dataclass
class Applicant:
    business_id: str
    account_id: str
    password: str
    email: str
    link: str


def apply(browser: Browser, sink: MailSink, email: str | None = None) -> dict:
    """Form → confirmation screen → 申請帳號; return the activation mail's details."""
    form = {**VALID, "email": email or unique_email()}
    confirm = browser.post("/account/register", {**form, "action": "next"})
    assert confirm.status_code == 200, describe(confirm)
    assert "申請帳號" in confirm.text, (
        f"{describe(confirm)} is not the confirmation page in Traditional Chinese "
        f"(html lang={html_lang(confirm)!r}):\n{confirm.text[-1500:]}"
    )
    done = browser.post("/account/register", {**form, "action": "apply"}, token_from=confirm)
    assert done.status_code == 302, describe(done)
    mail = wait_for_mail(sink, form["email"])
    # The default mail is in Traditional Chinese: 電子身分帳號, 臨時密碼 and the link.
    assert "電子身分帳號：" in mail.text and "臨時密碼：" in mail.text, mail.text
    return {**activation_details(mail), "email": form["email"]}


def activate(browser: Browser, link: str) -> None:
    """GET the mail's link (the token moves into the session), POST the confirm form."""
    page = browser.get(link, follow=True)
    assert page.status_code == 200, describe(page)
    done = browser.post(page.url, token_from=page)
    assert done.status_code == 302, describe(done)


def log_in(browser: Browser, business_id: str, account_id: str, password: str):
    return browser.post(
        "/account/login",
        {"business_id": business_id, "account_id": account_id, "password": password},
    )


def become_applicant(browser: Browser, sink: MailSink, email: str | None = None) -> Applicant:
    """Apply, read the mail, activate, log in with the temporary password and choose one of
    the applicant's own (the forced change); the applicant stays logged in."""
    details = apply(browser, sink, email)
    activate(browser, details["link"])
    first = log_in(browser, VALID["business_id"], details["account_id"], details["password"])
    assert browser.location(first) == "/account/change-password", describe(first)
    changed = browser.post(
        "/account/change-password",
        {"new_password": OWN_PASSWORD, "confirm_password": OWN_PASSWORD},
    )
    assert changed.status_code == 302, describe(changed)
    return Applicant(
        VALID["business_id"], details["account_id"], OWN_PASSWORD, details["email"], details["link"]
    )


def assert_applicant_logged_in(browser: Browser, applicant: Applicant) -> None:
    """The package's pages answer ``applicant``: the management page and their basic data."""
    index = browser.get("/account/")
    assert index.status_code == 200, describe(index)
    assert applicant.account_id in index.text
    profile = browser.get("/account/profile")
    assert profile.status_code == 200, describe(profile)
    assert applicant.email in profile.text
