"""INDUSTRY_AUTH_REQUIRE_APPROVAL (issue 8): applications wait for staff review."""

from __future__ import annotations

import pytest

from flask_industry_auth.admin import AccountAdmin
from flask_industry_auth.lifecycle import PENDING_APPROVAL, REJECTED
from tests.helpers import VALID, Portal, activation_details, text_of
from tests.test_admin import _act


@pytest.fixture
def approving(make, smtp):
    app = make(INDUSTRY_AUTH_REQUIRE_APPROVAL=True)
    AccountAdmin(app, can_access=lambda: True, actor=lambda: "admin:chen")
    return app, Portal(app, app.test_client(), smtp)


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["industry-auth", *args])


def test_the_review_states_are_ordinary_lifecycle_states(approving):
    app, _ = approving
    lifecycle = app.extensions["industry_auth"].lifecycle
    assert lifecycle.initial == PENDING_APPROVAL
    assert {PENDING_APPROVAL, REJECTED} <= set(lifecycle.states)
    assert lifecycle.operator_events(PENDING_APPROVAL) == ["approve", "reject", "delete"]
    assert "pending_approval --> requested: approve" in _run(app, "states").output


def test_no_activation_mail_until_approved(approving, smtp):
    app, portal = approving
    response = portal.apply()
    assert response.status_code == 302
    assert "審核" in text_of(portal.client.get(response.headers["Location"]))
    assert portal.settle() == []
    (account,) = portal.accounts()
    assert account.state == PENDING_APPROVAL
    client = app.test_client()
    done = _act(client, account.account_id, "approve")
    assert done.status_code == 302
    details = activation_details(portal.wait_mails(1)[0])
    assert details["account_id"] == account.account_id
    assert portal.activate(details["link"]).status_code == 302
    login = portal.login(VALID["business_id"], details["account_id"], details["password"])
    assert login.headers["Location"].endswith("/account/change-password")


def test_rejection_mails_the_reason_and_the_applicant_may_apply_again(approving, smtp):
    app, portal = approving
    portal.apply()
    (account,) = portal.accounts()
    missing = _run(app, "reject", VALID["business_id"], account.account_id)
    # The transition requires a reason (requires_reason): refused, nothing changed.
    assert missing.exit_code == 1 and "needs a reason" in missing.output
    client = app.test_client()
    refused = _act(client, account.account_id, "reject")  # the form without a reason
    assert "原因" in text_of(client.get(refused.headers["Location"]))
    assert portal.account(account.account_id).state == PENDING_APPROVAL
    result = _run(
        app, "reject", VALID["business_id"], account.account_id, "--reason", "統一編號與名稱不符"
    )
    assert result.exit_code == 0 and REJECTED in result.output
    (mail,) = portal.wait_mails(1)
    assert "未獲核准" in mail.subject and "統一編號與名稱不符" in mail.text
    assert "/account/register" in mail.text
    smtp.mails.clear()
    assert portal.apply(business_name="經濟部測試股份有限公司二").status_code == 302
    again = portal.account(account.account_id)
    assert again.state == PENDING_APPROVAL and again.business_name.endswith("二")
    assert portal.settle() == []
    assert len(portal.accounts()) == 1
