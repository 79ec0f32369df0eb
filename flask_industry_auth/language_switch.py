"""What a language switch keeps of the form it was pressed on, without JavaScript.

The switch's buttons belong to the page's form (``_language_switch.html``: the HTML ``form``
and ``formaction`` attributes), so the page's fields come along to ``set_language``. Their
non-secret ones (``forms.CARRIED_FIELDS``; never a password, a token or a signature) are kept
in the session (:func:`keep`) for the next GET of that page only, within
:data:`CARRIED_SECONDS` (:func:`take`), with whether it was the registration's confirmation
screen; that page's view fills its form with them (:func:`filled`). Nothing is validated or
stored on the way. A value longer than any form takes is not kept; its field says so instead.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

from flask import current_app, g, request, session
from werkzeug.datastructures import MultiDict
from wtforms.validators import Length

from . import forms
from .i18n import gettext as _

#: Session key holding the non-secret values of the form a language switch came from.
CARRIED_FORM_KEY = "_industry_auth_carried_form"
#: The session cookie's size a language switch keeps within (browsers refuse over 4093 bytes,
#: its name and attributes included).
CARRIED_BUDGET = 3800
#: Kept values not taken by then (the redirect never followed) are dropped unread.
CARRIED_SECONDS = 600
_TAKEN = "_industry_auth_carried_form"


def keep(form: MultiDict, target: str) -> None:
    """Keep the non-secret values of ``form`` for the next GET of ``target``'s page."""
    values, too_long = {}, []
    for name, longest in forms.CARRIED_FIELDS.items():
        value = form.get(name)
        if value is None:
            continue
        if len(value) > longest:
            too_long.append(name)
        else:
            values[name] = value
    if not (values or too_long):
        return
    carried = {
        "path": urlsplit(target).path,
        "values": values,
        "too_long": too_long,
        "confirm": form.get("step") == "confirm",
        "at": int(time.time()),
    }
    session[CARRIED_FORM_KEY] = carried
    # A cookie session holds bytes (a CJK character is 6 of them in its JSON, one outside the
    # BMP 12): the largest values give way, their fields saying so, until it fits.
    while values and _cookie_size() > CARRIED_BUDGET:
        largest = max(values, key=lambda name: len(json.dumps(values[name])))
        del values[largest]
        too_long.append(largest)
        session[CARRIED_FORM_KEY] = carried


def _cookie_size() -> int:
    """The session cookie's size now, or 0 for a session kept elsewhere (Flask-Session)."""
    serializer = getattr(current_app.session_interface, "get_signing_serializer", None)
    signer = serializer(current_app) if serializer else None
    return len(signer.dumps(dict(session))) if signer else 0


def take() -> None:
    """The first GET after a language switch takes the values it kept, whatever the page:
    they fill in the form of the page they came from, and no other, once (a ``before_request``
    of the blueprint)."""
    if (
        request.method == "GET"
        and request.endpoint != "industry_auth.static"
        and CARRIED_FORM_KEY in session
    ):
        kept = session.pop(CARRIED_FORM_KEY)
        if (
            isinstance(kept, dict)
            and kept.get("path") == request.path
            and isinstance(kept.get("at"), int)
            and 0 <= time.time() - kept["at"] <= CARRIED_SECONDS
        ):
            setattr(g, _TAKEN, kept)


def carried() -> dict | None:
    """What this request took of a language switch (see :func:`take`), or None."""
    return g.get(_TAKEN)


def filled(form_class, kept: dict | None = None):
    """``form_class`` filled in with the values a language switch kept for this page (not
    validated), or None when there are none."""
    kept = kept or carried()
    if kept is None:
        return None
    form = form_class(formdata=MultiDict(kept["values"]))
    for name in kept["too_long"]:
        if name in form:
            longest = min(
                (v.max for v in form[name].validators if isinstance(v, Length)),
                default=forms.CARRIED_FIELDS[name],
            )
            form[name].errors = [_("Use at most %(max)d characters.", max=longest)]
    return form
