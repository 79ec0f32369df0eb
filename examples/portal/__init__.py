"""A small host portal that mounts flask_industry_auth: the demo of ``make demo``."""

from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str):
    # Imported on first use: ``python -m examples.portal`` binds its port before it loads the
    # app (Flask, the package, the database), so that a taken port is told at once.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
