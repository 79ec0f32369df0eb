"""A throw-away certificate hierarchy for tests and the demo: never for production.

:class:`TestPKI` builds a GRCA-like root, MOEACA-like and MOICA-like intermediates (with the
GPKI policy OID, as the real ones), other CAs under the same root, new generations sharing a
CA's name, and end-entity certificates carrying the Taiwan identity attributes, all with
``cryptography``; it signs challenges as the HiPKI local service does (CMS SignedData, PKCS#7,
carrying only the signer's certificate) with ``asn1crypto``, and issues CRLs and OCSP
responses. The package verifies these in exactly its production code path.
Driving the pages as an applicant (forms, mails, worker processes) is :mod:`.testkit`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass, field

from asn1crypto import algos, cms, core
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from .certificates.identity import (
    OID_CARD_KIND,
    OID_ID_LAST4,
    OID_SUBJECT_DIRECTORY_ATTRIBUTES,
    OID_UBN,
)

KU_CA = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
KU_SIGN = x509.KeyUsage(True, True, False, False, False, False, False, False, False)
KU_ENCRYPT = x509.KeyUsage(False, False, True, True, False, False, False, False, False)
#: The GPKI certificate policy the real MOEACA and MOICA CAs and their cards carry.
GPKI_POLICY = "2.16.886.101.0.3.3"


def _policy_extension(*oids: str) -> x509.CertificatePolicies:
    return x509.CertificatePolicies(
        [x509.PolicyInformation(x509.ObjectIdentifier(oid), None) for oid in oids]
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _name(common_name: str, serial_number: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "TW"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "flask_industry_auth test PKI"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if serial_number:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number))
    return x509.Name(attributes)


def subject_directory_attributes(values: dict[str, str]) -> bytes:
    """DER of a Subject Directory Attributes extension value: {OID: PrintableString}."""
    attributes = ax509.Attributes(
        [{"type": oid, "values": [core.PrintableString(value)]} for oid, value in values.items()]
    )
    return attributes.dump()


@dataclass
class Authority:
    """A CA of the test hierarchy."""

    name: str
    key: object
    certificate: x509.Certificate
    crl_url: str | None = None
    ocsp_url: str | None = None
    revoked: dict[int, dt.datetime] = field(default_factory=dict)


@dataclass
class Card:
    """An end-entity certificate and its key, as on a smart card."""

    key: object
    certificate: x509.Certificate
    chain: list[x509.Certificate]  # the issuing CA (what HiPKI does not send)
    issuer: Authority

    def sign(
        self,
        content: str | bytes,
        *,
        digest: str = "sha256",
        attach: bool = True,
        signed_attributes: bool = True,
        embed_chain: bool = False,
    ) -> str:
        """CMS SignedData over ``content``, base64, as HiPKI's ``signatureType: "PKCS7"``:
        only the signer's certificate inside, unless ``embed_chain``."""
        return sign_cms(
            self.key,
            self.certificate,
            self.chain if embed_chain else [],
            content,
            digest=digest,
            attach=attach,
            signed_attributes=signed_attributes,
        )

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def sign_cms(
    key,
    certificate: x509.Certificate,
    chain: list[x509.Certificate],
    content: str | bytes,
    *,
    digest: str = "sha256",
    attach: bool = True,
    signed_attributes: bool = True,
) -> str:
    """Sign ``content`` as CMS SignedData (RSA PKCS#1 v1.5 or ECDSA) and return base64."""
    data = content.encode() if isinstance(content, str) else content
    hash_class = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha1": hashes.SHA1}[digest]
    ident = cms.SignerIdentifier(
        {
            "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                {
                    "issuer": ax509.Name.load(certificate.issuer.public_bytes()),
                    "serial_number": certificate.serial_number,
                }
            )
        }
    )
    info = {
        "version": "v1",
        "sid": ident,
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": digest}),
    }
    if signed_attributes:
        attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
                cms.CMSAttribute(
                    {"type": "message_digest", "values": [hashlib.new(digest, data).digest()]}
                ),
                cms.CMSAttribute(
                    {"type": "signing_time", "values": [cms.Time({"utc_time": _now()})]}
                ),
            ]
        )
        info["signed_attrs"] = attrs
        to_sign = attrs.dump()
    else:
        to_sign = data
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(to_sign, padding.PKCS1v15(), hash_class())
        algorithm = f"{digest}_rsa"
    else:
        signature = key.sign(to_sign, ec.ECDSA(hash_class()))
        algorithm = f"{digest}_ecdsa"
    info["signature_algorithm"] = algos.SignedDigestAlgorithm({"algorithm": algorithm})
    info["signature"] = signature
    encap = {"content_type": "data"}
    if attach:
        encap["content"] = data
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": digest})],
            "encap_content_info": encap,
            "certificates": [
                ax509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
                for c in (certificate, *chain)
            ],
            "signer_infos": [info],
        }
    )
    content_info = cms.ContentInfo({"content_type": "signed_data", "content": signed})
    return base64.b64encode(content_info.dump()).decode()


class TestPKI:
    """A root, a MOEACA-like and a MOICA-like intermediate; cards issued on demand.

    :meth:`trust_config` is the configuration a portal needs for it (roots, issuing CAs by
    type), as the production one names GRCA, MOEACA and MOICA.

    ``base_url`` (e.g. ``http://127.0.0.1:8080``) goes into the cards' CRL distribution point
    (``/<ca>.crl``) and OCSP address (``/ocsp/<ca>``) so that a test server can answer them.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, base_url: str | None = None, *, root_name: str = "Test GRCA") -> None:
        self.base_url = base_url
        key = ec.generate_private_key(ec.SECP256R1())
        root = self._build(_name(root_name), _name(root_name), key, key, ca=True)
        self.root = Authority(root_name, key, root)
        self.roots = [self.root]
        self.moeaca = self._authority("Test MOEACA", "moeaca")
        self.moica = self._authority("Test MOICA", "moica")
        self.business_cas = [self.moeaca]
        self.citizen_cas = [self.moica]

    # -- building -------------------------------------------------------------------
    def _authority(
        self, name: str, slug: str, *, root: Authority | None = None, policies=(GPKI_POLICY,)
    ) -> Authority:
        root = root or self.root
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._build(
            _name(name),
            root.certificate.subject,
            key,
            root.key,
            ca=True,
            extra=[_policy_extension(*policies)] if policies else (),
        )
        return Authority(
            name,
            key,
            cert,
            crl_url=f"{self.base_url}/{slug}.crl" if self.base_url else None,
            ocsp_url=f"{self.base_url}/ocsp/{slug}" if self.base_url else None,
        )

    def _build(
        self,
        subject,
        issuer_name,
        key,
        issuer_key,
        *,
        ca: bool,
        key_usage: x509.KeyUsage | None = None,
        not_before=None,
        not_after=None,
        extra=(),
        authority: Authority | None = None,
    ) -> x509.Certificate:
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - dt.timedelta(days=1))
            .not_valid_after(not_after or now + dt.timedelta(days=3650 if ca else 365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(key_usage or (KU_CA if ca else KU_SIGN), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                False,
            )
        )
        if authority and authority.crl_url:
            builder = builder.add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            [x509.UniformResourceIdentifier(authority.crl_url)], None, None, None
                        )
                    ]
                ),
                False,
            )
        if authority and authority.ocsp_url:
            builder = builder.add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            x509.oid.AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier(authority.ocsp_url),
                        )
                    ]
                ),
                False,
            )
        for extension in extra:
            builder = builder.add_extension(extension, critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def other_authority(self, name: str = "Test GCA", slug: str = "gca") -> Authority:
        """Another CA under the same root (as GCA, XCA, HCA are under GRCA): its cards must
        never log in, whatever they carry."""
        return self._authority(name, slug)

    def new_generation(self, authority: Authority, slug: str) -> Authority:
        """A next generation of ``authority``: the same subject name, a new key, under a new
        root (as MOICA G3 under GRCA G3 beside MOICA G2 under GRCA G2). Trusted at once."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = f"{self.root.name} G{len(self.roots) + 1}"
        root = Authority(name, key, self._build(_name(name), _name(name), key, key, ca=True))
        self.roots.append(root)
        new = self._authority(authority.name, slug, root=root)
        new.certificate = self._build(
            authority.certificate.subject,
            root.certificate.subject,
            new.key,
            root.key,
            ca=True,
            extra=[_policy_extension(GPKI_POLICY)],
        )
        (self.business_cas if authority in self.business_cas else self.citizen_cas).append(new)
        return new

    def _card(
        self,
        authority: Authority,
        subject: x509.Name,
        attributes: dict[str, str],
        *,
        policies=(GPKI_POLICY,),
        **options,
    ) -> Card:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        sda = x509.UnrecognizedExtension(
            x509.ObjectIdentifier(OID_SUBJECT_DIRECTORY_ATTRIBUTES),
            subject_directory_attributes(attributes),
        )
        extra = [sda, *([_policy_extension(*policies)] if policies else [])]
        cert = self._build(
            subject,
            authority.certificate.subject,
            key,
            authority.key,
            ca=False,
            extra=extra,
            authority=authority,
            **options,
        )
        return Card(key, cert, [authority.certificate], authority)

    def business_card(
        self,
        business_id: str,
        *,
        name: str = "測試股份有限公司",
        serial_number: str | None = "same",
        attached: bool = False,
        authority: Authority | None = None,
        **options,
    ) -> Card:
        """A MOEACA-like 工商憑證 signing certificate for ``business_id``.

        ``serial_number`` is the subject serialNumber: ``"same"`` (the 統一編號), another
        value, or ``None`` for none. ``attached``: a 附卡 (card kind ``secondary``).
        ``authority``: another issuer (a new generation, another CA under the root).
        """
        subject_serial = business_id if serial_number == "same" else serial_number
        attributes = {OID_UBN: business_id, OID_CARD_KIND: "secondary" if attached else "primary"}
        return self._card(
            authority or self.moeaca, _name(name, subject_serial), attributes, **options
        )

    def citizen_card(
        self,
        name: str = "王大明",
        id_last4: str = "6789",
        *,
        authority: Authority | None = None,
        **options,
    ) -> Card:
        """A MOICA-like 自然人憑證 signing certificate."""
        return self._card(authority or self.moica, _name(name), {OID_ID_LAST4: id_last4}, **options)

    def encryption_card(self, business_id: str) -> Card:
        """The card's other certificate: key encipherment only, no digital signature."""
        return self.business_card(business_id, key_usage=KU_ENCRYPT)

    def expired_card(self, business_id: str) -> Card:
        now = _now()
        return self.business_card(
            business_id,
            not_before=now - dt.timedelta(days=400),
            not_after=now - dt.timedelta(days=1),
        )

    # -- revocation -------------------------------------------------------------------
    def revoke(self, card: Card) -> None:
        card.issuer.revoked[card.certificate.serial_number] = _now() - dt.timedelta(minutes=1)

    def crl(self, authority: Authority, *, next_update_hours: float = 24) -> bytes:
        """A signed CRL (DER) of ``authority`` listing what :meth:`revoke` revoked."""
        now = _now()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(authority.certificate.subject)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(now + dt.timedelta(hours=next_update_hours))
        )
        for serial, when in authority.revoked.items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
            )
        return builder.sign(authority.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def ocsp_response(self, authority: Authority, request_der: bytes) -> bytes:
        """An OCSP response (DER) signed by ``authority`` for the request's certificate."""
        request = ocsp.load_der_ocsp_request(request_der)
        serial = request.serial_number
        now = _now()
        revoked_at = authority.revoked.get(serial)
        # The response names the certificate by serial; build a stand-in with that serial.
        stub = self._build(
            _name("stub"),
            authority.certificate.subject,
            ec.generate_private_key(ec.SECP256R1()),
            authority.key,
            ca=False,
        )
        stub = x509.CertificateBuilder(
            issuer_name=stub.issuer,
            subject_name=stub.subject,
            public_key=stub.public_key(),
            serial_number=serial,
            not_valid_before=stub.not_valid_before_utc,
            not_valid_after=stub.not_valid_after_utc,
        ).sign(authority.key, hashes.SHA256())
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response(
                # SHA-1 names the certificate in the OCSP CertID (RFC 6960), no signature.
                cert=stub,
                issuer=authority.certificate,
                algorithm=hashes.SHA1(),  # noqa: S303
                cert_status=ocsp.OCSPCertStatus.REVOKED if revoked_at else ocsp.OCSPCertStatus.GOOD,
                this_update=now - dt.timedelta(minutes=1),
                next_update=now + dt.timedelta(hours=1),
                revocation_time=revoked_at,
                revocation_reason=None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, authority.certificate)
        )
        for ext in request.extensions:
            if isinstance(ext.value, x509.OCSPNonce):
                builder = builder.add_extension(ext.value, critical=False)
        return builder.sign(authority.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    # -- files -------------------------------------------------------------------------
    def save(self, folder, cards: dict[str, Card]) -> None:
        """Write the hierarchy and ``cards`` as PEM files (unencrypted test keys)."""
        from pathlib import Path

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        items = {"root": self.root, "moeaca": self.moeaca, "moica": self.moica, **cards}
        for name, item in items.items():
            cert = item.certificate
            (folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            (folder / f"{name}.key").write_bytes(
                item.key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )

    @classmethod
    def load(cls, folder, card_names: tuple[str, ...]) -> tuple[TestPKI, dict[str, Card]]:
        """Read what :meth:`save` wrote."""
        from pathlib import Path

        folder = Path(folder)

        def read(name):
            cert = x509.load_pem_x509_certificate((folder / f"{name}.pem").read_bytes())
            key = serialization.load_pem_private_key(
                (folder / f"{name}.key").read_bytes(), password=None
            )
            return cert, key

        pki = cls.__new__(cls)
        pki.base_url = None
        authorities = {}
        for name in ("root", "moeaca", "moica"):
            cert, key = read(name)
            authorities[name] = Authority(cert.subject.rfc4514_string(), key, cert)
        pki.root, pki.moeaca, pki.moica = (authorities[n] for n in ("root", "moeaca", "moica"))
        pki.roots, pki.business_cas, pki.citizen_cas = [pki.root], [pki.moeaca], [pki.moica]
        cards = {}
        for name in card_names:
            cert, key = read(name)
            issuer = pki.moeaca if cert.issuer == pki.moeaca.certificate.subject else pki.moica
            cards[name] = Card(key, cert, [issuer.certificate], issuer)
        return pki, cards

    # -- trust ---------------------------------------------------------------------------
    @staticmethod
    def _pem(authorities: list[Authority]) -> bytes:
        return b"".join(a.certificate.public_bytes(serialization.Encoding.PEM) for a in authorities)

    def anchors_pem(self) -> bytes:
        """The roots, PEM (``INDUSTRY_AUTH_CERT_TRUST_ANCHORS``)."""
        return self._pem(self.roots)

    def trust_config(self) -> dict[str, bytes]:
        """The trust settings for this hierarchy: roots, and the issuing CAs of each type."""
        return {
            "INDUSTRY_AUTH_CERT_TRUST_ANCHORS": self.anchors_pem(),
            "INDUSTRY_AUTH_CERT_BUSINESS_CAS": self._pem(self.business_cas),
            "INDUSTRY_AUTH_CERT_CITIZEN_CAS": self._pem(self.citizen_cas),
        }


__all__ = ["Card", "TestPKI", "sign_cms"]
