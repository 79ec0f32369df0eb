"""The activation mail (seed 一.2): account id, temporary password and the link."""

import re

from argon2 import PasswordHasher

from flask_industry_auth.passwords import READABLE_ALPHABET, token_hash
from tests.hostapp import auth, db


def test_mail_holds_account_id_password_and_link_in_both_parts(portal):
    details = portal.apply_and_read_mail()
    mail = details["mail"]
    assert mail.recipients == ["applicant@example.com"]
    assert mail.subject == "啟用您的電子身分證"
    assert "[啟用電子身分證]" in mail.html
    for part in (mail.text, mail.html):
        assert details["account_id"] in part
        assert details["password"] in part
    assert details["link"] in mail.html
    assert details["link"].startswith("https://portal.example.gov.tw/account/activate/")


def test_account_id_is_short_and_unambiguous(portal):
    details = portal.apply_and_read_mail()
    assert re.fullmatch(f"[{READABLE_ALPHABET}]{{8}}", details["account_id"])
    assert not set("0O1IL") & set(details["account_id"])


def test_only_hashes_are_stored(portal, app):
    details = portal.apply_and_read_mail()
    token = details["link"].rsplit("/", 1)[1]
    account = portal.account(details["account_id"])
    assert account.password_hash is None  # the applicant has not chosen one yet
    assert account.temp_password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(account.temp_password_hash, details["password"])
    assert account.activation_token_hash == token_hash(token)
    with app.app_context():
        # Nothing in the database holds the password or the token in clear.
        for table in auth.models.tables:
            for row in db.session.execute(db.select(table)).all():
                flat = " ".join(str(value) for value in row)
                assert details["password"] not in flat
                assert token not in flat


def test_link_comes_from_configuration_not_the_host_header(portal):
    csrf = portal.csrf()
    from tests.helpers import VALID

    # The attacker's request carries a valid session, only the Host differs.
    portal.client.set_cookie(
        "session", portal.client.get_cookie("session").value, domain="evil.example"
    )
    response = portal.client.post(
        "/account/register",
        data={**VALID, "action": "apply", "csrf_token": csrf},
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    )
    assert response.status_code == 302
    mail = portal.wait_mails(1)[0]
    assert "evil.example" not in mail.text + mail.html
    assert "https://portal.example.gov.tw/account/activate/" in mail.text


def test_mail_in_english_when_the_applicant_chose_english(portal):
    portal.post("/account/language", {"locale": "en", "next": "/account/register"})
    from tests.helpers import VALID

    portal.post("/account/register", {**VALID, "action": "apply"})
    mail = portal.wait_mails(1)[0]
    assert mail.subject == "Activate your electronic ID"
    assert "Temporary password:" in mail.text
    assert portal.accounts()[0].locale == "en"


def test_generator_is_overridable_by_the_host(make, smtp):
    from flask_industry_auth import AccountAdapter
    from tests.helpers import Portal

    class AgencyAdapter(AccountAdapter):
        def generate_account_id(self):
            return "IDA" + super().generate_account_id()[:5]

    app = make()
    original = auth.adapter
    app.extensions["industry_auth"].adapter = AgencyAdapter()
    try:
        details = Portal(app, app.test_client(), smtp).apply_and_read_mail()
    finally:
        app.extensions["industry_auth"].adapter = original
    assert details["account_id"].startswith("IDA") and len(details["account_id"]) == 8
