"""The Flask extension: ``IndustryAuth(app=None, *, db=...)`` and ``init_app``."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from flask_babel import Babel
from flask_login import LoginManager
from flask_mail import Mail

from .adapter import AccountAdapter
from .config import DEFAULTS
from .lifecycle import Lifecycle, add_approval
from .models import build_models
from .passwords import Hasher

EXTENSION_KEY = "industry_auth"
#: Prefix of the package's Flask-Login ids; other ids go to the host's own user loader.
LOGIN_ID_PREFIX = "ia:"


@dataclass
class IndustryAuthState:
    """Per-app state, kept in ``app.extensions["industry_auth"]``."""

    extension: IndustryAuth
    db: Any
    models: Any
    adapter: AccountAdapter
    lifecycle: Lifecycle
    hasher: Hasher
    #: Revocation checker for certificate logins (see ``certificates.revocation``).
    revocation: Any = None
    #: The app's Flask-Limiter instance (``None`` when rate limiting is off).
    limiter: Any = None
    mail_threads: weakref.WeakSet = field(default_factory=weakref.WeakSet)
    _anchors: list | None = None

    def trust_anchors(self) -> list:
        """The configured trust anchors, loaded once."""
        if self._anchors is None:
            from .certificates.validation import load_anchors

            self._anchors = load_anchors(current_app.config["INDUSTRY_AUTH_CERT_TRUST_ANCHORS"])
        return self._anchors

    @property
    def account_model(self):
        return self.models.Account


def get_state(app: Flask | None = None) -> IndustryAuthState:
    """The package's state for ``app`` (default: the current app)."""
    app = app or current_app
    try:
        return app.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError("IndustryAuth.init_app() has not been called for this app") from None


class IndustryAuth:
    """Applicant accounts for a Flask portal, mounted as the ``industry_auth`` blueprint.

    :param app: the Flask app, or ``None`` to call :meth:`init_app` later (app factory).
    :param db: the host's ``flask_sqlalchemy.SQLAlchemy``; the package's tables are mapped on
        it, live in the host's database and commit in the host's session.
    :param adapter: an :class:`~flask_industry_auth.adapter.AccountAdapter` for policy.
    :param lifecycle: a callable returning a fresh :class:`Lifecycle` for each app (default
        :meth:`Lifecycle.default`); or extend ``get_lifecycle(app)`` after ``init_app``.
    :param revocation: a callable returning the revocation checker of each app for certificate
        logins (default: :class:`~flask_industry_auth.certificates.revocation.CRLChecker`).

    Configuration keys (defaults in :mod:`flask_industry_auth.config`):
    ``INDUSTRY_AUTH_URL_PREFIX``, ``INDUSTRY_AUTH_BASE_TEMPLATE``,
    ``INDUSTRY_AUTH_MAX_FAILED_LOGINS``, ``INDUSTRY_AUTH_LOCKOUT_SECONDS``,
    ``INDUSTRY_AUTH_ACTIVATION_SECONDS``, ``INDUSTRY_AUTH_TEMP_PASSWORD_SECONDS``,
    ``INDUSTRY_AUTH_PASSWORD_MIN_LENGTH``, ``INDUSTRY_AUTH_PASSWORD_MAX_LENGTH``,
    ``INDUSTRY_AUTH_PASSWORD_HISTORY``, ``INDUSTRY_AUTH_ARGON2_*``,
    ``INDUSTRY_AUTH_EXTERNAL_URL``, ``INDUSTRY_AUTH_MAIL_SENDER``,
    ``INDUSTRY_AUTH_MAIL_DELIVERY``, ``INDUSTRY_AUTH_SMTP_TIMEOUT``,
    ``INDUSTRY_AUTH_MAIL_MAX_ATTEMPTS``, ``INDUSTRY_AUTH_MAIL_CLAIM_SECONDS``,
    ``INDUSTRY_AUTH_LOCALES``, ``INDUSTRY_AUTH_HOME_ENDPOINT``,
    ``INDUSTRY_AUTH_CERT_TRUST_ANCHORS``, ``INDUSTRY_AUTH_CERT_CHALLENGE_SECONDS``,
    ``INDUSTRY_AUTH_HIPKI_URL``.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        db: Any,
        adapter: AccountAdapter | None = None,
        lifecycle: Callable[[], Lifecycle] = Lifecycle.default,
        revocation: Callable[[], Any] | None = None,
    ) -> None:
        self.db = db
        self.models = build_models(db)
        #: The mapped account class.
        self.account_model = self.models.Account
        self.adapter = adapter or AccountAdapter()
        self._lifecycle_factory = lifecycle
        self._revocation_factory = revocation
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Configure ``app``: config defaults, login, mail, translations, the blueprint and
        the ``flask industry-auth`` commands. Raises if called twice for one app."""
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("IndustryAuth is already registered on this app")
        if "sqlalchemy" not in app.extensions:
            raise RuntimeError("call db.init_app(app) before IndustryAuth.init_app(app)")
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config["INDUSTRY_AUTH_LOCALES"][0])
        _secure_cookies(app)
        _check_argon2_floor(app)
        _check_mail_links(app)
        _check_audit_retention(app)

        config = app.config
        if self._revocation_factory is None:
            from .certificates.revocation import CRLChecker

            revocation = CRLChecker()
        else:
            revocation = self._revocation_factory()
        app.extensions[EXTENSION_KEY] = IndustryAuthState(
            extension=self,
            db=self.db,
            models=self.models,
            adapter=self.adapter,
            lifecycle=_lifecycle(self._lifecycle_factory, config),
            hasher=Hasher(
                time_cost=config["INDUSTRY_AUTH_ARGON2_TIME_COST"],
                memory_cost=config["INDUSTRY_AUTH_ARGON2_MEMORY_COST"],
                parallelism=config["INDUSTRY_AUTH_ARGON2_PARALLELISM"],
            ),
            revocation=revocation,
        )
        self._init_login(app)
        if "mail" not in app.extensions:
            Mail(app)
        if "babel" not in app.extensions:
            from .i18n import select_locale

            Babel(app, locale_selector=select_locale)

        from .cli import cli
        from .views import blueprint

        app.register_blueprint(blueprint, url_prefix=config["INDUSTRY_AUTH_URL_PREFIX"])
        from .ratelimit import init_limiter

        app.extensions[EXTENSION_KEY].limiter = init_limiter(app)
        # Every page, the host's too (the session check reads the database), answers 503
        # with a clear page when the database is unreachable; a host handler takes precedence.
        from sqlalchemy.exc import InterfaceError, OperationalError

        from .views import database_unavailable

        for error in (OperationalError, InterfaceError):
            if error not in app.error_handler_spec[None][None]:
                app.register_error_handler(error, database_unavailable)
        app.cli.add_command(cli)

    def get_lifecycle(self, app: Flask | None = None) -> Lifecycle:
        """The lifecycle of ``app`` (default: the current app), for hosts to extend."""
        return get_state(app).lifecycle

    def _init_login(self, app: Flask) -> None:
        manager: LoginManager | None = getattr(app, "login_manager", None)
        if manager is None:
            manager = LoginManager(app)
            manager.login_view = "industry_auth.login"
            from .i18n import lazy_gettext

            manager.login_message = lazy_gettext("Please log in to see this page.")
        host_loader = manager._user_callback
        models = self.models

        def load_user(user_id: str):
            # Ids look like "ia:<pk>:<uniquifier>"; a rotated uniquifier ends the session.
            if not user_id.startswith(LOGIN_ID_PREFIX):
                return host_loader(user_id) if host_loader else None
            try:
                _, pk, uniquifier = user_id.split(":", 2)
                account = self.db.session.get(models.Account, int(pk))
            except ValueError:
                return None
            if account is None or account.session_uniquifier != uniquifier:
                return None
            return account

        manager.user_loader(load_user)


#: argon2id floor (OWASP Password Storage, ASVS 11.4.2): m=19 MiB, t=2, p=1.
#: OWASP Password Storage cheat sheet: argon2id settings of equal strength, as
#: (memory in KiB, at least this many passes); any parallelism of 1 or more.
ARGON2_FLOOR = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))


def _secure_cookies(app: Flask) -> None:
    # Session cookie: HttpOnly, SameSite=Lax, and Secure unless debugging on plain HTTP.
    config = app.config
    config["SESSION_COOKIE_HTTPONLY"] = True
    if not config.get("SESSION_COOKIE_SAMESITE"):
        config["SESSION_COOKIE_SAMESITE"] = "Lax"
    secure = config["INDUSTRY_AUTH_SECURE_COOKIES"] and not app.debug
    config["SESSION_COOKIE_SECURE"] = config.get("SESSION_COOKIE_SECURE") or secure
    config.setdefault("REMEMBER_COOKIE_SECURE", secure)
    config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")


def _lifecycle(factory: Callable[[], Lifecycle], config) -> Lifecycle:
    lifecycle = factory()
    if config["INDUSTRY_AUTH_REQUIRE_APPROVAL"]:
        add_approval(lifecycle)
    return lifecycle


def _check_argon2_floor(app: Flask) -> None:
    # Below OWASP's floor only for tests, where hashing speed matters more than strength.
    config = app.config
    memory = config["INDUSTRY_AUTH_ARGON2_MEMORY_COST"]
    passes = config["INDUSTRY_AUTH_ARGON2_TIME_COST"]
    strong = config["INDUSTRY_AUTH_ARGON2_PARALLELISM"] >= 1 and any(
        memory >= floor_memory and passes >= floor_passes
        for floor_memory, floor_passes in ARGON2_FLOOR
    )
    if not strong and not app.testing:
        raise RuntimeError(
            f"INDUSTRY_AUTH_ARGON2_* (m={memory} KiB, t={passes}) is below the floor of "
            "OWASP's Password Storage cheat sheet (m=46 MiB t=1, m=19 MiB t=2, m=12 MiB t=3, "
            "m=9 MiB t=4 or m=7 MiB t=5; p>=1); weaker settings are allowed only with TESTING"
        )


#: The baseline (資通系統防護基準) keeps logs for at least 6 months.
MIN_AUDIT_RETENTION_DAYS = 180


def _check_audit_retention(app: Flask) -> None:
    days = app.config["INDUSTRY_AUTH_AUDIT_RETENTION_DAYS"]
    if days < MIN_AUDIT_RETENTION_DAYS:
        raise RuntimeError(
            f"INDUSTRY_AUTH_AUDIT_RETENTION_DAYS is {days}; the baseline keeps the audit trail "
            f"for 6 months or more (at least {MIN_AUDIT_RETENTION_DAYS} days)"
        )


def _check_mail_links(app: Flask) -> None:
    # Links in mail come from configuration, never from the request's Host header.
    url = app.config["INDUSTRY_AUTH_EXTERNAL_URL"]
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RuntimeError(f"INDUSTRY_AUTH_EXTERNAL_URL must be an absolute URL: {url!r}")
    elif not app.config.get("SERVER_NAME"):
        raise RuntimeError(
            "set INDUSTRY_AUTH_EXTERNAL_URL (e.g. 'https://portal.example.gov.tw') so that "
            "links in mail never depend on the request's Host header"
        )
