"""Revocation checking, pluggable: a cached CRL checker, an OCSP checker, or both.

A checker is any object with ``check(cert, issuer)`` that returns when ``cert`` is not
revoked and raises :class:`CertificateRefused` (``revoked`` or ``revocation_unknown``)
otherwise. Pass one as ``IndustryAuth(revocation=...)``; the default is :class:`CRLChecker`.
"""

from __future__ import annotations

import logging
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from .cms import signature_valid
from .errors import CertificateRefused

log = logging.getLogger(__name__)


class RevocationChecker(Protocol):
    """What :func:`~.validation.validate` calls for the signer certificate."""

    def check(self, cert: x509.Certificate, issuer: x509.Certificate) -> None: ...


def _fetch(
    url: str, timeout: float, data: bytes | None = None, content_type: str | None = None
) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise CertificateRefused("revocation_unknown", f"unsupported address {url!r}")
    request = urllib.request.Request(url, data=data)  # noqa: S310 (scheme checked above)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.read(64 * 1024 * 1024)
    except OSError as exc:
        raise CertificateRefused("revocation_unknown", f"{url}: {exc}") from None


def _uris(cert: x509.Certificate, extension_class) -> list[str]:
    try:
        value = cert.extensions.get_extension_for_class(extension_class).value
    except x509.ExtensionNotFound:
        return []
    if extension_class is x509.CRLDistributionPoints:
        return [
            n.value
            for point in value
            for n in (point.full_name or [])
            if isinstance(n, x509.UniformResourceIdentifier)
        ]
    return [
        d.access_location.value
        for d in value
        if d.access_method == AuthorityInformationAccessOID.OCSP
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    ]


class CRLChecker:
    """Check the CRL named in the certificate (or ``urls[issuer name]``), downloaded once and
    kept until its ``nextUpdate``: never a download per login (MOICA's CRL is megabytes).

    :param urls: optional ``{issuer RFC 4514 name: CRL URL}`` overriding the certificates
        (a local mirror, say).
    :param timeout: seconds for one download.
    :param fetch: ``fetch(url, timeout) -> bytes`` replacing the HTTP download (a mirror on
        disk, a proxy); it raises ``OSError`` when the CRL cannot be had.
    """

    def __init__(self, urls: dict[str, str] | None = None, timeout: float = 30, fetch=None) -> None:
        self.urls = urls or {}
        self.timeout = timeout
        self.fetch = fetch
        self._cache: dict[str, tuple[x509.CertificateRevocationList, datetime]] = {}
        self._lock = threading.Lock()

    def check(self, cert: x509.Certificate, issuer: x509.Certificate) -> None:
        url = self.urls.get(issuer.subject.rfc4514_string()) or next(
            iter(_uris(cert, x509.CRLDistributionPoints)), None
        )
        if url is None:
            raise CertificateRefused("revocation_unknown", "the certificate names no CRL")
        crl = self._crl(url, issuer)
        if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            raise CertificateRefused("revoked")

    def _crl(self, url: str, issuer: x509.Certificate) -> x509.CertificateRevocationList:
        now = datetime.now(UTC)
        with self._lock:  # one download at a time per process, others wait for it
            cached = self._cache.get(url)
            if cached and cached[1] > now:
                return cached[0]
            if self.fetch is None:
                data = _fetch(url, self.timeout)
            else:
                try:
                    data = self.fetch(url, self.timeout)
                except OSError as exc:
                    raise CertificateRefused("revocation_unknown", f"{url}: {exc}") from None
            try:
                crl = (
                    x509.load_pem_x509_crl(data)
                    if data.lstrip().startswith(b"-----")
                    else x509.load_der_x509_crl(data)
                )
            except ValueError:
                raise CertificateRefused("revocation_unknown", "unreadable CRL") from None
            if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):
                raise CertificateRefused("revocation_unknown", "CRL not signed by the issuer")
            next_update = crl.next_update_utc or now + timedelta(hours=1)
            if next_update <= now:
                raise CertificateRefused("revocation_unknown", "the CRL is out of date")
            self._cache[url] = (crl, next_update)
            log.info("flask_industry_auth: CRL %s cached until %s", url, next_update)
            return crl


class OCSPChecker:
    """Ask the OCSP responder in the certificate's Authority Information Access.

    The response must be signed by the issuer or by a responder certificate the issuer
    delegated (``id-kp-OCSPSigning``), be current, and say GOOD.
    """

    def __init__(self, timeout: float = 10, max_age: timedelta = timedelta(days=2)) -> None:
        self.timeout = timeout
        self.max_age = max_age

    def check(self, cert: x509.Certificate, issuer: x509.Certificate) -> None:
        url = next(iter(_uris(cert, x509.AuthorityInformationAccess)), None)
        if url is None:
            raise CertificateRefused("revocation_unknown", "the certificate names no OCSP")
        # SHA-1 only names the certificate in the CertID (RFC 6960), as responders expect.
        request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()  # noqa: S303
        data = _fetch(
            url,
            self.timeout,
            request.public_bytes(serialization.Encoding.DER),
            "application/ocsp-request",
        )
        try:
            response = ocsp.load_der_ocsp_response(data)
        except ValueError:
            raise CertificateRefused("revocation_unknown", "unreadable OCSP response") from None
        if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            raise CertificateRefused("revocation_unknown", response.response_status.name)
        if response.serial_number != cert.serial_number:
            raise CertificateRefused("revocation_unknown", "OCSP answered another certificate")
        signer = self._responder(response, issuer)
        if not signature_valid(
            signer.public_key(),
            response.signature,
            response.tbs_response_bytes,
            response.signature_hash_algorithm,
        ):
            raise CertificateRefused("revocation_unknown", "bad OCSP signature")
        now = datetime.now(UTC)
        if response.this_update_utc > now + timedelta(minutes=5) or (
            (response.next_update_utc or response.this_update_utc + self.max_age) < now
        ):
            raise CertificateRefused("revocation_unknown", "stale OCSP response")
        if response.certificate_status == ocsp.OCSPCertStatus.REVOKED:
            raise CertificateRefused("revoked")
        if response.certificate_status != ocsp.OCSPCertStatus.GOOD:
            raise CertificateRefused("revocation_unknown", "OCSP status unknown")

    @staticmethod
    def _responder(response, issuer: x509.Certificate) -> x509.Certificate:
        if response.responder_name == issuer.subject:
            return issuer
        if response.responder_key_hash is not None:
            issuer_hash = x509.SubjectKeyIdentifier.from_public_key(issuer.public_key()).digest
            if response.responder_key_hash == issuer_hash:
                return issuer
        for delegate in response.certificates:
            try:
                usages = delegate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            except x509.ExtensionNotFound:
                continue
            if ExtendedKeyUsageOID.OCSP_SIGNING in usages and delegate.issuer == issuer.subject:
                try:
                    delegate.verify_directly_issued_by(issuer)
                except (ValueError, TypeError, InvalidSignature):
                    continue
                return delegate
        raise CertificateRefused("revocation_unknown", "OCSP responder not authorised")


class OCSPThenCRL:
    """OCSP first; when the responder cannot answer, the cached CRL."""

    def __init__(
        self, ocsp_checker: OCSPChecker | None = None, crl_checker: CRLChecker | None = None
    ) -> None:
        self.ocsp = ocsp_checker or OCSPChecker()
        self.crl = crl_checker or CRLChecker()

    def check(self, cert: x509.Certificate, issuer: x509.Certificate) -> None:
        try:
            self.ocsp.check(cert, issuer)
        except CertificateRefused as refused:
            if refused.reason != "revocation_unknown":
                raise
            self.crl.check(cert, issuer)
