"""Absolute links for mail, built from configuration and never from the request's Host."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    """``INDUSTRY_AUTH_EXTERNAL_URL`` (or ``SERVER_NAME``) + the endpoint's path."""
    app = current_app
    base = app.config["INDUSTRY_AUTH_EXTERNAL_URL"]
    if base:
        parts = urlsplit(base)
        scheme, netloc, root = parts.scheme, parts.netloc, parts.path or "/"
    else:
        scheme = app.config["PREFERRED_URL_SCHEME"]
        netloc, root = app.config["SERVER_NAME"], app.config["APPLICATION_ROOT"]
    adapter = app.url_map.bind(netloc, script_name=root, url_scheme=scheme)
    return adapter.build(endpoint, values, force_external=True)


def portal_origin() -> str:
    """The portal's own origin (``https://portal.example.gov.tw``), from configuration."""
    parts = urlsplit(external_url("industry_auth.login"))
    return f"{parts.scheme}://{parts.netloc}"


def activation_url(token: str) -> str:
    return external_url("industry_auth.activate", token=token)
