"""The demo portal of ``make demo``: a newcomer applies, reads the mail, activates, logs in."""

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from examples.portal import create_app
from flask_industry_auth.mail import wait_for_delivery
from flask_industry_auth.testkit import csrf_token, free_port
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
    account_id = re.search(r"電子身分帳號: (\S+)", mail_page).group(1)
    password = re.search(r"臨時密碼: (\S+)", mail_page).group(1)
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


def test_make_demo_command_serves_the_portal(tmp_path):
    port = free_port()
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "examples.portal",
                "--port",
                str(port),
                "--database",
                f"sqlite:///{tmp_path / 'demo.sqlite'}",
            ],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            page = _wait_for_page(process, log, f"http://127.0.0.1:{port}/account/register")
            assert "營利事業名稱" in page
        finally:
            process.terminate()
            process.wait(10)


def _wait_for_page(process, log, url: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url) as response:  # noqa: S310 (our own 127.0.0.1)
                return response.read().decode()
        except OSError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the demo did not start"
            time.sleep(0.2)


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
    login_page = client.get("/account/login").get_data(as_text=True)
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
