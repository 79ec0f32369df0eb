"""Validate a signer certificate: path to a configured trust anchor, validity, key usage
(pyhanko-certvalidator, RFC 5280), then revocation (:mod:`.revocation`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InvalidCertificateError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)

from .errors import CertificateRefused
from .revocation import RevocationChecker


def load_anchors(source) -> list[x509.Certificate]:
    """Trust anchors from ``INDUSTRY_AUTH_CERT_TRUST_ANCHORS``: PEM/DER bytes, a file, a
    folder of ``.pem``/``.crt``/``.cer`` files, or a list of any of these."""
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


def _asn1(cert: x509.Certificate) -> ax509.Certificate:
    return ax509.Certificate.load(cert.public_bytes(Encoding.DER))


def validate(
    signer: x509.Certificate,
    supplied: list[x509.Certificate],
    anchors: list[x509.Certificate],
    revocation: RevocationChecker,
    moment: datetime | None = None,
) -> list[x509.Certificate]:
    """Validate ``signer`` for digital signature; return its path, signer first.

    ``supplied`` are the other certificates the signature carried (intermediates); only
    ``anchors`` are trusted. Raises :class:`CertificateRefused`.
    """
    if not anchors:
        raise CertificateRefused("untrusted", "no trust anchors are configured")
    context = ValidationContext(
        trust_roots=[_asn1(a) for a in anchors],
        moment=moment or datetime.now(UTC),
        allow_fetching=False,  # revocation is ours: cached CRLs or OCSP, see below
        revocation_mode="soft-fail",
    )
    validator = CertificateValidator(
        _asn1(signer),
        intermediate_certs=[_asn1(c) for c in supplied if c != signer],
        validation_context=context,
    )
    try:
        path = asyncio.run(validator.async_validate_usage({"digital_signature"}))
    except ExpiredError as exc:
        raise CertificateRefused("expired", str(exc)) from None
    except NotYetValidError as exc:
        raise CertificateRefused("not_yet_valid", str(exc)) from None
    except RevokedError as exc:
        raise CertificateRefused("revoked", str(exc)) from None
    except PathBuildingError as exc:
        raise CertificateRefused("untrusted", str(exc)) from None
    except InvalidCertificateError as exc:
        raise CertificateRefused("wrong_card", str(exc)) from None
    except (PathValidationError, ValidationError) as exc:
        raise CertificateRefused("untrusted", str(exc)) from None
    from_root = list(path.iter_certs(include_root=True))
    chain = [x509.load_der_x509_certificate(c.dump()) for c in reversed(from_root)]
    revocation.check(chain[0], chain[1])
    return chain
