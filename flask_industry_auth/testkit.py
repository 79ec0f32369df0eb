"""Drive a portal that mounts the package as an applicant would: for tests, scripts and
benchmarks, never for production.

- :class:`Applicant` drives the pages through a Flask test client, in process;
  :class:`Browser` drives a real server over HTTP (process races, the soak test, the
  benchmarks). Both post the pages' real CSRF tokens; both expect the default mount point,
  ``/account``.
- :func:`activation_details` and :func:`temporary_password` read what the mails say.
- :data:`VALID` is a valid application; :func:`host_config` (with :data:`FAST_ARGON2`) is the
  config of a test host that mails a local SMTP sink.
- :func:`start_mail_worker` runs ``flask industry-auth deliver-mail --watch`` in a process of
  its own; the worker's app module reads its settings with :func:`worker_settings`.

The certificate side (a throw-away PKI, signed challenges) is :mod:`flask_industry_auth.testing`.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .mail import wait_for_delivery

#: A valid application (the registration form's fields).
VALID = {
    "business_name": "經濟部測試股份有限公司",
    "business_id": "04595257",
    "responsible_person": "王大明",
    "contact_person": "林小華",
    "phone": "02-2311-2345#123",
    "address": "臺北市中正區福州街15號",
    "email": "applicant@example.com",
}
#: The password :meth:`Applicant.active_account` chooses at the first login.
OWN_PASSWORD = "correct horse battery staple 2026"  # noqa: S105 (a test account's)

#: Fast argon2id for tests; production keeps argon2-cffi's defaults (refused outside TESTING).
FAST_ARGON2 = {
    "INDUSTRY_AUTH_ARGON2_TIME_COST": 1,
    "INDUSTRY_AUTH_ARGON2_MEMORY_COST": 1024,
    "INDUSTRY_AUTH_ARGON2_PARALLELISM": 1,
}

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


_ACTIVATION_TOKEN = re.compile(r'name="token" value="([^"]+)"')


def activation_form(page: str) -> dict:
    """What the activation page's button posts (its token; no CSRF token needed), or nothing
    when ``page`` has no button (an expired or used link)."""
    found = _ACTIVATION_TOKEN.search(page)
    return {"token": found.group(1)} if found else {}


def csrf_token(page: str) -> str:
    """The CSRF token of the first form on ``page`` (HTML)."""
    return _CSRF.search(page).group(1)


def host_config(database_url: str, smtp_port: int) -> dict[str, Any]:
    """The config of a test host: TESTING, the database, real SMTP to 127.0.0.1:``smtp_port``
    (a sink such as ``examples.portal.mailsink.MailSink``), plain-HTTP cookies, fast argon2id."""
    return {
        "SECRET_KEY": "test-secret-key-not-for-production",
        "TESTING": True,
        "MAIL_SUPPRESS_SEND": False,  # Flask-Mail suppresses under TESTING; we want real SMTP
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        "MAIL_DEFAULT_SENDER": "no-reply@portal.example.gov.tw",
        "INDUSTRY_AUTH_EXTERNAL_URL": "https://portal.example.gov.tw",
        "INDUSTRY_AUTH_SMTP_TIMEOUT": 5,
        "INDUSTRY_AUTH_SECURE_COOKIES": False,  # the test client speaks plain HTTP
        **FAST_ARGON2,
    }


# -- reading the mails ------------------------------------------------------------------------


def activation_link(mail) -> str:
    """The activation link of an activation mail (anything with a ``text``)."""
    return re.search(r"(https?://\S+/activate/\S+)", mail.text).group(1)


def temporary_password(mail) -> str:
    """The temporary password of an activation or forgot-password mail."""
    return re.search(r"臨時密碼[:：]\s*(\S+)", mail.text).group(1)


def activation_details(mail) -> dict:
    """``account_id``, ``password`` (temporary), ``link`` and the ``mail`` itself, read from
    the activation mail of a non-certificate application."""
    return {
        "account_id": re.search(r"電子身分帳號[:：]\s*(\S+)", mail.text).group(1),
        "password": temporary_password(mail),
        "link": activation_link(mail),
        "mail": mail,
    }


# -- in process: a Flask test client ------------------------------------------------------------


class Applicant:
    """An applicant's browser, minus the browser: the package's pages through ``client``
    (``app.test_client()``) with real CSRF tokens. ``smtp`` is the sink ``app`` mails to:
    anything with a ``mails`` list that deliveries are appended to."""

    def __init__(self, app, client, smtp) -> None:
        self.app, self.client, self.smtp = app, client, smtp

    # -- plumbing ---------------------------------------------------------------------
    def csrf(self) -> str:
        return csrf_token(
            self.client.get("/account/login", follow_redirects=True).get_data(as_text=True)
        )

    def post(self, url: str, data: dict | None = None, **kwargs):
        """POST ``data`` to ``url`` with a fresh CSRF token of this client's session."""
        return self.client.post(url, data={"csrf_token": self.csrf(), **(data or {})}, **kwargs)

    def wait_mails(self, count: int, timeout: float = 15.0) -> list:
        """Wait until the sink holds ``count`` mails; return them all."""
        deadline = time.monotonic() + timeout
        while len(self.smtp.mails) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.smtp.mails) >= count, f"expected {count} mails, got {self.smtp.mails}"
        return self.smtp.mails

    def settle(self) -> list:
        """Wait until every mail queued so far has been handed to SMTP; return the mails."""
        with self.app.app_context():
            wait_for_delivery()
        return self.smtp.mails

    def forget_mails(self) -> None:
        self.settle()
        self.smtp.mails.clear()

    # -- the applicant's steps --------------------------------------------------------
    def apply(self, **fields):
        """Apply with :data:`VALID` (``fields`` changed): the form, its confirmation page."""
        data = {**VALID, **fields}
        confirm = self.post("/account/register", {**data, "action": "next"})
        assert confirm.status_code == 200
        assert "申請帳號" in confirm.get_data(as_text=True), confirm.get_data(as_text=True)
        return self.post("/account/register", {**data, "action": "apply"})

    def apply_and_read_mail(self, **fields) -> dict:
        """Apply and return the :func:`activation_details` of the mail that follows."""
        before = len(self.smtp.mails)
        response = self.apply(**fields)
        assert response.status_code == 302
        mail = self.wait_mails(before + 1)[before]
        return activation_details(mail)

    def activate(self, link: str):
        """Open an activation link and press its button (which posts the page's token)."""
        page = self.client.get(urlsplit(link).path).get_data(as_text=True)
        form = activation_form(page)
        if not form:  # no button (a used or expired link): the POST answers the same
            return self.post("/account/activate/confirm")
        return self.client.post("/account/activate/confirm", data=form)

    def login(self, business_id: str, account_id: str, password: str, next_url: str = ""):
        url = "/account/login" + (f"?next={next_url}" if next_url else "")
        return self.post(
            url, {"business_id": business_id, "account_id": account_id, "password": password}
        )

    def logout(self):
        return self.post("/account/logout")

    def change_password(self, new: str, old: str | None = None, confirm: str | None = None):
        data = {"new_password": new, "confirm_password": new if confirm is None else confirm}
        if old is not None:
            data["old_password"] = old
        return self.post("/account/change-password", data)

    def active_account(self, **fields) -> dict:
        """Apply, activate, first login, choose :data:`OWN_PASSWORD`; still logged in."""
        details = self.apply_and_read_mail(**fields)
        assert self.activate(details["link"]).status_code == 302
        business_id = fields.get("business_id", VALID["business_id"])
        response = self.login(business_id, details["account_id"], details["password"])
        assert response.headers["Location"].endswith("/account/change-password")
        response = self.change_password(OWN_PASSWORD)
        assert response.status_code == 302, response.get_data(as_text=True)
        details.update(business_id=business_id, password=OWN_PASSWORD)
        return details


# -- over HTTP: a real server -------------------------------------------------------------------


class Browser:
    """A cookie-keeping HTTP client for the server at ``base`` (``http://127.0.0.1:PORT``),
    following no redirects. Each request returns ``(status, body, Location)``."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def get(self, path: str) -> tuple[int, str, str]:
        return self._open(urllib.request.Request(self.base + path))  # noqa: S310

    def post(self, path: str, data: dict) -> tuple[int, str, str]:
        """POST ``data`` with the CSRF token of this browser's session (from the login page)."""
        _, page, _ = self.get("/account/login")
        return self.submit(path, {"csrf_token": csrf_token(page), **data})

    def submit(self, path: str, data: dict) -> tuple[int, str, str]:
        """POST ``data`` as it is (a form that carries its own token, or needs none)."""
        body = urllib.parse.urlencode(data).encode()
        return self._open(urllib.request.Request(self.base + path, data=body))  # noqa: S310

    def activate(self, link: str) -> tuple[int, str, str]:
        """Open an activation link and press its button (which posts the page's token)."""
        _, page, _ = self.get(urlsplit(link).path)
        form = activation_form(page)
        if not form:  # no button (a used or expired link): the POST answers the same
            return self.post("/account/activate/confirm", {})
        return self.submit("/account/activate/confirm", form)

    def cookie_header(self) -> str:
        """This browser's cookies as a ``Cookie`` header value."""
        return "; ".join(f"{c.name}={c.value}" for c in self.cookies)

    def _open(self, request) -> tuple[int, str, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode(), ""
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers.get("Location", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- mail worker processes ------------------------------------------------------------------------

#: The environment variables :func:`start_mail_worker` sets and :func:`worker_settings` reads.
WORKER_DATABASE_URL = "INDUSTRY_AUTH_TEST_DATABASE_URL"
WORKER_SMTP_PORT = "TEST_SMTP_PORT"


def start_mail_worker(
    app: str,
    database_url: str,
    smtp_port: int,
    *,
    root: Path,
    interval: float,
    output=subprocess.DEVNULL,
) -> subprocess.Popen:
    """Start ``flask --app APP industry-auth deliver-mail --watch`` in ``root`` (also its
    PYTHONPATH), polling every ``interval`` seconds, its stdout and stderr to ``output``.

    ``app`` is a ``flask --app`` value naming a module that builds its app from
    :func:`worker_settings`: ``database_url`` and ``smtp_port`` reach it in the environment.
    SIGTERM lets the worker finish the mail in hand, then stop.
    """
    env = {
        **os.environ,
        WORKER_DATABASE_URL: database_url,
        WORKER_SMTP_PORT: str(smtp_port),
        "PYTHONPATH": str(root),
    }
    command = ["flask", "--app", app, "industry-auth", "deliver-mail", "--watch"]
    return subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", *command, "--interval", str(interval)],
        cwd=root,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )


def worker_settings() -> tuple[str, int]:
    """``(database URL, SMTP port)`` of a worker process :func:`start_mail_worker` started."""
    return os.environ[WORKER_DATABASE_URL], int(os.environ[WORKER_SMTP_PORT])


__all__ = [
    "FAST_ARGON2",
    "OWN_PASSWORD",
    "VALID",
    "Applicant",
    "Browser",
    "activation_details",
    "activation_link",
    "csrf_token",
    "free_port",
    "host_config",
    "start_mail_worker",
    "temporary_password",
    "worker_settings",
]
