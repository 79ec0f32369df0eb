"""The login page rendered once per locale and address, then served with each request's own
CSRF token and CSP nonce (issue 17).

An anonymous GET of the login page is the same HTML for every visitor but for two values: the
session's CSRF token (signed anew for each response) and the CSP nonce a host layout may ask
for. Rendering it was most of the page's cost (benchmarks/README.md), so each app renders it
once per (locale, path, query string) with sentinels in their place, keeps it in
``app.extensions["industry_auth"].page_cache``, and puts each request's own values into a copy.

It renders as before, never from the cache, for a POST, a logged-in applicant, a flashed
message, the values a language switch kept, reloading templates (``TEMPLATES_AUTO_RELOAD``,
debug mode), and templates that read anything an address does not fix: the session, ``g``,
the request's cookies or headers, a host's context processor or template global. The chain
of templates (overrides and the host layout included) is read once to tell
(:func:`static_chain`).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, render_template, request, session
from flask_wtf.csrf import generate_csrf
from jinja2 import Environment, TemplateNotFound, nodes

from . import language_switch, sessions
from .i18n import current_locale
from .rendering import csp_nonce, template_context
from .state import get_state

#: Pages kept per app, least recently used first out: the query string is the visitor's
#: (``?next=``), so it cannot grow the cache without bound.
MAX_PAGES = 32
#: Jinja's globals that give the same output every time (not ``lipsum``: random text).
_PURE_GLOBALS = frozenset({"range", "dict", "namespace", "cycler", "joiner"})
#: Flask's template globals that an address fixes (not ``session`` nor ``g``).
_FLASK_NAMES = frozenset({"config", "request", "url_for", "get_flashed_messages"})
#: What of the request a cached page may read: all fixed by the page's key.
_REQUEST_ATTRIBUTES = frozenset(
    {"args", "full_path", "path", "query_string", "script_root", "endpoint", "blueprint"}
)
#: Names Jinja gives a template itself: ``{{ self.title() }}``, ``loop``, a macro's caller...
_JINJA_NAMES = frozenset({"self", "super", "loop", "caller", "varargs", "kwargs"})
#: Names the package's templates read that only other views set (undefined on this page).
_UNSET_NAMES = frozenset({"certificate_failure", "language_form_default"})
#: The prefix of what the package's template functions note in the WSGI environ for the hooks
#: (the card service's origin for the CSP): what a render notes is noted again for each copy.
_ENVIRON_PREFIX = "flask_industry_auth."


@dataclass(frozen=True)
class _Page:
    text: str
    csrf: bool  # holds the CSRF sentinel
    nonce: bool  # holds the nonce sentinel
    environ: tuple  # what the render noted in the environ for the hooks (the CSP's card service)
    config: tuple  # (key, value) of the settings it was rendered with


class PageCache:
    """One app's rendered pages with sentinels for the per-request values (thread-safe)."""

    def __init__(self, max_pages: int = MAX_PAGES) -> None:
        self.max_pages = max_pages
        self._pages: OrderedDict[tuple, _Page] = OrderedDict()
        self._static: dict[str, bool] = {}
        self._lock = threading.Lock()
        # Letters and digits: HTML escaping and URL quoting leave them as they are.
        token = secrets.token_hex(12)
        self.csrf_sentinel = f"iacsrf{token}"
        self.nonce_sentinel = f"ianonce{token}"

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: tuple) -> _Page | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: _Page) -> None:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)

    def is_static(self, template: str, view_names: frozenset[str]) -> bool:
        """Whether ``template``'s chain reads nothing its address does not fix, given the
        names the view passes."""
        host_names = _host_context_names()
        known = self._static.get((template, view_names, host_names))
        if known is None:
            known = self._static[template, view_names, host_names] = static_chain(
                current_app.jinja_env,
                template,
                base_template=current_app.config["INDUSTRY_AUTH_BASE_TEMPLATE"],
                names=_FLASK_NAMES | set(template_context()) | view_names,
                host_names=host_names,
            )
        return known


#: Whose context processors, filters and tests only give what the page's address fixes.
_TRUSTED_MODULES = (
    "flask_industry_auth",
    "flask.",
    "jinja2",
    "markupsafe",
    "flask_wtf",
    "flask_babel",
)


def _trusted(function) -> bool:
    module = getattr(function, "__module__", None) or ""
    # Jinja's own include ``len``, ``abs`` and the comparison operators.
    return module.startswith(_TRUSTED_MODULES) or module in ("flask", "builtins", "_operator")


def _host_context_names() -> frozenset[str]:
    """The names a host's own context processors give this request's templates: values that
    may be anyone's (a host's notices, its user), so a template that reads one is not cached
    even where it also sets a name of the same spelling."""
    names: set[str] = set()
    for scope in (None, *request.blueprints):
        for function in current_app.template_context_processors.get(scope, ()):
            if not _trusted(function):
                names |= set(function())
    return frozenset(names)


def render_once(template: str, context: Callable[[], dict]) -> str | None:
    """``render_template(template, **context())`` from the app's cache, filled on first use;
    ``None`` where the page must be rendered as usual (see the module's docstring).
    ``context`` is called only to fill the cache."""
    cache = get_state().page_cache
    if cache is None or not _may_cache():
        return None
    # The host and scheme too: an external URL on the page (a host layout's canonical link)
    # must not carry one visitor's forged Host header to the next.
    key = (
        template,
        current_locale(),
        request.scheme,
        request.host,
        request.script_root,
        request.path,
        request.query_string,
    )
    page = cache.get(key)
    if page is not None and not _same_settings(page.config):
        page = None  # a setting changed since (tests, a host's runtime change): render again
    if page is None:
        values = context()
        if not cache.is_static(template, frozenset(values)):
            return None
        page = _fill(cache, template, values)
        if page is None:
            return None
        cache.put(key, page)
    request.environ.update(page.environ)
    text = page.text
    if page.csrf:
        text = text.replace(cache.csrf_sentinel, generate_csrf())
    if page.nonce:
        text = text.replace(cache.nonce_sentinel, csp_nonce())
    return text


#: Flask's settings that the page's URLs depend on; the package's are all ``INDUSTRY_AUTH_*``.
_URL_SETTINGS = ("APPLICATION_ROOT", "SERVER_NAME", "PREFERRED_URL_SCHEME")


def _settings() -> tuple:
    config = current_app.config
    keys = [key for key in config if key.startswith("INDUSTRY_AUTH_")]
    return tuple((key, config.get(key)) for key in (*keys, *_URL_SETTINGS))


def _same_settings(settings: tuple) -> bool:
    config = current_app.config
    return len(settings) == sum(1 for key in config if key.startswith("INDUSTRY_AUTH_")) + len(
        _URL_SETTINGS
    ) and all(config.get(key) is value for key, value in settings)


def _may_cache() -> bool:
    return (
        request.method == "GET"
        and not current_app.jinja_env.auto_reload
        and "_flashes" not in session
        and language_switch.carried() is None
        and sessions.current() is None
    )


def _fill(cache: PageCache, template: str, context: dict) -> _Page | None:
    """The page rendered with sentinels for the CSRF token and the nonce."""
    asked = set()

    def csrf_token() -> str:
        asked.add("csrf")
        return cache.csrf_sentinel

    def nonce() -> str:
        asked.add("nonce")
        return cache.nonce_sentinel

    before = set(request.environ)
    text = render_template(
        template, **context, csrf_token=csrf_token, industry_auth_csp_nonce=nonce
    )
    environ = tuple(
        (name, value)
        for name, value in request.environ.items()
        if name not in before and name.startswith(_ENVIRON_PREFIX)
    )
    csrf, has_nonce = cache.csrf_sentinel in text, cache.nonce_sentinel in text
    if ("csrf" in asked) != csrf or ("nonce" in asked) != has_nonce:
        return None  # a template changed a sentinel on its way (a filter): no copy can be made
    settings = _settings()
    return _Page(text=text, csrf=csrf, nonce=has_nonce, environ=environ, config=settings)


def static_chain(
    env: Environment,
    template: str,
    *,
    base_template: str,
    names,
    host_names: frozenset[str] = frozenset(),
) -> bool:
    """Whether ``template``, with everything it extends, includes and imports, reads only
    ``names`` (the context fixed by the page's key), the names it sets itself, and of
    ``request`` only what its address fixes. ``industry_auth_base_template`` resolves to
    ``base_template``; any other template named by a variable fails the check."""
    seen: set[str] = set()
    todo = [template]
    read: set[str] = set()
    own: set[str] = set(_JINJA_NAMES)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            source = env.loader.get_source(env, name)[0]
        except TemplateNotFound:
            return False
        tree = env.parse(source, name)
        # A host's filter or test may read the session, ``g`` or the user: not cached.
        for node in tree.find_all((nodes.Filter, nodes.Test)):
            table = env.filters if isinstance(node, nodes.Filter) else env.tests
            if node.name not in table or not _trusted(table[node.name]):
                return False
        for node in tree.find_all(nodes.Name):
            (read if node.ctx == "load" else own).add(node.name)
        for node in tree.find_all((nodes.Import, nodes.FromImport, nodes.Macro)):
            if isinstance(node, nodes.Import):
                own.add(node.target)
            elif isinstance(node, nodes.FromImport):
                own |= {n[1] if isinstance(n, tuple) else n for n in node.names}
            else:
                own.add(node.name)
        for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
            target = node.template
            targets = target.items if isinstance(target, nodes.List | nodes.Tuple) else [target]
            for each in targets:
                if isinstance(each, nodes.Const) and isinstance(each.value, str):
                    todo.append(each.value)
                elif isinstance(each, nodes.Name) and each.name == "industry_auth_base_template":
                    todo.append(base_template)
                else:
                    return False
        uses = sum(1 for n in tree.find_all(nodes.Name) if n.name == "request")
        fixed = sum(
            1
            for n in tree.find_all(nodes.Getattr)
            if isinstance(n.node, nodes.Name)
            and n.node.name == "request"
            and n.attr in _REQUEST_ATTRIBUTES
        )
        if uses != fixed:
            return False
    # A name the chain sets for itself is its own, unless it is a global's (``session``…):
    # those count only if allowed.
    own -= set(env.globals)
    if read & host_names:
        return False
    return read <= own | set(names) | _PURE_GLOBALS | _UNSET_NAMES
