"""What every template of the package gets: pages (through the blueprint's context
processor), mail, and pages rendered for host views (``filing``)."""

from __future__ import annotations

from flask import current_app
from flask_wtf.csrf import generate_csrf

from .i18n import current_locale, gettext


def template_context() -> dict:
    """The package's translation function, CSRF token and layout settings."""
    from .filing import current_account

    config = current_app.config
    return {
        "_": gettext,
        "gettext": gettext,
        "csrf_token": generate_csrf,
        "industry_auth_base_template": config["INDUSTRY_AUTH_BASE_TEMPLATE"],
        "industry_auth_locale": current_locale(),
        "industry_auth_locales": config["INDUSTRY_AUTH_LOCALES"],
        "current_account": current_account,
    }
