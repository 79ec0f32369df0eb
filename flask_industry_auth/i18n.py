"""Translations: the package's own Flask-Babel domain, Traditional Chinese by default.

The package's catalogs (domain ``industry_auth``) are separate from the host's, so a host's
``BABEL_TRANSLATION_DIRECTORIES`` needs no change. Strings the package does not know (a host
layout's, say) fall back to the host's own catalogs.
"""

from __future__ import annotations

from pathlib import Path

import flask_babel
from flask import current_app, g, has_app_context, has_request_context, session
from flask_babel import LazyString

from .resources import resource_dir

DOMAIN = "industry_auth"
#: Session key holding the applicant's chosen locale.
LOCALE_SESSION_KEY = "_industry_auth_locale"

_domain = flask_babel.Domain(
    translation_directories=[str(resource_dir("translations"))], domain=DOMAIN
)


def _catalogs() -> tuple:
    # Flask-Babel keeps the request's locale on g._flask_babel (force_locale swaps it):
    # remember the two catalogs beside it rather than look them up again for every string.
    babel_ctx = g.get("_flask_babel") if has_app_context() else None
    locale = getattr(babel_ctx, "babel_locale", None)
    if locale is None:
        return _domain.get_translations(), flask_babel.get_translations()
    cached = getattr(babel_ctx, "industry_auth_catalogs", None)
    if cached is None or cached[0] is not locale:
        cached = (locale, _domain.get_translations(), flask_babel.get_translations())
        babel_ctx.industry_auth_catalogs = cached
    return cached[1], cached[2]


def _lookup(ours, host, string: str) -> str:
    translated = ours.ugettext(string)
    if translated == string:  # not the package's string: the host's catalogs, if any
        translated = host.ugettext(string)
    return translated


def _translate(string: str) -> str:
    return _lookup(*_catalogs(), string)


def gettext(string: str, **variables) -> str:
    """Translate ``string`` in the current locale, then ``%``-format it with ``variables``."""
    translated = _translate(string)
    return translated % variables if variables else translated


def lazy_gettext(string: str, **variables) -> LazyString:
    """:func:`gettext`, evaluated when rendered (for form labels defined at import)."""
    return LazyString(gettext, string, **variables)


_ = gettext


def bound_gettext():
    """:func:`gettext` bound to the catalogs of the current locale, for one template render
    (the context processor makes one per page, mail rendered under ``force_locale`` gets
    its own): a page asks for ~25 strings, and Flask-Babel's lookup of the locale and its
    catalogs for each string was a tenth of the page's time (benchmarks/README.md)."""
    ours, host = _catalogs()

    def translate(string: str, **variables) -> str:
        translated = _lookup(ours, host, string)
        return translated % variables if variables else translated

    return translate


def select_locale() -> str:
    """The locale selector installed when the package creates Flask-Babel itself: the
    applicant's choice from the session, else the first of ``INDUSTRY_AUTH_LOCALES``."""
    locales = current_app.config["INDUSTRY_AUTH_LOCALES"]
    if has_request_context():
        chosen = session.get(LOCALE_SESSION_KEY)
        if chosen in locales:
            return chosen
    return locales[0]


def text_of(label: object) -> str:
    """A label or message of the lifecycle in the current language: a message id of the
    catalogs (the package's, else the host's), a lazy string of the host's own catalogs, or a
    dict by locale (``{"zh_Hant_TW": "審查中", "en": "Under review"}``)."""
    if isinstance(label, str):
        return gettext(label)
    if isinstance(label, dict):
        locale = current_locale()
        for key in (locale, locale.split("_")[0]):
            if key in label:
                return str(label[key])
        return str(next(iter(label.values()), ""))
    return str(label)


def applicant_gettext(string: str, **variables) -> str:
    """:func:`gettext` in the applicant's language, for a message made where the package's
    locale is not in force (a host page's request that flashes for the package's login)."""
    with flask_babel.force_locale(select_locale()):
        return gettext(string, **variables)


def speak_applicant_locale(blueprint) -> None:
    """Make ``blueprint``'s pages speak the applicant's language (the session's choice, else
    the first of ``INDUSTRY_AUTH_LOCALES``), whoever owns Flask-Babel and its locale selector:
    a host's selector still decides for the host's own pages."""

    @blueprint.before_request
    def _force_applicant_locale() -> None:
        forced = flask_babel.force_locale(select_locale())
        forced.__enter__()
        g._industry_auth_forced_locale = forced

    @blueprint.teardown_request
    def _release_applicant_locale(_error: BaseException | None = None) -> None:
        forced = g.pop("_industry_auth_forced_locale", None)
        if forced is not None:
            forced.__exit__(None, None, None)


def current_locale() -> str:
    """The locale of this request, as a string such as ``zh_Hant_TW``."""
    return str(flask_babel.get_locale() or current_app.config["INDUSTRY_AUTH_LOCALES"][0])


def catalog_dir() -> Path:
    return resource_dir("translations")
