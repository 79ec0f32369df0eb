"""The agency's commands (issue 8): find, act on, delete, audit and prune, through the CLI."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from xml.etree import ElementTree

import pytest

from flask_industry_auth.models import utcnow
from tests.helpers import OWN_PASSWORD, VALID, activation_details
from tests.hostapp import auth, db


def _run(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=["industry-auth", *args], **kwargs)


def _audit(app, **where):
    with app.app_context():
        AuditEvent = auth.models.AuditEvent
        query = db.select(AuditEvent).filter_by(**where).order_by(AuditEvent.id)
        return db.session.scalars(query).all()


def test_list_and_search_with_filters_and_paging(app, portal, account):
    second = portal.apply_and_read_mail(business_id="22099131", email="second@example.com")
    listed = _run(app, "list", "--per-page", "1")
    assert listed.exit_code == 0
    assert second["account_id"] in listed.output and account["account_id"] not in listed.output
    assert "page 1 of 2 (2 accounts)" in listed.output
    page2 = _run(app, "list", "--per-page", "1", "--page", "2")
    assert account["account_id"] in page2.output
    by_state = _run(app, "search", "--state", "requested")
    assert second["account_id"] in by_state.output and account["account_id"] not in by_state.output
    for text in ("second@EXAMPLE.com", "22099131", second["account_id"].lower()):
        found = _run(app, "search", text)
        assert second["account_id"] in found.output, text
        assert account["account_id"] not in found.output, text
    by_name = _run(app, "search", "測試股份")
    assert "(2 accounts)" in by_name.output
    assert "no accounts" in _run(app, "search", "--email", "nobody@example.com").output


def test_show_lists_actions_and_history(app, portal, account):
    portal.login(VALID["business_id"], account["account_id"], "wrong password!!")
    shown = _run(app, "show", VALID["business_id"], account["account_id"])
    assert shown.exit_code == 0
    assert "actions        lock, disable, delete" in shown.output
    assert "activate" in shown.output and "wrong_password" in shown.output
    assert VALID["email"] in shown.output


def test_lock_and_unlock_are_audited_with_the_operator(app, portal, account):
    result = _run(app, "lock", VALID["business_id"], account["account_id"])
    assert result.exit_code == 0 and "locked" in result.output
    response = portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD)
    assert response.status_code == 200  # refused: the lock does not expire by itself
    assert portal.account(account["account_id"]).state == "locked"
    assert _run(app, "unlock", VALID["business_id"], account["account_id"]).exit_code == 0
    assert (
        portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD).status_code == 302
    )
    rows = [
        r for r in _audit(app, account_id=account["account_id"]) if r.event in ("lock", "unlock")
    ]
    assert [(r.event, r.outcome) for r in rows] == [("lock", "ok"), ("unlock", "ok")]
    assert all(r.actor and r.actor.startswith("cli") for r in rows)


def test_disable_ends_sessions_and_refuses_login_until_enabled(app, portal, signed_in):
    assert portal.client.get("/account/").status_code == 200
    result = _run(
        app, "disable", VALID["business_id"], signed_in["account_id"], "--reason", "closed"
    )
    assert result.exit_code == 0 and "disabled" in result.output
    assert portal.client.get("/account/").status_code == 302  # the session is gone
    assert (
        portal.login(VALID["business_id"], signed_in["account_id"], OWN_PASSWORD).status_code == 200
    )
    row = _audit(app, event="disable")[-1]
    assert row.detail == "closed" and row.to_state == "disabled"
    assert _run(app, "enable", VALID["business_id"], signed_in["account_id"]).exit_code == 0
    assert (
        portal.login(VALID["business_id"], signed_in["account_id"], OWN_PASSWORD).status_code == 302
    )


def test_illegal_transitions_and_unknown_accounts_exit_non_zero(app, account):
    enable = _run(app, "enable", VALID["business_id"], account["account_id"])
    assert enable.exit_code == 1 and "cannot 'enable'" in enable.output
    own = _run(app, "transition", VALID["business_id"], account["account_id"], "request_reset")
    assert own.exit_code == 1 and "applicant's own doing" in own.output
    delete = _run(app, "transition", VALID["business_id"], account["account_id"], "delete")
    assert delete.exit_code == 2 and "asks first" in delete.output
    unknown = _run(app, "lock", VALID["business_id"], "NOSUCHID")
    assert unknown.exit_code == 1 and "no account" in unknown.output
    wrong_company = _run(app, "lock", "22099131", account["account_id"])
    assert wrong_company.exit_code == 1
    assert _audit(app, event="lock") == [] and _audit(app, event="enable") == []


def test_resend_activation(app, portal, smtp):
    details = portal.apply_and_read_mail()
    smtp.mails.clear()
    result = _run(app, "resend-activation", VALID["business_id"], details["account_id"])
    assert result.exit_code == 0
    fresh = activation_details(portal.wait_mails(1)[0])
    assert fresh["link"] != details["link"]
    assert portal.activate(details["link"]).status_code == 410  # the first link is void
    assert portal.activate(fresh["link"]).status_code == 302
    again = _run(app, "resend-activation", VALID["business_id"], details["account_id"])
    assert again.exit_code == 1 and "'activated'" in again.output


def test_delete_removes_personal_data_and_pseudonymises_the_trail(app, portal, account):
    aborted = _run(app, "delete", VALID["business_id"], account["account_id"], input="n\n")
    assert aborted.exit_code == 1 and portal.account(account["account_id"]) is not None
    result = _run(app, "delete", VALID["business_id"], account["account_id"], input="y\n")
    assert result.exit_code == 0, result.output
    name = result.output.strip().rsplit(" ", 1)[-1]
    assert name.startswith("deleted-")
    assert portal.account(account["account_id"]) is None
    rows = _audit(app, account_id=name)
    assert {r.event for r in rows} >= {"apply", "activate", "login", "delete"}
    assert all(r.client_ip is None and r.detail is None for r in rows)
    assert _audit(app, account_id=account["account_id"]) == []
    with app.app_context():
        models = auth.models
        for model in (models.OutboxMail, models.PasswordHistory):
            assert db.session.scalars(db.select(model)).all() == []
    exported = _run(app, "audit", name, "--format", "jsonl")
    lines = [json.loads(line) for line in exported.output.splitlines()]
    assert lines[-1]["event"] == "delete" and lines[-1]["to_state"] == "deleted"
    assert VALID["email"] not in exported.output and VALID["business_name"] not in exported.output
    # The same person may apply again.
    assert portal.apply().status_code == 302


def test_disable_idle(app, portal, account):
    recent = portal.active_account(business_id="22099131", email="recent@example.com")
    with app.app_context():
        old = db.session.scalar(
            db.select(auth.account_model).filter_by(account_id=account["account_id"])
        )
        old.last_login_at = utcnow() - timedelta(days=400)
        db.session.commit()
    dry = _run(app, "disable-idle", "--days", "365", "--dry-run")
    assert dry.exit_code == 0 and account["account_id"] in dry.output
    assert "would disable 1 account" in dry.output
    assert portal.account(account["account_id"]).state == "activated"
    done = _run(app, "disable-idle", "--days", "365")
    assert "disabled 1 account" in done.output
    assert portal.account(account["account_id"]).state == "disabled"
    assert portal.account(recent["account_id"]).state == "activated"
    assert _audit(app, event="disable")[0].detail == "no login for 365 days"
    assert _run(app, "disable-idle", "--days", "0").exit_code == 1


def test_audit_export_as_csv_and_jsonl(app, portal, account):
    portal.login(VALID["business_id"], account["account_id"], "wrong password!!")
    as_csv = _run(app, "audit", account["account_id"])
    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert [r["event"] for r in rows][:2] == ["apply", "activate"]
    assert rows[-1]["event"] == "login" and rows[-1]["outcome"] == "wrong_password"
    since = (utcnow() - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
    ranged = _run(app, "audit", "--since", since, "--format", "jsonl")
    assert len(ranged.output.splitlines()) == len(rows)
    future = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d")
    assert _run(app, "audit", "--since", future, "--format", "jsonl").output == ""
    assert _run(app, "audit").exit_code == 2
    assert _run(app, "audit", "NOSUCHID").exit_code == 1


def test_prune_audit_keeps_the_retention_period(app, account):
    with app.app_context():
        rows = db.session.scalars(db.select(auth.models.AuditEvent)).all()
        rows[0].created_at = utcnow() - timedelta(days=366)
        rows[1].created_at = utcnow() - timedelta(days=364)
        db.session.commit()
        total = len(rows)
    assert _run(app, "prune-audit", "--days", "30").exit_code == 1  # under 6 months
    result = _run(app, "prune-audit")
    assert result.exit_code == 0 and "removed 1 audit row" in result.output
    assert len(_audit(app)) == total - 1


def test_retention_under_six_months_is_refused(make):
    with pytest.raises(RuntimeError, match="6 months"):
        make(INDUSTRY_AUTH_AUDIT_RETENTION_DAYS=90)


def test_states_as_svg_and_mermaid_include_host_additions(app):
    lifecycle = auth.get_lifecycle(app)
    lifecycle.add_state("suspended")
    lifecycle.add_transition("suspend", ["activated"], "suspended")
    svg = _run(app, "states", "--format", "svg").output
    tree = ElementTree.fromstring(svg)  # noqa: S314 (our own output)
    drawn = {
        g.get("data-state")
        for g in tree.iter("{http://www.w3.org/2000/svg}g")
        if g.get("data-state")
    }
    assert drawn >= {"requested", "activated", "locked", "reset", "disabled", "suspended"}
    events = {
        g.get("data-events")
        for g in tree.iter("{http://www.w3.org/2000/svg}g")
        if g.get("data-events")
    }
    assert "suspend" in events and "delete" in events
    mermaid = _run(app, "states").output
    assert "activated --> suspended: suspend" in mermaid
    assert "suspended --> deleted: delete" in mermaid
