"""Flows compose with host code: a refusal keeps what the host had pending, and a host may run
flows inside its own unit of work (committed or rolled back with the host's changes)."""

from __future__ import annotations

import pytest

from flask_industry_auth import ACTIVATED, DISABLED, IllegalTransition, signals
from flask_industry_auth.flows import operations
from flask_industry_auth.mail import in_host_transaction
from tests.hostapp import auth, db


def _account(account_id):
    return db.session.scalar(db.select(auth.account_model).filter_by(account_id=account_id))


@pytest.fixture
def two(portal):
    """Two activated accounts of one company, logged out."""
    first = portal.active_account()
    portal.logout()
    portal.forget_mails()  # every mail of the first delivered before the second applies
    second = portal.active_account(email="second@example.com")
    portal.logout()
    portal.forget_mails()
    return first["account_id"], second["account_id"]


def _fresh_state(app, account_id):
    with app.app_context():
        return _account(account_id).state, _account(account_id).contact_person


@pytest.mark.parametrize(
    ("account", "event", "refusal"),
    [
        ("NOSUCHID", "disable", operations.AccountNotFound),
        ("first", "enable", IllegalTransition),  # not from "activated"
        ("first", "activate", IllegalTransition),  # the applicant's own, and not from here
        ("first", "delete_nothing", IllegalTransition),
    ],
)
def test_a_refusal_keeps_the_hosts_pending_change(app, two, account, event, refusal):
    first, second = two
    with app.app_context():
        _account(second).contact_person = "主機先改"  # the host's own change, not committed
        with pytest.raises(refusal):
            operations.perform(first if account == "first" else account, event, actor="staff:c")
        db.session.commit()
    assert _fresh_state(app, second) == (ACTIVATED, "主機先改")
    assert _fresh_state(app, first)[0] == ACTIVATED


def test_flows_inside_the_hosts_unit_of_work_go_with_its_rollback(app, two):
    first, second = two
    sent = []
    signals.state_changed.connect(lambda s, **kw: sent.append(kw["event"]), app, weak=False)
    with app.app_context():
        with in_host_transaction():
            _account(second).contact_person = "一起撤銷"
            operations.perform(first, "disable", actor="staff:chen")
            assert _account(first).state == DISABLED  # flushed, visible to the host
        db.session.rollback()
    assert _fresh_state(app, first)[0] == ACTIVATED
    assert _fresh_state(app, second)[1] != "一起撤銷"
    assert sent == []  # nothing was committed, nothing announced


def test_flows_inside_the_hosts_unit_of_work_go_with_its_commit(app, two):
    first, second = two
    sent = []
    signals.state_changed.connect(lambda s, **kw: sent.append(kw["event"]), app, weak=False)
    with app.app_context():
        with in_host_transaction():
            _account(second).contact_person = "一起提交"
            operations.perform(first, "disable", actor="staff:chen")
        assert sent == []  # not before the host's commit
        db.session.commit()
    assert sent == ["disable"]  # after it (the app context ended)
    assert _fresh_state(app, first)[0] == DISABLED
    assert _fresh_state(app, second)[1] == "一起提交"
