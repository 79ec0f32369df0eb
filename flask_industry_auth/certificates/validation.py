"""Validate a signer certificate: a path through a configured issuing CA to a configured
root, validity, key usage (pyhanko-certvalidator, RFC 5280), the issuer's account type and
policies (:mod:`.trust`), then revocation (:mod:`.revocation`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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
from .trust import Issuer, Trust, policies, run_coroutine


@dataclass(frozen=True)
class ValidatedCard:
    """A signer certificate that validated: its path (signer first, root last), the
    configured issuer it came through, and what the revocation check answered."""

    chain: list[x509.Certificate]
    issuer: Issuer
    revocation: Any = None

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]


def _asn1(cert: x509.Certificate) -> ax509.Certificate:
    return ax509.Certificate.load(cert.public_bytes(Encoding.DER))


def validate(
    signer: x509.Certificate,
    supplied: list[x509.Certificate],
    trust: Trust,
    revocation: RevocationChecker,
    moment: datetime | None = None,
) -> ValidatedCard:
    """Validate ``signer`` for digital signature and tell which configured issuer it came
    through. Raises :class:`CertificateRefused`.

    ``supplied`` are the other certificates the signature carried (HiPKI sends none); paths
    are built through the configured issuing CAs, and only the configured roots are trusted.
    A card whose issuer is not a configured CA (another CA under the same root) is
    ``wrong_card`` whatever it carries; so is one without its type's policy OID.
    """
    if not trust.anchors or not trust.issuers:
        raise CertificateRefused("untrusted", "certificate login is not configured")
    context = ValidationContext(
        trust_roots=[_asn1(a) for a in trust.anchors],
        moment=moment or datetime.now(UTC),
        allow_fetching=False,  # revocation is ours: cached CRLs or OCSP, see below
        revocation_mode="soft-fail",
    )
    intermediates = [c for c in (*trust.intermediates, *supplied) if c != signer]
    validator = CertificateValidator(
        _asn1(signer),
        intermediate_certs=[_asn1(c) for c in intermediates],
        validation_context=context,
    )
    try:
        path = run_coroutine(validator.async_validate_usage({"digital_signature"}))
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
    issuer = trust.issuer_of(chain[1]) if len(chain) > 1 else None
    if issuer is None:
        raise CertificateRefused(
            "wrong_card", f"issued by {chain[1].subject.rfc4514_string()}, not a configured CA"
        )
    if issuer.policies and not issuer.policies & policies(chain[0]):
        raise CertificateRefused("wrong_card", "the certificate carries none of its CA's policies")
    answer = revocation.check(chain[0], chain[1])
    return ValidatedCard(chain=chain, issuer=issuer, revocation=answer)
