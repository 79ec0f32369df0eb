"""The manual's words, in Taiwan usage, everywhere applicants and staff read Chinese: one term
for the account id (電子身分帳號, with the manual's 電子身分證號 beside it where the manual says
so), one verb for activation (啟用, the manual's [啟用電子身分證]), 通關密語, 臺, and full-width
punctuation in Chinese text. Scans the zh_Hant_TW catalog, the templates and the docs, so that a
half-width colon or a banned word cannot come back."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po

from flask_industry_auth.i18n import catalog_dir
from flask_industry_auth.mail import MAIL_KINDS, render_mail
from tests.helpers import Portal, text_of
from tests.hostapp import make_app
from tests.test_overrides import MAIL_CONTEXT, an_account

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates" / "industry_auth"

#: A CJK ideograph or full-width punctuation mark.
CJK = "[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]"
HALF_WIDTH = r"[:,;()!?]"
#: In a Chinese msgstr: half-width punctuation touching Chinese text on either side.
TOUCHING = re.compile(rf"{CJK}[ \t]*{HALF_WIDTH}|{HALF_WIDTH}[ \t]*{CJK}|{CJK}\.")
#: In a template: half-width punctuation between Chinese characters.
BETWEEN = re.compile(rf"{CJK}[ \t]*{HALF_WIDTH}[ \t]*{CJK}")
#: Words Taiwan usage (or this project's one vocabulary) does not use, and what to use instead.
BANNED = {
    "通關片語": "通關密語",
    "啟動": "啟用 (the manual's [啟用電子身分證]); for software 執行 or 開啟",
    "台": "臺",
    "身份": "身分",
}
#: A translated label followed by a half-width colon or parenthesis in a template: in Chinese
#: the punctuation lands beside Chinese text. Use "%(label)s: %(value)s" (translated with "："):
#: the package's ``_`` returns text that Jinja escapes as a whole, so no markup in the value.
LABEL_THEN_PUNCTUATION = re.compile(r"""_\(\s*["'][^"']*["']\s*\)\s*\}\}\s?[:(,]""")


def _chinese_catalog() -> list[tuple[str, str]]:
    path = catalog_dir() / "zh_Hant_TW" / "LC_MESSAGES" / "industry_auth.po"
    with open(path, "rb") as po:
        catalog = read_po(po)  # obsolete (#~) entries are not read
    pairs = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        pairs += [(ids[0], text) for text in strings if text]
    return pairs


def _templates() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*") if p.suffix in {".html", ".txt"})


def _without_comments(source: str) -> str:
    return re.sub(r"\{#.*?#\}", "", source, flags=re.S)


def test_the_scanners_catch_what_they_are_for():
    # Guards the guards: each pattern matches the mistake the issue reported.
    assert TOUCHING.search("統一編號: 12345678")
    assert TOUCHING.search("排入時間 (UTC)")
    assert TOUCHING.search("已停用(廢止)")
    assert TOUCHING.search("帳號.")
    assert not TOUCHING.search("至少 %(min)d 個字元，通關密語（passphrase）。")
    assert BETWEEN.search("電子身分帳號(電子身分證號)")
    assert not BETWEEN.search("Business certificate (工商憑證) and citizen certificate")
    assert LABEL_THEN_PUNCTUATION.search('{{ _("Reason") }}: {{ reason }}')
    assert not LABEL_THEN_PUNCTUATION.search('{{ _("%(label)s: %(value)s", label=_("Reason")) }}')


def test_chinese_catalog_uses_full_width_punctuation():
    offending = [(msgid, text) for msgid, text in _chinese_catalog() if TOUCHING.search(text)]
    assert offending == []


@pytest.mark.parametrize("word", sorted(BANNED))
def test_chinese_catalog_avoids_banned_words(word):
    offending = [(msgid, text) for msgid, text in _chinese_catalog() if word in text]
    assert offending == [], f"use {BANNED[word]}"


def test_templates_use_full_width_punctuation_in_chinese_text():
    offending = [
        (path.name, match.group())
        for path in _templates()
        for match in BETWEEN.finditer(_without_comments(path.read_text("utf-8")))
    ]
    assert offending == []


def test_templates_put_no_half_width_punctuation_after_a_translated_label():
    offending = [
        (path.name, match.group())
        for path in _templates()
        for match in LABEL_THEN_PUNCTUATION.finditer(path.read_text("utf-8"))
    ]
    assert offending == []


def _quoting_sources() -> list[Path]:
    """Where Chinese is quoted outside the catalog: templates, code comments, docs."""
    package = ROOT / "flask_industry_auth"
    return [
        *_templates(),
        *sorted(package.rglob("*.py")),
        *sorted((package / "static").glob("*.js")),
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
    ]


@pytest.mark.parametrize("word", ["通關片語", "啟動", "身份"])
def test_templates_code_and_docs_avoid_banned_words(word):
    offending = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _quoting_sources()
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if word in line
    ]
    assert offending == [], f"use {BANNED[word]}"


def test_the_manuals_other_account_term_stands_beside_ours_where_the_manual_uses_it(make, smtp):
    # The manual calls the account id 電子身分證號 in its activation and forgot-password
    # steps, 電子身分帳號 at login: those pages show both, the login page ours alone.
    app = make()
    client = app.test_client()
    portal = Portal(app, client, smtp)
    both = "電子身分帳號（電子身分證號）"
    assert both in text_of(client.get("/account/forgot-password"))
    login = text_of(client.get("/account/login"))
    assert "電子身分帳號" in login and "電子身分證號" not in login
    details = portal.apply_and_read_mail()
    assert both in text_of(client.get(urlsplit(details["link"]).path, follow_redirects=True))


def test_labels_in_chinese_mail_take_a_full_width_colon(make, smtp):
    # A second application with the same details mails the existing account's id.
    app = make()
    portal = Portal(app, app.test_client(), smtp)
    first = portal.apply_and_read_mail()
    portal.apply(contact_person="陳大同")  # not the same submit again: a second application
    mail = portal.wait_mails(2)[1]
    assert f"電子身分帳號：{first['account_id']}" in mail.text
    assert f"電子身分帳號：{first['account_id']}" in mail.html
    assert not TOUCHING.search(mail.text)


@pytest.mark.parametrize(
    "kind",
    sorted(MAIL_KINDS),
)
def test_every_chinese_mail_uses_full_width_punctuation(tmp_path, kind):
    # Each mail kind as an applicant reads it in Chinese, both parts.
    app = make_app(f"sqlite:///{tmp_path / 'mail.sqlite'}", 0)
    account = an_account(business_name="經濟部測試股份有限公司", locale="zh_Hant_TW")
    context = {
        **MAIL_CONTEXT[kind],
        **({"reason": "地址不完整"} if "reason" in MAIL_CONTEXT[kind] else {}),
    }
    with app.test_request_context():
        subject, text, html = render_mail(kind, "zh_Hant_TW", account=account, **context)
    html_text = re.sub(r"<[^>]+>", "", html)
    offending = [m.group() for part in (subject, text, html_text) for m in TOUCHING.finditer(part)]
    assert offending == []
