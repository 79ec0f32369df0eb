"""工商憑證 (MOEACA) and 自然人憑證 (MOICA) login, verified for real.

A test PKI (flask_industry_auth.testing) issues real certificates and signs real CMS
challenges; a CRL and OCSP server on 127.0.0.1 answers for it. The package verifies them in
its production code path.
"""

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from flask_industry_auth import ConfigError
from flask_industry_auth.certificates.identity import OID_ID_LAST4, OID_UBN
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
    return make(**pki.trust_config())


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
        applied = self.card_apply(card, **fields)
        assert applied.status_code == 302, text_of(applied)[-600:]
        mail = self.wait_mails(before + 1)[before]
        import re

        account_id = re.search(r"電子身分帳號[:：]\s*(\S+)", mail.text).group(1)
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
    assert "憑證已廢止或停用" in text_of(holder.card_apply(card))
    assert holder.accounts() == []
    renewed = pki.business_card(UBN)
    holder.card_account(renewed)  # the CRL is now cached
    pki.revoke(renewed)
    # A revocation after the download is seen at the CRL's next update, not before.
    assert holder.card_login(renewed).status_code == 302
    assert _audit_outcomes(holder.app, "certificate_apply") == ["revoked"]


def test_a_revocation_is_seen_once_the_crl_is_renewed(holder, pki, revocation_server, time_machine):
    import datetime as dt

    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
    time_machine.move_to(start, tick=True)
    revocation_server.next_update_hours = 1
    try:
        card = pki.business_card(UBN)
        holder.card_account(card)
        pki.revoke(card)
        time_machine.move_to(start + dt.timedelta(hours=1, seconds=1), tick=True)
        # Past the CRL's nextUpdate its refresh is due; it runs in the background (a login
        # never waits for it), so the test waits for it here.
        assert holder.app.extensions["industry_auth"].revocation.refresh(force=False, wait=30)
        assert "憑證已廢止或停用" in text_of(holder.card_login(card))
        assert _audit_outcomes(holder.app, "certificate_login")[-1] == "revoked"
    finally:
        revocation_server.next_update_hours = 24


def test_the_crl_is_downloaded_once_and_kept_until_next_update(
    holder, pki, revocation_server, time_machine
):
    import datetime as dt

    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
    time_machine.move_to(start, tick=True)
    revocation_server.next_update_hours = 1
    try:
        card = pki.business_card(UBN)
        holder.card_account(card)
        for _ in range(3):
            assert holder.card_login(card).status_code == 302
            holder.logout()
        assert revocation_server.requests == ["/moeaca.crl"]
        time_machine.move_to(start + dt.timedelta(hours=1, seconds=1), tick=True)
        # Past nextUpdate: this login is still checked against the CRL it has (within the
        # grace period) and starts its refresh in the background; once, for all logins.
        assert holder.card_login(card).status_code == 302
        assert holder.app.extensions["industry_auth"].revocation.refresh(force=False, wait=30)
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
    assert "憑證已廢止或停用" in text_of(holder.card_login(good))  # at once: no caching
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
    start = datetime.now(UTC)  # the test CAs are valid from a day ago
    time_machine.move_to(start, tick=True)
    card = pki.business_card(UBN)
    holder.card_account(card)
    challenge = holder.challenge("login")
    time_machine.move_to(start + timedelta(seconds=121), tick=True)
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
    assert bound.headers["Location"] == "/account/certificate/authorize"
    # The company decides: here its 工商憑證 signs the consent on the same PC.
    holder.client.get("/account/certificate/authorize")
    consent = pki.business_card(UBN).sign(holder.challenge("sign"))
    authorized = holder.post("/account/certificate/authorize", {"signature": consent})
    assert authorized.headers["Location"] == "/account/login"
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
    page = holder.client.get("/account/login?type=business").get_data(as_text=True)
    assert 'data-signer-url="http://localhost:61161"' in page
    assert "industry_auth_hipki.js" in page
    assert "<script>" not in page  # no inline script (CSP)
    with holder.client.get("/account/static/industry_auth_hipki.js") as response:
        script = response.get_data(as_text=True)
    assert "event.origin !== origin" in script and '"PKCS7"' in script
    # The PIN field has no name: it is never posted to the portal.
    assert 'data-ia-pin autocomplete="off"' in page and 'name="pin"' not in page


# -- trust by account type (issue 14, point 1) -------------------------------------------------


def _card_refused(holder, card, expected: str) -> None:
    response = holder.card_login(card)
    assert expected in text_of(response), text_of(response)[-400:]


def test_a_card_of_another_ca_under_the_same_root_never_logs_in(holder, pki):
    holder.card_account(pki.business_card(UBN))
    # A GCA-like card with the company's 統一編號 and even the MOICA attribute.
    other = pki.other_authority()
    forged = pki._card(other, pki.moeaca.certificate.subject, {OID_UBN: UBN, OID_ID_LAST4: "6789"})
    # As HiPKI sends it (no intermediate), no path leads to a configured CA.
    _card_refused(holder, forged, "並非由本系統接受的憑證中心")
    assert _audit_outcomes(holder.app, "certificate_login")[-1] == "untrusted"
    # With its CA inside, the path reaches the root, but through no configured CA.
    signature = forged.sign(holder.challenge("login"), embed_chain=True)
    response = holder.post("/account/certificate/login", {"signature": signature})
    assert "不是正確的憑證" in text_of(response)
    assert _audit_outcomes(holder.app, "certificate_login")[-1] == "wrong_card"


def test_the_type_is_the_issuers_not_the_attributes(holder, pki):
    holder.card_account(pki.business_card(UBN))
    # A MOICA card that also carries a 統一編號 is a citizen card: not the company's login.
    citizen = pki._card(
        pki.moica, pki.citizen_card().certificate.subject, {OID_UBN: UBN, OID_ID_LAST4: "1"}
    )
    response = holder.card_login(citizen)
    assert "尚無帳號使用此憑證" in text_of(response)


def test_a_card_without_its_cas_policy_is_refused(holder, pki):
    _card_refused(holder, pki.business_card(UBN, policies=()), "不是正確的憑證")
    _card_refused(holder, pki.business_card(UBN, policies=("1.2.3.4",)), "不是正確的憑證")


def test_both_generations_of_a_ca_with_one_name_are_trusted(make, smtp):
    pki = TestPKI()
    g3 = pki.new_generation(pki.moica, "moica-g3")
    assert g3.certificate.subject == pki.moica.certificate.subject
    app = make(**pki.trust_config())
    trust = app.extensions["industry_auth"].trust
    assert [i.kind for i in trust.issuers] == ["business", "citizen", "citizen"]
    assert len({i.key_id for i in trust.issuers}) == 3
    holder = CardHolder(app, app.test_client(), smtp)
    for card in (pki.citizen_card(), pki.citizen_card(authority=g3)):
        # Without a CRL address revocation is unknown: past validation, nothing else.
        response = holder.card_login(card)
        assert "並非由本系統接受的憑證中心" not in text_of(response)
        assert _audit_outcomes(app, "certificate_login")[-1] == "revocation_unknown"


def test_an_attached_card_logs_in_only_where_allowed(make, smtp, pki):
    app = make(**pki.trust_config())
    holder = CardHolder(app, app.test_client(), smtp)
    holder.card_account(pki.business_card(UBN))
    attached = pki.business_card(UBN, attached=True, name="員工 附卡")
    _card_refused(holder, attached, "附卡")
    assert _audit_outcomes(app, "certificate_login")[-1] == "attached_card"
    allowing = make(**pki.trust_config(), INDUSTRY_AUTH_CERT_ALLOW_ATTACHED_CARDS=True)
    holder = CardHolder(allowing, allowing.test_client(), smtp)
    holder.card_account(pki.business_card(UBN))
    response = holder.card_login(attached)
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (lambda p: {"INDUSTRY_AUTH_CERT_TRUST_ANCHORS": p.anchors_pem()}, "only roots"),
        (
            lambda p: {
                "INDUSTRY_AUTH_CERT_TRUST_ANCHORS": p.anchors_pem()
                + p.trust_config()["INDUSTRY_AUTH_CERT_BUSINESS_CAS"]
            },
            "not a root",
        ),
        (
            lambda p: {
                "INDUSTRY_AUTH_CERT_CITIZEN_CAS": p.trust_config()["INDUSTRY_AUTH_CERT_CITIZEN_CAS"]
            },
            "is empty",
        ),
        (
            lambda p: {
                **p.trust_config(),
                "INDUSTRY_AUTH_CERT_CITIZEN_CAS": p.trust_config()[
                    "INDUSTRY_AUTH_CERT_BUSINESS_CAS"
                ],
            },
            "also in INDUSTRY_AUTH_CERT_BUSINESS_CAS",
        ),
        (
            lambda p: {**p.trust_config(), "INDUSTRY_AUTH_CERT_CITIZEN_CAS": p.anchors_pem()},
            "not an issuing CA",
        ),
        (
            lambda p: {
                **p.trust_config(),
                "INDUSTRY_AUTH_CERT_CITIZEN_CAS": TestPKI().trust_config()[
                    "INDUSTRY_AUTH_CERT_CITIZEN_CAS"
                ],
            },
            "does not chain to a root",
        ),
    ],
    ids=["root-only", "intermediate-as-anchor", "no-root", "two-types", "root-as-ca", "foreign"],
)
def test_a_trust_configuration_that_cannot_work_stops_the_start(make, pki, settings, message):
    with pytest.raises(ConfigError, match=message):
        make(**settings(pki))


# -- certificate accounts keep their data current (issue 14, point 7) --------------------------


def _profile_fields(**changes) -> dict:
    data = {k: v for k, v in VALID.items() if k != "business_id"}
    return {**data, **changes}


def test_a_certificate_account_edits_its_data_and_email_with_its_card(holder, pki):
    card = pki.business_card(UBN)
    account = holder.card_account(card)
    assert holder.card_login(card).status_code == 302
    page = text_of(holder.client.get("/account/profile"))
    assert "密碼" not in page and 'name="current_password"' not in page
    changed = _profile_fields(email="new-owner@example.com", contact_person="陳小明")
    confirm = holder.post("/account/profile", {**changed, "action": "confirm"})
    assert 'data-ia-sign="profile"' in text_of(confirm) and "密碼" not in text_of(confirm)
    assert holder.account(account["account_id"]).email == VALID["email"]  # nothing saved yet
    challenge = holder.challenge("profile")
    assert challenge.startswith("flask_industry_auth:profile:https://portal.example.gov.tw:")
    before = len(holder.smtp.mails)
    saved = holder.post(
        "/account/profile", {**changed, "action": "sign", "signature": card.sign(challenge)}
    )
    assert saved.status_code == 302
    stored = holder.account(account["account_id"])
    assert (stored.email, stored.contact_person) == ("new-owner@example.com", "陳小明")
    # Both addresses hear of it, as after a password-confirmed change.
    mails = holder.wait_mails(before + 2)[before:]
    assert {r for m in mails for r in m.recipients} == {VALID["email"], "new-owner@example.com"}


def test_the_card_signs_exactly_the_change_that_is_saved(holder, pki):
    card = pki.business_card(UBN)
    account = holder.card_account(card)
    holder.card_login(card)
    shown = _profile_fields(email="shown@example.com")
    holder.post("/account/profile", {**shown, "action": "confirm"})
    signature = card.sign(holder.challenge("profile"))
    # The post carries other values than the ones the signed challenge names.
    swapped = _profile_fields(email="attacker@example.com")
    refused = holder.post("/account/profile", {**swapped, "action": "sign", "signature": signature})
    assert "無法驗證簽章" in text_of(refused) or 'role="alert"' in text_of(refused)
    assert _audit_outcomes(holder.app, "profile_update")[-1] == "wrong_content"
    assert holder.account(account["account_id"]).email == VALID["email"]


def test_only_the_accounts_own_card_confirms_a_change(holder, pki):
    card = pki.business_card(UBN)
    account = holder.card_account(card)
    holder.card_login(card)
    changed = _profile_fields(email="other@example.com")
    holder.post("/account/profile", {**changed, "action": "confirm"})
    stranger = pki.citizen_card()
    signature = stranger.sign(holder.challenge("profile"))
    refused = holder.post("/account/profile", {**changed, "action": "sign", "signature": signature})
    assert "不是正確的憑證" in text_of(refused)
    assert holder.account(account["account_id"]).email == VALID["email"]
    assert _audit_outcomes(holder.app, "profile_update")[-1] == "wrong_card"


def test_a_document_challenge_needs_a_prepared_document(holder, pki):
    card = pki.business_card(UBN)
    holder.card_account(card)
    holder.card_login(card)
    response = holder.post("/account/certificate/challenge", {"purpose": "profile"})
    assert response.status_code == 400


def test_certificate_account_pages_do_not_speak_of_a_password(holder, pki):
    card = pki.business_card(UBN)
    confirm = holder.post("/account/register/certificate", {**VALID, "action": "next"})
    assert "密碼" not in text_of(holder.client.get("/account/register/certificate"))
    assert "密碼" not in text_of(confirm)
    before = len(holder.smtp.mails)
    done = holder.card_apply(card)
    assert "密碼" not in text_of(holder.client.get(done.headers["Location"]))
    mail = holder.wait_mails(before + 1)[before]
    assert "密碼" not in mail.text
    import re

    link = re.search(r"(https?://\S+/activate/\S+)", mail.text).group(1)
    page = holder.client.get(link, follow_redirects=True)
    assert "密碼" not in text_of(page)
    activated = holder.activate(link)
    assert "密碼" not in text_of(holder.client.get(activated.headers["Location"]))
    holder.card_login(card)
    for path in ("/account/", "/account/profile"):
        assert "密碼" not in text_of(holder.client.get(path)), path


# -- card-signed filings for the host (issue 14, point 8) --------------------------------------

FILING = "示範申請書 2026-001：申請項目 …".encode()


@pytest.fixture
def filing_app(app):
    """The host's filing view, written as the signing module's documentation says."""
    from flask import jsonify, render_template_string, request

    from flask_industry_auth import electronic_filing_required, signing
    from flask_industry_auth.certificates import CertificateRefused as Refused

    stored = []

    @app.route("/filing/sign", methods=["GET", "POST"])
    @electronic_filing_required
    def sign_filing():
        if request.method == "POST":
            try:
                evidence = signing.verify("filing", FILING)
            except Refused as refused:
                return jsonify(refused=refused.reason), 422
            stored.append(evidence.to_dict())
            return jsonify(ok=True)
        digest = signing.prepare("filing", FILING)
        return render_template_string(
            "{{ digest }}{% with sign_action='/filing/sign', sign_purpose='sign', sign_button='x',"
            " sign_extra={} %}{% include 'industry_auth/_sign_form.html' %}{% endwith %}",
            digest=digest,
            **signing.template_context(),
        )

    app.config["stored_evidence"] = stored
    return app


def test_the_card_signs_a_host_filing_and_the_host_gets_the_evidence(filing_app, holder, pki):
    import base64
    import hashlib

    from flask_industry_auth.certificates.cms import verify_signed_challenge

    card = pki.business_card(UBN)
    account = holder.card_account(card)
    holder.card_login(card)
    page = text_of(holder.client.get("/filing/sign"))
    assert hashlib.sha256(FILING).hexdigest() in page and 'data-ia-sign="sign"' in page
    challenge = holder.challenge("sign")
    assert challenge.endswith(":filing:" + hashlib.sha256(FILING).hexdigest())
    assert challenge.startswith("flask_industry_auth:sign:https://portal.example.gov.tw:")
    signed = holder.post("/filing/sign", {"signature": card.sign(challenge)})
    assert signed.get_json() == {"ok": True}
    (evidence,) = filing_app.config["stored_evidence"]
    assert evidence["account_id"] == account["account_id"]
    assert evidence["document_sha256"] == hashlib.sha256(FILING).hexdigest()
    assert evidence["label"] == "filing" and evidence["signed_text"] == challenge
    # The evidence stands on its own: the CMS verifies over the signed text.
    verified = verify_signed_challenge(evidence["signature"], challenge.encode())
    assert verified.signer.public_bytes(Encoding.PEM).decode() == evidence["certificate"]
    assert evidence["chain"][0] == pki.moeaca.certificate.public_bytes(Encoding.PEM).decode()
    assert evidence["revocation"] is not None and evidence["verified_at"]
    base64.b64decode(evidence["signature"], validate=True)
    assert _audit_outcomes(filing_app, "document_signed") == ["ok"]


def test_a_filing_signature_is_refused_for_another_document_or_card(filing_app, holder, pki):
    card = pki.business_card(UBN)
    holder.card_account(card)
    holder.card_login(card)
    holder.client.get("/filing/sign")
    # A signature over a login challenge is no signature of the filing.
    login_challenge = holder.challenge("login")
    holder.client.get("/filing/sign")
    holder.challenge("sign")
    wrong = holder.post("/filing/sign", {"signature": card.sign(login_challenge)})
    assert wrong.status_code == 422 and wrong.get_json()["refused"] == "wrong_content"
    # Another company's card signing the right challenge.
    holder.client.get("/filing/sign")
    other = pki.business_card("22099131")
    refused = holder.post("/filing/sign", {"signature": other.sign(holder.challenge("sign"))})
    assert refused.get_json()["refused"] == "wrong_card"
    assert filing_app.config["stored_evidence"] == []
    assert _audit_outcomes(filing_app, "document_signed") == ["wrong_content", "wrong_card"]


def test_a_password_account_cannot_sign_filings(filing_app, holder):
    holder.active_account()  # logged in with its password
    assert holder.client.get("/filing/sign").status_code == 403
    assert holder.post("/account/certificate/challenge", {"purpose": "sign"}).status_code == 400


# -- who may act for a company (issue 14, point 3) ---------------------------------------------


def _delegations(app):
    with app.app_context():
        Delegation = auth.models.Delegation
        return [
            (d.business_id, d.status, d.binds, d.authorized_by or "")
            for d in db.session.scalars(db.select(Delegation).order_by(Delegation.id))
        ]


def _can_file(holder) -> bool:
    return "紙本申辦及全電子申辦" in text_of(holder.client.get("/account/"))


def test_a_citizen_card_alone_never_files_for_a_company(holder, pki):
    citizen = pki.citizen_card()
    holder.card_account(citizen)  # applies with an unrelated company's 統一編號
    assert holder.card_login(citizen).status_code == 302
    assert not _can_file(holder)
    assert holder.client.get("/account/certificate/authorize").status_code == 200
    assert _delegations(holder.app) == [(UBN, "pending", False, "")]


def test_the_companys_card_authorizes_a_citizen_card_and_revokes_it(make, smtp, pki):
    app = make(**pki.trust_config())
    person = CardHolder(app, app.test_client(), smtp)
    citizen = pki.citizen_card()
    person.card_account(citizen)
    person.card_login(citizen)
    page = text_of(person.client.get("/account/certificate/authorize"))
    assert 'data-ia-sign="sign"' in page
    # Another company's 工商憑證 may not consent for this one.
    stranger = pki.business_card("22099131")
    refused = person.post(
        "/account/certificate/authorize",
        {"signature": stranger.sign(person.challenge("sign"))},
    )
    assert "屬於其他公司" in text_of(refused) or "統一編號" in text_of(refused)
    assert _delegations(app)[0][1] == "pending"
    # Nor a citizen card (a person cannot authorize themselves).
    person.client.get("/account/certificate/authorize")
    refused = person.post(
        "/account/certificate/authorize", {"signature": citizen.sign(person.challenge("sign"))}
    )
    assert _delegations(app)[0][1] == "pending"
    company_card = pki.business_card(UBN)
    person.client.get("/account/certificate/authorize")
    consent = person.post(
        "/account/certificate/authorize",
        {"signature": company_card.sign(person.challenge("sign"))},
    )
    assert consent.status_code == 302
    (row,) = _delegations(app)
    assert row[1] == "authorized" and row[3].startswith("company card ")
    assert _can_file(person)
    # The company, logged in with its own card, sees and revokes the delegation.
    company = CardHolder(app, app.test_client(), smtp)
    company.card_account(company_card, email="company@example.com")
    company.card_login(company_card)
    listing = text_of(company.client.get("/account/certificate/delegates"))
    assert "王大明" in listing
    with app.app_context():
        (delegation_id,) = db.session.scalars(db.select(auth.models.Delegation.id))
    assert (
        company.post("/account/certificate/delegates", {"delegation": delegation_id}).status_code
        == 302
    )
    assert _delegations(app)[0][1] == "revoked"
    assert not _can_file(person)
    assert _audit_outcomes(app, "delegation_revoked") == ["ok"]


def test_binding_a_citizen_card_changes_nothing_until_authorized(holder, pki):
    from flask_industry_auth.flows import delegation

    details = holder.active_account()
    citizen = pki.citizen_card()
    bound = holder.post(
        "/account/certificate/bind", {"signature": citizen.sign(holder.challenge("bind"))}
    )
    assert bound.status_code == 302
    stored = holder.account(details["account_id"])
    assert stored.account_type == "non_certificate" and stored.password_hash
    assert "須待公司授權" in text_of(holder.card_login(citizen))
    assert _audit_outcomes(holder.app, "certificate_login")[-1] == "binding_pending"
    # Staff approve: now the card is the account's, the password gone.
    with holder.app.app_context():
        (pending,) = delegation.listed("pending")
        delegation.authorize_by_staff(pending, "clerk@agency")
    stored = holder.account(details["account_id"])
    assert stored.account_type == "citizen_certificate" and stored.password_hash is None
    assert holder.card_login(citizen).status_code == 302
    assert _can_file(holder)


def test_a_card_application_with_an_email_the_company_uses_is_a_duplicate(holder, pki):
    holder.card_account(pki.citizen_card())
    before = len(holder.smtp.mails)
    applied = holder.card_apply(pki.business_card(UBN))  # same 統一編號 and email
    assert applied.status_code == 302
    assert holder.wait_mails(before + 1)[before].recipients == [VALID["email"]]
    assert _audit_outcomes(holder.app, "apply")[-1] == "duplicate"
    with holder.app.app_context():
        assert db.session.scalar(db.select(db.func.count(auth.models.Account.id))) == 1


def test_a_card_application_for_an_unactivated_account_offers_the_activation_mail(holder, pki):
    holder.apply_and_read_mail()  # a password account, not activated yet
    before = len(holder.smtp.mails)
    assert holder.card_apply(pki.business_card(UBN)).status_code == 302
    mail = holder.wait_mails(before + 1)[before]
    assert "/account/activate-again" in mail.text and "忘記密碼" not in mail.text


def test_a_company_account_page_of_delegates_is_for_its_card_login_only(holder, pki):
    holder.active_account()
    assert holder.client.get("/account/certificate/delegates").status_code == 403


def test_a_companys_certificate_account_is_never_handed_to_a_persons_card(holder, pki):
    from flask_industry_auth.flows import delegation

    company_card = pki.business_card(UBN)
    account = holder.card_account(company_card)
    holder.card_login(company_card)
    assert holder.client.get("/account/certificate/bind").status_code == 403
    citizen = pki.citizen_card()
    signature = citizen.sign(holder.challenge("bind"))
    assert holder.post("/account/certificate/bind", {"signature": signature}).status_code == 403
    # The flow refuses it too, and so does an approval of an old request.
    with holder.app.app_context():
        stored = db.session.scalar(
            db.select(auth.models.Account).where(
                auth.models.Account.account_id == account["account_id"]
            )
        )
        from flask_industry_auth.certificates.identity import card_identity

        identity = card_identity(citizen.certificate, "citizen")
        request = delegation.request(stored, identity, binds=True)
        db.session.commit()
        with pytest.raises(delegation.DelegationRefused) as refused:
            delegation.authorize_by_staff(request, "clerk")
        assert refused.value.code == "not_bindable"
    assert holder.account(account["account_id"]).account_type == "business_certificate"


def test_an_unauthorized_citizen_card_signs_no_filing_even_without_the_decorator(app, holder, pki):
    from flask import jsonify

    from flask_industry_auth import signing
    from flask_industry_auth.certificates import CertificateRefused as Refused

    @app.route("/raw/sign", methods=["GET", "POST"])
    def raw_sign():
        if request_method() == "POST":
            try:
                return jsonify(ok=signing.verify("filing", FILING).to_dict())
            except Refused as refused:
                return jsonify(refused=refused.reason), 422
        signing.prepare("filing", FILING)
        return "ready"

    citizen = pki.citizen_card()
    holder.card_account(citizen)
    holder.card_login(citizen)
    holder.client.get("/raw/sign")
    refused = holder.post("/raw/sign", {"signature": citizen.sign(holder.challenge("sign"))})
    assert refused.get_json() == {"refused": "no_delegation"}
    # Once the company consents, the evidence names the delegation.
    holder.client.get("/account/certificate/authorize")
    company = pki.business_card(UBN)
    holder.post(
        "/account/certificate/authorize", {"signature": company.sign(holder.challenge("sign"))}
    )
    holder.client.get("/raw/sign")
    signed = holder.post("/raw/sign", {"signature": citizen.sign(holder.challenge("sign"))})
    evidence = signed.get_json()["ok"]
    assert evidence["delegation_id"] and evidence["authorized_by"].startswith("company card ")


def request_method():
    from flask import request

    return request.method


def test_the_consent_is_kept_as_evidence_that_verifies_again(holder, pki):
    import json

    from flask_industry_auth.certificates.cms import verify_signed_challenge

    citizen = pki.citizen_card()
    holder.card_account(citizen)
    holder.card_login(citizen)
    holder.client.get("/account/certificate/authorize")
    company = pki.business_card(UBN)
    challenge = holder.challenge("sign")
    holder.post("/account/certificate/authorize", {"signature": company.sign(challenge)})
    with holder.app.app_context():
        (consent,) = db.session.scalars(db.select(auth.models.Delegation.consent))
    kept = json.loads(consent)
    assert kept["signed_text"] == challenge and kept["signer_business_id"] == UBN
    verified = verify_signed_challenge(kept["signature"], kept["signed_text"].encode())
    assert verified.signer.public_bytes(Encoding.PEM).decode() == kept["certificate"]
    assert kept["revocation"] is not None and kept["chain"]


def test_an_attached_card_never_consents_for_the_company(make, smtp, pki):
    app = make(**pki.trust_config(), INDUSTRY_AUTH_CERT_ALLOW_ATTACHED_CARDS=True)
    person = CardHolder(app, app.test_client(), smtp)
    citizen = pki.citizen_card()
    person.card_account(citizen)
    person.card_login(citizen)
    person.client.get("/account/certificate/authorize")
    attached = pki.business_card(UBN, attached=True)
    refused = person.post(
        "/account/certificate/authorize", {"signature": attached.sign(person.challenge("sign"))}
    )
    assert "附卡" in text_of(refused)
    assert _delegations(app)[0][1] == "pending"


def test_a_company_revoking_an_impossible_id_gets_a_clear_400(holder, pki):
    company = pki.business_card(UBN)
    holder.card_account(company)
    holder.card_login(company)
    for value in ("99999999999999999999", "-1", "x", ""):
        response = holder.post("/account/certificate/delegates", {"delegation": value})
        assert response.status_code == 400, value
