"""Verify the CMS SignedData the HiPKI local service returns (``signatureType: "PKCS7"``).

Parsing is asn1crypto's, cryptography does the mathematics; nothing here is hand-written
ASN.1 or crypto.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from asn1crypto import cms
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from .errors import CertificateRefused

_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
#: Largest signature we parse; a real one is a few kilobytes.
MAX_SIGNATURE_BYTES = 64 * 1024


@dataclass(frozen=True)
class SignedChallenge:
    """A verified signature: who signed, with which other certificates supplied."""

    signer: x509.Certificate
    certificates: list[x509.Certificate]


def verify_signed_challenge(signature_b64: str, challenge: bytes) -> SignedChallenge:
    """Check that ``signature_b64`` is a CMS SignedData over exactly ``challenge`` and that
    its signature verifies with the embedded signer certificate.

    Validating that certificate is the caller's next step. Raises :class:`CertificateRefused`.
    """
    if not signature_b64 or len(signature_b64) > MAX_SIGNATURE_BYTES * 4 // 3 + 4:
        raise CertificateRefused("malformed", "missing or oversized signature")
    try:
        der = base64.b64decode(signature_b64, validate=True)
        content_info = cms.ContentInfo.load(der, strict=True)
        if content_info["content_type"].native != "signed_data":
            raise CertificateRefused("malformed", "not SignedData")
        signed = content_info["content"]
        (signer_info,) = signed["signer_infos"]
        encap = signed["encap_content_info"]
        content = encap["content"].native if encap["content"] else None
        certificates = [
            x509.load_der_x509_certificate(c.chosen.dump())
            for c in signed["certificates"]
            if c.name == "certificate"
        ]
        digest_name = signer_info["digest_algorithm"]["algorithm"].native
        signed_attrs = signer_info["signed_attrs"]
        signature = signer_info["signature"].native
        sid = signer_info["sid"]
    except CertificateRefused:
        raise
    except (ValueError, TypeError, binascii.Error, KeyError) as exc:
        raise CertificateRefused("malformed", str(exc)[:100]) from None

    if content is not None and not hmac.compare_digest(content, challenge):
        raise CertificateRefused("wrong_content")
    if digest_name not in _HASHES:
        raise CertificateRefused("weak_algorithm", digest_name)
    signer = _find_signer(sid, certificates)

    if signed_attrs:
        attrs = {a["type"].native: a["values"] for a in signed_attrs}
        digest = hashlib.new(digest_name, challenge).digest()
        message_digest = attrs.get("message_digest")
        if not message_digest or not hmac.compare_digest(message_digest[0].native, digest):
            raise CertificateRefused("wrong_content", "message digest")
        if "content_type" in attrs and attrs["content_type"][0].native != "data":
            raise CertificateRefused("malformed", "content type")
        # The signature covers the attributes' DER with the SET OF tag, not [0] IMPLICIT.
        signed_bytes = b"\x31" + signed_attrs.dump()[1:]
    else:
        signed_bytes = challenge

    _verify(signer, signature, signed_bytes, _HASHES[digest_name]())
    return SignedChallenge(signer=signer, certificates=certificates)


def _find_signer(sid, certificates: list[x509.Certificate]) -> x509.Certificate:
    if sid.name == "issuer_and_serial_number":
        issuer = sid.chosen["issuer"]
        serial = sid.chosen["serial_number"].native
        for cert in certificates:
            # asn1crypto compares names as RFC 5280 says (case and space folded).
            if (
                cert.serial_number == serial
                and ax509.Certificate.load(cert.public_bytes(Encoding.DER)).issuer == issuer
            ):
                return cert
    elif sid.name == "subject_key_identifier":
        wanted = sid.chosen.native
        for cert in certificates:
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                continue
            if ski.value.digest == wanted:
                return cert
    raise CertificateRefused("malformed", "the signer's certificate is not included")


def signature_valid(key, signature: bytes, data: bytes, algorithm) -> bool:
    """Whether ``signature`` over ``data`` verifies with an RSA (PKCS#1 v1.5) or EC public
    ``key``. Used for the CMS signature here and for CRLs' and OCSP responses' signatures."""
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _verify(cert: x509.Certificate, signature: bytes, data: bytes, algorithm) -> None:
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise CertificateRefused("weak_algorithm", type(key).__name__)
    if not signature_valid(key, signature, data, algorithm):
        raise CertificateRefused("bad_signature")
