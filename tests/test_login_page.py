"""The login page as the manual's 登入畫面: three login types offered as labelled icons (非憑證帳號,
工商憑證, 自然人憑證), each opening its own window (``/login?type=password|business|citizen``),
the password login by default; failures and ``next`` land in the right window."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.helpers import Portal, text_of

LABELS = {"password": "非憑證帳號", "business": "工商憑證", "citizen": "自然人憑證"}


def _choices(html: str) -> dict[str, tuple[str, bool]]:
    """Each login-type link: type → (its text label, whether it is the chosen one)."""
    found = {}
    for attributes, inner in re.findall(
        r'<a class="ia-login-type"([^>]*)>(.*?)</a>', html, flags=re.S
    ):
        kind = re.search(r"type=(\w+)", attributes).group(1)
        assert re.search(r'<svg[^>]*aria-hidden="true"', inner), "an icon, hidden from readers"
        label = unescape(re.sub(r"<[^>]+>", "", inner)).strip()
        found[kind] = (label, 'aria-current="page"' in attributes)
    return found


def _chosen(html: str) -> str:
    (chosen,) = [kind for kind, (_, current) in _choices(html).items() if current]
    return chosen


def _sign_action(html: str) -> str:
    form = re.search(r'<form method="post" action="([^"]*)" class="ia-certificate"', html)
    return unescape(form[1])


@pytest.fixture
def portal(app, client, smtp):
    return Portal(app, client, smtp)


def test_three_labelled_login_types_and_the_password_window_by_default(client):
    html = text_of(client.get("/account/login"))
    choices = _choices(html)
    assert {kind: label for kind, (label, _) in choices.items()} == LABELS
    assert _chosen(html) == "password"
    assert 'name="password"' in html and 'autocomplete="current-password"' in html
    # No card form and no HiPKI script: the password login needs no JavaScript.
    assert "data-ia-sign" not in html and "industry_auth_hipki.js" not in html


@pytest.mark.parametrize(
    ("kind", "card"),
    [("business", "工商憑證"), ("citizen", "自然人憑證")],
)
def test_each_card_window_names_its_card_and_links_to_its_application(client, kind, card):
    html = text_of(client.get(f"/account/login?type={kind}"))
    assert _chosen(html) == kind
    window = html.split('id="ia-login-window"', 1)[1]
    assert card in window and "PIN" in window
    assert 'href="/account/register/certificate"' in window
    assert f"type={kind}" in _sign_action(html)
    assert 'name="password"' not in html  # the password form is the other window


def test_an_unknown_type_opens_the_default_window(client):
    response = client.get("/account/login?type=%3Cscript%3E")
    assert response.status_code == 200
    assert _chosen(text_of(response)) == "password"


def test_next_is_kept_by_every_window(client):
    html = text_of(client.get("/account/login?type=business&next=/account/profile"))
    for kind in LABELS:
        assert re.search(rf'href="[^"]*type={kind}[^"]*next=/account/profile', html), kind
    assert "next=/account/profile" in _sign_action(html)


def test_a_failed_password_login_stays_in_the_password_window_with_its_warning(portal):
    response = portal.login("04595257", "NOSUCH12", "a wrong password", next_url="/account/profile")
    html = text_of(response)
    assert response.status_code == 200
    assert _chosen(html) == "password"
    assert "登入失敗" in html.split('id="ia-login-window"', 1)[1]
    assert re.search(r'href="[^"]*type=citizen[^"]*next=/account/profile', html)


@pytest.mark.parametrize("kind", ["business", "citizen"])
def test_a_card_failure_lands_in_its_window_with_its_message(portal, kind):
    portal.client.get(f"/account/login?type={kind}")
    response = portal.post(
        f"/account/certificate/login?type={kind}&next=/account/profile", {"signature": "bogus"}
    )
    html = text_of(response)
    assert response.status_code == 200
    assert _chosen(html) == kind
    window = html.split('id="ia-login-window"', 1)[1]
    assert re.search(r'class="ia-alert" role="alert"><p>[^<]+', window)
    assert f"type={kind}" in _sign_action(html) and "next=/account/profile" in _sign_action(html)
