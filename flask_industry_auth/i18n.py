"""Translations: the package's own Flask-Babel domain, Traditional Chinese by default.

The package's catalogs (domain ``industry_auth``) are separate from the host's, so a host's
``BABEL_TRANSLATION_DIRECTORIES`` needs no change. Strings the package does not know (a host
layout's, say) fall back to the host's own catalogs.
"""

from __future__ import annotations

from pathlib import Path

import flask_babel
from flask import current_app, has_request_context, session
from flask_babel import LazyString

from .resources import resource_dir

DOMAIN = "industry_auth"
#: Session key holding the applicant's chosen locale.
LOCALE_SESSION_KEY = "_industry_auth_locale"

_domain = flask_babel.Domain(
    translation_directories=[str(resource_dir("translations"))], domain=DOMAIN
)


def _translate(string: str) -> str:
    translated = _domain.get_translations().ugettext(string)
    if translated == string:
        translated = flask_babel.get_translations().ugettext(string)
    return translated


def gettext(string: str, **variables) -> str:
    """Translate ``string`` in the current locale, then ``%``-format it with ``variables``."""
    translated = _translate(string)
    return translated % variables if variables else translated


def lazy_gettext(string: str, **variables) -> LazyString:
    """:func:`gettext`, evaluated when rendered (for form labels defined at import)."""
    return LazyString(gettext, string, **variables)


_ = gettext


def select_locale() -> str:
    """The locale selector installed when the package creates Flask-Babel itself: the
    applicant's choice from the session, else the first of ``INDUSTRY_AUTH_LOCALES``."""
    locales = current_app.config["INDUSTRY_AUTH_LOCALES"]
    if has_request_context():
        chosen = session.get(LOCALE_SESSION_KEY)
        if chosen in locales:
            return chosen
    return locales[0]


def current_locale() -> str:
    """The locale of this request, as a string such as ``zh_Hant_TW``."""
    return str(flask_babel.get_locale() or current_app.config["INDUSTRY_AUTH_LOCALES"][0])


def catalog_dir() -> Path:
    return resource_dir("translations")
