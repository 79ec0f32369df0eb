"""A small host portal that mounts flask_industry_auth: the demo of ``make demo``."""

from .app import create_app

__all__ = ["create_app"]
