"""The demo portal of ``make demo``: a newcomer applies, reads the mail, activates, logs in."""

import html
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from examples.portal import create_app
from flask_industry_auth.mail import wait_for_delivery
from flask_industry_auth.testkit import Browser, activation_details, csrf_token
from tests.helpers import OWN_PASSWORD, VALID, text_of

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo(tmp_path, smtp):
    app = create_app(
        port=5000,
        smtp_port=smtp.port,
        mail_sink=smtp,
        database_url=f"sqlite:///{tmp_path / 'demo.sqlite'}",
        instance_path=str(tmp_path / "instance"),
    )
    yield app
    with app.app_context():
        wait_for_delivery()
        from examples.portal.app import db

        db.engine.dispose()


def _post(client, path, data):
    token = csrf_token(client.get("/account/login", follow_redirects=True).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def test_apply_read_mail_activate_log_in(demo, smtp):
    client = demo.test_client()
    home = text_of(client.get("/"))
    assert "建立非憑證帳號" in home and "/mails" in home
    _post(client, "/account/register", {**VALID, "action": "apply"})
    deadline = time.monotonic() + 10
    while not smtp.mails and time.monotonic() < deadline:
        time.sleep(0.02)

    viewer = text_of(client.get("/mails"))
    assert "啟用您的電子身分證" in viewer
    mail_page = client.get("/mails/0").get_data(as_text=True)
    link = re.search(r'<a href="(http://127.0.0.1:5000/account/activate/[^"]+)"', mail_page)
    account_id = re.search(r"電子身分帳號[:：]\s*(\S+)", mail_page).group(1)
    password = re.search(r"臨時密碼[:：]\s*(\S+)", mail_page).group(1)
    client.get(urlsplit(link.group(1)).path)
    assert _post(client, "/account/activate/confirm", {}).status_code == 302

    login = _post(
        client,
        "/account/login",
        {"business_id": VALID["business_id"], "account_id": account_id, "password": password},
    )
    assert login.headers["Location"] == "/account/change-password"
    changed = _post(
        client,
        "/account/change-password",
        {"new_password": OWN_PASSWORD, "confirm_password": OWN_PASSWORD},
    )
    assert changed.status_code == 302
    home = text_of(client.get("/"))
    assert "僅能紙本申辦" in home  # a non-certificate account: paper filing only
    assert client.get("/filing/paper").status_code == 200
    assert client.get("/filing/electronic").status_code == 403


class DemoProcess:
    """``python -m examples.portal`` as ``make demo`` runs it, on a free port of 127.0.0.1."""

    def __init__(self, instance: Path, port: int = 0, **env: str) -> None:
        self.log, self.errors = instance.parent / "demo.out", instance.parent / "demo.err"
        with self.log.open("wb") as out, self.errors.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "examples.portal", "--port", str(port)],
                cwd=instance.parent,
                env={**os.environ, "PYTHONPATH": str(ROOT), "DEMO_INSTANCE": str(instance), **env},
                stdout=out,
                stderr=err,
            )

    def wait_for_url(self) -> str:
        """The URL the demo printed once it serves (it prints it only then)."""
        deadline = time.monotonic() + 30
        while not (found := re.search(r"Demo portal: (http://127\.0\.0\.1:\d+)", self.output)):
            assert self.process.poll() is None, self.output + self.errors.read_text()
            assert time.monotonic() < deadline, "the demo did not start"
            time.sleep(0.1)
        return found.group(1)

    @property
    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(15)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(5)


@contextmanager
def running_demo(instance: Path, **env: str):
    demo = DemoProcess(instance, **env)
    try:
        url = demo.wait_for_url()
        yield url
    finally:
        status = demo.stop()
    assert status == 0, demo.errors.read_text()  # SIGTERM stops it cleanly


def test_make_demo_command_serves_the_portal(tmp_path):
    with running_demo(tmp_path / "instance") as url:
        status, page, _ = Browser(url).get("/account/register")
        assert status == 200 and "營利事業名稱" in page


def _viewer_mail(browser: Browser, number: int) -> SimpleNamespace | None:
    status, page, _ = browser.get(f"/mails/{number}")
    if status == 404:
        return None
    assert status == 200
    text = html.unescape(re.sub(r"<[^>]+>", "", re.search(r"<pre>(.*?)</pre>", page, re.S)[1]))
    return SimpleNamespace(text=text, page=page)


def _wait_for_viewer_mail(browser: Browser, number: int) -> SimpleNamespace:
    deadline = time.monotonic() + 20
    while (mail := _viewer_mail(browser, number)) is None:
        assert time.monotonic() < deadline, f"mail {number} never reached the viewer"
        time.sleep(0.2)
    return mail


def _operator(instance: Path, *args: str) -> subprocess.CompletedProcess:
    """``flask --app examples.portal.app industry-auth ...``, as the README shows it."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "examples.portal.app", "industry-auth", *args],
        cwd=ROOT,
        env={**os.environ, "DEMO_INSTANCE": str(instance)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_restart_keeps_sessions_the_viewer_and_queued_mail(tmp_path):
    instance = tmp_path / "instance"
    # The first run leaves its mail in the outbox (worker mode): the operator's command sends
    # the first one into the running demo's viewer, the next one waits for the restart.
    with running_demo(instance, FLASK_INDUSTRY_AUTH_MAIL_DELIVERY="worker") as url:
        browser = Browser(url)
        status, _, _ = browser.post("/account/register", {**VALID, "action": "apply"})
        assert status == 302
        assert _viewer_mail(browser, 0) is None  # queued, not sent
        delivered = _operator(instance, "deliver-mail")
        assert delivered.returncode == 0, delivered.stderr
        details = activation_details(_wait_for_viewer_mail(browser, 0))
        assert details["link"].startswith(f"{url}/account/activate/")
        assert browser.activate(details["link"])[0] == 302
        login = {"business_id": VALID["business_id"], "account_id": details["account_id"]}
        status, _, location = browser.post(
            "/account/login", {**login, "password": details["password"]}
        )
        assert (status, location) == (302, "/account/change-password")
        new = {"new_password": OWN_PASSWORD, "confirm_password": OWN_PASSWORD}
        token = csrf_token(browser.get("/account/change-password")[1])
        changed = browser.submit("/account/change-password", {"csrf_token": token, **new})
        assert changed[0] == 302  # and a mail says so: queued
        assert browser.get("/account/")[0] == 200
        assert _viewer_mail(browser, 1) is None
    key = instance / "secret_key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first_key = key.read_text()

    with running_demo(instance) as url:
        browser.base = url  # the same cookies (cookies do not depend on the port)
        status, page, _ = browser.get("/account/")
        assert status == 200 and details["account_id"] in page  # still logged in
        assert "/account/activate/" in _viewer_mail(browser, 0).text  # the viewer kept it
        changed = _wait_for_viewer_mail(browser, 1)  # the queued mail went out after all
        assert VALID["email"] in changed.page
    assert key.read_text() == first_key


def test_a_taken_port_is_one_clear_line_and_no_url(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        demo = DemoProcess(tmp_path / "instance", port=port)
        status = demo.process.wait(30)
    errors = demo.errors.read_text()
    assert status == 1
    assert f"port {port}" in errors and "DEMO_PORT" in errors
    assert len(errors.strip().splitlines()) == 1, errors  # no traceback
    assert "http://" not in demo.output


def test_the_favicon_is_served_and_linked(demo):
    client = demo.test_client()
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/vnd.microsoft.icon"
    assert icon.data[:4] == b"\0\0\1\0" and b"\x89PNG" in icon.data  # an ICO holding a PNG
    assert '<link rel="icon" href="/favicon.ico"' in client.get("/").get_data(as_text=True)


def test_the_secret_key_is_made_once_and_kept(tmp_path):
    from examples.portal.app import instance_folder, secret_key

    folder = instance_folder(tmp_path / "instance")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # its mail holds passwords and links
    first = secret_key(folder)
    assert len(first) == 64 and secret_key(folder) == first
    assert stat.S_IMODE((folder / "secret_key").stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == ["secret_key"]  # no draft left behind


def _dev_sign(client, purpose: str, card: str) -> str:
    token = csrf_token(client.get("/account/login", follow_redirects=True).get_data(as_text=True))
    challenge = client.post(
        "/account/certificate/challenge", data={"csrf_token": token, "purpose": purpose}
    ).get_json()["challenge"]
    reply = client.post("/dev-signer/sign", json={"tbs": challenge, "pin": "123456", "card": card})
    assert reply.get_json()["ret_code"] == 0
    return reply.get_json()["signature"]


def test_developer_mode_signs_with_the_demo_card(demo, smtp):
    from examples.portal.devsigner import DEMO_BUSINESS_ID

    client = demo.test_client()
    popup = client.get("/dev-signer/popupForm").get_data(as_text=True)
    assert "測試用" in popup and "<script>" not in popup
    login_page = client.get("/account/login?type=business").get_data(as_text=True)
    assert 'data-signer-url="http://127.0.0.1:5000/dev-signer"' in login_page

    data = {**VALID, "business_id": DEMO_BUSINESS_ID}
    _post(client, "/account/register/certificate", {**data, "action": "next"})
    signature = _dev_sign(client, "apply", "business")
    applied = _post(
        client, "/account/register/certificate", {**data, "action": "apply", "signature": signature}
    )
    assert applied.status_code == 302
    deadline = time.monotonic() + 10
    while not smtp.mails and time.monotonic() < deadline:
        time.sleep(0.02)
    link = re.search(r"(http://\S+/activate/\S+)", smtp.mails[0].text).group(1)
    client.get(urlsplit(link).path)
    assert _post(client, "/account/activate/confirm", {}).status_code == 302

    signature = _dev_sign(client, "login", "business")
    login = _post(client, "/account/certificate/login", {"signature": signature})
    assert login.status_code == 302
    assert "紙本及全電子申辦" in text_of(client.get("/"))
    assert client.get("/filing/electronic").status_code == 200


def test_developer_mode_needs_the_pin_and_stays_on_this_machine(demo, tmp_path):
    client = demo.test_client()
    wrong = client.post("/dev-signer/sign", json={"tbs": "x", "pin": "0000", "card": "business"})
    assert wrong.get_json()["ret_code"] != 0 and "signature" not in wrong.get_json()
    with pytest.raises(RuntimeError, match=re.escape("only on 127.0.0.1 or localhost")):
        create_app(
            database_url=f"sqlite:///{tmp_path / 'x.sqlite'}",
            instance_path=str(tmp_path / "i"),
            INDUSTRY_AUTH_EXTERNAL_URL="https://portal.example.gov.tw",
        )


def test_a_dropped_connection_leaves_no_file_open(demo):
    """A browser that navigates away while a script still loads resets the connection; the
    server closes the response anyway (else a ResourceWarning fails a later browser test)."""
    import gc
    import socket
    import struct
    import threading

    from examples.portal.server import listen, serve

    with demo.test_request_context():
        from flask import url_for

        script = url_for("industry_auth.static", filename="industry_auth_hipki.js")
    sock = listen(0)
    port = sock.getsockname()[1]
    server = serve(demo, sock)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    unraisable, hook = [], sys.unraisablehook
    sys.unraisablehook = lambda u: unraisable.append(f"{u.exc_type.__name__}: {u.exc_value}")
    try:
        for _ in range(40):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
                client.sendall(f"GET {script} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                assert client.recv(1) == b"H"
                # Close with RST, as a browser cancelling a load does.
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        server.shutdown()
        thread.join(10)
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert unraisable == []
