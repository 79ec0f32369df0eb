"""Signals after the commit, and transitions that carry their behaviour as data."""

from __future__ import annotations

import pytest
from flask_login import user_logged_in

from flask_industry_auth import ACTIVATED, LOCKED, IllegalTransition, signals
from flask_industry_auth.lifecycle import ReasonRequired
from flask_industry_auth.mail import wait_for_delivery
from tests.helpers import OWN_PASSWORD, VALID, Portal, temporary_password, text_of
from tests.hostapp import auth, db

SIGNALS = [
    "applied",
    "activated",
    "logged_in",
    "login_failed",
    "locked",
    "unlocked",
    "password_changed",
    "temporary_password_issued",
    "state_changed",
    "card_bound",
]


@pytest.fixture
def heard(app):
    """Every signal the app sends, as (name, keyword arguments with the account's id)."""
    received = []
    receivers = []
    for name in SIGNALS:

        def receiver(sender, _name=name, **arguments):
            assert sender is app
            account = arguments.get("account")  # read while its session is open
            arguments["account"] = account.account_id if account is not None else None
            received.append((_name, arguments))

        getattr(signals, name).connect(receiver, sender=app)
        receivers.append((name, receiver))
    yield received
    for name, receiver in receivers:
        getattr(signals, name).disconnect(receiver, sender=app)


def _names(received) -> list[str]:
    return [name for name, _ in received]


def test_the_applicants_journey_sends_each_signal_once_after_its_commit(portal, heard):
    details = portal.apply_and_read_mail()
    assert _names(heard) == ["applied"]
    assert heard[0][1]["account"] == details["account_id"]
    portal.activate(details["link"])
    assert _names(heard)[1:] == ["state_changed", "activated"]
    assert heard[1][1] | {"account": None} == {
        "account": None,
        "event": "activate",
        "from_state": "requested",
        "to_state": ACTIVATED,
        "actor": None,
        "reason": None,
    }
    heard.clear()
    portal.login(VALID["business_id"], details["account_id"], details["password"])
    portal.change_password(OWN_PASSWORD)
    assert _names(heard) == ["logged_in", "password_changed"]
    assert heard[0][1]["method"] == "password"
    portal.logout()
    heard.clear()
    for _ in range(5):
        portal.login(VALID["business_id"], details["account_id"], "wrong password!!")
    assert _names(heard) == ["login_failed"] * 4 + ["state_changed", "locked", "login_failed"]
    assert heard[0][1]["reason"] == "wrong_password"
    heard.clear()
    portal.post("/account/forgot-password", {"account_id": details["account_id"]})
    assert _names(heard) == ["temporary_password_issued"]
    mail = portal.settle()[-1]
    heard.clear()
    portal.login(VALID["business_id"], details["account_id"], temporary_password(mail))
    assert _names(heard) == ["state_changed", "unlocked", "logged_in"]
    assert heard[0][1]["event"] == "complete_reset"


def test_a_receiver_may_write_and_commit_its_own_rows(portal, app):
    written = []

    def welcome(sender, account, **_):
        # The host's own row, in the host's session, after the package's commit.
        fresh = db.session.get(auth.account_model, account.id)
        fresh.contact_person = "歡迎 " + fresh.contact_person
        db.session.commit()
        written.append(fresh.account_id)

    signals.activated.connect(welcome, sender=app)
    try:
        details = portal.apply_and_read_mail()
        portal.activate(details["link"])
    finally:
        signals.activated.disconnect(welcome, sender=app)
    assert written == [details["account_id"]]
    assert portal.account(details["account_id"]).contact_person.startswith("歡迎 ")


def test_flask_logins_user_logged_in_is_sent_once_per_login(portal, app):
    logins = []
    user_logged_in.connect(lambda sender, user: logins.append(user.account_id), app, weak=False)
    details = portal.apply_and_read_mail()
    portal.activate(details["link"])
    portal.login(VALID["business_id"], details["account_id"], details["password"])
    portal.change_password(OWN_PASSWORD)  # keeps the session: not a second login
    assert logins == [details["account_id"]]


@pytest.fixture
def reviewed(make):
    """A host's own state and transitions, declared as data."""
    app = make()
    committed = []
    lifecycle = auth.get_lifecycle(app)
    lifecycle.add_state(
        "suspended_for_review",
        can_log_in=False,
        label="Suspended for review",
        login_message="Your account is under review.",
    )
    lifecycle.add_transition(
        "suspend_for_review",
        ACTIVATED,
        "suspended_for_review",
        requires_reason=True,
        mail="application_rejected",  # a shipped kind, as a host's own would be
        label="Suspend for review",
        after_commit=[committed.append],
    )
    lifecycle.add_transition("resume", "suspended_for_review", ACTIVATED, label="Resume")
    return app, lifecycle, committed


def _db_account(account_id):
    return db.session.scalar(db.select(auth.account_model).filter_by(account_id=account_id))


def _suspend(app, lifecycle, account_id, reason):
    """Host code: fire the host's transition, then commit."""
    with app.app_context():
        lifecycle.fire(_db_account(account_id), "suspend_for_review", reason=reason)
        db.session.commit()


def test_a_host_transition_fired_and_committed_by_host_code(reviewed, smtp):
    app, lifecycle, committed = reviewed
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()  # logged in
    portal.forget_mails()
    with app.app_context():
        account = _db_account(details["account_id"])
        with pytest.raises(ReasonRequired):
            lifecycle.fire(account, "suspend_for_review", actor="staff:chen")
        assert account.state == ACTIVATED  # refused: nothing changed
        lifecycle.fire(account, "suspend_for_review", actor="staff:chen", reason="文件不符")
        assert committed == []  # not before the commit
        db.session.commit()
    assert [c.reason for c in committed] == ["文件不符"]  # sent when the context ended
    assert committed[0].to_state == "suspended_for_review"
    # The applicant's open session ends on its next request; the mail went out.
    assert portal.client.get("/account/").status_code == 302
    with app.app_context():
        wait_for_delivery()
    (mail,) = portal.smtp.mails
    assert "文件不符" in mail.text
    # Staff see the host's labels; the CLI offers the events.
    with app.app_context():
        assert lifecycle.event_label("suspend_for_review") == "Suspend for review"
        assert lifecycle.operator_events("suspended_for_review") == ["resume", "delete"]


def test_a_rolled_back_transition_sends_nothing(reviewed, smtp):
    app, lifecycle, committed = reviewed
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()
    portal.forget_mails()
    with app.app_context():
        account = _db_account(details["account_id"])
        lifecycle.fire(account, "suspend_for_review", reason="typo")
        db.session.rollback()
        account = db.session.get(auth.account_model, account.id)
        with pytest.raises(IllegalTransition):
            lifecycle.fire(account, "resume")
        db.session.commit()  # commits only the refusal's audit row
    assert committed == []
    with app.app_context():
        wait_for_delivery()
    assert portal.smtp.mails == []
    assert portal.client.get("/account/").status_code == 200


def test_each_app_keeps_its_own_lifecycle(reviewed, make):
    _, lifecycle, _ = reviewed
    other = make()
    assert "suspended_for_review" in lifecycle.states
    assert "suspended_for_review" not in auth.get_lifecycle(other).states
    assert auth.get_lifecycle(other).state_label(LOCKED) == "Locked"


def test_a_states_login_message_is_told_only_after_the_right_password(reviewed, smtp):
    app, lifecycle, _ = reviewed
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()
    portal.logout()
    _suspend(app, lifecycle, details["account_id"], "文件不符")
    right = portal.login(VALID["business_id"], details["account_id"], OWN_PASSWORD)
    assert right.status_code == 200 and "Your account is under review." in text_of(right)
    wrong = portal.login(VALID["business_id"], details["account_id"], "not the password!!")
    assert "Your account is under review." not in text_of(wrong)
    assert "登入失敗" in text_of(wrong)


def test_wrong_guesses_count_so_the_message_is_no_password_oracle(reviewed, smtp):
    app, lifecycle, _ = reviewed
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()
    portal.logout()
    _suspend(app, lifecycle, details["account_id"], "文件不符")
    for _ in range(app.config["INDUSTRY_AUTH_MAX_FAILED_LOGINS"]):
        portal.login(VALID["business_id"], details["account_id"], "a wrong guess!!")
    right = portal.login(VALID["business_id"], details["account_id"], OWN_PASSWORD)
    assert "Your account is under review." not in text_of(right)
    assert portal.account(details["account_id"]).failed_logins == 5


def test_a_receiver_that_fails_leaves_the_others_and_the_request_alone(portal, app):
    heard = []

    def broken(sender, account, **_):
        db.session.add(auth.models.AuditEvent(outcome="ok"))  # no event: NOT NULL refuses
        db.session.flush()

    def after(sender, account, **_):
        heard.append(account.account_id)

    signals.logged_in.connect(broken, sender=app)
    signals.logged_in.connect(after, sender=app)
    try:
        details = portal.active_account()  # the first login goes through
    finally:
        signals.logged_in.disconnect(broken, sender=app)
        signals.logged_in.disconnect(after, sender=app)
    assert heard == [details["account_id"]]
    assert portal.client.get("/account/").status_code == 200


def test_nothing_is_sent_for_a_savepoint_rolled_back_or_a_session_closed(reviewed, smtp):
    app, lifecycle, committed = reviewed
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()
    with app.app_context():
        account = _db_account(details["account_id"])
        savepoint = db.session.begin_nested()
        lifecycle.fire(account, "suspend_for_review", reason="不算")
        savepoint.rollback()
        db.session.commit()
        account = db.session.get(auth.account_model, account.id)
        lifecycle.fire(account, "suspend_for_review", reason="也不算")
        db.session.close()
        db.session.commit()  # an unrelated, empty commit
    assert committed == []
