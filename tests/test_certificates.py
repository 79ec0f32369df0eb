"""工商憑證 (MOEACA) and 自然人憑證 (MOICA) login, verified for real.

A test PKI (flask_industry_auth.testing) issues real certificates and signs real CMS
challenges; a CRL and OCSP server on 127.0.0.1 answers for it. The package verifies them in
its production code path.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flask_industry_auth.certificates.revocation import OCSPChecker
from flask_industry_auth.testing import TestPKI
from tests.helpers import OWN_PASSWORD, VALID, Portal, text_of
from tests.hostapp import auth, db

UBN = VALID["business_id"]


class RevocationServer:
    """Serves /<ca>.crl and /ocsp/<ca> for a TestPKI, counting requests."""

    def __init__(self) -> None:
        server = self
        self.requests: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _authority(self, slug):
                return {"moeaca": server.pki.moeaca, "moica": server.pki.moica}[slug]

            def do_GET(self):
                server.requests.append(self.path)
                body = server.pki.crl(
                    self._authority(self.path.strip("/").removesuffix(".crl")),
                    next_update_hours=server.next_update_hours,
                )
                self._send(body, "application/pkix-crl")

            def do_POST(self):
                server.requests.append(self.path)
                request = self.rfile.read(int(self.headers["Content-Length"]))
                slug = self.path.rsplit("/", 1)[1]
                self._send(
                    server.pki.ocsp_response(self._authority(slug), request),
                    "application/ocsp-response",
                )

            def _send(self, body, content_type):
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.next_update_hours = 24
        self.pki = TestPKI(f"http://127.0.0.1:{self.httpd.server_address[1]}")
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def revocation_server():
    server = RevocationServer()
    yield server
    server.stop()


@pytest.fixture
def pki(revocation_server):
    revocation_server.requests.clear()
    return revocation_server.pki


@pytest.fixture
def app(make, pki):
    return make(INDUSTRY_AUTH_CERT_TRUST_ANCHORS=pki.anchors_pem())


class CardHolder(Portal):
    """An applicant with a card reader."""

    def challenge(self, purpose: str) -> str:
        response = self.post("/account/certificate/challenge", {"purpose": purpose})
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        return response.get_json()["challenge"]

    def card_login(self, card, content=None):
        challenge = self.challenge("login")
        return self.post(
            "/account/certificate/login", {"signature": card.sign(content or challenge)}
        )

    def card_apply(self, card, **fields):
        data = {**VALID, **fields}
        confirm = self.post("/account/register/certificate", {**data, "action": "next"})
        assert 'data-ia-sign="apply"' in text_of(confirm)
        signature = card.sign(self.challenge("apply"))
        return self.post(
            "/account/register/certificate", {**data, "action": "apply", "signature": signature}
        )

    def card_account(self, card, **fields) -> dict:
        before = len(self.smtp.mails)
        assert self.card_apply(card, **fields).status_code == 302
        mail = self.wait_mails(before + 1)[before]
        import re

        account_id = re.search(r"電子身分帳號: (\S+)", mail.text).group(1)
        link = re.search(r"(https?://\S+/activate/\S+)", mail.text).group(1)
        assert self.activate(link).status_code == 302
        return {"account_id": account_id, "mail": mail}


@pytest.fixture
def holder(app, client, smtp):
    return CardHolder(app, client, smtp)


def _audit_outcomes(app, event):
    with app.app_context():
        Audit = auth.models.AuditEvent
        return [
            r.outcome
            for r in db.session.scalars(
                db.select(Audit).where(Audit.event == event).order_by(Audit.id)
            )
        ]


def test_business_card_applies_activates_and_logs_in(holder, pki):
    card = pki.business_card(UBN)
    account = holder.card_account(card)
    mail = account["mail"]
    assert "臨時密碼" not in mail.text and "Temporary password" not in mail.text
    assert "憑證卡" in mail.text
    stored = holder.account(account["account_id"])
    assert stored.account_type == "business_certificate" and stored.state == "activated"
    assert stored.password_hash is None and stored.temp_password_hash is None

    response = holder.card_login(card)
    assert response.headers["Location"] == "/account/"
    page = text_of(holder.client.get("/account/"))
    assert "紙本申辦及全電子申辦" in page
    assert "/account/change-password" not in page
    assert "無法在本系統變更" in text_of(holder.client.get("/account/change-password"))
    # No password login for a certificate account, whatever is typed.
    holder.logout()
    refused = holder.login(UBN, account["account_id"], OWN_PASSWORD)
    assert refused.status_code == 200


def test_a_card_of_another_company_cannot_apply(holder, pki):
    response = holder.card_apply(pki.business_card("22099131"))
    assert response.status_code == 200
    assert "憑證屬於另一家公司" in text_of(response)
    assert holder.accounts() == []
    assert holder.settle() == []
    assert _audit_outcomes(holder.app, "certificate_apply") == ["wrong_company"]


@pytest.mark.parametrize(
    ("make_card", "reason", "message"),
    [
        (lambda pki: pki.expired_card(UBN), "expired", "憑證已過期"),
        (lambda pki: TestPKI().business_card(UBN), "untrusted", "並非由本系統接受的憑證中心"),
        (lambda pki: pki.encryption_card(UBN), "wrong_card", "不是正確的憑證"),
        (
            lambda pki: pki.business_card(UBN, serial_number="99999999"),
            "wrong_company",
            "憑證屬於另一家公司",
        ),
        (lambda pki: pki.business_card("22099131"), "no_account", "尚無帳號使用此憑證"),
        (lambda pki: pki.citizen_card(), "no_account", "尚無帳號使用此憑證"),
    ],
)
def test_refused_cards_get_a_clear_reason_and_are_audited(holder, pki, make_card, reason, message):
    from flask_industry_auth import signals

    holder.card_account(pki.business_card(UBN))
    failed = []
    signals.login_failed.connect(lambda _, **kw: failed.append(kw["reason"]), holder.app, False)
    response = holder.card_login(make_card(pki))
    assert failed == [reason]  # once, after the refusal's commit
    assert response.status_code == 200
    assert message in text_of(response)
    assert holder.client.get("/account/").status_code == 302  # not logged in
    assert _audit_outcomes(holder.app, "certificate_login")[-1] == reason


def test_revoked_card_is_refused_by_the_crl(holder, pki):
    card = pki.business_card(UBN)
    pki.revoke(card)
    assert "憑證已被停用" in text_of(holder.card_apply(card))
    assert holder.accounts() == []
    renewed = pki.business_card(UBN)
    holder.card_account(renewed)  # the CRL is now cached
    pki.revoke(renewed)
    # A revocation after the download is seen at the CRL's next update, not before.
    assert holder.card_login(renewed).status_code == 302
    assert _audit_outcomes(holder.app, "certificate_apply") == ["revoked"]


def test_a_revocation_is_seen_once_the_crl_is_renewed(holder, pki, revocation_server, time_machine):
    time_machine.move_to("2026-11-28 09:00:00+00:00", tick=True)
    revocation_server.next_update_hours = 1
    try:
        card = pki.business_card(UBN)
        holder.card_account(card)
        pki.revoke(card)
        time_machine.move_to("2026-11-28 10:00:01+00:00", tick=True)
        assert "憑證已被停用" in text_of(holder.card_login(card))
        assert _audit_outcomes(holder.app, "certificate_login")[-1] == "revoked"
    finally:
        revocation_server.next_update_hours = 24


def test_the_crl_is_downloaded_once_and_kept_until_next_update(
    holder, pki, revocation_server, time_machine
):
    time_machine.move_to("2026-11-28 09:00:00+00:00", tick=True)
    revocation_server.next_update_hours = 1
    try:
        card = pki.business_card(UBN)
        holder.card_account(card)
        for _ in range(3):
            assert holder.card_login(card).status_code == 302
            holder.logout()
        assert revocation_server.requests == ["/moeaca.crl"]
        time_machine.move_to("2026-11-28 10:00:01+00:00", tick=True)
        assert holder.card_login(card).status_code == 302
        assert revocation_server.requests == ["/moeaca.crl", "/moeaca.crl"]
    finally:
        revocation_server.next_update_hours = 24


def test_ocsp_checker(holder, pki, revocation_server, app):
    app.extensions["industry_auth"].revocation = OCSPChecker()
    good, bad = pki.business_card(UBN), pki.citizen_card()
    holder.card_account(good)  # applying asks the responder once
    assert holder.card_login(good).status_code == 302  # and every login asks again
    assert revocation_server.requests == ["/ocsp/moeaca", "/ocsp/moeaca"]
    pki.revoke(good)
    holder.logout()
    assert "憑證已被停用" in text_of(holder.card_login(good))  # at once: no caching
    assert "尚無帳號使用此憑證" in text_of(holder.card_login(bad))
    assert revocation_server.requests[-1] == "/ocsp/moica"


def test_a_challenge_works_once(holder, pki):
    card = pki.business_card(UBN)
    holder.card_account(card)
    challenge = holder.challenge("login")
    signature = card.sign(challenge)
    assert holder.post("/account/certificate/login", {"signature": signature}).status_code == 302
    holder.logout()
    # Replaying the same signature: the session no longer holds that challenge.
    replay = holder.post("/account/certificate/login", {"signature": signature})
    assert "簽章要求已逾時或已使用過" in text_of(replay)
    # Nor does restoring the old session bring it back: the server used it up.
    with holder.client.session_transaction() as session:
        session["_industry_auth_cert_challenge"] = challenge
    again = holder.post("/account/certificate/login", {"signature": signature})
    assert "簽章要求已逾時或已使用過" in text_of(again)


def test_the_signature_must_be_over_exactly_the_challenge(holder, pki):
    card = pki.business_card(UBN)
    holder.card_account(card)
    holder.challenge("login")
    other = holder.post(
        "/account/certificate/login", {"signature": card.sign("flask_industry_auth:login:forged")}
    )
    assert other.status_code == 200
    assert _audit_outcomes(holder.app, "certificate_login")[-1] == "wrong_content"
    # A challenge for another purpose cannot log in.
    challenge = holder.challenge("apply")
    with holder.client.session_transaction() as session:
        session["_industry_auth_cert_challenge"] = challenge
    wrong_purpose = holder.post("/account/certificate/login", {"signature": card.sign(challenge)})
    assert wrong_purpose.status_code == 200
    assert _audit_outcomes(holder.app, "certificate_login")[-1] == "challenge_expired"


def test_challenges_expire(holder, pki, time_machine):
    time_machine.move_to("2026-11-28 09:00:00+00:00", tick=True)
    card = pki.business_card(UBN)
    holder.card_account(card)
    challenge = holder.challenge("login")
    time_machine.move_to("2026-11-28 09:02:01+00:00", tick=True)
    late = holder.post("/account/certificate/login", {"signature": card.sign(challenge)})
    assert "簽章要求已逾時或已使用過" in text_of(late)


def _challenge_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(auth.models.Challenge))


def test_a_challenge_names_the_portal_and_the_purpose_and_goes_when_used(holder, pki):
    card = pki.business_card(UBN)
    holder.card_account(card)
    rows = _challenge_rows(holder.app)
    challenge = holder.challenge("login")
    assert challenge.startswith("flask_industry_auth:login:https://portal.example.gov.tw:")
    assert _challenge_rows(holder.app) == rows + 1
    holder.post("/account/certificate/login", {"signature": card.sign(challenge)})
    assert _challenge_rows(holder.app) == rows  # deleted as it was used


def test_a_challenge_for_another_portal_is_refused(holder, pki):
    card = pki.business_card(UBN)
    holder.card_account(card)
    challenge = holder.challenge("login")
    elsewhere = challenge.replace("https://portal.example.gov.tw", "https://other.example.gov.tw")
    with holder.client.session_transaction() as session:
        session["_industry_auth_cert_challenge"] = elsewhere
    response = holder.post("/account/certificate/login", {"signature": card.sign(elsewhere)})
    assert "簽章要求已逾時或已使用過" in text_of(response)


def test_expired_challenges_are_deleted(holder, time_machine):
    time_machine.move_to("2026-11-28 09:00:00+00:00", tick=True)
    for _ in range(3):
        holder.challenge("login")
    time_machine.move_to("2026-11-28 09:05:00+00:00", tick=True)
    holder.challenge("login")
    assert _challenge_rows(holder.app) == 1  # only the live one


def test_challenges_are_rate_limited(make, smtp):
    app = make(INDUSTRY_AUTH_RATELIMIT_CHALLENGE_PER_IP="3/minute")
    visitor = Portal(app, app.test_client(), smtp)
    statuses = [
        visitor.post("/account/certificate/challenge", {"purpose": "login"}).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.parametrize("garbage", ["", "not base64!", "QUJD", "A" * 200_000])
def test_garbage_signatures_are_refused_cleanly(holder, garbage):
    holder.challenge("login")
    response = holder.post("/account/certificate/login", {"signature": garbage})
    assert response.status_code == 200
    assert _audit_outcomes(holder.app, "certificate_login")[-1] == "malformed"


def test_a_renewed_business_card_reaches_the_same_account(holder, pki):
    first = holder.card_account(pki.business_card(UBN))
    renewed = pki.business_card(UBN)
    assert holder.card_login(renewed).headers["Location"] == "/account/"
    stored = holder.account(first["account_id"])
    assert stored.certificate_serial == format(renewed.certificate.serial_number, "x")


def test_a_citizen_card_is_bound_by_the_account_holder_then_logs_in(holder, pki, app, smtp):
    details = holder.active_account()  # a non-certificate account, logged in by password
    card = pki.citizen_card()
    assert holder.card_login(card).status_code == 200  # not bound yet: no account
    holder.login(UBN, details["account_id"], OWN_PASSWORD)
    page = text_of(holder.client.get("/account/certificate/bind"))
    assert 'data-ia-sign="bind"' in page
    signature = card.sign(holder.challenge("bind"))
    bound = holder.post("/account/certificate/bind", {"signature": signature})
    assert bound.headers["Location"] == "/account/login"
    stored = holder.account(details["account_id"])
    assert stored.account_type == "citizen_certificate" and stored.password_hash is None

    assert holder.card_login(card).headers["Location"] == "/account/"
    assert "紙本申辦及全電子申辦" in text_of(holder.client.get("/account/"))
    holder.logout()
    assert holder.login(UBN, details["account_id"], OWN_PASSWORD).status_code == 200

    # The same card cannot be bound to a second account.
    other = CardHolder(app, app.test_client(), smtp)
    other_details = other.active_account(email="other@example.com")
    refused = other.post(
        "/account/certificate/bind", {"signature": card.sign(other.challenge("bind"))}
    )
    assert "不是正確的憑證" in text_of(refused)
    assert other.account(other_details["account_id"]).account_type == "non_certificate"


def test_a_business_card_cannot_be_bound(holder, pki):
    holder.active_account()
    card = pki.business_card(UBN)
    refused = holder.post(
        "/account/certificate/bind", {"signature": card.sign(holder.challenge("bind"))}
    )
    assert "不是正確的憑證" in text_of(refused)


def test_binding_needs_a_login(client, holder):
    response = holder.post("/account/certificate/challenge", {"purpose": "bind"})
    assert response.status_code == 403


def test_without_trust_anchors_certificate_login_is_refused(make, smtp, pki):
    app = make()  # no INDUSTRY_AUTH_CERT_TRUST_ANCHORS
    holder = CardHolder(app, app.test_client(), smtp)
    response = holder.card_login(pki.business_card(UBN))
    assert "並非由本系統接受的憑證中心" in text_of(response)


def test_login_page_drives_the_hipki_service_without_inline_script(holder, app):
    page = holder.client.get("/account/login").get_data(as_text=True)
    assert 'data-signer-url="http://localhost:61161"' in page
    assert "industry_auth_hipki.js" in page
    assert "<script>" not in page  # no inline script (CSP)
    with holder.client.get("/account/static/industry_auth_hipki.js") as response:
        script = response.get_data(as_text=True)
    assert "event.origin !== origin" in script and '"PKCS7"' in script
    # The PIN field has no name: it is never posted to the portal.
    assert 'data-ia-pin autocomplete="off"' in page and 'name="pin"' not in page
