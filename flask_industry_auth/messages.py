"""What applicants are told, by refusal code: the flows refuse with a code, and one table
turns each code into the applicant's words, in the applicant's language.

The table is :data:`MESSAGES` (catalog message ids, translated when shown). A portal changes
any entry with its adapter (:attr:`~flask_industry_auth.adapter.AccountAdapter.messages`:
a message id of its own catalogs, a lazy string, or ``{"zh_Hant_TW": …, "en": …}``); the
README lists every code.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from .dates import format_datetime
from .i18n import text_of
from .lifecycle import N_
from .state import get_state

#: Every refusal code the flows use → what the applicant is told.
MESSAGES: dict[str, str] = {
    # Log in (flows.authentication.LoginResult.reason); one answer for every failure that
    # could tell an attacker something.
    "login_failed": N_(
        "Login failed: check the unified business number, account ID and "
        "password. After several failures the account is locked for a while."
    ),
    # Told only after the right password:
    "not_activated": N_(
        "This account has not been activated yet. Open the activation link in the mail we sent you."
    ),
    "not_allowed": N_(
        "This account cannot log in at the moment. Contact the portal's service desk."
    ),
    "locked_temporarily": N_(
        "This account is locked after too many failed logins, until %(until)s. To log in now, "
        "use Forgot password: the temporary password we mail you logs in even while the "
        "account is locked."
    ),
    "locked_by_staff": N_(
        "This account has been locked by the agency. Forgot password does not unlock it: "
        "please contact the agency in charge."
    ),
    # Passwords (flows.profile.change_password, passwords.check_policy)
    "wrong_old_password": N_("The old password is not correct."),
    "too_short": N_("Use at least %(min)d characters."),
    "too_long": N_("Use at most %(max)d characters."),
    "common": N_("This password is too common. Choose another."),
    "contains_identifier": N_(
        "The password must not contain your business number, account ID, names or email."
    ),
    "reused": N_("The new password must differ from your last %(n)d passwords."),
    # Basic data (flows.profile.update_profile)
    "password_required": N_("Enter your current password to change the email address."),
    "wrong_password": N_("The current password is not correct."),
    "email_taken": N_("Another account of this business already uses this email address."),
    # Certificates (certificates.errors.REASONS)
    "expired": N_("Your certificate has expired. Renew it with the certificate authority."),
    "not_yet_valid": N_("Your certificate is not valid yet."),
    # A CRL or OCSP entry: revoked for good (廢止) or on hold (停用, which the authority can
    # lift); the answer does not tell them apart here, so the applicant is told both.
    "revoked": N_(
        "Your certificate has been revoked or suspended. Contact the certificate authority."
    ),
    "revocation_unknown": N_(
        "The certificate's revocation status cannot be checked right now. Please try again later."
    ),
    "untrusted": N_(
        "This certificate was not issued by a certificate authority this "
        "portal accepts (工商憑證 MOEACA or 自然人憑證 MOICA)."
    ),
    "wrong_card": N_(
        "This is not the right certificate: use the signing certificate of a "
        "工商憑證 or 自然人憑證 card."
    ),
    "attached_card": N_(
        "This is an attached card (附卡). This portal accepts the company's primary card "
        "(正卡) only."
    ),
    "binding_pending": N_(
        "This card waits for the company's authorization before it logs in. Until then, log "
        "in with your account ID and password."
    ),
    "no_delegation": N_(
        "The company has not authorized this 自然人憑證 to file for it (yet): staff approve it, "
        "or the company's 工商憑證 signs the consent."
    ),
    "not_pending": N_("This authorization is no longer waiting: it was decided already."),
    "card_taken": N_("This card is bound to another account now, so it cannot be bound here."),
    "not_bindable": N_(
        "This account logs in with a certificate already: no other card is bound to it."
    ),
    "wrong_company": N_(
        "The certificate belongs to another company (統一編號) than the account or the form."
    ),
    "no_account": N_(
        "No account uses this certificate yet. Apply for a certificate "
        "account, or bind your 自然人憑證 to your account first."
    ),
    "challenge_expired": N_("The signing request expired or was already used. Please try again."),
    "certificate_failed": N_("The signature could not be verified. Please try again."),
}

#: The form field each password and basic-data code belongs to.
FIELDS = {
    "wrong_old_password": "old_password",
    "too_short": "new_password",
    "too_long": "new_password",
    "common": "new_password",
    "contains_identifier": "new_password",
    "reused": "new_password",
    "password_required": "current_password",
    "wrong_password": "current_password",
    "email_taken": "email",
}


def message(code: str, **variables: Any) -> str:
    """What the applicant is told for ``code``: the portal's adapter's entry, else the
    package's; ``variables`` fill its ``%(name)s`` places."""
    text = get_state().adapter.messages.get(code) or MESSAGES[code]
    shown = text_of(text)
    return shown % variables if variables else shown


def password_variables() -> dict[str, int]:
    """The numbers the password messages mention, from the app's configuration."""
    config = current_app.config
    return {
        "min": config["INDUSTRY_AUTH_PASSWORD_MIN_LENGTH"],
        "max": config["INDUSTRY_AUTH_PASSWORD_MAX_LENGTH"],
        "n": config["INDUSTRY_AUTH_PASSWORD_HISTORY"],
    }


def field_message(code: str) -> tuple[str, str]:
    """``(form field, message)`` for a password or basic-data code."""
    return FIELDS[code], message(code, **password_variables())


def login_failure(result: Any) -> str:
    """What the login page says for a failed :class:`~.flows.authentication.LoginResult`."""
    # Told only after the right password (the flow says so): anyone else gets the generic one.
    if result.reason in ("not_activated", "locked_by_staff"):
        return message(result.reason)
    if result.reason == "locked_temporarily":
        return message("locked_temporarily", until=format_datetime(result.account.locked_until))
    if result.reason == "not_allowed":
        state_message = get_state().lifecycle.login_message(result.account.state)
        if state_message is not None:
            return text_of(state_message)
    return message("login_failed")


def certificate_message(reason: str) -> str:
    """What the applicant is told when a card is refused: precise, so they can act."""
    return message(reason if reason in MESSAGES else "certificate_failed")
