"""Timing tells nothing (ASVS V6.3.8): every login answer for a given password costs the same
argon2 computations whatever the account is, and so does every application, with and without
staff approval. Counted per branch by wrapping the app's hasher (``benchmarks/timing.py``
times the same branches)."""

from __future__ import annotations

import pytest

from flask_industry_auth.flows import operations
from flask_industry_auth.models import BUSINESS_CERTIFICATE
from tests.helpers import OWN_PASSWORD, VALID, temporary_password

WRONG = "wrong password!!"


class Counter:
    """Counts the argon2 computations (``hash`` and ``verify``, dummies included) of ``app``."""

    def __init__(self, app, monkeypatch) -> None:
        self.count = 0
        hasher = app.extensions["industry_auth"].hasher
        for name in ("hash", "verify"):
            original = getattr(hasher, name)
            monkeypatch.setattr(hasher, name, self._counting(original))

    def _counting(self, original):
        def counted(*args, **kwargs):
            self.count += 1
            return original(*args, **kwargs)

        return counted

    def cost(self, action) -> int:
        before = self.count
        action()
        return self.count - before


def _branches(portal, app) -> dict[str, tuple[str, str, str]]:
    """(統一編號, 電子身分帳號, right password) of an account in each login branch."""

    def active(email):
        portal.forget_mails()  # each step reads the mail it caused
        details = portal.active_account(email=email)
        portal.logout()
        return details["account_id"]

    normal = active("normal@example.com")
    locked = active("locked@example.com")
    for _ in range(5):
        portal.login(VALID["business_id"], locked, WRONG)
    staff_locked = active("staff-locked@example.com")
    with app.app_context():
        operations.perform(staff_locked, "lock", actor="staff:test")
    disabled = active("disabled@example.com")
    with app.app_context():
        operations.perform(disabled, "disable", actor="staff:test")
    reset = active("reset@example.com")
    portal.forget_mails()
    portal.post("/account/forgot-password", {"account_id": reset})
    temp = temporary_password(portal.wait_mails(1)[0])
    certificate = active("card@example.com")
    portal.set_account_type(certificate, BUSINESS_CERTIFICATE)
    portal.forget_mails()
    pending = portal.apply_and_read_mail(email="pending@example.com")
    assert portal.account(locked).state == "locked"
    assert portal.account(disabled).state == "disabled"
    assert portal.account(staff_locked).locked_until is None
    assert portal.account(reset).state == "reset"
    assert portal.account(pending["account_id"]).state == "requested"
    business_id = VALID["business_id"]
    return {
        "unknown account id": (business_id, "NOSUCHAC", OWN_PASSWORD),
        "wrong 統一編號": ("22099131", normal, OWN_PASSWORD),
        "unactivated": (business_id, pending["account_id"], pending["password"]),
        "locked": (business_id, locked, OWN_PASSWORD),
        "locked by staff": (business_id, staff_locked, OWN_PASSWORD),
        "disabled": (business_id, disabled, OWN_PASSWORD),
        "temporary password pending (old password)": (business_id, reset, OWN_PASSWORD),
        "temporary password pending (temporary one)": (business_id, reset, temp),
        "certificate account": (business_id, certificate, OWN_PASSWORD),
        "normal": (business_id, normal, OWN_PASSWORD),
    }


def test_every_login_branch_costs_two_hashes(portal, app, monkeypatch):
    branches = _branches(portal, app)
    portal.settle()
    counter = Counter(app, monkeypatch)
    wrong, right, too_long = {}, {}, {}
    for name, (business_id, account_id, _) in branches.items():
        wrong[name] = counter.cost(lambda b=business_id, a=account_id: portal.login(b, a, WRONG))
        too_long[name] = counter.cost(
            lambda b=business_id, a=account_id: portal.login(b, a, "x" * 200)
        )
    for name, (business_id, account_id, password) in branches.items():
        right[name] = counter.cost(
            lambda b=business_id, a=account_id, p=password: portal.login(b, a, p)
        )
        portal.logout()
    assert wrong == dict.fromkeys(branches, 2)
    assert too_long == dict.fromkeys(branches, 2)
    assert right == dict.fromkeys(branches, 2)


def test_the_branches_answer_as_before(portal, app):
    branches = _branches(portal, app)
    outcomes = {}
    for name, (business_id, account_id, password) in branches.items():
        response = portal.login(business_id, account_id, password)
        outcomes[name] = response.status_code
        portal.logout()
    assert outcomes == {
        "unknown account id": 200,
        "wrong 統一編號": 200,
        "unactivated": 200,
        "locked": 200,
        "locked by staff": 200,
        "disabled": 200,
        "temporary password pending (old password)": 302,
        "temporary password pending (temporary one)": 200,  # withdrawn by the old one
        "certificate account": 200,
        "normal": 302,
    }


def test_wrong_passwords_still_count_and_lock_with_two_hashes(portal, account, app, monkeypatch):
    counter = Counter(app, monkeypatch)
    costs = [
        counter.cost(lambda: portal.login(VALID["business_id"], account["account_id"], WRONG))
        for _ in range(7)
    ]
    assert costs == [2] * 7
    stored = portal.account(account["account_id"])
    # Locked at the 5th; the two during the lock count on (they bound the lock's oracle).
    assert stored.state == "locked" and stored.failed_logins == 7


@pytest.mark.parametrize("approval", [False, True])
def test_applications_cost_one_hash_whatever_they_are(make, smtp, monkeypatch, approval):
    from tests.helpers import Portal

    app = make(INDUSTRY_AUTH_REQUIRE_APPROVAL=approval)
    portal = Portal(app, app.test_client(), smtp)
    counter = Counter(app, monkeypatch)
    costs = {
        "new": counter.cost(portal.apply),
        "duplicate": counter.cost(portal.apply),
        "another new": counter.cost(lambda: portal.apply(email="other@example.com")),
    }
    if approval:
        with app.app_context():
            account_id = portal.accounts()[0].account_id
            operations.perform(account_id, "reject", actor="staff:test", reason="incomplete")
        costs["after a rejection"] = counter.cost(portal.apply)
        assert portal.account(account_id).state == "pending_approval"
    assert set(costs.values()) == {1}, costs
    assert len(portal.accounts()) == 2
