"""Where each app keeps the package's state: ``app.extensions["industry_auth"]``.

A leaf module: it imports nothing of the package, so every module can ask for the state
without importing the extension (which imports the views, the CLI and the flows).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from flask_login import LoginManager

    from .adapter import AccountAdapter
    from .lifecycle import Lifecycle
    from .passwords import Hasher

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
    #: Whom certificate login trusts (roots, issuing CAs by type), read at ``init_app``.
    trust: Any = None
    #: Revocation checker for certificate logins (see ``certificates.revocation``).
    revocation: Any = None
    #: The app's Flask-Limiter instance (``None`` when rate limiting is off).
    limiter: Any = None
    #: The ``LoginManager`` the package created (``None``: the host brought its own).
    login_manager: LoginManager | None = None
    #: The login page rendered once per locale and address (``page_cache.PageCache``).
    page_cache: Any = None
    mail_threads: weakref.WeakSet = field(default_factory=weakref.WeakSet)


def get_state(app: Flask | None = None) -> IndustryAuthState:
    """The package's state for ``app`` (default: the current app)."""
    app = app or current_app
    try:
        return app.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError("IndustryAuth.init_app() has not been called for this app") from None
