"""Every ``INDUSTRY_AUTH_*`` setting: its default, what it accepts, and why.

:func:`configure` (called by ``init_app``) copies the defaults into ``app.config`` with
``setdefault``, so a host sets only what it wants to change, and refuses to start an app whose
settings are unknown, mistyped, out of range or weaker than the standards: a setting that
fails open (a misspelt key ignored, ``"False"`` read as true, a rate limit that does not parse)
is worse than an app that does not start. Deployment values live here; code-level choices (the
adapter, the lifecycle) are constructor arguments of :class:`~flask_industry_auth.IndustryAuth`.

Values may be environment strings: booleans accept ``true/false``, ``yes/no``, ``on/off`` and
``1/0``; integers a string of digits; ``INDUSTRY_AUTH_LOCALES`` a comma-separated string. The
parsed value is written back to ``app.config``.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import limits

from .resources import resource_dir

if TYPE_CHECKING:
    from flask import Flask

_PREFIX = "INDUSTRY_AUTH_"
log = logging.getLogger(__name__)

#: argon2id floor (OWASP Password Storage, ASVS 11.4.2): m=19 MiB, t=2, p=1.
#: OWASP Password Storage cheat sheet: argon2id settings of equal strength, as
#: (memory in KiB, at least this many passes); any parallelism of 1 or more.
ARGON2_FLOOR = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))

#: The baseline (資通系統防護基準) keeps logs for at least 6 months.
MIN_AUDIT_RETENTION_DAYS = 180


class ConfigError(RuntimeError):
    """An ``INDUSTRY_AUTH_*`` setting the package refuses, raised by ``init_app``; the message
    names the key, its value and what is allowed."""


class _Refused(ValueError):
    """A parser's refusal; the message says what is allowed."""


_Parser = Callable[[Any], Any]


# -- parsers: each returns the value the package uses, or raises _Refused ----------------------

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_BOOLEAN = "True or False (or 1/0, or a string true/false, yes/no, on/off, 1/0)"


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    # Flask's from_prefixed_env() reads "1" and "0" as JSON: the numbers.
    if type(value) is int and value in (0, 1):
        return bool(value)
    word = value.strip().lower() if isinstance(value, str) else None
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise _Refused(_BOOLEAN)


def _auto_boolean(value: Any) -> bool | None:
    # None means "decide by the situation"; "auto" and "" are its environment spellings.
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "auto")):
        return None
    try:
        return _boolean(value)
    except _Refused:
        raise _Refused(f"None (or 'auto' or ''), {_BOOLEAN}") from None


def _span(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"from {low} to {high}"
    return f"at least {low}" if high is None else f"at most {high}"


def _integer(low: int | None = None, high: int | None = None, why: str = "") -> _Parser:
    allowed = f"an integer {_span(low, high)} (or a string of digits){why}"

    def parse(value: Any) -> int:
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]+\s*", value):
            value = int(value)
        # bool is an int subclass, but True is not a number of seconds.
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and (low is None or value >= low)
            and (high is None or value <= high)
        ):
            return value
        raise _Refused(allowed)

    return parse


def _text(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise _Refused("a non-empty string")


def _timezone(value: Any) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if isinstance(value, str) and value.strip():
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return value.strip()
    raise _Refused("an IANA time zone name such as 'Asia/Taipei'")


def _optional(parse: _Parser) -> _Parser:
    """``parse``, or ``None``; an empty string (an environment variable set to nothing) is
    ``None`` too."""

    def optional(value: Any) -> Any:
        if value is None or value == "":
            return None
        try:
            return parse(value)
        except _Refused as error:
            raise _Refused(f"None (or ''), or {error}") from None

    return optional


def _choice(*choices: str) -> _Parser:
    def parse(value: Any) -> str:
        word = value.strip().lower() if isinstance(value, str) else None
        if word in choices:
            return word
        raise _Refused("one of " + ", ".join(map(repr, choices)))

    return parse


def _url(value: Any) -> str:
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
    except ValueError:  # e.g. a broken IPv6 literal
        parts = None
    if parts and parts.scheme in ("http", "https") and parts.netloc:
        return value
    raise _Refused("an absolute http:// or https:// URL")


def _hipki_popup_path(value: Any) -> str:
    word = value.strip().lower() if isinstance(value, str) else None
    for path in ("/popupForm", "/ChtPopupForm"):
        if word == path.lower():
            return path
    raise _Refused("'/popupForm' or '/ChtPopupForm'")


def _url_prefix(value: Any) -> str:
    if isinstance(value, str) and value.startswith("/") and not value.endswith("/"):
        return value
    raise _Refused("a path that starts with '/' and does not end with '/', e.g. '/account'")


def _storage_uri(value: Any) -> str:
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*://.*", value):
        return value
    raise _Refused("a storage URI such as 'memory://' or 'redis://host:6379'")


def _sender(value: Any) -> str | tuple[str, str]:
    # Flask-Mail takes an address or a (name, address) pair.
    if isinstance(value, str) and value.strip():
        return value
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(part, str) for part in value)
        and value[1].strip()
    ):
        return tuple(value)
    raise _Refused("an address, or a (name, address) pair of strings")


_ANCHOR = (str, bytes, os.PathLike)


def _anchors(value: Any) -> Any:
    allowed = "PEM/DER bytes, a path (str or os.PathLike) to a file or folder, or a list"
    if not (
        isinstance(value, _ANCHOR)
        or (isinstance(value, list | tuple) and all(isinstance(item, _ANCHOR) for item in value))
    ):
        raise _Refused(allowed)
    from .certificates.trust import load_anchors

    # Read them now: a missing file or a bad certificate stops the start, not a login.
    try:
        load_anchors(value)
    except (OSError, ValueError) as error:
        raise _Refused(f"{allowed}, of readable CA certificates ({error})") from None
    return value


def _policies(value: Any) -> list[str]:
    # Dotted OIDs, e.g. ["2.16.886.101.0.3.3"]; a comma-separated string from the environment.
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not all(
        isinstance(item, str) and re.fullmatch(r"[0-2](\.(0|[1-9][0-9]*))+", item) for item in value
    ):
        raise _Refused("a list of dotted policy OIDs such as ['2.16.886.101.0.3.3']")
    return list(value)


def _crl_urls(value: Any) -> dict[str, str]:
    # {issuer key identifier (hex of the CA's Subject Key Identifier): CRL URL}; JSON from
    # the environment. Keyed by key, not name: MOICA G2 and G3 share one subject name.
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    allowed = (
        "a dict {issuer key identifier: CRL URL}, the key the hex of the issuing CA "
        "certificate's Subject Key Identifier (e.g. 'A1:B2:…' or 'a1b2…', not its name), the "
        "URL http:// or https://"
    )
    if not isinstance(value, dict):
        raise _Refused(allowed)
    from .certificates.revocation import normalize_key_identifier

    urls = {}
    for key, url in value.items():
        try:
            urls[normalize_key_identifier(key)] = _url(url)
        except (ValueError, _Refused):
            raise _Refused(f"{allowed} ({key!r}: {url!r} is not)") from None
    return urls


@cache
def _shipped_locales() -> tuple[str, ...]:
    folder = resource_dir("translations")
    return tuple(
        sorted(
            child.name
            for child in folder.iterdir()
            if (child / "LC_MESSAGES" / "industry_auth.mo").is_file()
        )
    )


def _locales(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    shipped = _shipped_locales()
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(locale, str) and locale in shipped for locale in value)
        and len(set(value)) == len(value)
    ):
        return list(value)
    raise _Refused(
        f"a non-empty list, without repeats, of locales the package has catalogs for "
        f"({', '.join(shipped)}), or a comma-separated string of them"
    )


_OFF = frozenset({"", "off", "false", "none"})


def _rate_limit(value: Any) -> str | None:
    # Flask-Limiter parses a limit only at request time and skips one it cannot read, so a
    # typo would switch the limit off: parse it here instead.
    if isinstance(value, str):
        value = value.strip()
        if value.lower() in _OFF:
            return None
    elif value is None or value is False:
        return None
    try:
        items = limits.parse_many(value) if isinstance(value, str) else []
    except ValueError:
        items = []
    if items and all(item.amount >= 1 for item in items):
        return value
    raise _Refused(
        "a rate limit such as '10/minute' or '5 per 5 minutes' (several separated by ';'), "
        "or False or None (or '' or 'off') to switch it off"
    )


# Refused under TESTING too: the baseline has no test exemption, and no test needs less.
_retention = _integer(
    MIN_AUDIT_RETENTION_DAYS, why=": the baseline keeps the audit trail for 6 months or more"
)


# -- the settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One ``INDUSTRY_AUTH_*`` key: its default, how a value is parsed, and what it means.

    ``parse`` checks type and plain sanity (always, under TESTING too) and returns the value
    the package uses. ``floor``/``ceiling`` are the bounds the standards set, refused outside
    TESTING only; ``why`` names the standard behind them.
    """

    name: str
    default: Any
    parse: _Parser
    doc: str
    floor: int | None = None
    ceiling: int | None = None
    why: str = ""


_POSITIVE = _integer(1)


def _limit(name: str, default: str, doc: str) -> Setting:
    return Setting(
        f"{_PREFIX}RATELIMIT_{name}",
        default,
        _rate_limit,
        f"{doc} Flask-Limiter notation (allauth's default); False or None switches it off.",
    )


#: Every setting the package reads, with its default and checks.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "INDUSTRY_AUTH_URL_PREFIX",
        "/account",
        _url_prefix,
        "Where the blueprint is mounted.",
    ),
    Setting(
        "INDUSTRY_AUTH_BASE_TEMPLATE",
        "industry_auth/base.html",
        _text,
        "The host layout every page ends up extending. It must define a ``content`` block "
        "(and may define ``title``); the default is a small standalone layout.",
    ),
    Setting(
        "INDUSTRY_AUTH_MAX_FAILED_LOGINS",
        5,
        _POSITIVE,
        "Consecutive failed logins that lock an account (資通系統防護基準: 5).",
        ceiling=5,
        why="資通系統防護基準: lock after 5 consecutive failures",
    ),
    Setting(
        "INDUSTRY_AUTH_LOCKOUT_SECONDS",
        900,
        _POSITIVE,
        "How long a lock lasts, in seconds (資通系統防護基準: at least 15 minutes).",
        floor=900,
        why="資通系統防護基準: lock for 15 minutes or more",
    ),
    Setting(
        "INDUSTRY_AUTH_ACTIVATION_SECONDS",
        259200,
        _POSITIVE,
        "How long an activation link stays valid, in seconds (72 h).",
        floor=60,
        ceiling=259200,
        why="a link lives 72 hours at most, and a minute at least for the mail to arrive",
    ),
    Setting(
        "INDUSTRY_AUTH_REPEAT_APPLICATION_SECONDS",
        300,
        _integer(0, 3600),
        "For how long after an application, in seconds, the same application again (same "
        "統一編號, email and data: a double click, a retry) is the same one, answered alike "
        "and mailed nothing; 0: every repeat mails the account's owner.",
    ),
    Setting(
        "INDUSTRY_AUTH_TEMP_PASSWORD_SECONDS",
        86400,
        _POSITIVE,
        "How long an emailed temporary password stays valid, in seconds (24 h).",
        floor=60,
        ceiling=86400,
        why="OWASP/ASVS: a temporary password lives 24 hours at most",
    ),
    Setting(
        "INDUSTRY_AUTH_PASSWORD_MIN_LENGTH",
        12,
        _POSITIVE,
        "Minimum password length in Unicode code points (ASVS 6.2.1).",
        floor=8,
        why="OWASP ASVS 5.0 6.2.1: passwords of at least 8 characters",
    ),
    Setting(
        "INDUSTRY_AUTH_PASSWORD_MAX_LENGTH",
        256,
        _POSITIVE,
        "Maximum password length; long passphrases are allowed, never truncated.",
        floor=64,
        why="OWASP ASVS 5.0 6.2.9: passwords of 64 characters or more are allowed",
    ),
    Setting(
        "INDUSTRY_AUTH_PASSWORD_HISTORY",
        3,
        _integer(0),
        "How many previous passwords a new one may not repeat (資通系統防護基準: 3).",
        floor=3,
        why="資通系統防護基準: not one of the last 3 passwords",
    ),
    Setting(
        "INDUSTRY_AUTH_ARGON2_TIME_COST",
        3,
        _POSITIVE,
        "argon2id passes (argon2-cffi's default). Lower the argon2 costs only in tests.",
    ),
    Setting(
        "INDUSTRY_AUTH_ARGON2_MEMORY_COST",
        65536,
        _integer(8),
        "argon2id memory in KiB (argon2-cffi's default).",
    ),
    Setting(
        "INDUSTRY_AUTH_ARGON2_PARALLELISM",
        4,
        _POSITIVE,
        "argon2id lanes (argon2-cffi's default).",
    ),
    Setting(
        "INDUSTRY_AUTH_EXTERNAL_URL",
        None,
        _optional(_url),
        "Scheme and host used for links in mail, e.g. ``https://portal.example.gov.tw``. "
        "Links are never built from the request's Host header; when this is unset the app's "
        "``SERVER_NAME`` and ``PREFERRED_URL_SCHEME`` are used, and without those the app "
        "does not start.",
    ),
    Setting(
        "INDUSTRY_AUTH_MAIL_SENDER",
        None,
        _optional(_sender),
        "Sender of every mail; falls back to Flask-Mail's ``MAIL_DEFAULT_SENDER``.",
    ),
    Setting(
        "INDUSTRY_AUTH_MAIL_DELIVERY",
        "thread",
        _choice("thread", "worker"),
        '``"thread"`` hands queued mail to SMTP in a background thread right after the '
        'commit; ``"worker"`` leaves it to ``flask industry-auth deliver-mail``.',
    ),
    Setting(
        "INDUSTRY_AUTH_SMTP_TIMEOUT",
        10,
        _POSITIVE,
        "Seconds to wait for the SMTP server before giving up on this attempt.",
    ),
    Setting(
        "INDUSTRY_AUTH_MAIL_MAX_ATTEMPTS",
        8,
        _POSITIVE,
        "Delivery attempts before a mail is marked failed and reported.",
    ),
    Setting(
        "INDUSTRY_AUTH_MAIL_CLAIM_SECONDS",
        300,
        _POSITIVE,
        "Seconds after which a mail claimed by a worker that died is claimed again (more "
        "than ``INDUSTRY_AUTH_SMTP_TIMEOUT``, so a slow send is not sent twice).",
    ),
    Setting(
        "INDUSTRY_AUTH_LOCALES",
        ["zh_Hant_TW", "en"],
        _locales,
        "Locales the applicant may choose; the first is the default.",
    ),
    Setting(
        "INDUSTRY_AUTH_TIMEZONE",
        "Asia/Taipei",
        _timezone,
        "The time zone of every time applicants and staff read (pages, mail, CLI): an IANA "
        "name. Times are stored in UTC.",
    ),
    Setting(
        "INDUSTRY_AUTH_CALENDAR",
        "gregorian",
        _choice("gregorian", "minguo"),
        '``"minguo"`` writes dates in the 民國 calendar (民國115年12月2日), as government forms '
        'commonly do; ``"gregorian"`` writes 2026-12-02.',
    ),
    Setting(
        "INDUSTRY_AUTH_CERT_TRUST_ANCHORS",
        None,
        _optional(_anchors),
        "The roots certificate login trusts: the GRCA root certificates (G1, G2, G3), "
        "self-signed only. PEM/DER bytes, a file, a folder of .pem/.crt/.cer files, or a "
        "list of these. Without anchors (and issuing CAs) certificate login is refused.",
    ),
    Setting(
        "INDUSTRY_AUTH_CERT_BUSINESS_CAS",
        None,
        _optional(_anchors),
        "The CAs whose cards log in as 工商憑證 accounts: the MOEACA CA certificates, every "
        "generation (as for the anchors). Only these; another CA under the same root never.",
    ),
    Setting(
        "INDUSTRY_AUTH_CERT_CITIZEN_CAS",
        None,
        _optional(_anchors),
        "The CAs whose cards log in as 自然人憑證 accounts: the MOICA CA certificates, every "
        "generation.",
    ),
    Setting(
        "INDUSTRY_AUTH_CERT_BUSINESS_POLICIES",
        None,
        _optional(_policies),
        "Certificate policy OIDs a 工商憑證 must carry; None: the ones its CA publishes.",
    ),
    Setting(
        "INDUSTRY_AUTH_CERT_CITIZEN_POLICIES",
        None,
        _optional(_policies),
        "Certificate policy OIDs a 自然人憑證 must carry; None: the ones its CA publishes.",
    ),
    Setting(
        "INDUSTRY_AUTH_CERT_ALLOW_ATTACHED_CARDS",
        False,
        _boolean,
        "Whether a 工商憑證 附卡 (an employee's attached card) logs into the company's account "
        "like its 正卡 (primary card).",
    ),
    Setting(
        "INDUSTRY_AUTH_CERT_CHALLENGE_SECONDS",
        120,
        _POSITIVE,
        "Seconds a certificate challenge stays valid.",
        floor=10,
        ceiling=600,
        why="long enough to type the PIN, short enough to limit replay",
    ),
    Setting(
        "INDUSTRY_AUTH_CERT_REVOCATION",
        "crl",
        _choice("crl", "ocsp", "ocsp+crl"),
        "How a card's revocation is checked: ``crl`` (the CA's CRL, fetched in the "
        "background and kept in memory), ``ocsp`` (the responder, at every login) or "
        "``ocsp+crl`` (the responder, and the CRL when it cannot answer). "
        "``IndustryAuth(revocation=...)`` overrides it.",
    ),
    Setting(
        "INDUSTRY_AUTH_CERT_CRL_URLS",
        None,
        _optional(_crl_urls),
        "CRL addresses overriding the certificates' (a local mirror): ``{issuer key "
        "identifier: URL}``, keyed by the hex of the issuing CA's Subject Key Identifier, "
        "not its name (MOICA G2 and G3 share one name).",
    ),
    Setting(
        "INDUSTRY_AUTH_CERT_CRL_GRACE_HOURS",
        24,
        _integer(0, 168),
        "Hours past its nextUpdate a CRL is still used (with a warning in the log) when no "
        "fresh one can be fetched; after that the issuer's cards are refused "
        "(``revocation_unknown``) until a fresh CRL comes. 0: refused at nextUpdate.",
    ),
    Setting(
        "INDUSTRY_AUTH_CERT_OCSP_MAX_AGE_SECONDS",
        3600,
        _integer(1, 86400),
        "The oldest OCSP reply accepted (its thisUpdate and producedAt), in seconds: a "
        "replayed or cached reply hides a revocation for at most this long.",
    ),
    Setting(
        "INDUSTRY_AUTH_HIPKI_URL",
        "http://localhost:61161",
        _url,
        "The HiPKI local signing service the login page talks to (on the applicant's PC).",
    ),
    Setting(
        "INDUSTRY_AUTH_HIPKI_POPUP_PATH",
        "/popupForm",
        _hipki_popup_path,
        "The HiPKI page the card forms open as their signing popup: ``/popupForm`` (what "
        "older government pages open) or ``/ChtPopupForm`` (what newer ChtICToken.js opens).",
    ),
    Setting(
        "INDUSTRY_AUTH_RATELIMIT_ENABLED",
        True,
        _boolean,
        "Rate limits (Flask-Limiter) on; off is not advised. Only this key switches them: the "
        "app's own ``RATELIMIT_*`` keys belong to the host's Flask-Limiter.",
    ),
    Setting(
        "INDUSTRY_AUTH_RATELIMIT_STORAGE_URI",
        "memory://",
        _storage_uri,
        "Rate-limit storage: ``memory://`` (one process) or ``redis://host`` so that several "
        "processes and machines share the counters.",
    ),
    Setting(
        "INDUSTRY_AUTH_RATELIMIT_KEY_PREFIX",
        "industry_auth",
        _text,
        "Prefix of the package's counters in the storage.",
    ),
    Setting(
        "INDUSTRY_AUTH_RATELIMIT_MEMORY_FALLBACK",
        True,
        _boolean,
        "When the shared storage is unreachable, count in memory (and log it) instead of failing.",
    ),
    Setting(
        "INDUSTRY_AUTH_RATELIMIT_STORAGE_TIMEOUT_MS",
        200,
        _integer(10, 5000),
        "Milliseconds a Redis rate-limit storage has to connect and to answer (its socket "
        "timeouts): a hung or slow Redis costs a request at most about this long before the "
        "in-memory fallback counts instead.",
    ),
    _limit("LOGIN_PER_IP", "10/minute", "Failed logins per client address."),
    # Above INDUSTRY_AUTH_MAX_FAILED_LOGINS: a limit that fills with the lock would answer the
    # owner's right password with a bare 429 instead of the lock's message.
    _limit("LOGIN_PER_ACCOUNT", "10/15minutes", "Failed logins per 統一編號 + account id."),
    _limit("REGISTER_PER_IP", "20/minute", "Applications per client address."),
    _limit("RESET_PER_IP", "20/minute", "Forgot-password requests per client address."),
    _limit("RESET_PER_ACCOUNT", "5/minute", "Forgot-password requests per account."),
    _limit("RESEND_PER_IP", "20/minute", "Activation-mail resends per client address."),
    _limit("RESEND_PER_ACCOUNT", "5/minute", "Activation-mail resends per 統一編號 + email."),
    _limit("CHALLENGE_PER_IP", "30/minute", "Certificate challenges per client address."),
    Setting(
        "INDUSTRY_AUTH_TRUSTED_PROXIES",
        0,
        _integer(0, 10),
        "How many reverse proxies in front of the app add to ``X-Forwarded-For``. 0 trusts "
        "none: the header is ignored, so a client cannot choose its own address.",
    ),
    Setting(
        "INDUSTRY_AUTH_IDLE_TIMEOUT",
        1800,
        _POSITIVE,
        "Seconds without a request after which a session ends (ASVS 7.3.1; a warning with a "
        "way to stay comes two minutes before).",
        floor=60,
        ceiling=1800,
        why="OWASP ASVS 5.0 7.3.1: idle sessions end within 30 minutes",
    ),
    Setting(
        "INDUSTRY_AUTH_SESSION_LIFETIME",
        43200,
        _POSITIVE,
        "Seconds after login at which a session ends whatever happens (ASVS 7.3.2); not "
        "shorter than ``INDUSTRY_AUTH_IDLE_TIMEOUT``.",
        ceiling=43200,
        why="OWASP ASVS 5.0 7.3.2: sessions end within 12 hours",
    ),
    Setting(
        "INDUSTRY_AUTH_SECURE_COOKIES",
        True,
        _boolean,
        "Mark the session cookie Secure (HTTPS only) unless the app runs in debug mode. Turn "
        "off only for a demo served over plain HTTP.",
    ),
    Setting(
        "INDUSTRY_AUTH_REMEMBER_ME",
        False,
        _boolean,
        "Keep the session cookie when the browser closes (a permanent session, for "
        "``PERMANENT_SESSION_LIFETIME``; the absolute lifetime still ends it). Off: a closed "
        "browser ends the session.",
    ),
    Setting(
        "INDUSTRY_AUTH_SHARE_LOGIN",
        None,
        _auto_boolean,
        "Whether a logged-in applicant is also Flask-Login's `current_user` (and passes the "
        "host's `@login_required`). `None`: only when the package created the app's "
        "LoginManager (a portal whose only users are applicants); `True`: always; `False`: "
        "never.",
    ),
    Setting(
        "INDUSTRY_AUTH_CSP",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'",
        _optional(_text),
        "Content-Security-Policy of the package's pages (no inline script or style); "
        "``None`` (or ``''``) leaves the header to the host.",
    ),
    Setting(
        "INDUSTRY_AUTH_HSTS_SECONDS",
        31536000,
        _optional(_integer(0)),
        "``max-age`` of the ``Strict-Transport-Security`` header (with ``includeSubDomains``) "
        "of the package's answers served over HTTPS; 0 or ``None`` sends none.",
    ),
    Setting(
        "INDUSTRY_AUTH_HOME_ENDPOINT",
        "industry_auth.index",
        _text,
        "Where to send an applicant after login when no safe ``next`` is given.",
    ),
    Setting(
        "INDUSTRY_AUTH_REQUIRE_APPROVAL",
        False,
        _boolean,
        "Applications wait for staff approval before their activation mail goes out (adds "
        "the lifecycle states ``pending_approval`` and ``rejected``).",
    ),
    Setting(
        "INDUSTRY_AUTH_AUDIT_RETENTION_DAYS",
        365,
        _retention,
        "Days the audit trail is kept; ``flask industry-auth prune-audit`` removes older rows "
        "(the baseline asks for at least 6 months, so less than 180 is refused, under "
        "TESTING too).",
    ),
    Setting(
        "INDUSTRY_AUTH_MAIL_RETENTION_DAYS",
        30,
        _integer(1, 36_500),
        "Days sent mail stays in the outbox (only its metadata: bodies are erased once sent), "
        "and mail given up on too; ``flask industry-auth purge-mail`` removes older mail.",
    ),
)

#: Every setting's default; ``configure`` copies these into ``app.config`` with setdefault.
DEFAULTS: dict[str, object] = {setting.name: setting.default for setting in SETTINGS}


# -- configure ----------------------------------------------------------------------------------


def configure(app: Flask) -> None:
    """Complete and check ``app``'s ``INDUSTRY_AUTH_*`` settings, or raise :class:`ConfigError`.

    1. Set the defaults (``setdefault``): a host sets only what it changes.
    2. Refuse ``INDUSTRY_AUTH_*`` keys the package does not know, suggesting the nearest
       known one (a misspelt key would otherwise be silently ignored).
    3. Parse every value (environment strings included), check its type and range, and write
       the parsed value back, so the rest of the package reads real types.
    4. Check the settings that depend on each other.
    5. Outside TESTING, refuse values beyond the floors and ceilings of the standards (see
       :data:`SETTINGS`) and argon2id parameters below OWASP's floor.
    """
    config = app.config
    for setting in SETTINGS:
        config.setdefault(setting.name, setting.default)
    _refuse_unknown_keys(config)
    for setting in SETTINGS:
        value = config[setting.name]
        try:
            config[setting.name] = setting.parse(value)
        except _Refused as allowed:
            raise _error(setting.name, value, f"expected {allowed}") from None
    _check_together(config)
    if not _testing(app):
        _check_standards(config)
        _check_argon2_floor(app)


def _error(name: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{name}={value!r} is refused: {allowed}")


def _testing(app: Flask) -> bool:
    # TESTING relaxes the floors, so only a true value counts: TESTING="False" from the
    # environment must not switch them off.
    try:
        return _boolean(app.config.get("TESTING", False))
    except _Refused:
        return False


def _warn_of_a_shadowed_lock(config) -> None:
    # Not refused (a stricter limit is no weaker), but the owner's right password after a lock
    # would meet the limit's page instead of the lock's message.
    per_account = config["INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT"]
    lockout = config["INDUSTRY_AUTH_MAX_FAILED_LOGINS"]
    if per_account and any(item.amount <= lockout for item in limits.parse_many(per_account)):
        log.warning(
            "flask_industry_auth: INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT=%r allows no more "
            "attempts than INDUSTRY_AUTH_MAX_FAILED_LOGINS=%d: after a lock the owner's right "
            "password meets the limit's page instead of being told the lock and how to get in",
            per_account,
            lockout,
        )


def _refuse_unknown_keys(config) -> None:
    known = [name.removeprefix(_PREFIX) for name in DEFAULTS]
    problems = []
    ours = {key for key in config if isinstance(key, str) and key.startswith(_PREFIX)}
    for key in sorted(ours - set(DEFAULTS)):
        # Compare without the shared prefix, or every key would look alike.
        near = difflib.get_close_matches(key.removeprefix(_PREFIX), known, n=1)
        hint = f"did you mean {_PREFIX}{near[0]}?" if near else "see flask_industry_auth.config"
        problems.append(f"{key} ({hint})")
    if problems:
        raise ConfigError("unknown flask_industry_auth setting: " + "; ".join(problems))


def _check_together(config) -> None:
    # Combinations that cannot work, refused under TESTING too.
    _warn_of_a_shadowed_lock(config)
    if config["INDUSTRY_AUTH_PASSWORD_MAX_LENGTH"] < config["INDUSTRY_AUTH_PASSWORD_MIN_LENGTH"]:
        raise _error(
            "INDUSTRY_AUTH_PASSWORD_MAX_LENGTH",
            config["INDUSTRY_AUTH_PASSWORD_MAX_LENGTH"],
            "it must be at least INDUSTRY_AUTH_PASSWORD_MIN_LENGTH "
            f"({config['INDUSTRY_AUTH_PASSWORD_MIN_LENGTH']}), or no password fits",
        )
    if config["INDUSTRY_AUTH_MAIL_CLAIM_SECONDS"] <= config["INDUSTRY_AUTH_SMTP_TIMEOUT"]:
        raise _error(
            "INDUSTRY_AUTH_MAIL_CLAIM_SECONDS",
            config["INDUSTRY_AUTH_MAIL_CLAIM_SECONDS"],
            f"it must exceed INDUSTRY_AUTH_SMTP_TIMEOUT ({config['INDUSTRY_AUTH_SMTP_TIMEOUT']}),"
            " or a mail still being sent is claimed and sent again",
        )
    lanes = config["INDUSTRY_AUTH_ARGON2_PARALLELISM"]
    if config["INDUSTRY_AUTH_ARGON2_MEMORY_COST"] < 8 * lanes:
        raise _error(
            "INDUSTRY_AUTH_ARGON2_MEMORY_COST",
            config["INDUSTRY_AUTH_ARGON2_MEMORY_COST"],
            f"argon2 needs at least 8 KiB per lane (INDUSTRY_AUTH_ARGON2_PARALLELISM={lanes})",
        )
    # Links in mail come from configuration, never from the request's Host header.
    if config["INDUSTRY_AUTH_EXTERNAL_URL"] is None and not config.get("SERVER_NAME"):
        raise _error(
            "INDUSTRY_AUTH_EXTERNAL_URL",
            None,
            "set it (e.g. 'https://portal.example.gov.tw'), or SERVER_NAME, so that links in "
            "mail never depend on the request's Host header",
        )


def _check_standards(config) -> None:
    for setting in SETTINGS:
        value = config[setting.name]
        if (setting.floor is not None and value < setting.floor) or (
            setting.ceiling is not None and value > setting.ceiling
        ):
            raise _error(
                setting.name,
                value,
                f"it must be {_span(setting.floor, setting.ceiling)} ({setting.why}); "
                "other values are allowed only with TESTING",
            )
    idle = config["INDUSTRY_AUTH_IDLE_TIMEOUT"]
    if config["INDUSTRY_AUTH_SESSION_LIFETIME"] < idle:
        raise _error(
            "INDUSTRY_AUTH_SESSION_LIFETIME",
            config["INDUSTRY_AUTH_SESSION_LIFETIME"],
            f"it must be at least INDUSTRY_AUTH_IDLE_TIMEOUT ({idle}); other values are "
            "allowed only with TESTING",
        )


def _check_argon2_floor(app: Flask) -> None:
    # Below OWASP's floor only for tests, where hashing speed matters more than strength.
    config = app.config
    memory = config["INDUSTRY_AUTH_ARGON2_MEMORY_COST"]
    passes = config["INDUSTRY_AUTH_ARGON2_TIME_COST"]
    strong = config["INDUSTRY_AUTH_ARGON2_PARALLELISM"] >= 1 and any(
        memory >= floor_memory and passes >= floor_passes
        for floor_memory, floor_passes in ARGON2_FLOOR
    )
    if not strong:
        raise ConfigError(
            f"INDUSTRY_AUTH_ARGON2_* (m={memory} KiB, t={passes}) is below the floor of "
            "OWASP's Password Storage cheat sheet (m=46 MiB t=1, m=19 MiB t=2, m=12 MiB t=3, "
            "m=9 MiB t=4 or m=7 MiB t=5; p>=1); weaker settings are allowed only with TESTING"
        )
