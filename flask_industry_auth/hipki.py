"""The HiPKI local signing service as applicants meet it: what each of its answers means in
the applicant's words, and what the card forms' script (``static/industry_auth_hipki.js``)
needs to talk to it.

HiPKI (MOICA's HiPKILocalSignServer, ``http://localhost:61161`` on the applicant's PC) is
asked two things: which readers and cards there are (``/p11Image.bmp``, the ``pkcs11info``
answer drawn as pixels, read through a canvas) and a signature (its popup page,
``/popupForm`` or ``/ChtPopupForm``, speaking ``postMessage``). Either answers with a
``ret_code`` (and, for a refused PIN, a ``last_error``): :data:`RETURN_CODES` and
:data:`LAST_ERRORS` name each one the real component gives, :data:`MESSAGES` words them
(catalog message ids, translated when the page is rendered, so the script needs no catalog).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request

from .i18n import gettext
from .lifecycle import N_

#: MOICA's download page of the HiPKI component (Windows, macOS, Linux).
DOWNLOAD_URL = "https://moica.nat.gov.tw/download_1.html"
#: The oldest component the government's own pages accept, by platform.
MINIMUM_VERSIONS = {"windows": "1.3.4.103328", "mac": "1.3.4.13", "linux": "1.3.4.3"}
#: The component's popup pages: ``/popupForm`` (every version; older pages) and
#: ``/ChtPopupForm`` (what newer ChtICToken.js opens).
POPUP_PATHS = ("/popupForm", "/ChtPopupForm")
#: Milliseconds the page waits for the popup to speak before it says the component is
#: missing (the government's pages wait about 3.5 s).
COMPONENT_WAIT_MS = 3500
#: Milliseconds the page waits for the signature once the popup has spoken.
SIGNING_WAIT_MS = 120_000

# -- HiPKI's return codes (ret_code), unsigned -------------------------------------------------
NO_CARD = 0x76000006  # 未插入IC卡
SITE_NOT_ALLOWED = 0x76000031  # 此網站不在信任清單: the user adds it at /addDomain
FORBIDDEN_DOMAIN = 0x7600000F  # 禁止存取的網域 (older components)
PIN_MISSING = 0x76000998  # 未輸入PIN碼
CANCELLED = 0x76000999  # 使用者已取消動作
COMPONENT_FAILED = 0x7600000D  # 執行檔錯誤或逾時
NO_READER = 0x76100003  # 無可用讀卡機
LOGIN_FAILED = 0x76100006  # IC卡登入失敗: last_error says why
CERTIFICATE_NOT_FOUND = 0x7610000C  # 找不到指定憑證
UNSUPPORTED_CA = 0x76200008  # 不支援的CA
NOT_YET_VALID = 0x76500001  # 憑證尚未生效
EXPIRED = 0x76500002  # 憑證已逾期

# -- why the card refused the PIN (last_error); negative ones as unsigned ------------------
PIN_WRONG = 0xA0  # PIN碼錯誤
PIN_LENGTH = 0xA2  # PIN碼長度錯誤
CARD_LOCKED = 0xA4  # 已鎖卡
ONE_TRY_LEFT = 0x80000001  # -2147483647: PIN碼錯誤，剩餘一次機會
TWO_TRIES_LEFT = 0x80000002  # -2147483646: PIN碼錯誤，剩餘兩次機會

#: Each return code the real component gives → the key of its message.
RETURN_CODES: dict[int, str] = {
    NO_CARD: "no_card",
    NO_READER: "no_reader",
    SITE_NOT_ALLOWED: "site_not_allowed",
    FORBIDDEN_DOMAIN: "site_not_allowed",
    PIN_MISSING: "pin_missing",
    CANCELLED: "cancelled",
    LOGIN_FAILED: "pin_refused",
    EXPIRED: "certificate_expired",
    NOT_YET_VALID: "certificate_not_yet_valid",
    COMPONENT_FAILED: "component_failed",
    CERTIFICATE_NOT_FOUND: "no_certificate",
    UNSUPPORTED_CA: "unsupported_ca",
}

#: Each ``last_error`` of a refused PIN → the key of its message.
LAST_ERRORS: dict[int, str] = {
    PIN_WRONG: "pin_wrong",
    PIN_LENGTH: "pin_length",
    CARD_LOCKED: "card_locked",
    ONE_TRY_LEFT: "pin_wrong_one_left",
    TWO_TRIES_LEFT: "pin_wrong_two_left",
}

#: What the applicant is told, by key (catalog message ids; ``%(name)s`` filled by the script).
MESSAGES: dict[str, str] = {
    "busy": N_("Waiting for the card reader: follow the signing window."),
    "missing": N_(
        "The HiPKI signing component is not installed or not running on this computer. "
        "Install it from MOICA's download page, start it, then try again."
    ),
    "download": N_("Download the HiPKI component (MOICA)"),
    "too_old": N_(
        "Your HiPKI component (version %(version)s) is too old: this site needs version "
        "%(minimum)s or newer. Install the newest one from MOICA's download page, then try again."
    ),
    "no_reader": N_("No card reader was found. Connect the card reader, then try again."),
    "no_card": N_(
        "No card is in the card reader. Insert your 工商憑證 or 自然人憑證 card, then try again."
    ),
    "site_not_allowed": N_(
        "The HiPKI component does not trust this site yet. Add the site to its trusted sites "
        "with the button below (confirm in the window that opens), then try again."
    ),
    "add_domain": N_("Add this site to HiPKI's trusted sites"),
    "pin_missing": N_("Enter the card's PIN."),
    "pin_wrong": N_("The PIN is wrong. Check it and try again: too many wrong PINs lock the card."),
    "pin_wrong_two_left": N_("The PIN is wrong: two tries are left before the card is locked."),
    "pin_wrong_one_left": N_(
        "The PIN is wrong: one try is left before the card is locked. Make sure of the PIN "
        "before you try again."
    ),
    "pin_length": N_("The PIN has the wrong length. Check it and try again."),
    "pin_refused": N_("The card refused the PIN. Check the PIN and try again."),
    "card_locked": N_(
        "The card is locked after too many wrong PINs. Have it unlocked by the certificate "
        "authority that issued it (工商憑證: MOEACA; 自然人憑證: MOICA), then try again."
    ),
    "cancelled": N_("Signing was cancelled."),
    "certificate_expired": N_(
        "Your certificate has expired. Renew it with the certificate authority."
    ),
    "certificate_not_yet_valid": N_("Your certificate is not valid yet."),
    "no_certificate": N_(
        "The card's signing certificate was not found. Use a 工商憑證 or 自然人憑證 card."
    ),
    "unsupported_ca": N_(
        "HiPKI does not support the certificate authority of this card. Use a 工商憑證 or "
        "自然人憑證 card."
    ),
    "component_failed": N_(
        "The HiPKI component failed or did not answer in time. Restart it, then try again."
    ),
    "popup_blocked": N_(
        "The browser blocked the signing window. Allow pop-up windows for this site, then "
        "try again."
    ),
    "popup_closed": N_(
        "The signing window closed before the card signed. Try again, and leave the window "
        "open: it closes by itself."
    ),
    "challenge_failed": N_(
        "This page could not get a signing request from the site. Reload the page, then try again."
    ),
    "failed": N_(
        "The card could not sign (HiPKI code %(code)s). Check the card and the PIN, then try again."
    ),
    "failed_unknown": N_(
        "The card could not sign. Check that the HiPKI signing service is running, the card "
        "is inserted and the PIN is right, then try again."
    ),
}

#: Kept in the WSGI environ once a page holds a card form: its CSP must let the page read
#: the component's ``p11Image.bmp``.
_SERVICE_KEY = "flask_industry_auth.hipki_origin"


def service_url() -> str:
    """``INDUSTRY_AUTH_HIPKI_URL`` without a trailing slash."""
    return str(current_app.config["INDUSTRY_AUTH_HIPKI_URL"]).rstrip("/")


def service_origin() -> str:
    """The origin of the HiPKI service (``http://localhost:61161``)."""
    parts = urlsplit(service_url())
    return f"{parts.scheme}://{parts.netloc}"


def page_settings() -> dict[str, Any]:
    """What a card form's script needs (rendered into its ``data-ia-hipki``): the service,
    its popup page, the waits, the minimum versions, the return codes and every message in
    this request's language. Also widens this response's CSP to the service's image."""
    if has_request_context():
        request.environ[_SERVICE_KEY] = service_origin()
    return {
        "url": service_url(),
        "popup": current_app.config["INDUSTRY_AUTH_HIPKI_POPUP_PATH"],
        "wait": COMPONENT_WAIT_MS,
        "signingWait": SIGNING_WAIT_MS,
        "download": DOWNLOAD_URL,
        "minimum": MINIMUM_VERSIONS,
        "codes": {str(code): key for code, key in RETURN_CODES.items()},
        "loginFailed": str(LOGIN_FAILED),
        "lastErrors": {str(code): key for code, key in LAST_ERRORS.items()},
        "messages": {key: gettext(text) for key, text in MESSAGES.items()},
    }


def message(key: str) -> str:
    """The message ``key`` in the current language (unformatted)."""
    return gettext(MESSAGES[key])


def policy_with_service(policy: str) -> str:
    """``policy`` with the HiPKI service's origin added to ``img-src`` if this response holds
    a card form (the script reads the card list from the service's ``p11Image.bmp``)."""
    origin = request.environ.get(_SERVICE_KEY) if has_request_context() else None
    if origin is None:
        return policy
    directives = [d.strip() for d in policy.split(";") if d.strip()]
    names = [d.split(None, 1)[0].lower() for d in directives]
    if "img-src" in names:
        at = names.index("img-src")
        if origin not in directives[at].split()[1:] and "*" not in directives[at].split():
            directives[at] = f"{directives[at]} {origin}"
    elif "default-src" in names:
        # Without its own directive img-src falls back to default-src: keep those sources.
        sources = directives[names.index("default-src")].split()[1:]
        directives.append(" ".join(["img-src", *sources, origin]))
    return "; ".join(directives)
