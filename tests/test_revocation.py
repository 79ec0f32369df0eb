"""Revocation at national size (issue 14): CRLs fetched and parsed in the background, kept as
a compact index, told apart by the issuer's key (MOICA G2 and G3 share one name), a grace
period past nextUpdate; OCSP with a nonce and a maximum age, falling back to the CRL.

A real HTTP server on 127.0.0.1 serves a TestPKI's CRLs and OCSP answers; it can hold a
request (an event the test releases) to stand for a slow or hung CRL server. No assertion
depends on timing: a check that "does not wait" is shown to return while the server still
holds the download.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import random
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from benchmarks.crl import measure, random_serials, synthetic_crl
from flask_industry_auth.certificates.errors import CertificateRefused
from flask_industry_auth.certificates.revocation import (
    CRLChecker,
    OCSPChecker,
    OCSPThenCRL,
    RevocationAnswer,
    RevokedSerials,
    key_identifier,
    normalize_key_identifier,
)
from flask_industry_auth.testing import TestPKI

#: Longest a test waits for something that should take milliseconds (never hit when green).
PATIENCE = 30


class Server:
    """Serves ``/<slug>.crl`` (the TestPKI's CRL of that authority, or ``crls[path]()``)
    and ``/ocsp/<slug>``; records requests; can hold requests until ``release`` is set."""

    def __init__(self) -> None:
        server = self
        self.requests: list[str] = []
        self.ocsp_requests: list[bytes] = []
        self.crls: dict[str, object] = {}
        self.ocsp_answer = None  # (authority, request DER) -> response DER, else the PKI's
        self.failing: set[str] = set()  # paths answered 503
        self.next_update_hours = 24.0
        self.arrived = threading.Event()
        self.release: threading.Event | None = None

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _hold(self):
                server.requests.append(self.path)
                server.arrived.set()
                if server.release is not None:
                    server.release.wait(PATIENCE)
                if self.path in server.failing:
                    self.send_error(503)
                    return True
                return False

            def do_GET(self):
                if self._hold():
                    return
                if self.path in server.crls:
                    body = server.crls[self.path]()
                else:
                    slug = self.path.strip("/").removesuffix(".crl")
                    if slug not in server.authorities:
                        self.send_error(404)
                        return
                    body = server.pki.crl(
                        server.authorities[slug], next_update_hours=server.next_update_hours
                    )
                self._send(body, "application/pkix-crl")

            def do_POST(self):
                request = self.rfile.read(int(self.headers["Content-Length"]))
                if self._hold():
                    return
                server.ocsp_requests.append(request)
                authority = server.authorities[self.path.rsplit("/", 1)[1]]
                answer = server.ocsp_answer or server.pki.ocsp_response
                self._send(answer(authority, request), "application/ocsp-response")

            def _send(self, body, content_type):
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.pki = TestPKI(self.base)
        # A second MOICA generation: the same subject name, another key (as MOICA G2 / G3).
        self.g3 = self.pki._authority("Test MOICA", "moica-g3")
        self.authorities = {"moeaca": self.pki.moeaca, "moica": self.pki.moica, "moica-g3": self.g3}
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def reset(self) -> None:
        self.requests.clear()
        self.ocsp_requests.clear()
        self.crls.clear()
        self.failing.clear()
        self.ocsp_answer = None
        self.next_update_hours = 24.0
        self.arrived.clear()
        self.release = None
        for authority in self.authorities.values():
            authority.revoked.clear()

    def hold(self) -> threading.Event:
        """Hold every request from now on until the returned event is set."""
        self.arrived.clear()
        self.release = threading.Event()
        return self.release

    def stop(self) -> None:
        if self.release is not None:
            self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def module_server():
    server = Server()
    yield server
    server.stop()


@pytest.fixture
def server(module_server):
    module_server.reset()
    yield module_server
    if module_server.release is not None:
        module_server.release.set()  # never leave a download hanging into the next test


@pytest.fixture
def checkers():
    """Make CRLCheckers; each is closed after the test."""
    made: list[CRLChecker] = []

    def make(*args, **kwargs) -> CRLChecker:
        checker = CRLChecker(*args, **kwargs)
        made.append(checker)
        return checker

    yield make
    for checker in made:
        checker.close()


def g3_card(server: Server):
    from flask_industry_auth.testing import _name

    return server.pki._card(server.g3, _name("陳小美"), {})


def card_with_serial(authority, serial: int) -> x509.Certificate:
    """A certificate of ``authority`` with this serial (enough for a revocation check)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "card")]))
        .issuer_name(authority.certificate.subject)
        .public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
    )
    if authority.crl_url:
        point = x509.DistributionPoint(
            [x509.UniformResourceIdentifier(authority.crl_url)], None, None, None
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), False)
    return builder.sign(authority.key, hashes.SHA256())


# -- the index -------------------------------------------------------------------------------------


def test_the_index_finds_exactly_the_revoked_serials():
    generator = random.Random(14)
    revoked = {generator.getrandbits(generator.choice((8, 64, 128, 159))) or 1 for _ in range(3000)}
    revoked |= {1, 255, 256, 2**128 - 1, -5, 0}  # edges; 0 and -5 break RFC 5280 but exist
    index = RevokedSerials(revoked)
    assert len(index) == len(revoked)
    probes = list(revoked) + [s + 1 for s in revoked] + [s - 1 for s in revoked]
    probes += [generator.getrandbits(160) for _ in range(3000)] + [2**200, -1]
    assert {s for s in probes if s in index} == {s for s in probes if s in revoked}


def test_a_large_crl_is_checked_by_the_index(server, checkers):
    authority = server.pki.moica
    serials = random_serials(20_000)
    revoked_card = card_with_serial(authority, serials[12_345])
    good_card = card_with_serial(authority, serials[12_345] + 1)
    der = synthetic_crl(authority.key, authority.certificate.subject, serials, crl_number=7)
    server.crls["/big.crl"] = lambda: der
    checker = checkers({key_identifier(authority.certificate): f"{server.base}/big.crl"})
    issuer = authority.certificate
    with pytest.raises(CertificateRefused) as refused:
        checker.check(revoked_card, issuer)
    assert refused.value.reason == "revoked"
    answer = checker.check(good_card, issuer)
    assert answer == RevocationAnswer(
        method="crl",
        source=f"{server.base}/big.crl",
        this_update=answer.this_update,
        next_update=answer.next_update,
        digest=hashlib.sha256(der).hexdigest(),
        response=None,
        crl_number=7,
    )
    assert answer.next_update - answer.this_update > dt.timedelta(hours=23)
    loaded = checker._sources[(f"{server.base}/big.crl", key_identifier(issuer))].current
    assert len(loaded.serials) == 20_000
    assert loaded.serials.nbytes == 20_000 * 16  # 16-byte serials, 16 bytes each
    assert sum(s in loaded.serials for s in serials) == 20_000
    assert server.requests == ["/big.crl"]  # one download, however many checks


# -- never waiting on a download -------------------------------------------------------------------


def test_a_hanging_refresh_does_not_delay_a_check(server, checkers):
    card = server.pki.citizen_card()
    issuer = server.pki.moica.certificate
    checker = checkers(timeout=PATIENCE)
    checker.check(card.certificate, issuer)  # loaded (a cold cache, served at once)
    server.pki.revoke(card)
    release = server.hold()
    checker.refresh()  # returns at once; the download now hangs in the server
    assert server.arrived.wait(PATIENCE)
    answer = checker.check(card.certificate, issuer)  # the CRL it has: no wait
    assert not release.is_set()
    assert checker.status()[0]["downloading"] is True
    assert answer.method == "crl"
    release.set()
    assert checker.refresh(force=False, wait=PATIENCE)
    with pytest.raises(CertificateRefused, match="revoked"):
        checker.check(card.certificate, issuer)  # the new CRL, swapped in
    assert server.requests == ["/moica.crl", "/moica.crl"]


def test_a_cold_cache_waits_at_most_first_wait(server, checkers):
    card = server.pki.citizen_card()
    issuer = server.pki.moica.certificate
    checker = checkers(first_wait=0.2, timeout=PATIENCE)
    release = server.hold()
    with pytest.raises(CertificateRefused) as refused:
        checker.check(card.certificate, issuer)
    assert not release.is_set()  # refused while the download is still held by the server
    assert refused.value.reason == "revocation_unknown"
    assert "still being downloaded" in refused.value.detail
    release.set()
    assert checker.refresh(force=False, wait=PATIENCE)
    assert checker.check(card.certificate, issuer).method == "crl"
    assert server.requests == ["/moica.crl"]


def test_a_cold_cache_that_cannot_be_fetched_is_refused_and_retried_later(server, checkers):
    card = server.pki.citizen_card()
    server.failing.add("/moica.crl")
    checker = checkers()
    for _ in range(2):
        with pytest.raises(CertificateRefused) as refused:
            checker.check(card.certificate, server.pki.moica.certificate)
        assert "could not be fetched" in refused.value.detail
        assert "503" in refused.value.detail
    assert server.requests == ["/moica.crl"]  # the retry waits its back-off, not each login


# -- after nextUpdate ------------------------------------------------------------------------------


def test_an_expired_crl_is_used_for_the_grace_period_then_refused(
    server, checkers, time_machine, caplog
):
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
    time_machine.move_to(start, tick=True)
    server.next_update_hours = 1
    card = server.pki.citizen_card()
    issuer = server.pki.moica.certificate
    checker = checkers(grace=dt.timedelta(hours=2))
    checker.check(card.certificate, issuer)
    server.failing.add("/moica.crl")  # from now on the CRL server is down

    time_machine.move_to(start + dt.timedelta(hours=2), tick=True)  # expired 1 h ago
    with caplog.at_level(logging.WARNING, "flask_industry_auth"):
        assert checker.check(card.certificate, issuer).method == "crl"
        assert checker.refresh(force=False, wait=PATIENCE)  # the refresh it started fails
        assert checker.check(card.certificate, issuer).method == "crl"
    assert "still used for the grace period" in caplog.text

    time_machine.move_to(start + dt.timedelta(hours=3, seconds=1), tick=True)
    with pytest.raises(CertificateRefused) as refused:
        checker.check(card.certificate, issuer)
    assert refused.value.reason == "revocation_unknown"
    assert "expired at" in refused.value.detail
    assert "no fresh one could be fetched" in refused.value.detail
    assert "Test MOICA" in refused.value.detail
    assert "2 h" in refused.value.detail

    server.failing.clear()  # the CRL server is back
    assert checker.refresh(force=False, wait=PATIENCE)  # the download that check started
    assert checker.refresh(wait=PATIENCE)
    assert checker.check(card.certificate, issuer).method == "crl"


def test_a_stale_mirror_serves_for_the_grace_period_and_is_not_hammered(server, checkers):
    authority = server.pki.moica
    now = dt.datetime.now(dt.UTC)
    stale = synthetic_crl(
        authority.key,
        authority.certificate.subject,
        [7],
        this_update=now - dt.timedelta(hours=25),
        next_update=now - dt.timedelta(hours=1),
    )
    server.crls["/stale.crl"] = lambda: stale
    urls = {key_identifier(authority.certificate): f"{server.base}/stale.crl"}
    card = server.pki.citizen_card().certificate
    within = checkers(urls, grace=dt.timedelta(hours=2))
    for _ in range(3):
        assert within.check(card, authority.certificate).method == "crl"
    assert "expired at" in within.status()[0]["error"]
    assert server.requests == ["/stale.crl"]  # retried after its back-off, not per login
    beyond = checkers(urls, grace=dt.timedelta(minutes=30))
    with pytest.raises(CertificateRefused, match="no fresh one could be fetched"):
        beyond.check(card, authority.certificate)


# -- keyed by the issuer's key ---------------------------------------------------------------------


def test_two_generations_with_one_name_each_get_their_own_crl(server, checkers):
    g2, g3 = server.pki.moica, server.g3
    assert g2.certificate.subject == g3.certificate.subject
    g2_card, g3_card_ = server.pki.citizen_card(), g3_card(server)
    server.pki.revoke(g2_card)
    server.crls["/mirror/g2.crl"] = lambda: server.pki.crl(g2)
    server.crls["/mirror/g3.crl"] = lambda: server.pki.crl(g3)
    checker = checkers(
        {
            key_identifier(g2.certificate).upper(): f"{server.base}/mirror/g2.crl",
            ":".join(f"{b:02X}" for b in bytes.fromhex(key_identifier(g3.certificate))): (
                f"{server.base}/mirror/g3.crl"
            ),
        }
    )
    with pytest.raises(CertificateRefused, match="revoked"):
        checker.check(g2_card.certificate, g2.certificate)
    assert checker.check(g3_card_.certificate, g3.certificate).source.endswith("/g3.crl")
    assert sorted(server.requests) == ["/mirror/g2.crl", "/mirror/g3.crl"]


def test_one_url_for_two_keys_is_two_caches_and_the_wrong_crl_is_refused(server, checkers):
    g2, g3 = server.pki.moica, server.g3
    url = f"{server.base}/moica.crl"  # G2's CRL, also named for G3 (the old name-keyed mistake)
    checker = checkers({key_identifier(g2.certificate): url, key_identifier(g3.certificate): url})
    assert checker.check(server.pki.citizen_card().certificate, g2.certificate).source == url
    with pytest.raises(CertificateRefused) as refused:
        checker.check(g3_card(server).certificate, g3.certificate)
    assert refused.value.reason == "revocation_unknown"
    assert key_identifier(g3.certificate) in refused.value.detail


def test_a_crl_with_another_keys_authority_key_identifier_is_refused(server, checkers):
    g2, g3 = server.pki.moica, server.g3
    # Signed by G2, named as G2: its Authority Key Identifier is G2's, not G3's.
    der = synthetic_crl(g2.key, g2.certificate.subject, [5, 6])
    server.crls["/g2-with-aki.crl"] = lambda: der
    checker = checkers({key_identifier(g3.certificate): f"{server.base}/g2-with-aki.crl"})
    with pytest.raises(CertificateRefused) as refused:
        checker.check(g3_card(server).certificate, g3.certificate)
    assert f"key id {key_identifier(g2.certificate)}, not" in refused.value.detail


def test_urls_keyed_by_name_are_refused_at_construction(server):
    name = server.pki.moica.certificate.subject.rfc4514_string()
    with pytest.raises(ValueError, match="key identifier") as error:
        CRLChecker({name: f"{server.base}/moica.crl"})
    assert "Subject Key Identifier" in str(error.value)
    with pytest.raises(ValueError, match="not an issuer key identifier"):
        CRLChecker({"not hex": "http://mirror.example/x.crl"})
    key = key_identifier(server.pki.moica.certificate)
    assert normalize_key_identifier(key.upper()) == key
    assert normalize_key_identifier(":".join(key[i : i + 2] for i in range(0, len(key), 2))) == key


# -- gunicorn's fork -------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_worker_keeps_the_index_and_starts_its_own_thread(server, checkers):
    card = server.pki.citizen_card()
    issuer = server.pki.moica.certificate
    checker = checkers()
    checker.check(card.certificate, issuer)  # loaded in the "master"
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
        pid = os.fork()
    if pid == 0:  # the worker: the index is there; downloads work (locks reset, new thread)
        code = 1
        try:
            os.close(read)
            checker.check(card.certificate, issuer)
            fresh = checker.refresh(wait=PATIENCE)
            checker.check(card.certificate, issuer)
            os.write(write, f"{int(fresh)} {checker._pid == os.getpid()}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    said = os.read(read, 100).decode()
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert said == "1 True"
    assert server.requests == ["/moica.crl", "/moica.crl"]  # the master's, the worker's refresh


# -- OCSP ------------------------------------------------------------------------------------------


def _nonce(request_der: bytes) -> bytes | None:
    request = ocsp.load_der_ocsp_request(request_der)
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None


def _with_nonce(request_der: bytes, nonce: bytes | None) -> bytes:
    request = ocsp.load_der_ocsp_request(request_der)
    builder = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        request.issuer_name_hash,
        request.issuer_key_hash,
        request.serial_number,
        request.hash_algorithm,
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def test_ocsp_requests_carry_a_fresh_nonce(server):
    card = server.pki.business_card("04595257")
    checker = OCSPChecker()
    first = checker.check(card.certificate, server.pki.moeaca.certificate)
    checker.check(card.certificate, server.pki.moeaca.certificate)
    nonces = [_nonce(request) for request in server.ocsp_requests]
    assert all(n is not None and len(n) == 32 for n in nonces)
    assert nonces[0] != nonces[1]
    assert first.method == "ocsp"
    assert first.source == f"{server.base}/ocsp/moeaca"
    assert first.digest == hashlib.sha256(first.response).hexdigest()
    assert ocsp.load_der_ocsp_response(first.response).certificate_status == (
        ocsp.OCSPCertStatus.GOOD
    )


def test_an_ocsp_reply_with_another_nonce_is_refused(server):
    card = server.pki.business_card("04595257")
    server.ocsp_answer = lambda authority, request: server.pki.ocsp_response(
        authority, _with_nonce(request, os.urandom(32))
    )
    with pytest.raises(CertificateRefused) as refused:
        OCSPChecker().check(card.certificate, server.pki.moeaca.certificate)
    assert refused.value.reason == "revocation_unknown"
    assert "nonce" in refused.value.detail


def test_an_ocsp_reply_without_a_nonce_only_when_allowed(server):
    card = server.pki.business_card("04595257")
    server.ocsp_answer = lambda authority, request: server.pki.ocsp_response(
        authority, _with_nonce(request, None)
    )
    issuer = server.pki.moeaca.certificate
    assert OCSPChecker().check(card.certificate, issuer).method == "ocsp"  # the default
    with pytest.raises(CertificateRefused, match="no nonce"):
        OCSPChecker(require_nonce=True).check(card.certificate, issuer)


def test_a_stale_ocsp_reply_is_refused(server):
    card = server.pki.business_card("04595257")
    issuer = server.pki.moeaca.certificate
    # The test responder's replies have a thisUpdate a minute old.
    assert OCSPChecker().check(card.certificate, issuer).method == "ocsp"
    with pytest.raises(CertificateRefused) as refused:
        OCSPChecker(max_age=dt.timedelta(seconds=30)).check(card.certificate, issuer)
    assert refused.value.reason == "revocation_unknown"
    assert "stale OCSP reply" in refused.value.detail


def test_ocsp_falls_back_to_the_crl_when_it_cannot_answer(server, checkers):
    card = server.pki.business_card("04595257")
    issuer = server.pki.moeaca.certificate
    both = OCSPThenCRL(OCSPChecker(), checkers())
    server.failing.add("/ocsp/moeaca")
    answer = both.check(card.certificate, issuer)
    assert answer.method == "crl"
    assert server.requests == ["/ocsp/moeaca", "/moeaca.crl"]
    # A stale reply cannot answer either: the CRL does.
    server.failing.clear()
    stale = OCSPThenCRL(OCSPChecker(max_age=dt.timedelta(seconds=30)), both.crl)
    assert stale.check(card.certificate, issuer).method == "crl"
    # And the CRL still refuses what it lists.
    server.pki.revoke(card)
    server.failing.add("/ocsp/moeaca")
    assert both.crl.refresh(wait=PATIENCE)
    with pytest.raises(CertificateRefused, match="revoked"):
        both.check(card.certificate, issuer)


def test_ocsp_saying_revoked_is_final(server, checkers):
    card = server.pki.business_card("04595257")
    server.pki.revoke(card)
    both = OCSPThenCRL(OCSPChecker(), checkers())
    with pytest.raises(CertificateRefused, match="revoked"):
        both.check(card.certificate, server.pki.moeaca.certificate)
    assert server.requests == ["/ocsp/moeaca"]  # no CRL asked


# -- configuration ---------------------------------------------------------------------------------


def test_the_settings_choose_the_checker(make, server):
    g2 = server.pki.moica.certificate
    colons = ":".join(f"{b:02X}" for b in bytes.fromhex(key_identifier(g2)))
    app = make(
        INDUSTRY_AUTH_CERT_REVOCATION="OCSP+CRL",
        INDUSTRY_AUTH_CERT_CRL_URLS=f'{{"{colons}": "{server.base}/mirror/g2.crl"}}',  # env
        INDUSTRY_AUTH_CERT_CRL_GRACE_HOURS="2",
        INDUSTRY_AUTH_CERT_OCSP_MAX_AGE_SECONDS=600,
    )
    checker = app.extensions["industry_auth"].revocation
    assert isinstance(checker, OCSPThenCRL)
    assert checker.ocsp.max_age == dt.timedelta(minutes=10)
    assert checker.crl.grace == dt.timedelta(hours=2)
    assert checker.crl.urls == {key_identifier(g2): f"{server.base}/mirror/g2.crl"}
    assert app.config["INDUSTRY_AUTH_CERT_CRL_URLS"] == checker.crl.urls
    checker.crl.close()

    default = make().extensions["industry_auth"].revocation
    assert isinstance(default, CRLChecker)
    assert default.grace == dt.timedelta(hours=24) and default.urls == {}
    default.close()
    assert isinstance(
        make(INDUSTRY_AUTH_CERT_REVOCATION="ocsp").extensions["industry_auth"].revocation,
        OCSPChecker,
    )


def test_the_benchmark_runs():
    # Kept from rotting at a tiny size; its figures are for `python -m benchmarks.crl`.
    lines: list[str] = []
    figures = measure(300, lookups=300, out=lines.append)
    assert figures["entries"] == 300
    assert figures["index_mb"] == pytest.approx(300 * 16 / 1e6)
    assert "300 entries" in lines[0]


# -- the scope of a CRL ------------------------------------------------------------------------


def _scoped_crl(authority, point: x509.IssuingDistributionPoint) -> bytes:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(authority.certificate.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(hours=24))
        .add_extension(point, critical=True)
        .sign(authority.key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )


def _point(uri=None, **flags) -> x509.IssuingDistributionPoint:
    options = dict(
        only_contains_user_certs=False,
        only_contains_ca_certs=False,
        only_some_reasons=None,
        indirect_crl=False,
        only_contains_attribute_certs=False,
    )
    options.update(flags)
    full_name = [x509.UniformResourceIdentifier(uri)] if uri else None
    return x509.IssuingDistributionPoint(full_name, None, **options)


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        (_point(only_contains_ca_certs=True), "only some certificates"),
        (_point(indirect_crl=True), "only some certificates"),
        (_point(only_some_reasons=frozenset({x509.ReasonFlags.key_compromise})), "only some"),
        (_point("http://127.0.0.1:9/another-partition.crl"), "partition that does not cover"),
    ],
    ids=["ca-only", "indirect", "some-reasons", "another-partition"],
)
def test_a_crl_of_another_scope_says_nothing_of_a_card(server, checkers, point, expected):
    authority = server.pki.moica
    server.crls["/scoped.crl"] = lambda: _scoped_crl(authority, point)
    checker = checkers({key_identifier(authority.certificate): f"{server.base}/scoped.crl"})
    card = card_with_serial(authority, 4242)
    with pytest.raises(CertificateRefused) as refused:
        checker.check(card, authority.certificate)
    assert refused.value.reason == "revocation_unknown" and expected in refused.value.detail


def test_a_partition_covering_the_card_is_used(server, checkers):
    authority = server.pki.moica
    card = card_with_serial(authority, 4343)  # its distribution point is authority.crl_url
    server.crls["/partition.crl"] = lambda: _scoped_crl(
        authority, _point(authority.crl_url, only_contains_user_certs=True)
    )
    checker = checkers({key_identifier(authority.certificate): f"{server.base}/partition.crl"})
    assert checker.check(card, authority.certificate).method == "crl"


def test_only_http_distribution_points_are_fetched():
    from flask_industry_auth.certificates.revocation import _uris

    pki = TestPKI()
    points = x509.CRLDistributionPoints(
        [
            x509.DistributionPoint([x509.UniformResourceIdentifier(uri)], None, None, None)
            for uri in ("ldap://ldap.example/cn=CRL", "http://crl.example/moica.crl")
        ]
    )
    card = pki._card(pki.moica, pki.citizen_card().certificate.subject, {}, policies=())
    built = (
        x509.CertificateBuilder()
        .subject_name(card.certificate.subject)
        .issuer_name(card.certificate.issuer)
        .public_key(card.certificate.public_key())
        .serial_number(7)
        .not_valid_before(card.certificate.not_valid_before_utc)
        .not_valid_after(card.certificate.not_valid_after_utc)
        .add_extension(points, False)
        .sign(pki.moica.key, hashes.SHA256())
    )
    assert _uris(built, x509.CRLDistributionPoints) == ["http://crl.example/moica.crl"]
