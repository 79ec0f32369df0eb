"""The lifecycle: states and transitions as data on one shared machine, host-extensible."""

import pytest

from flask_industry_auth import IllegalTransition, Lifecycle
from flask_industry_auth.lifecycle import STATES
from tests.helpers import OWN_PASSWORD, VALID, text_of
from tests.hostapp import auth, db


def test_the_package_states_and_events():
    assert [s.name for s in STATES] == [
        "requested",
        "activated",
        "locked",
        "reset",
        "disabled",
        "deleted",
    ]
    lifecycle = Lifecycle.default()
    assert lifecycle.allowed_events("requested") == ["activate", "delete"]
    assert set(lifecycle.allowed_events("activated")) == {
        "lock",
        "request_reset",
        "disable",
        "delete",
    }
    # Staff take these; activating and resetting are the applicant's own doing.
    assert lifecycle.operator_events("activated") == ["lock", "disable", "delete"]
    assert lifecycle.operator_events("requested") == ["delete"]
    assert lifecycle.operator_events("disabled") == ["enable", "delete"]
    assert lifecycle.can_log_in("activated") and not lifecycle.can_log_in("requested")
    assert not lifecycle.can_log_in("disabled")


def test_a_transition_from_every_state_leaves_states_added_later():
    lifecycle = Lifecycle.default()
    lifecycle.add_state("suspended")
    account = type("Account", (), {"state": "suspended", "id": None, "account_id": "X"})()
    assert lifecycle.operator_events("suspended") == ["delete"]
    assert lifecycle.machine.events["delete"].trigger(account)
    assert account.state == "deleted"
    assert lifecycle.allowed_events("deleted") == []  # not from itself


def test_no_auto_transitions_back_door():
    lifecycle = Lifecycle.default()
    assert lifecycle.machine.auto_transitions is False
    assert not any(name.startswith("to_") for name in lifecycle.machine.events)


def test_one_machine_per_app_shared_by_all_accounts(app):
    with app.app_context():
        lifecycle = auth.get_lifecycle()
        account = auth.account_model(state="requested")
        assert not hasattr(account, "trigger")  # accounts are not machine models
        assert lifecycle.machine.models == []


def _stored_account(portal, app):
    details = portal.active_account()
    portal.logout()
    with app.app_context():
        Account = auth.account_model
        return details, db.session.scalar(
            db.select(Account).where(Account.account_id == details["account_id"])
        )


def test_illegal_transition_is_refused_with_a_clear_error_and_not_applied(portal, app):
    details, _ = _stored_account(portal, app)
    with app.app_context():
        Account = auth.account_model
        account = db.session.scalar(
            db.select(Account).where(Account.account_id == details["account_id"])
        )
        with pytest.raises(
            IllegalTransition, match="cannot 'activate' an account in state 'activated'"
        ):
            auth.get_lifecycle().fire(account, "activate")
        assert account.state == "activated"
        with pytest.raises(IllegalTransition, match="unknown event 'to_locked'"):
            auth.get_lifecycle().fire(account, "to_locked")
        db.session.rollback()
    assert portal.account(details["account_id"]).state == "activated"


def test_transitions_are_audited(portal, app):
    details, _ = _stored_account(portal, app)
    with app.app_context():
        Audit = auth.models.AuditEvent
        rows = db.session.scalars(
            db.select(Audit).where(Audit.account_id == details["account_id"]).order_by(Audit.id)
        ).all()
        events = [(r.event, r.from_state, r.to_state, r.outcome) for r in rows]
    assert ("apply", None, "requested", "ok") in events
    assert ("activate", "requested", "activated", "ok") in events
    assert all(r.created_at is not None and r.client_ip == "127.0.0.1" for r in rows)


@pytest.fixture
def suspendable(make, smtp):
    """A host that adds a 'suspended' state with suspend/resume, without a migration."""
    app = make()
    lifecycle = auth.get_lifecycle(app)
    lifecycle.add_state("suspended", can_log_in=False, description="suspended by the agency")
    lifecycle.add_transition("suspend", ["activated", "reset", "locked"], "suspended")
    lifecycle.add_transition("resume", "suspended", "activated")
    return app


def test_a_host_adds_a_state_and_transitions(suspendable, smtp):
    from tests.helpers import Portal

    portal = Portal(suspendable, suspendable.test_client(), smtp)
    details = portal.active_account()
    portal.logout()
    with suspendable.app_context():
        Account = auth.account_model
        account = db.session.scalar(
            db.select(Account).where(Account.account_id == details["account_id"])
        )
        auth.get_lifecycle().fire(account, "suspend", actor="ops")
        db.session.commit()
        pk = account.id
    refused = portal.login(VALID["business_id"], details["account_id"], OWN_PASSWORD)
    assert refused.status_code == 200 and "登入失敗" in text_of(refused)
    with suspendable.app_context():
        account = db.session.get(auth.account_model, pk)
        assert account.state == "suspended"
        with pytest.raises(IllegalTransition):
            auth.get_lifecycle().fire(account, "activate")
        auth.get_lifecycle().fire(account, "resume", actor="ops")
        db.session.commit()
    ok = portal.login(VALID["business_id"], details["account_id"], OWN_PASSWORD)
    assert ok.status_code == 302
    result = suspendable.test_cli_runner().invoke(args=["industry-auth", "states"])
    assert "activated --> suspended: suspend" in result.output
    assert "suspended --> activated: resume" in result.output


def test_host_states_do_not_leak_into_other_apps(suspendable, make):
    other = make()
    assert "suspended" in auth.get_lifecycle(suspendable).states
    assert "suspended" not in auth.get_lifecycle(other).states


def test_bad_extensions_are_refused():
    lifecycle = Lifecycle.default()
    with pytest.raises(ValueError, match="unknown state"):
        lifecycle.add_transition("archive", "activated", "archived")
    with pytest.raises(ValueError, match="already exists"):
        lifecycle.add_state("locked")
