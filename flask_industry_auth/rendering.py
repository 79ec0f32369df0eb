"""What every template of the package gets: pages (through the blueprint's context
processor), mail, and pages rendered for host views (``filing``)."""

from __future__ import annotations

import secrets

from flask import current_app, has_request_context, request
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from wtforms.widgets.core import clean_key

from . import hipki, sessions
from .i18n import bound_gettext, current_locale


def template_context() -> dict:
    """The package's translation function, CSRF token and layout settings."""
    config = current_app.config
    translate = bound_gettext()
    locale = current_locale()
    return {
        "_": translate,
        "gettext": translate,
        "csrf_token": _csrf_once(),
        "industry_auth_base_template": config["INDUSTRY_AUTH_BASE_TEMPLATE"],
        "industry_auth_locale": locale,
        #: For the host layout's ``<html lang>``.
        "industry_auth_lang": "en" if locale == "en" else "zh-Hant-TW",
        "industry_auth_csp_nonce": csp_nonce,
        #: The card forms' settings for industry_auth_hipki.js (templates/_sign_form.html).
        "industry_auth_hipki": hipki.page_settings,
        "industry_auth_locales": config["INDUSTRY_AUTH_LOCALES"],
        "current_account": sessions.current,
    }


#: Kept in the WSGI environ: one nonce per response, never another request's (see sessions).
_NONCE_KEY = "flask_industry_auth.csp_nonce"


def csp_nonce() -> str:
    """This response's CSP nonce, for a host layout's own inline ``<script>`` or ``<style>`` on
    the package's pages (``<script nonce="{{ industry_auth_csp_nonce() }}">``): once asked
    for, the package's ``Content-Security-Policy`` allows it in ``script-src`` and
    ``style-src``."""
    if not has_request_context():
        return ""  # mail: no policy to add it to
    nonce = request.environ.get(_NONCE_KEY)
    if nonce is None:
        nonce = request.environ[_NONCE_KEY] = secrets.token_urlsafe(16)
    return nonce


def policy_with_nonce(policy: str) -> str:
    """``policy`` with this response's nonce added to ``script-src`` and ``style-src``, if a
    template asked for one."""
    nonce = request.environ.get(_NONCE_KEY)
    if nonce is None:
        return policy
    directives = [d.strip() for d in policy.split(";") if d.strip()]
    names = [d.split(None, 1)[0].lower() for d in directives]
    default = next((d for d, n in zip(directives, names, strict=True) if n == "default-src"), None)
    for kind in ("script-src", "style-src"):
        if kind in names:
            at = names.index(kind)
            directives[at] = f"{directives[at]} 'nonce-{nonce}'"
        elif default is not None:
            # Without its own directive the kind falls back to default-src: keep those sources.
            sources = " ".join(default.split()[1:])
            directives.append(f"{kind} {sources} 'nonce-{nonce}'".replace("  ", " "))
    return "; ".join(directives)


def _csrf_once():
    # A page holds up to four forms; Flask-WTF's token is the same for the whole request, so
    # ask for it once per render (each call re-reads config, session and g).
    token = None

    def csrf_token() -> str:
        nonlocal token
        if token is None:
            token = generate_csrf()
        return token

    return csrf_token


def render_input(field, *, hint: bool = False, **attributes) -> Markup:
    """``field(**attributes)`` for WTForms ``<input>`` widgets, without the widget's cost.

    Same attributes as the widget writes (the field's ``render_kw``, id, type, value, the
    validation flags such as ``required``; ``False`` leaves one out; never ``maxlength``), built
    with plain string formatting: the widgets' per-attribute ``Markup.format`` was the largest
    single cost of a page (benchmarks/README.md). Any other widget (a select, a textarea, a
    datalist) renders through WTForms as before.

    It also ties the input to its error (``aria-invalid``, ``<id>-error``) and, with
    ``hint=True``, to its hint (``<id>-hint``) through ``aria-describedby``.
    """
    # No maxlength: the browser cuts a pasted value without a word. The form's Length
    # validator refuses an over-long value at its field and tells the maximum instead.
    attributes.setdefault("maxlength", False)
    described = ([f"{field.id}-hint"] if hint else []) + (
        [f"{field.id}-error"] if field.errors else []
    )
    if field.errors:
        attributes.setdefault("aria_invalid", "true")
    if described:
        attributes.setdefault("aria_describedby", " ".join(described))
    widget = field.widget
    validation_attrs = getattr(widget, "validation_attrs", None)
    input_type = getattr(widget, "input_type", None)
    if (
        validation_attrs is None
        or input_type is None
        or getattr(field, "_datalist", None) is not None
    ):
        return field(**attributes)
    params = dict(field.render_kw or {}, **attributes)
    params.setdefault("id", field.id)
    params.setdefault("type", input_type)
    if getattr(widget, "hide_value", False):
        params["value"] = ""
    elif "value" not in params:
        params["value"] = field._value()
    for key in validation_attrs:
        if key not in params:
            value = getattr(field.flags, key)
            if value is not None:
                params[key] = value() if callable(value) else value
    params["name"] = field.name
    parts = []
    for key, value in sorted(params.items()):
        if value is True:
            parts.append(clean_key(key))
        elif value is not False:
            parts.append(f'{clean_key(key)}="{escape(value)}"')
    return Markup(f"<input {' '.join(parts)}>")  # noqa: S704 (keys from code, values escaped)
