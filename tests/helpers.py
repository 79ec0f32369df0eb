"""Drive the package through its pages, with real CSRF tokens and real mail.

The applicant's steps and the mail reading are :mod:`flask_industry_auth.testkit`'s (scripts and
benchmarks use them too); :class:`Portal` adds a look into the tests' host database.
"""

from __future__ import annotations

from html import unescape

from flask_industry_auth.testkit import (
    OWN_PASSWORD,
    VALID,
    Applicant,
    activation_details,
    temporary_password,
)
from tests.hostapp import auth, db

__all__ = ["OWN_PASSWORD", "VALID", "Portal", "activation_details", "temporary_password", "text_of"]


class Portal(Applicant):
    """An applicant's browser on the tests' host (``tests.hostapp``), and its accounts."""

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


def text_of(response) -> str:
    return unescape(response.get_data(as_text=True))
