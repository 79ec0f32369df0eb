"""One vocabulary of refusals: every code the flows use has its words in both languages, and a
portal rewords any of them through its adapter."""

from __future__ import annotations

from babel.messages.pofile import read_po

from flask_industry_auth import AccountAdapter
from flask_industry_auth.certificates.errors import REASONS
from flask_industry_auth.i18n import catalog_dir
from flask_industry_auth.messages import FIELDS, MESSAGES
from tests.helpers import OWN_PASSWORD, Portal, text_of


def _catalog(locale: str) -> dict[str, str]:
    with open(catalog_dir() / locale / "LC_MESSAGES" / "industry_auth.po", "rb") as po:
        return {m.id: m.string for m in read_po(po) if m.id}


def test_every_message_is_translated():
    chinese = _catalog("zh_Hant_TW")
    assert [text for text in MESSAGES.values() if not chinese.get(text)] == []


def test_every_certificate_reason_has_words_or_the_general_refusal():
    # The reasons an applicant can act on are worded; the rest ("malformed", "bad_signature",
    # ...) are told as the general "could not be verified".
    spoken = set(REASONS) & set(MESSAGES)
    assert {"expired", "revoked", "untrusted", "wrong_card", "wrong_company"} <= spoken
    assert "certificate_failed" in MESSAGES
    assert set(FIELDS) <= set(MESSAGES)


class Worded(AccountAdapter):
    messages = {
        "too_short": {"zh_Hant_TW": "密碼太短：至少 %(min)d 個字。", "en": "Too short (%(min)d)."},
        "login_failed": "Nope.",  # not in any catalog: shown as it is
    }


def test_a_portal_rewords_refusals_through_its_adapter(make, smtp, monkeypatch):
    from tests.hostapp import auth

    monkeypatch.setattr(auth, "adapter", Worded())
    app = make()
    portal = Portal(app, app.test_client(), smtp)
    portal.active_account()
    page = text_of(portal.change_password("short", old=OWN_PASSWORD))
    assert "密碼太短：至少 12 個字。" in page
    portal.logout()
    assert "Nope." in text_of(portal.login("04595257", "NOSUCH12", "whatever password"))


def test_every_refusal_speaks_the_one_vocabulary():
    from flask_industry_auth.flows import activation, operations
    from flask_industry_auth.lifecycle import IllegalTransition, ReasonRequired
    from flask_industry_auth.refusals import CODES, Refused

    assert set(REASONS) <= set(CODES)
    assert {s.value for s in activation.TokenStatus} - {"valid"} <= set(CODES)
    assert set(MESSAGES) - {"login_failed", "certificate_failed"} <= set(CODES)
    for refusal in (
        IllegalTransition("x", "y"),
        ReasonRequired(),
        operations.OperationRefused(),
        operations.AccountNotFound(),
        operations.ReasonRequired(),
    ):
        assert isinstance(refusal, Refused) and refusal.code in CODES
