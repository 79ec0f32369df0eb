"""Every ``INDUSTRY_AUTH_*`` setting with its default.

``init_app`` copies these into ``app.config`` with ``setdefault``, so a host sets only what it
wants to change. Deployment values live here; code-level choices (the adapter, the lifecycle)
are constructor arguments of :class:`~flask_industry_auth.IndustryAuth`.
"""

from __future__ import annotations

DEFAULTS: dict[str, object] = {
    #: Where the blueprint is mounted.
    "INDUSTRY_AUTH_URL_PREFIX": "/account",
    #: The host layout every page ends up extending. It must define a ``content`` block
    #: (and may define ``title``); the default is a small standalone layout.
    "INDUSTRY_AUTH_BASE_TEMPLATE": "industry_auth/base.html",
    #: Consecutive failed logins that lock an account (資通系統防護基準: 5).
    "INDUSTRY_AUTH_MAX_FAILED_LOGINS": 5,
    #: How long a lock lasts, in seconds (資通系統防護基準: at least 15 minutes).
    "INDUSTRY_AUTH_LOCKOUT_SECONDS": 900,
    #: How long an activation link stays valid, in seconds (72 h).
    "INDUSTRY_AUTH_ACTIVATION_SECONDS": 259200,
    #: How long an emailed temporary password stays valid, in seconds (24 h).
    "INDUSTRY_AUTH_TEMP_PASSWORD_SECONDS": 86400,
    #: Minimum password length in Unicode code points (ASVS 6.2.1).
    "INDUSTRY_AUTH_PASSWORD_MIN_LENGTH": 12,
    #: Maximum password length; long passphrases are allowed, never truncated.
    "INDUSTRY_AUTH_PASSWORD_MAX_LENGTH": 256,
    #: How many previous passwords a new one may not repeat (資通系統防護基準: 3).
    "INDUSTRY_AUTH_PASSWORD_HISTORY": 3,
    #: argon2id cost parameters (argon2-cffi's defaults). Lower them only in tests.
    "INDUSTRY_AUTH_ARGON2_TIME_COST": 3,
    "INDUSTRY_AUTH_ARGON2_MEMORY_COST": 65536,
    "INDUSTRY_AUTH_ARGON2_PARALLELISM": 4,
    #: Scheme and host used for links in mail, e.g. ``https://portal.example.gov.tw``.
    #: Links are never built from the request's Host header; when this is unset the app's
    #: ``SERVER_NAME`` and ``PREFERRED_URL_SCHEME`` are used, and without those mail that
    #: needs a link cannot be queued.
    "INDUSTRY_AUTH_EXTERNAL_URL": None,
    #: Sender of every mail; falls back to Flask-Mail's ``MAIL_DEFAULT_SENDER``.
    "INDUSTRY_AUTH_MAIL_SENDER": None,
    #: ``"thread"`` hands queued mail to SMTP in a background thread right after the commit;
    #: ``"worker"`` leaves it to ``flask industry-auth deliver-mail``.
    "INDUSTRY_AUTH_MAIL_DELIVERY": "thread",
    #: Seconds to wait for the SMTP server before giving up on this attempt.
    "INDUSTRY_AUTH_SMTP_TIMEOUT": 10,
    #: Delivery attempts before a mail is marked failed and reported.
    "INDUSTRY_AUTH_MAIL_MAX_ATTEMPTS": 8,
    #: Seconds after which a mail claimed by a worker that died is claimed again.
    "INDUSTRY_AUTH_MAIL_CLAIM_SECONDS": 300,
    #: Locales the applicant may choose; the first is the default.
    "INDUSTRY_AUTH_LOCALES": ["zh_Hant_TW", "en"],
    #: Trusted CA certificates for certificate login: the GRCA root and the MOEACA and MOICA
    #: CAs a deployment downloads from their repositories. PEM/DER bytes, a file, a folder of
    #: .pem/.crt/.cer files, or a list of these. Without anchors certificate login is refused.
    "INDUSTRY_AUTH_CERT_TRUST_ANCHORS": None,
    #: Seconds a certificate challenge stays valid.
    "INDUSTRY_AUTH_CERT_CHALLENGE_SECONDS": 120,
    #: The HiPKI local signing service the login page talks to (on the applicant's PC).
    "INDUSTRY_AUTH_HIPKI_URL": "http://localhost:61161",
    #: Rate limits (Flask-Limiter). Storage: ``memory://`` (one process) or ``redis://host``
    #: so that several processes and machines share the counters.
    "INDUSTRY_AUTH_RATELIMIT_ENABLED": True,
    "INDUSTRY_AUTH_RATELIMIT_STORAGE_URI": "memory://",
    "INDUSTRY_AUTH_RATELIMIT_KEY_PREFIX": "industry_auth",
    #: When the shared storage is unreachable, count in memory (and log it) instead of failing.
    "INDUSTRY_AUTH_RATELIMIT_MEMORY_FALLBACK": True,
    #: Limits (allauth's defaults); a false value switches one off. Login limits count only
    #: failed attempts.
    "INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP": "10/minute",
    "INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT": "5/5minutes",
    "INDUSTRY_AUTH_RATELIMIT_REGISTER_PER_IP": "20/minute",
    "INDUSTRY_AUTH_RATELIMIT_RESET_PER_IP": "20/minute",
    "INDUSTRY_AUTH_RATELIMIT_RESET_PER_ACCOUNT": "5/minute",
    "INDUSTRY_AUTH_RATELIMIT_RESEND_PER_IP": "20/minute",
    "INDUSTRY_AUTH_RATELIMIT_RESEND_PER_ACCOUNT": "5/minute",
    #: How many reverse proxies in front of the app add to ``X-Forwarded-For``. 0 trusts
    #: none: the header is ignored, so a client cannot choose its own address.
    "INDUSTRY_AUTH_TRUSTED_PROXIES": 0,
    #: Seconds without a request after which a session ends (ASVS 7.3.1; a warning with a way
    #: to stay comes two minutes before).
    "INDUSTRY_AUTH_IDLE_TIMEOUT": 1800,
    #: Seconds after login at which a session ends whatever happens (ASVS 7.3.2).
    "INDUSTRY_AUTH_SESSION_LIFETIME": 43200,
    #: Mark the session cookie Secure (HTTPS only) unless the app runs in debug mode. Turn
    #: off only for a demo served over plain HTTP.
    "INDUSTRY_AUTH_SECURE_COOKIES": True,
    #: Flask-Login's "remember me" cookie. Off: a closed browser ends the session.
    "INDUSTRY_AUTH_REMEMBER_ME": False,
    #: Content-Security-Policy of the package's pages (no inline script or style); ``None``
    #: leaves the header to the host.
    "INDUSTRY_AUTH_CSP": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    #: Where to send an applicant after login when no safe ``next`` is given.
    "INDUSTRY_AUTH_HOME_ENDPOINT": "industry_auth.index",
    #: Applications wait for staff approval before their activation mail goes out (adds the
    #: lifecycle states ``pending_approval`` and ``rejected``).
    "INDUSTRY_AUTH_REQUIRE_APPROVAL": False,
    #: Days the audit trail is kept; ``flask industry-auth prune-audit`` removes older rows
    #: (the baseline asks for at least 6 months, so less than 180 is refused).
    "INDUSTRY_AUTH_AUDIT_RETENTION_DAYS": 365,
}

CONFIG_KEYS = tuple(DEFAULTS)
