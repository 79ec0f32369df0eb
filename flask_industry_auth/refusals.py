"""The package's refusals, in one vocabulary: every flow that refuses says so with a code from
:data:`CODES`, as the ``reason`` of its result or the ``code`` of a :class:`Refused` it raises;
:mod:`~flask_industry_auth.messages` turns an applicant's codes into their words.

A leaf module: it imports nothing, so the lifecycle and the certificate checks can use it.
"""

from __future__ import annotations

#: Every refusal code, with what it means.
CODES: dict[str, str] = {
    # Log in (LoginResult.reason; the applicant is told login_failed for most of them)
    "unknown": "no account has this account id",
    "wrong_business_id": "the account is another business's",
    "wrong_password": "the password is wrong",
    "locked": "the account is locked (and the password was wrong)",
    "locked_temporarily": "locked after failed logins, until locked_until (said after the right "
    "password)",
    "locked_by_staff": "locked by staff until they unlock it (said after the right password)",
    "not_activated": "the account is not activated yet (said after the right password)",
    "not_allowed": "the account's state may not log in (said after the right password)",
    "certificate_account": "the account logs in with its card",
    # Passwords and basic data (lists of problems)
    "wrong_old_password": "the old password is wrong",
    "too_short": "the new password is shorter than INDUSTRY_AUTH_PASSWORD_MIN_LENGTH",
    "too_long": "the new password is longer than INDUSTRY_AUTH_PASSWORD_MAX_LENGTH",
    "common": "the new password is on the common-password list",
    "contains_identifier": "the new password holds the account's own identifiers",
    "reused": "the new password is one of the last INDUSTRY_AUTH_PASSWORD_HISTORY",
    "password_required": "changing the email address needs the current password",
    "email_taken": "another account of the business has this email address",
    # Activation links (activation.TokenStatus)
    "link_expired": "the activation link is past its lifetime",
    "link_invalid": "the activation link is unknown or used",
    # Delegations of a 自然人憑證 (flows.delegation.DelegationRefused)
    "not_pending": "the delegation is no longer waiting for authorization",
    "not_authorized": "the delegation is already revoked",
    "card_taken": "the card is bound to another account now",
    "not_bindable": "the account is a certificate account already: no card is bound to it",
    # Certificates (certificates.errors.CertificateRefused.reason)
    "malformed": "not a CMS SignedData that can be read",
    "wrong_content": "the signature is not over this session's challenge",
    "challenge_expired": "no live challenge for this session (expired or used)",
    "bad_signature": "the signature does not verify",
    "weak_algorithm": "SHA-1 or MD5",
    "untrusted": "no path to a configured trust anchor",
    "expired": "the certificate has expired",
    "not_yet_valid": "the certificate is not valid yet",
    "revoked": "the certificate is revoked",
    "revocation_unknown": "the CRL or OCSP responder could not be reached or read",
    "wrong_card": "an encryption certificate, or a card of no configured MOEACA/MOICA CA",
    "attached_card": "a 工商憑證 附卡 where only the 正卡 may act",
    "no_delegation": "a 自然人憑證 account the company has not authorized to file for it",
    "wrong_company": "the card's 統一編號 is not the account's or the form's",
    "no_account": "no account for this card",
    "binding_pending": "the card is bound to an account once the company authorizes it",
    # The lifecycle and the operators' actions (raised)
    "illegal_transition": "the account's state does not allow the event",
    "reason_required": "the event needs a reason",
    "reason_too_long": "the reason is longer than the audit trail keeps (200 characters)",
    "not_operator_event": "the event is the applicant's own, not staff's",
    "account_not_found": "no account has this account id (operators)",
    "not_awaiting_activation": "only an account awaiting activation gets a new activation mail",
    "out_of_range": "an operator's number is out of its range (days, retention)",
}


class Refused(Exception):
    """A refusal raised by a flow or the lifecycle; ``code`` is one of :data:`CODES`.
    Nothing was changed (but what the flow recorded, such as the refusal's audit row)."""

    code = "refused"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        assert self.code in CODES, self.code
        super().__init__(message or CODES[self.code])
