"""The CMS verifier on its own: what HiPKI may send, and what an attacker may send."""

import base64

import pytest
from asn1crypto import cms

from flask_industry_auth.certificates.cms import verify_signed_challenge
from flask_industry_auth.certificates.errors import CertificateRefused
from flask_industry_auth.certificates.identity import card_identity
from flask_industry_auth.testing import TestPKI

CHALLENGE = b"flask_industry_auth:login:abc"


@pytest.fixture(scope="module")
def pki():
    return TestPKI()


@pytest.fixture(scope="module")
def card(pki):
    return pki.business_card("04595257")


def test_attached_content_with_signed_attributes(card):
    signed = verify_signed_challenge(card.sign(CHALLENGE), CHALLENGE)
    assert signed.signer == card.certificate
    # As HiPKI's: the signer's certificate only, no intermediate.
    assert signed.certificates == [card.certificate]


def test_detached_content_and_no_signed_attributes(card):
    for options in (
        {"attach": False},
        {"signed_attributes": False},
        {"attach": False, "signed_attributes": False},
    ):
        assert (
            verify_signed_challenge(card.sign(CHALLENGE, **options), CHALLENGE).signer
            == card.certificate
        )


def test_detached_signature_over_other_content_fails(card):
    signature = card.sign(b"something else", attach=False)
    with pytest.raises(CertificateRefused) as refused:
        verify_signed_challenge(signature, CHALLENGE)
    assert refused.value.reason == "wrong_content"


def test_sha1_is_refused(card):
    with pytest.raises(CertificateRefused) as refused:
        verify_signed_challenge(card.sign(CHALLENGE, digest="sha1"), CHALLENGE)
    assert refused.value.reason == "weak_algorithm"


def test_a_tampered_signature_fails(card):
    info = cms.ContentInfo.load(base64.b64decode(card.sign(CHALLENGE, signed_attributes=False)))
    signer = info["content"]["signer_infos"][0]
    raw = bytearray(signer["signature"].native)
    raw[-1] ^= 1
    signer["signature"] = bytes(raw)
    with pytest.raises(CertificateRefused) as refused:
        verify_signed_challenge(base64.b64encode(info.dump(force=True)).decode(), CHALLENGE)
    assert refused.value.reason == "bad_signature"


def test_a_signature_by_another_key_with_this_certificate_fails(pki, card):
    impostor = pki.business_card("04595257")
    forged = type(card)(impostor.key, card.certificate, card.chain, card.issuer)
    with pytest.raises(CertificateRefused) as refused:
        verify_signed_challenge(forged.sign(CHALLENGE), CHALLENGE)
    assert refused.value.reason == "bad_signature"


def test_identity_of_the_cards(pki, card):
    # The type is the issuing CA's (see test_certificates); the attributes are read for it.
    business = card_identity(card.certificate, "business")
    assert (business.kind, business.business_id, business.attached) == (
        "business",
        "04595257",
        False,
    )
    attached = pki.business_card("04595257", attached=True).certificate
    assert card_identity(attached, "business").attached
    citizen = card_identity(pki.citizen_card().certificate, "citizen")
    assert (citizen.kind, citizen.business_id) == ("citizen", None)
    with pytest.raises(CertificateRefused, match="disagree") as refused:
        card_identity(
            pki.business_card("04595257", serial_number="22099131").certificate, "business"
        )
    assert refused.value.reason == "wrong_company"
    # Without the subject serialNumber the attribute alone decides.
    assert (
        card_identity(
            pki.business_card("04595257", serial_number=None).certificate, "business"
        ).business_id
        == "04595257"
    )
    # A card lacking its type's attribute is refused, whatever else it carries.
    for cert, kind in ((pki.citizen_card().certificate, "business"), (card.certificate, "citizen")):
        with pytest.raises(CertificateRefused) as refused:
            card_identity(cert, kind)
        assert refused.value.reason == "wrong_card"
