"""The login page rendered once per locale and address (``page_cache``): each response still
carries its session's own CSRF token and a fresh CSP nonce, the applicant's language, the
window ``?type=`` asks for, ``next``, flashed messages and failures, and the host's templates;
each app keeps its own pages; anything an address does not fix is rendered every time."""

from __future__ import annotations

import re

import pytest

from flask_industry_auth.page_cache import MAX_PAGES
from flask_industry_auth.state import get_state
from tests.helpers import Portal, text_of

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
WRONG = {"business_id": "04595257", "account_id": "NOSUCHID", "password": "not the password"}


def tokens(page: str) -> set[str]:
    return set(TOKEN.findall(page))


def without(page: str, **values: str) -> str:
    """``page`` with its per-request values (the CSRF token, a nonce) replaced by names."""
    page = TOKEN.sub('name="csrf_token" value="TOKEN"', page)
    for name, value in values.items():
        page = page.replace(value, name)
    return page


def cached_pages(app) -> int:
    return len(get_state(app).page_cache)


def write(folder, name: str, source: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")


def test_two_sessions_get_their_own_token_and_each_is_checked_on_post(app):
    first, second = app.test_client(), app.test_client()
    first.get("/account/login")  # fills the cache
    assert cached_pages(app) == 1
    (token_a,) = tokens(text_of(first.get("/account/login")))
    (token_b,) = tokens(text_of(second.get("/account/login")))
    assert cached_pages(app) == 1  # both from the one page
    assert token_a != token_b
    assert first.get_cookie("session").value != second.get_cookie("session").value
    # Each token logs in (here: fails as a wrong password, not as a refused CSRF) only with
    # its own session.
    for client, token in ((first, token_a), (second, token_b)):
        response = client.post("/account/login", data={**WRONG, "csrf_token": token})
        assert response.status_code == 200
        assert 'role="alert"' in text_of(response)
    assert first.post("/account/login", data={**WRONG, "csrf_token": token_b}).status_code == 400
    assert second.post("/account/login", data={**WRONG, "csrf_token": ""}).status_code == 400


def test_a_host_layouts_nonce_is_fresh_in_every_cached_response(make, tmp_path):
    write(
        tmp_path,
        "host/base.html",
        '<html><head><script nonce="{{ industry_auth_csp_nonce() }}">ok()</script></head>'
        "<body>{% block content %}{% endblock %}</body></html>",
    )
    app = make(INDUSTRY_AUTH_BASE_TEMPLATE="host/base.html")
    app.template_folder = str(tmp_path)
    client = app.test_client()
    nonces = []
    for _ in range(3):
        response = client.get("/account/login")
        (nonce,) = re.findall(r'<script nonce="([^"]+)">', text_of(response))
        assert f"'nonce-{nonce}'" in response.headers["Content-Security-Policy"]
        nonces.append(nonce)
    assert cached_pages(app) == 1
    assert len(set(nonces)) == 3
    assert get_state(app).page_cache.nonce_sentinel not in text_of(response)


def test_each_locale_has_its_own_page(app, client):
    portal = Portal(app, client, None)
    assert "非憑證帳號登入" in text_of(client.get("/account/login"))
    portal.post("/account/language", {"locale": "en"})
    page = text_of(client.get("/account/login"))
    assert "Log in with a non-certificate account" in page
    assert "非憑證帳號登入" not in page
    assert '<html lang="en">' in page
    assert cached_pages(app) == 2
    # Another browser still gets the default language.
    other = text_of(app.test_client().get("/account/login"))
    assert "非憑證帳號登入" in other and '<html lang="zh-Hant-TW">' in other


def test_each_window_is_its_own_page_with_its_card_service_in_the_policy(app):
    client = app.test_client()
    for _ in range(2):  # filled, then from the cache
        password = client.get("/account/login")
        business = client.get("/account/login?type=business")
        citizen = client.get("/account/login?type=citizen")
    assert cached_pages(app) == 3
    assert "data-ia-sign" not in text_of(password)
    assert re.search(r'type=business"[^>]*aria-current="page"', text_of(business))
    assert re.search(r'type=citizen"[^>]*aria-current="page"', text_of(citizen))
    business_card, citizen_card = "請將公司的工商憑證", "請將您的自然人憑證"
    assert business_card in text_of(business) and citizen_card not in text_of(business)
    assert citizen_card in text_of(citizen) and business_card not in text_of(citizen)
    for card in (business, citizen):
        assert 'data-ia-sign="login"' in text_of(card)
        assert len(tokens(text_of(card))) == 1  # the card form's and the switch's: one token
        # The card form's script reads the local signing service: the policy allows it on
        # every copy, as it did on the render that filled the cache.
        assert (
            "img-src 'self' data: http://localhost:61161" in card.headers["Content-Security-Policy"]
        )
    assert "localhost:61161" not in password.headers["Content-Security-Policy"]


def test_next_is_kept_in_the_forms_and_escaped_and_the_pages_are_bounded(app):
    client = app.test_client()
    page = text_of(client.get("/account/login?next=/account/profile"))
    assert 'action="/account/login?next=/account/profile"' in page
    hostile = client.get('/account/login?next="><script>alert(1)</script>')
    raw = hostile.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in raw
    assert "%22%3E%3Cscript%3Ealert(1)%3C/script%3E" in raw
    # The query string is the visitor's: a flood of addresses does not grow the cache.
    for n in range(MAX_PAGES + 10):
        page = text_of(client.get(f"/account/login?next=/account/{n}"))
        assert f'action="/account/login?next=/account/{n}"' in page
    assert cached_pages(app) == MAX_PAGES
    assert 'action="/account/login"' in text_of(client.get("/account/login"))


def test_a_flashed_message_and_a_failure_are_shown(app, client):
    portal = Portal(app, client, None)
    client.get("/account/login")
    failure = portal.post("/account/login", WRONG)  # a POST: rendered, never cached
    assert 'role="alert"' in text_of(failure)
    assert WRONG["account_id"] not in text_of(client.get("/account/login"))
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "A MESSAGE FOR THIS BROWSER")]
    assert "A MESSAGE FOR THIS BROWSER" in text_of(client.get("/account/login"))
    assert "A MESSAGE FOR THIS BROWSER" not in text_of(client.get("/account/login"))  # once
    assert cached_pages(app) == 1


def test_the_values_a_language_switch_kept_fill_the_form(app, client):
    portal = Portal(app, client, None)
    client.get("/account/login")
    portal.post(
        "/account/language?next=/account/login",
        {"locale": "en", "business_id": "04595257", "account_id": "TYPED1"},
    )
    page = text_of(client.get("/account/login"))
    assert 'value="TYPED1"' in page and "Log in with a non-certificate account" in page
    assert 'value="TYPED1"' not in text_of(client.get("/account/login"))  # once


def test_a_logged_in_applicant_gets_the_page_rendered_for_them(app, client, smtp):
    portal = Portal(app, client, smtp)
    anonymous = text_of(app.test_client().get("/account/login"))
    portal.active_account()
    page = text_of(client.get("/account/login"))
    assert "industry_auth_session.js" in page and "industry_auth_session.js" not in anonymous
    assert cached_pages(app) == 1


def test_a_host_override_is_served_as_it_renders(make, tmp_path):
    write(
        tmp_path,
        "industry_auth/login.html",
        '{% extends "industry_auth/packaged/login.html" %}'
        "{% block page_title %}AGENCY LOGIN{% endblock %}",
    )
    app = make()
    app.template_folder = str(tmp_path)
    client = app.test_client()
    for _ in range(2):
        page = text_of(client.get("/account/login"))
        assert "<h1>AGENCY LOGIN</h1>" in page and "非憑證帳號登入" not in page
    assert cached_pages(app) == 1


def test_two_apps_in_one_process_keep_their_own_pages(make, tmp_path):
    write(tmp_path / "a", "host/base.html", "APP A {% block content %}{% endblock %}")
    write(tmp_path / "b", "host/base.html", "APP B {% block content %}{% endblock %}")
    first = make(INDUSTRY_AUTH_BASE_TEMPLATE="host/base.html")
    first.template_folder = str(tmp_path / "a")
    second = make(INDUSTRY_AUTH_BASE_TEMPLATE="host/base.html")
    second.template_folder = str(tmp_path / "b")
    assert get_state(first).page_cache is not get_state(second).page_cache
    for _ in range(2):
        assert text_of(first.test_client().get("/account/login")).startswith("APP A")
        assert text_of(second.test_client().get("/account/login")).startswith("APP B")
    assert cached_pages(first) == cached_pages(second) == 1


@pytest.mark.parametrize(
    "layout",
    [
        "{{ request.headers.get('X-Greeting', '') }}",
        "{{ request.cookies.get('banner', '') }}",
        "{{ session.get('greeting', '') }}",
        "{% set r = request %}{{ r.headers.get('X-Greeting', '') }}",
    ],
)
def test_a_template_reading_what_an_address_does_not_fix_is_rendered_each_time(
    make, tmp_path, layout
):
    write(tmp_path, "host/base.html", layout + "{% block content %}{% endblock %}")
    app = make(INDUSTRY_AUTH_BASE_TEMPLATE="host/base.html")
    app.template_folder = str(tmp_path)
    client = app.test_client()
    for greeting in ("HELLO-ONE", "HELLO-TWO"):
        client.set_cookie("banner", greeting)
        with client.session_transaction() as session:
            session["greeting"] = greeting
        page = text_of(client.get("/account/login", headers={"X-Greeting": greeting}))
        assert page.startswith(greeting)
    assert cached_pages(app) == 0


@pytest.mark.parametrize(
    "query", ["", "?type=business", "?type=citizen", "?next=/account/profile&type=password"]
)
@pytest.mark.parametrize("locale", ["zh_Hant_TW", "en"])
def test_a_cached_page_is_the_rendered_page_but_for_its_token(make, locale, query):
    cached = make()
    rendered = make(TEMPLATES_AUTO_RELOAD=True)  # reloading templates: never cached
    pages = []
    for app in (cached, rendered):
        client = app.test_client()
        with client.session_transaction() as session:
            session["_industry_auth_locale"] = locale
        for _ in range(2):
            response = client.get(f"/account/login{query}")
        assert response.status_code == 200
        (token,) = tokens(text_of(response))
        assert (
            client.post("/account/login", data={**WRONG, "csrf_token": token}).status_code == 200
        )  # the page's token is its session's
        pages.append((response.get_data(as_text=True), dict(response.headers)))
    assert cached_pages(cached) == 1 and cached_pages(rendered) == 0
    (cached_page, cached_headers), (rendered_page, rendered_headers) = pages
    assert without(cached_page) == without(rendered_page)
    assert cached_headers == rendered_headers


def test_a_setting_changed_at_runtime_renders_the_page_again(app):
    client = app.test_client()
    assert "localhost:61161" in text_of(client.get("/account/login?type=business"))
    app.config["INDUSTRY_AUTH_HIPKI_URL"] = "http://127.0.0.1:61999"
    response = client.get("/account/login?type=business")
    assert "127.0.0.1:61999" in text_of(response) and "localhost:61161" not in text_of(response)
    assert "http://127.0.0.1:61999" in response.headers["Content-Security-Policy"]
    assert cached_pages(app) == 1  # the old page replaced


@pytest.mark.parametrize(
    "layout",
    [
        # A host's value under a name the package's layout also sets for itself.
        "{% set account = account %}{{ account }}",
        "{{ messages }}",
        # A host's filter, which may read anything.
        "{{ request.path|host_greeting }}",  # (of a constant, Jinja would fold it)
    ],
)
def test_a_host_layout_reading_its_own_per_visitor_values_is_rendered_each_time(
    make, tmp_path, layout
):
    write(tmp_path, "host/base.html", layout + "{% block content %}{% endblock %}")
    app = make(INDUSTRY_AUTH_BASE_TEMPLATE="host/base.html")
    app.template_folder = str(tmp_path)
    greeting = {"now": ""}

    @app.context_processor
    def host_values():  # the host's notices for whoever is asking
        return {"account": greeting["now"], "messages": greeting["now"]}

    app.jinja_env.filters["host_greeting"] = lambda value: greeting["now"]
    client = app.test_client()
    for each in ("HELLO-ONE", "HELLO-TWO"):
        greeting["now"] = each
        assert text_of(client.get("/account/login")).startswith(each)
    assert cached_pages(app) == 0


def test_a_forged_host_header_is_not_served_to_other_visitors(make, tmp_path):
    write(
        tmp_path,
        "host/base.html",
        '<link rel="canonical" href="{{ url_for(request.endpoint, _external=True) }}">'
        "{% block content %}{% endblock %}",
    )
    app = make(INDUSTRY_AUTH_BASE_TEMPLATE="host/base.html")
    app.template_folder = str(tmp_path)
    forged = text_of(app.test_client().get("/account/login", headers={"Host": "evil.example"}))
    assert "http://evil.example/account/login" in forged
    honest = text_of(app.test_client().get("/account/login"))
    assert "evil.example" not in honest and "http://localhost/account/login" in honest
