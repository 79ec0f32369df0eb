"""Races resolve exactly once on every test database, SQLite (which ignores ``FOR UPDATE``)
included: the test host served by a threaded werkzeug server on 127.0.0.1, threads released
together by a barrier (``test_concurrency.py`` races two processes on PostgreSQL)."""

from __future__ import annotations

import threading
from html import unescape

import pytest
from werkzeug.serving import make_server

from flask_industry_auth.testkit import Browser, csrf_token
from tests.helpers import OWN_PASSWORD, VALID, temporary_password
from tests.hostapp import auth, db

WRONG = "wrong password!!"


@pytest.fixture
def server(make):
    app = make(INDUSTRY_AUTH_RATELIMIT_ENABLED=False)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(10)


@pytest.fixture
def portal(server, smtp):
    from tests.helpers import Portal

    app, _ = server
    return Portal(app, app.test_client(), smtp)


def race(browsers: list[Browser], action) -> list:
    """Run ``action(browser)`` for every browser in its own thread, all at once."""
    barrier = threading.Barrier(len(browsers))
    results: list = [None] * len(browsers)

    def run(n):
        barrier.wait()
        results[n] = action(browsers[n])

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _audit(app, event: str, outcome: str = "ok") -> int:
    with app.app_context():
        Audit = auth.models.AuditEvent
        return db.session.scalar(
            db.select(db.func.count())
            .select_from(Audit)
            .where(Audit.event == event, Audit.outcome == outcome)
        )


def _logged_in(base: str, account_id: str, count: int) -> list[Browser]:
    """``count`` browsers sharing one session of the account (its cookie copied)."""
    first = Browser(base)
    status, _, _ = first.post(
        "/account/login",
        {"business_id": VALID["business_id"], "account_id": account_id, "password": OWN_PASSWORD},
    )
    assert status == 302
    browsers = [first]
    for _ in range(count - 1):
        browser = Browser(base)
        for cookie in first.cookies:
            browser.cookies.set_cookie(cookie)
        browsers.append(browser)
    return browsers


def _submit_form(browser: Browser, path: str, data: dict) -> tuple[int, str, str]:
    """Open the form at ``path`` and submit it (or the redirect that came instead)."""
    opened = browser.get(path)
    if opened[0] != 200:  # the session ended meanwhile: sent to log in
        return opened
    return browser.submit(path, {"csrf_token": csrf_token(opened[1]), **data})


def test_a_burst_of_wrong_passwords_locks_once_with_one_mail(server, portal):
    app, base = server
    account = portal.active_account()
    portal.logout()
    portal.forget_mails()
    form = {"business_id": VALID["business_id"], "account_id": account["account_id"]}
    results = race(
        [Browser(base) for _ in range(20)],
        lambda b: b.post("/account/login", {**form, "password": WRONG}),
    )
    assert [status for status, _, _ in results] == [200] * 20
    stored = portal.account(account["account_id"])
    assert stored.state == "locked"
    assert stored.failed_logins == 20  # every failure counted (during the lock too), none lost
    assert _audit(app, "lock") == 1
    assert _audit(app, "login", "wrong_password") == 4
    assert _audit(app, "login", "locked") == 16
    assert [m.subject for m in portal.settle()] == ["您的帳號已暫時鎖定"]


def test_parallel_password_changes_one_wins_and_the_history_stays_true(server, portal):
    app, base = server
    account = portal.active_account()
    portal.logout()
    portal.forget_mails()
    before = portal.account(account["account_id"]).password_hash
    changes_before = _audit(app, "change_password")  # the first, forced one
    browsers = _logged_in(base, account["account_id"], 20)
    passwords = [f"a new passphrase number {n:02d}" for n in range(20)]

    def change(browser):
        n = browsers.index(browser)
        return _submit_form(
            browser,
            "/account/change-password",
            {
                "old_password": OWN_PASSWORD,
                "new_password": passwords[n],
                "confirm_password": passwords[n],
            },
        )

    results = race(browsers, change)
    changed = [n for n, (status, _, location) in enumerate(results) if location == "/account/"]
    assert len(changed) == 1, results
    for n, (status, page, location) in enumerate(results):
        if n in changed:
            continue
        # Told on the form (the old password is no longer the current one), or, once the
        # winner had ended the other sessions, sent to log in again. Never a 500.
        told = status == 200 and "舊密碼不正確。" in unescape(page)
        assert told or location.startswith("/account/login"), (status, location)
    state = app.extensions["industry_auth"]
    stored = portal.account(account["account_id"])
    works = [p for p in passwords if state.hasher.verify(stored.password_hash, p)]
    assert works == [passwords[changed[0]]]
    with app.app_context():
        History = auth.models.PasswordHistory
        history = db.session.scalars(
            db.select(History.password_hash).where(History.account_pk == stored.id)
        ).all()
    assert history.count(before) == 1
    assert len(history) == len(set(history))
    assert _audit(app, "change_password") == changes_before + 1
    assert [m.subject for m in portal.settle()].count("您的密碼已變更") == 1


def test_a_forced_change_sent_twice_at_once_changes_once(server, portal):
    app, base = server
    details = portal.apply_and_read_mail()
    assert portal.activate(details["link"]).status_code == 302
    first = Browser(base)
    status, _, location = first.post(
        "/account/login",
        {
            "business_id": VALID["business_id"],
            "account_id": details["account_id"],
            "password": details["password"],
        },
    )
    assert (status, location) == (302, "/account/change-password")
    second = Browser(base)
    for cookie in first.cookies:
        second.cookies.set_cookie(cookie)
    form = {"new_password": OWN_PASSWORD, "confirm_password": OWN_PASSWORD}
    results = race([first, second], lambda b: _submit_form(b, "/account/change-password", form))
    assert sorted(location for _, _, location in results).count("/account/") == 1, results
    for status, page, location in results:
        if location != "/account/":  # the same password again: it is the current one
            told = status == 200 and "新密碼不得與前" in unescape(page)
            assert told or location.startswith("/account/login"), (status, location)
    stored = portal.account(details["account_id"])
    assert not stored.must_change_password
    assert app.extensions["industry_auth"].hasher.verify(stored.password_hash, OWN_PASSWORD)
    # The change replaced the system password exactly once: it no longer logs in.
    assert stored.temp_password_hash is None
    assert _audit(app, "change_password") == 1
    assert [m.subject for m in portal.settle()].count("您的密碼已變更") == 1
    status, _, _ = Browser(base).post(
        "/account/login",
        {
            "business_id": VALID["business_id"],
            "account_id": details["account_id"],
            "password": details["password"],
        },
    )
    assert status == 200


def test_a_temporary_password_used_in_two_logins_at_once_logs_both_in(server, portal):
    # It stays valid until the forced change replaces it, so both logins land on that change;
    # the reset is completed once.
    app, base = server
    account = portal.active_account()
    portal.logout()
    portal.forget_mails()
    portal.post("/account/forgot-password", {"account_id": account["account_id"]})
    temp = temporary_password(portal.wait_mails(1)[0])
    form = {"business_id": VALID["business_id"], "account_id": account["account_id"]}
    results = race(
        [Browser(base) for _ in range(2)],
        lambda b: b.post("/account/login", {**form, "password": temp}),
    )
    assert [(status, location) for status, _, location in results] == [
        (302, "/account/change-password")
    ] * 2
    assert _audit(app, "complete_reset") == 1
    stored = portal.account(account["account_id"])
    assert stored.state == "activated" and stored.must_change_password


def test_two_accounts_taking_one_email_at_once_get_a_form_error(server, portal):
    _, base = server
    ids = []
    for email in ("first@example.com", "second@example.com"):
        portal.forget_mails()
        ids.append(portal.active_account(email=email)["account_id"])
        portal.logout()
    browsers = [_logged_in(base, account_id, 1)[0] for account_id in ids]
    fields = {k: VALID[k] for k in VALID if k != "business_id"}
    results = race(
        browsers,
        lambda b: _submit_form(
            b,
            "/account/profile",
            {
                **fields,
                "email": "same@example.com",
                "current_password": OWN_PASSWORD,
                "action": "save",
            },
        ),
    )
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200, 302], results
    (refused,) = [page for status, page, _ in results if status == 200]
    assert "同一統一編號的另一個帳號已使用此電子郵件。" in unescape(refused)
    emails = sorted(portal.account(account_id).email for account_id in ids)
    assert emails.count("same@example.com") == 1


def test_the_unique_constraint_is_told_as_email_taken(portal, monkeypatch):
    """The check passes, then another account takes the address before the commit."""
    from flask_industry_auth.flows import profile

    first = portal.active_account(email="first@example.com")["account_id"]
    portal.logout()
    portal.forget_mails()
    second = portal.active_account(email="second@example.com")["account_id"]
    record = profile.record

    def meanwhile(account, **row):
        record(account, **row)
        if row.get("outcome") == "ok":
            with db.engine.begin() as connection:  # another request, committed first
                Account = auth.account_model
                connection.execute(
                    db.update(Account)
                    .where(Account.account_id == first)
                    .values(email="same@example.com", email_key="same@example.com")
                )

    monkeypatch.setattr(profile, "record", meanwhile)
    response = portal.post(
        "/account/profile",
        {
            **{k: VALID[k] for k in VALID if k != "business_id"},
            "email": "same@example.com",
            "current_password": OWN_PASSWORD,
            "action": "save",
        },
    )
    assert response.status_code == 200
    assert 'id="email-error"' in response.get_data(as_text=True)
    assert portal.account(second).email == "second@example.com"
    assert portal.account(first).email == "same@example.com"
