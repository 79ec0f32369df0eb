"""The identity inside a Taiwan government certificate (see shared/design/DOMAIN.md)."""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.x509.oid import NameOID

from .errors import CertificateRefused

#: Subject Directory Attributes, the extension holding the Taiwan attributes.
OID_SUBJECT_DIRECTORY_ATTRIBUTES = "2.5.29.9"
#: 統一編號 of the company (MOEACA 工商憑證).
OID_UBN = "2.16.886.1.100.2.101"
#: Last four digits of the holder's national ID (MOICA 自然人憑證).
OID_ID_LAST4 = "2.16.886.1.100.2.51"
#: Card kind of a 工商憑證: primary (正卡) or secondary (附卡, an employee's attached card).
OID_CARD_KIND = "2.16.886.1.100.2.2"
#: Values of :data:`OID_CARD_KIND` that mark an attached card.
ATTACHED_VALUES = ("secondary", "附卡")

BUSINESS = "business"
CITIZEN = "citizen"


@dataclass(frozen=True)
class CardIdentity:
    """Who a signing certificate speaks for."""

    kind: str  # BUSINESS or CITIZEN: decided by the issuing CA (see .trust)
    business_id: str | None  # 統一編號, for BUSINESS
    issuer: str  # RFC 4514 issuer name
    serial: str  # certificate serial number, hex
    subject: str
    attached: bool = False  # a 工商憑證 附卡 (an employee's card), not the 正卡
    issuer_key_id: str = ""  # hex key identifier of the issuing CA (names repeat)


def directory_attributes(cert: x509.Certificate) -> dict[str, str]:
    """The Subject Directory Attributes as {OID: first value as text}."""
    try:
        extension = cert.extensions.get_extension_for_oid(
            x509.ObjectIdentifier(OID_SUBJECT_DIRECTORY_ATTRIBUTES)
        )
    except x509.ExtensionNotFound:
        return {}
    attributes = ax509.Attributes.load(extension.value.value)
    found = {}
    for attribute in attributes:
        values = attribute["values"]
        if len(values):
            value = values[0].parse() if hasattr(values[0], "parse") else values[0]
            native = value.native
            found[attribute["type"].dotted] = (
                native.decode("ascii", "replace") if isinstance(native, bytes) else str(native)
            )
    return found


def card_identity(cert: x509.Certificate, kind: str, issuer_key_id: str = "") -> CardIdentity:
    """Read the identity of a signing certificate whose issuing CA makes it a ``kind`` card.

    The type comes from the issuer (:mod:`.trust`), never from the attributes: a card of
    another CA is refused before this. Raises :class:`~.errors.CertificateRefused`:
    ``wrong_card`` when the certificate lacks its type's attribute (a 工商憑證 without 統一編號,
    a 自然人憑證 without the ID digits), ``wrong_company`` when a 工商憑證's 統一編號 attribute
    and subject serialNumber disagree.
    """
    attributes = directory_attributes(cert)
    serial_numbers = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)]
    common = {
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "subject": cert.subject.rfc4514_string(),
        "issuer_key_id": issuer_key_id,
    }
    if kind == BUSINESS:
        if OID_UBN not in attributes:
            raise CertificateRefused("wrong_card", "a MOEACA certificate without 統一編號")
        ubn = attributes[OID_UBN].strip()
        if any(str(s).strip() != ubn for s in serial_numbers):
            raise CertificateRefused(
                "wrong_company", "the 統一編號 attribute and the subject serialNumber disagree"
            )
        attached = attributes.get(OID_CARD_KIND, "").strip().lower() in ATTACHED_VALUES
        return CardIdentity(kind=BUSINESS, business_id=ubn, attached=attached, **common)
    if kind == CITIZEN:
        if OID_ID_LAST4 not in attributes:
            raise CertificateRefused("wrong_card", "a MOICA certificate without the ID digits")
        return CardIdentity(kind=CITIZEN, business_id=None, **common)
    raise CertificateRefused("wrong_card", f"unknown card type {kind!r}")
