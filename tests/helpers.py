"""Drive the package through its pages, with real CSRF tokens and real mail."""

from __future__ import annotations

import re
import time
from html import unescape
from urllib.parse import urlsplit

from tests.hostapp import auth, db

VALID = {
    "business_name": "經濟部測試股份有限公司",
    "business_id": "04595257",
    "responsible_person": "王大明",
    "contact_person": "林小華",
    "phone": "02-2311-2345#123",
    "address": "臺北市中正區福州街15號",
    "email": "applicant@example.com",
}
OWN_PASSWORD = "correct horse battery staple 2026"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Portal:
    """An applicant's browser, minus the browser."""

    def __init__(self, app, client, smtp) -> None:
        self.app, self.client, self.smtp = app, client, smtp

    # -- plumbing ---------------------------------------------------------------------
    def csrf(self) -> str:
        page = self.client.get("/account/login", follow_redirects=True).get_data(as_text=True)
        return _CSRF.search(page).group(1)

    def post(self, url: str, data: dict | None = None, **kwargs):
        return self.client.post(url, data={"csrf_token": self.csrf(), **(data or {})}, **kwargs)

    def wait_mails(self, count: int, timeout: float = 15.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.smtp.mails) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.smtp.mails) >= count, f"expected {count} mails, got {self.smtp.mails}"
        return self.smtp.mails

    def settle(self) -> list:
        """Wait until every mail queued so far has been handed to SMTP; return the mails."""
        from flask_industry_auth.mail import wait_for_delivery

        with self.app.app_context():
            wait_for_delivery()
        return self.smtp.mails

    def forget_mails(self) -> None:
        self.settle()
        self.smtp.mails.clear()

    def account(self, account_id: str):
        with self.app.app_context():
            Account = auth.account_model
            account = db.session.scalar(db.select(Account).where(Account.account_id == account_id))
            if account is not None:
                db.session.expunge(account)
            return account

    def set_account_type(self, account_id: str, account_type: str) -> None:
        """Turn an account into another type (certificate login itself is not needed)."""
        with self.app.app_context():
            Account = auth.account_model
            account = db.session.scalar(db.select(Account).where(Account.account_id == account_id))
            account.account_type = account_type
            db.session.commit()

    def accounts(self) -> list:
        with self.app.app_context():
            return db.session.scalars(db.select(auth.account_model)).all()

    # -- the applicant's steps --------------------------------------------------------
    def apply(self, **fields):
        data = {**VALID, **fields}
        confirm = self.post("/account/register", {**data, "action": "next"})
        assert confirm.status_code == 200
        assert "申請帳號" in confirm.get_data(as_text=True), confirm.get_data(as_text=True)
        return self.post("/account/register", {**data, "action": "apply"})

    def apply_and_read_mail(self, **fields) -> dict:
        before = len(self.smtp.mails)
        response = self.apply(**fields)
        assert response.status_code == 302
        mail = self.wait_mails(before + 1)[before]
        return activation_details(mail)

    def activate(self, link: str):
        path = urlsplit(link).path
        self.client.get(path)  # moves the token into the session
        return self.post("/account/activate/confirm")

    def login(self, business_id: str, account_id: str, password: str, next_url: str = ""):
        url = "/account/login" + (f"?next={next_url}" if next_url else "")
        return self.post(
            url, {"business_id": business_id, "account_id": account_id, "password": password}
        )

    def logout(self):
        return self.post("/account/logout")

    def change_password(self, new: str, old: str | None = None, confirm: str | None = None):
        data = {"new_password": new, "confirm_password": new if confirm is None else confirm}
        if old is not None:
            data["old_password"] = old
        return self.post("/account/change-password", data)

    def active_account(self, **fields) -> dict:
        """Apply, activate, first login, choose ``OWN_PASSWORD``; still logged in."""
        details = self.apply_and_read_mail(**fields)
        assert self.activate(details["link"]).status_code == 302
        business_id = fields.get("business_id", VALID["business_id"])
        response = self.login(business_id, details["account_id"], details["password"])
        assert response.headers["Location"].endswith("/account/change-password")
        response = self.change_password(OWN_PASSWORD)
        assert response.status_code == 302, response.get_data(as_text=True)
        details.update(business_id=business_id, password=OWN_PASSWORD)
        return details


def activation_details(mail) -> dict:
    text = mail.text
    return {
        "account_id": re.search(r"電子身分帳號: (\S+)", text).group(1),
        "password": re.search(r"臨時密碼: (\S+)", text).group(1),
        "link": re.search(r"(https?://\S+/activate/\S+)", text).group(1),
        "mail": mail,
    }


def temporary_password(mail) -> str:
    return re.search(r"臨時密碼: (\S+)", mail.text).group(1)


def text_of(response) -> str:
    return unescape(response.get_data(as_text=True))
