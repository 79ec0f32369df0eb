"""The audit trail's words for staff: what each recorded outcome means, and the names of the
events it records that are not transitions of the lifecycle (logging in, signing, ...).

Each :class:`~flask_industry_auth.lifecycle.Lifecycle` starts with copies of these tables
(``lifecycle.outcomes``, ``lifecycle.audit_events``); a host labels its own codes there with
``add_outcome`` and ``add_audit_event``, the way it adds states. A label is what
:attr:`~flask_industry_auth.lifecycle.StateSpec.label` is: a catalog message id, a lazy string
of the host's catalogs, or a dict by locale. A code with no label is shown as it is.

A leaf module: it imports nothing, so the lifecycle can use it.
"""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:  # the gettext convention for "translated later"
    """Mark ``message`` for the catalogs; it is translated where it is shown."""
    return message


#: The outcome of every attempt the package records, by code: the lifecycle's own (``ok``,
#: ``refused``), the flows' (login reasons, password changes, certificate refusals).
OUTCOMES: dict[str, Any] = {
    "ok": N_("Done"),
    "refused": N_("Refused: not open in this state"),
    "duplicate": N_("Already applied"),
    "repeat": N_("The same application again (no mail)"),
    "pending": N_("Waiting for the company's authorization"),
    "ignored": N_("Ignored"),
    # Log in (flows.authentication.LoginResult.reason)
    "unknown": N_("No such account"),
    "wrong_business_id": N_("Another business's account"),
    "wrong_password": N_("Wrong password"),
    "locked": N_("Account locked"),
    "locked_temporarily": N_("Right password, account locked for a while"),
    "locked_by_staff": N_("Locked by the agency"),
    "not_activated": N_("Not activated yet"),
    "not_allowed": N_("State may not log in"),
    "certificate_account": N_("Logs in with its card"),
    # Change password (flows.profile)
    "wrong_old_password": N_("Wrong old password"),
    "policy": N_("New password breaks the rules"),
    "concurrent": N_("Changed elsewhere at the same time"),
    # Certificates (certificates.errors.REASONS)
    "malformed": N_("Unreadable signature"),
    "wrong_content": N_("Signature over something else"),
    "challenge_expired": N_("Sign-in challenge expired"),
    "bad_signature": N_("Signature does not verify"),
    "weak_algorithm": N_("Weak algorithm (SHA-1 or MD5)"),
    "untrusted": N_("Certificate not trusted"),
    "expired": N_("Certificate expired"),
    "not_yet_valid": N_("Certificate not valid yet"),
    "revoked": N_("Certificate revoked"),
    "revocation_unknown": N_("Revocation status unknown"),
    "wrong_card": N_("Wrong card"),
    "attached_card": N_("Attached card (附卡)"),
    "no_delegation": N_("No delegation from the company"),
    "wrong_company": N_("Card of another business"),
    "no_account": N_("No account for this card"),
    "binding_pending": N_("Card waits for the company's authorization"),
}

#: The events the package records that are not transitions (a transition's name is its
#: :attr:`~flask_industry_auth.lifecycle.TransitionSpec.label`).
AUDIT_EVENTS: dict[str, Any] = {
    "apply": N_("Apply for an account"),
    "login": N_("Log in"),
    "logout": N_("Log out"),
    "profile_update": N_("Change basic data"),
    "change_password": N_("Change password"),
    "resend_activation": N_("Send the activation mail again"),
    "certificate_login": N_("Log in with a card"),
    "certificate_apply": N_("Apply with a card"),
    "certificate_bind": N_("Bind a 自然人憑證"),
    "certificate_rebound": N_("Card renewed"),
    "delegation_requested": N_("Delegation requested"),
    "delegation_authorized": N_("Delegation authorized"),
    "delegation_revoked": N_("Delegation revoked"),
    "document_signed": N_("Document signed"),
}
