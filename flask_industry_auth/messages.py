"""What applicants are told, by refusal code: the flows refuse with codes, and these tables
turn them into the applicant's words (in the applicant's language, from the catalogs)."""

from __future__ import annotations

from flask import current_app

from .i18n import gettext as _
from .i18n import text_of
from .state import get_state


def login_failure(result) -> str:
    """What the login page says for a failed :class:`~.flows.authentication.LoginResult`."""
    # Told only after the right password (the flow says so): anyone else gets the generic one.
    if result.reason == "not_activated":
        return _(
            "This account has not been activated yet. Open the activation link in "
            "the mail we sent you."
        )
    if result.reason == "not_allowed":
        message = get_state().lifecycle.login_message(result.account.state)
        if message is not None:
            return text_of(message)
    return _(
        "Login failed: check the unified business number, account ID and "
        "password. After several failures the account is locked for a while."
    )


def password_messages() -> dict[str, tuple[str, str]]:
    """A password problem code → (the form field, what the applicant is told)."""
    config = current_app.config
    return {
        "wrong_old_password": ("old_password", _("The old password is not correct.")),
        "too_short": (
            "new_password",
            _("Use at least %(min)d characters.", min=config["INDUSTRY_AUTH_PASSWORD_MIN_LENGTH"]),
        ),
        "too_long": (
            "new_password",
            _("Use at most %(max)d characters.", max=config["INDUSTRY_AUTH_PASSWORD_MAX_LENGTH"]),
        ),
        "common": ("new_password", _("This password is too common. Choose another.")),
        "contains_identifier": (
            "new_password",
            _("The password must not contain your business number, account ID, names or email."),
        ),
        "reused": (
            "new_password",
            _(
                "The new password must differ from your last %(n)d passwords.",
                n=config["INDUSTRY_AUTH_PASSWORD_HISTORY"],
            ),
        ),
    }


def certificate_message(reason: str) -> str:
    """What the applicant is told when a card is refused: precise, so they can act."""
    messages = {
        "expired": _("Your certificate has expired. Renew it with the certificate authority."),
        "not_yet_valid": _("Your certificate is not valid yet."),
        "revoked": _(
            "Your certificate has been revoked (停用). Contact the certificate authority."
        ),
        "revocation_unknown": _(
            "The certificate's revocation status cannot be checked right "
            "now. Please try again later."
        ),
        "untrusted": _(
            "This certificate was not issued by a certificate authority this "
            "portal accepts (工商憑證 MOEACA or 自然人憑證 MOICA)."
        ),
        "wrong_card": _(
            "This is not the right certificate: use the signing certificate of a "
            "工商憑證 or 自然人憑證 card."
        ),
        "wrong_company": _(
            "The certificate belongs to another company (統一編號) than the account or the form."
        ),
        "no_account": _(
            "No account uses this certificate yet. Apply for a certificate "
            "account, or bind your 自然人憑證 to your account first."
        ),
        "not_activated": _(
            "This account has not been activated yet. Open the activation "
            "link in the mail we sent you."
        ),
        "not_allowed": _(
            "This account cannot log in at the moment. Contact the portal's service desk."
        ),
        "challenge_expired": _(
            "The signing request expired or was already used. Please try again."
        ),
    }
    return messages.get(reason, _("The signature could not be verified. Please try again."))
