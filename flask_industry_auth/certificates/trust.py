"""Whom certificate login trusts, by account type.

A Taiwan government card is issued by one CA (MOEACA for 工商憑證, MOICA for 自然人憑證) under
the GRCA root; other CAs under the same root (GCA, XCA, HCA, ...) issue cards that must never
log in as either type, whatever attributes they carry. So the configuration names:

- ``INDUSTRY_AUTH_CERT_TRUST_ANCHORS``: the roots (GRCA G1/G2/G3), self-signed;
- ``INDUSTRY_AUTH_CERT_BUSINESS_CAS`` and ``INDUSTRY_AUTH_CERT_CITIZEN_CAS``: the issuing CAs
  of each type, every generation. HiPKI's signature carries only the card's certificate, so
  these are also the intermediates a path is built with;
- ``INDUSTRY_AUTH_CERT_BUSINESS_POLICIES`` / ``..._CITIZEN_POLICIES``: the certificate policy
  OIDs a card of that type must carry (default: those its CA publishes).

CAs are told apart by key identifier, never by name: MOICA G2 and G3 share one subject name.
A configuration that could not validate a real card is refused at start-up (:func:`load_trust`).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError, ValidationError

from .identity import BUSINESS, CITIZEN
from .revocation import key_identifier as key_id

#: The account types a card can speak for (see :mod:`.identity`).
KINDS = (BUSINESS, CITIZEN)

#: The configuration key naming each type's issuing CAs, and its policy key.
CA_KEYS = {BUSINESS: "INDUSTRY_AUTH_CERT_BUSINESS_CAS", CITIZEN: "INDUSTRY_AUTH_CERT_CITIZEN_CAS"}
POLICY_KEYS = {
    BUSINESS: "INDUSTRY_AUTH_CERT_BUSINESS_POLICIES",
    CITIZEN: "INDUSTRY_AUTH_CERT_CITIZEN_POLICIES",
}
ANCHORS_KEY = "INDUSTRY_AUTH_CERT_TRUST_ANCHORS"
ANY_POLICY = "2.5.29.32.0"


def run_coroutine(coroutine):
    """Run pyhanko-certvalidator's coroutine from synchronous code. Where this thread
    already runs an event loop (an async host, a test driving a browser), ``asyncio.run``
    would refuse: then in a short-lived thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def load_anchors(source) -> list[x509.Certificate]:
    """CA certificates from a setting: PEM/DER bytes, a file, a folder of
    ``.pem``/``.crt``/``.cer`` files, or a list of any of these (``None``: none)."""
    if source is None:
        return []
    if isinstance(source, list | tuple):
        return [cert for item in source for cert in load_anchors(item)]
    if isinstance(source, bytes):
        blobs = (
            [der for _, _, der in pem.unarmor(source, multiple=True)]
            if pem.detect(source)
            else [source]
        )
        return [x509.load_der_x509_certificate(der) for der in blobs]
    path = Path(source)
    if path.is_dir():
        return [
            cert
            for child in sorted(path.iterdir())
            if child.suffix.lower() in (".pem", ".crt", ".cer")
            for cert in load_anchors(child.read_bytes())
        ]
    return load_anchors(path.read_bytes())


class TrustConfigError(ValueError):
    """The trust configuration cannot validate a real card; the message says what is missing."""


def policies(cert: x509.Certificate) -> frozenset[str]:
    """The certificate policy OIDs ``cert`` carries (dotted), anyPolicy left out."""
    try:
        value = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return frozenset()
    return frozenset(
        p.policy_identifier.dotted_string
        for p in value
        if p.policy_identifier.dotted_string != ANY_POLICY
    )


def describe(cert: x509.Certificate) -> str:
    """A CA certificate as an operator recognises it: subject and key identifier."""
    return f"{cert.subject.rfc4514_string()} (key id {key_id(cert)})"


@dataclass(frozen=True)
class Issuer:
    """A configured issuing CA: its certificate, the account type its cards log in as, and the
    policy OIDs a card of it must carry (empty: none checked)."""

    certificate: x509.Certificate
    kind: str
    policies: frozenset[str]

    @property
    def key_id(self) -> str:
        return key_id(self.certificate)


@dataclass(frozen=True)
class Trust:
    """The roots and the issuing CAs of each account type."""

    anchors: tuple[x509.Certificate, ...] = ()
    issuers: tuple[Issuer, ...] = field(default=())

    @property
    def kinds(self) -> frozenset[str]:
        """The account types whose cards can log in."""
        return frozenset(issuer.kind for issuer in self.issuers)

    @property
    def intermediates(self) -> list[x509.Certificate]:
        return [issuer.certificate for issuer in self.issuers]

    def issuer_of(self, ca: x509.Certificate) -> Issuer | None:
        """The configured issuer that is exactly ``ca`` (same certificate), or None."""
        for issuer in self.issuers:
            if issuer.certificate == ca:
                return issuer
        return None


def _self_signed(cert: x509.Certificate) -> bool:
    # A root names itself and its own key. Its self-signature is not what trust rests on
    # (the configuration is), so a SHA-1 one (GRCA G1) is no reason to refuse it.
    if cert.issuer != cert.subject:
        return False
    try:
        authority = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        authority = None
    if authority is not None and authority.key_identifier is not None:
        return authority.key_identifier.hex() == key_id(cert)
    try:
        cert.verify_directly_issued_by(cert)
    except InvalidSignature:
        return False
    except (ValueError, TypeError):  # an algorithm cryptography no longer verifies
        pass
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _asn1(cert: x509.Certificate) -> ax509.Certificate:
    return ax509.Certificate.load(cert.public_bytes(Encoding.DER))


def _chains_to(ca: x509.Certificate, anchors: tuple[x509.Certificate, ...]) -> str | None:
    """Why ``ca`` does not chain to ``anchors`` (None when it does), with the same
    validator as a login. An expired generation is checked inside its own validity."""
    now = datetime.now(UTC)
    moment = min(max(now, ca.not_valid_before_utc), ca.not_valid_after_utc - timedelta(seconds=1))
    context = ValidationContext(
        trust_roots=[_asn1(a) for a in anchors], moment=moment, allow_fetching=False
    )
    validator = CertificateValidator(_asn1(ca), validation_context=context)
    try:
        run_coroutine(validator.async_validate_usage({"key_cert_sign"}))
    except (PathBuildingError, PathValidationError, ValidationError) as exc:
        return str(exc)
    return None


def load_trust(config) -> Trust:
    """Read and check the trust configuration of an app's ``config`` (see the module).

    No anchors and no CAs: certificate login is off. Otherwise refuses (raises
    :class:`TrustConfigError`) anchors that are not roots, roots without any issuing CA,
    issuing CAs without a root, a certificate that is no CA or a root in an issuer list, a CA
    under two types, and a CA without a valid path to a configured root.
    """
    anchors = tuple(load_anchors(config.get(ANCHORS_KEY)))
    listed = {kind: load_anchors(config.get(CA_KEYS[kind])) for kind in KINDS}
    if not anchors and not any(listed.values()):
        return Trust()
    for anchor in anchors:
        if not _self_signed(anchor):
            raise TrustConfigError(
                f"{ANCHORS_KEY} holds {describe(anchor)}, which is not a root: list the GRCA "
                f"roots there and each type's issuing CAs in {CA_KEYS[BUSINESS]} (MOEACA) and "
                f"{CA_KEYS[CITIZEN]} (MOICA)"
            )
    if not anchors:
        raise TrustConfigError(
            f"{ANCHORS_KEY} is empty: the issuing CAs need the GRCA roots they chain to"
        )
    if not any(listed.values()):
        raise TrustConfigError(
            f"only roots are configured ({ANCHORS_KEY}), so no real card could be validated: "
            "HiPKI's signature carries the card's certificate alone. Name the issuing CAs, "
            f"every generation: {CA_KEYS[BUSINESS]} (MOEACA, 工商憑證) and/or "
            f"{CA_KEYS[CITIZEN]} (MOICA, 自然人憑證)"
        )
    issuers: list[Issuer] = []
    seen: dict[x509.Certificate, str] = {}
    for kind in KINDS:
        wanted = config.get(POLICY_KEYS[kind])
        for ca in listed[kind]:
            where = f"{CA_KEYS[kind]} holds {describe(ca)}"
            if not _is_ca(ca) or _self_signed(ca):
                raise TrustConfigError(
                    f"{where}, which is not an issuing CA (a root belongs in {ANCHORS_KEY})"
                )
            if ca in seen:
                raise TrustConfigError(f"{where}, which is also in {CA_KEYS[seen[ca]]}")
            seen[ca] = kind
            problem = _chains_to(ca, anchors)
            if problem:
                raise TrustConfigError(
                    f"{where}, which does not chain to a root in {ANCHORS_KEY}: {problem}"
                )
            accepted = frozenset(wanted) if wanted is not None else policies(ca)
            issuers.append(Issuer(ca, kind, accepted))
    return Trust(anchors=anchors, issuers=tuple(issuers))
