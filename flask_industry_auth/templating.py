"""The package's template loader: every template also under ``industry_auth/packaged/``.

A host overrides a page by putting a file of the same name in its own templates folder, and
Flask looks there first. Such a file cannot ``{% extends "industry_auth/login.html" %}``: that
name is the override itself, so Jinja recurses. The loader below makes every packaged
template reachable a second time, under a name no host file shadows by accident, read only
from the package's own folder::

    {# your_app/templates/industry_auth/login.html #}
    {% extends "industry_auth/packaged/login.html" %}
    {% block page_title %}…{% endblock %}

The packaged template still extends and includes the ordinary names
(``industry_auth/_layout.html`` …), so the host's other overrides keep applying to it.
"""

from __future__ import annotations

from collections.abc import Callable

from jinja2 import Environment, FileSystemLoader

#: Where the package's templates live in its folder.
TEMPLATE_PREFIX = "industry_auth/"
#: The alias under which each of them is also reachable.
PACKAGED_PREFIX = "industry_auth/packaged/"


class PackagedTemplateLoader(FileSystemLoader):
    """A :class:`jinja2.FileSystemLoader` on the package's templates folder that also
    answers to ``industry_auth/packaged/<name>`` with ``industry_auth/<name>``."""

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        """The source of ``template``, an alias resolved to the packaged file."""
        if template.startswith(PACKAGED_PREFIX):
            template = TEMPLATE_PREFIX + template.removeprefix(PACKAGED_PREFIX)
        return super().get_source(environment, template)

    def list_templates(self) -> list[str]:
        """Every packaged template, under its own name and its alias."""
        names = super().list_templates()
        aliases = [
            PACKAGED_PREFIX + name.removeprefix(TEMPLATE_PREFIX)
            for name in names
            if name.startswith(TEMPLATE_PREFIX)
        ]
        return sorted(names + aliases)
