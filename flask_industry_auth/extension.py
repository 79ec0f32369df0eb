"""The Flask extension: ``IndustryAuth(app=None, *, db=...)`` and ``init_app``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask
from flask_babel import Babel
from flask_login import LoginManager
from flask_mail import Mail
from sqlalchemy.exc import InterfaceError, OperationalError

from .adapter import AccountAdapter
from .certificates.revocation import from_config as revocation_from_config
from .certificates.trust import Trust, TrustConfigError, load_trust
from .cli import cli
from .config import ConfigError, configure
from .flows.behaviour import connect
from .hooks import database_unavailable
from .i18n import lazy_gettext, select_locale
from .lifecycle import Lifecycle, add_approval
from .migrate import exclude_from_host_migrations
from .models import build_models
from .page_cache import PageCache
from .passwords import Hasher
from .ratelimit import init_limiter
from .sessions import guard_user_loader
from .signals import send_committed
from .state import EXTENSION_KEY, IndustryAuthState, get_state
from .views import blueprint

if TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

    from .models import AccountMixin

log = logging.getLogger(__name__)


class IndustryAuth:
    """Applicant accounts for a Flask portal, mounted as the ``industry_auth`` blueprint.

    :param app: the Flask app, or ``None`` to call :meth:`init_app` later (app factory).
    :param db: the host's ``flask_sqlalchemy.SQLAlchemy``; the package's tables are mapped on
        it, live in the host's database and commit in the host's session.
    :param adapter: an :class:`~flask_industry_auth.adapter.AccountAdapter` for policy.
    :param lifecycle: a callable returning a fresh :class:`Lifecycle` for each app (default
        :meth:`Lifecycle.default`); or extend ``get_lifecycle(app)`` after ``init_app``.
    :param revocation: a callable returning the revocation checker of each app for certificate
        logins (default: the one ``INDUSTRY_AUTH_CERT_REVOCATION`` names, see
        :func:`~flask_industry_auth.certificates.revocation.from_config`).

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
            # INDUSTRY_AUTH_CERT_REVOCATION & co.; the issuing CAs let it prefetch their CRLs.
            revocation = revocation_from_config(
                config, issuers=lambda: get_state(app).trust.intermediates
            )
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
            trust=_trust(config),
            page_cache=PageCache(),
        )
        self._init_login(app)
        if "mail" not in app.extensions:
            Mail(app)
        if "babel" not in app.extensions:
            Babel(app, locale_selector=select_locale)

        app.register_blueprint(blueprint, url_prefix=config["INDUSTRY_AUTH_URL_PREFIX"])
        app.extensions[EXTENSION_KEY].limiter = init_limiter(app)
        # Every page, the host's too (the session check reads the database), answers 503
        # with a clear page when the database is unreachable; a host handler takes precedence.
        for error in (OperationalError, InterfaceError):
            if error not in app.error_handler_spec[None][None]:
                app.register_error_handler(error, database_unavailable)
        app.cli.add_command(cli)
        exclude_from_host_migrations(app)
        # Signals of a transaction the host committed itself go out when the request (or the
        # app context) ends.
        app.teardown_request(_send_committed_signals)  # before a host's session.remove()
        app.teardown_appcontext(_send_committed_signals)  # CLI commands, app contexts

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
            manager.login_message = lazy_gettext("Please log in to see this page.")
            get_state(app).login_manager = manager
        guard_user_loader(manager)


def _send_committed_signals(_error: BaseException | None = None) -> None:
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


def _trust(config) -> Trust:
    # Checked now: a configuration that could not validate a real card stops the start.
    try:
        return load_trust(config)
    except TrustConfigError as error:
        raise ConfigError(str(error)) from None


def _lifecycle(factory: Callable[[], Lifecycle], config) -> Lifecycle:
    lifecycle = factory()
    if config["INDUSTRY_AUTH_REQUIRE_APPROVAL"]:
        add_approval(lifecycle)
    connect(lifecycle)  # its mail, after-commit callbacks and signals go through this app
    return lifecycle
