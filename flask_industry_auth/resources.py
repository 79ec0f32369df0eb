"""Where the package's templates, migrations and catalogs are.

In a wheel they sit inside the package (hatchling force-includes the top-level ``templates/``
and ``migrations/``); in a source checkout or an editable install they are beside it.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The folder ``name`` (``templates``, ``migrations`` or ``translations``)."""
    inside = _PACKAGE / name
    if inside.is_dir():
        return inside
    beside = _PACKAGE.parent / name
    if beside.is_dir():
        return beside
    raise RuntimeError(f"flask_industry_auth: the {name!r} folder is missing from the install")
