"""Why a certificate was refused; each reason has a message for the applicant."""

from __future__ import annotations

from ..refusals import Refused

#: Reason codes, for the audit trail and the applicant's message.
REASONS = (
    "malformed",  # not a CMS SignedData we can read
    "wrong_content",  # the signature is not over this session's challenge
    "challenge_expired",  # no live challenge for this session (expired or used)
    "bad_signature",  # the signature does not verify
    "weak_algorithm",  # SHA-1 or MD5
    "untrusted",  # no path to a configured trust anchor
    "expired",
    "not_yet_valid",
    "revoked",
    "revocation_unknown",  # the CRL or OCSP responder could not be reached or read
    "wrong_card",  # an encryption certificate, or a card of no configured issuing CA
    "attached_card",  # a 工商憑證 附卡 where only the 正卡 may act (see ALLOW_ATTACHED_CARDS)
    "no_delegation",  # a 自然人憑證 account not (or no longer) authorized by the company
    "wrong_company",  # the card's 統一編號 is not the account's or the form's
    "no_account",  # no account for this card
    "binding_pending",  # the card waits for the company's authorization to be bound
    "not_activated",
)


class CertificateRefused(Refused):
    """The certificate or its signature was refused for ``reason`` (see :data:`REASONS`);
    ``code`` is the same reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        assert reason in REASONS, reason
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason, code=reason)
