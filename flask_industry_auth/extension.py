"""The Flask extension: ``IndustryAuth(app=None, *, db=...)`` and ``init_app``."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from flask_babel import Babel
from flask_login import LoginManager
from flask_mail import Mail

from .adapter import AccountAdapter
from .config import configure
from .lifecycle import Lifecycle, add_approval
from .models import build_models
from .passwords import Hasher

if TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

    from .models import AccountMixin

log = logging.getLogger(__name__)

EXTENSION_KEY = "industry_auth"
#: Prefix of the package's session ids; other Flask-Login ids go to the host's user loader.
LOGIN_ID_PREFIX = "ia:"


@dataclass
class IndustryAuthState:
    """Per-app state, kept in ``app.extensions["industry_auth"]``."""

    db: Any
    models: Any
    adapter: AccountAdapter
    lifecycle: Lifecycle
    hasher: Hasher
    #: Revocation checker for certificate logins (see ``certificates.revocation``).
    revocation: Any = None
    #: The app's Flask-Limiter instance (``None`` when rate limiting is off).
    limiter: Any = None
    #: The ``LoginManager`` the package created (``None``: the host brought its own).
    login_manager: LoginManager | None = None
    mail_threads: weakref.WeakSet = field(default_factory=weakref.WeakSet)
    _anchors: list | None = None

    def trust_anchors(self) -> list:
        """The configured trust anchors, loaded once."""
        if self._anchors is None:
            from .certificates.validation import load_anchors

            self._anchors = load_anchors(current_app.config["INDUSTRY_AUTH_CERT_TRUST_ANCHORS"])
        return self._anchors


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

    Configuration: the ``INDUSTRY_AUTH_*`` keys of :mod:`flask_industry_auth.config` (each
    with its default, what it accepts and why), checked by ``init_app``.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        db: SQLAlchemy,
        adapter: AccountAdapter | None = None,
        lifecycle: Callable[[], Lifecycle] = Lifecycle.default,
        revocation: Callable[[], Any] | None = None,
    ) -> None:
        self.db = db
        self.models = build_models(db)
        #: The mapped account class.
        self.account_model: type[AccountMixin] = self.models.Account
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
        configure(app)
        app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config["INDUSTRY_AUTH_LOCALES"][0])
        _secure_cookies(app)

        config = app.config
        if self._revocation_factory is None:
            from .certificates.revocation import CRLChecker

            revocation = CRLChecker()
        else:
            revocation = self._revocation_factory()
        app.extensions[EXTENSION_KEY] = IndustryAuthState(
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
        from .migrate import exclude_from_host_migrations

        exclude_from_host_migrations(app)
        # Signals of a transaction the host committed itself go out when the context ends.
        app.teardown_appcontext(_send_committed_signals)

    def get_lifecycle(self, app: Flask | None = None) -> Lifecycle:
        """The lifecycle of ``app`` (default: the current app), for hosts to extend."""
        return get_state(app).lifecycle

    def _init_login(self, app: Flask) -> None:
        # The package needs no LoginManager of its own (see ``sessions``); it creates one only
        # for a portal that has none, whose users are then the applicants.
        manager: LoginManager | None = getattr(app, "login_manager", None)
        if manager is None:
            manager = LoginManager(app)
            manager.login_view = "industry_auth.login"
            from .i18n import lazy_gettext

            manager.login_message = lazy_gettext("Please log in to see this page.")
            get_state(app).login_manager = manager
        from .sessions import guard_user_loader

        guard_user_loader(manager)


def _send_committed_signals(_error: BaseException | None = None) -> None:
    from .signals import send_committed

    scoped = get_state().db.session
    if scoped.registry.has():  # no session this context: nothing can be waiting
        send_committed(scoped())


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
    url = config.get("INDUSTRY_AUTH_EXTERNAL_URL") or ""
    plain = url.startswith("http://") or (
        not url and config.get("PREFERRED_URL_SCHEME", "http") == "http"
    )
    if config["SESSION_COOKIE_SECURE"] and plain:
        # Browsers never send a Secure cookie back over plain HTTP: every form would "expire".
        log.warning(
            "flask_industry_auth: the session cookie is Secure but the portal's address (%s) "
            "is plain HTTP: browsers will not send the cookie back and every form will be "
            "refused as expired. Serve it over HTTPS, or for a local demo set "
            "INDUSTRY_AUTH_SECURE_COOKIES = False.",
            url or "PREFERRED_URL_SCHEME = 'http'",
        )


def _lifecycle(factory: Callable[[], Lifecycle], config) -> Lifecycle:
    lifecycle = factory()
    if config["INDUSTRY_AUTH_REQUIRE_APPROVAL"]:
        add_approval(lifecycle)
    from .flows.behaviour import connect

    connect(lifecycle)  # its mail, after-commit callbacks and signals go through this app
    return lifecycle
