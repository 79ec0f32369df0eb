"""Staff decide who may act for a company with a 自然人憑證 (issue 14, point 3): the admin
pages and the CLI list the delegations, approve pending ones and revoke them, audited with
the staff member; a refused step (a second click, a card taken meanwhile) is a clear message.

The pending delegations come from the real flow: a card application or a card binding with a
test PKI's 自然人憑證 (see test_certificates.py).
"""

from __future__ import annotations

import re

import pytest

from flask_industry_auth.admin import AccountAdmin
from flask_industry_auth.testkit import csrf_token
from tests.helpers import OWN_PASSWORD, text_of
from tests.hostapp import auth, db
from tests.test_certificates import UBN, CardHolder, RevocationServer


@pytest.fixture(scope="module")
def revocation_server():
    server = RevocationServer()
    yield server
    server.stop()


@pytest.fixture
def pki(revocation_server):
    return revocation_server.pki


@pytest.fixture
def staff():
    return {"allowed": True}


@pytest.fixture
def app(make, pki, staff):
    app = make(**pki.trust_config())
    AccountAdmin(app, can_access=lambda: staff["allowed"], actor=lambda: "admin:lin")
    return app


@pytest.fixture
def holder(app, client, smtp):
    return CardHolder(app, client, smtp)


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["industry-auth", *args])


def _rows(app, status=None):
    with app.app_context():
        Delegation = auth.models.Delegation
        query = db.select(Delegation).order_by(Delegation.id)
        if status:
            query = query.filter_by(status=status)
        rows = db.session.scalars(query).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def _audit(app, event):
    with app.app_context():
        AuditEvent = auth.models.AuditEvent
        query = db.select(AuditEvent).filter_by(event=event).order_by(AuditEvent.id)
        return [(r.outcome, r.actor, r.account_id) for r in db.session.scalars(query)]


def _delegation_of(app, account_id):
    """The account's ``delegation`` property (the authorization in force), as its id."""
    with app.app_context():
        Account = auth.account_model
        account = db.session.scalar(db.select(Account).filter_by(account_id=account_id))
        return account.delegation.id if account.delegation is not None else None


def _can_file(holder) -> bool:
    return "紙本申辦及全電子申辦" in text_of(holder.client.get("/account/"))


def _staff_post(client, delegation_id, action, **form):
    token = csrf_token(client.get("/account-admin/delegations").get_data(as_text=True))
    return client.post(
        f"/account-admin/delegations/{delegation_id}/{action}",
        data={"csrf_token": token, **form},
    )


def _flash(client, response) -> str:
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return " ".join(re.findall(r'<p class="ia-flash[^"]*"[^>]*>([^<]*)</p>', page))


def _citizen_applicant(holder, pki):
    """A card application with a 自然人憑證: an activated citizen account, its delegation
    pending, logged in with the card (and so still filing on paper)."""
    card = pki.citizen_card()
    details = holder.card_account(card)
    assert holder.card_login(card).status_code == 302
    assert not _can_file(holder)
    (pending,) = _rows(holder.app, "pending")
    return details["account_id"], card, pending.id


def test_staff_approve_on_the_admin_page_then_revoke(holder, pki, app):
    account_id, card, delegation_id = _citizen_applicant(holder, pki)
    staff = app.test_client()
    listing = staff.get("/account-admin/delegations?status=pending").get_data(as_text=True)
    assert f'data-delegation="{delegation_id}" data-status="pending"' in listing
    assert account_id in listing and UBN in listing and "王大明" in listing
    assert set(re.findall(r'data-action="([^"]+)"', listing)) == {"approve", "revoke"}
    assert _delegation_of(app, account_id) is None

    done = _staff_post(staff, delegation_id, "approve", status="pending")
    assert done.headers["Location"].endswith("/account-admin/delegations?status=pending")
    assert f"#{delegation_id}" in _flash(staff, done)
    assert _delegation_of(app, account_id) == delegation_id
    (row,) = _rows(app)
    assert (row.status, row.authorized_by) == ("authorized", "staff admin:lin")
    holder.logout()
    assert holder.card_login(card).status_code == 302
    assert _can_file(holder)
    # The authorized delegation has only Revoke now; a second Approve changes nothing.
    listing = staff.get("/account-admin/delegations").get_data(as_text=True)
    assert set(re.findall(r'data-action="([^"]+)"', listing)) == {"revoke"}
    assert "staff admin:lin" in listing
    again = _staff_post(staff, delegation_id, "approve")
    assert "未執行" in _flash(staff, again)
    assert _audit(app, "delegation_authorized") == [("ok", "admin:lin", account_id)]

    revoked = _staff_post(staff, delegation_id, "revoke")
    assert f"#{delegation_id}" in _flash(staff, revoked)
    assert _rows(app)[0].status == "revoked" and _rows(app)[0].revoked_by == "staff admin:lin"
    assert _delegation_of(app, account_id) is None
    assert not _can_file(holder)
    twice = _staff_post(staff, delegation_id, "revoke")
    assert "未執行" in _flash(staff, twice)
    assert _audit(app, "delegation_revoked") == [("ok", "admin:lin", account_id)]
    listing = staff.get("/account-admin/delegations?status=revoked").get_data(as_text=True)
    assert 'data-action="' not in listing and "admin:lin" in listing


def test_approving_a_binding_makes_it_a_card_account_without_password(holder, pki, app):
    details = holder.active_account()
    card = pki.citizen_card()
    holder.post("/account/certificate/bind", {"signature": card.sign(holder.challenge("bind"))})
    (pending,) = _rows(app, "pending")
    assert pending.binds and holder.account(details["account_id"]).password_hash
    staff = app.test_client()
    assert f"#{pending.id}" in _flash(staff, _staff_post(staff, pending.id, "approve"))
    stored = holder.account(details["account_id"])
    assert stored.account_type == "citizen_certificate" and stored.password_hash is None
    assert holder.card_login(card).status_code == 302 and _can_file(holder)
    assert _delegation_of(app, details["account_id"]) == pending.id


def test_a_card_bound_meanwhile_is_refused_clearly(holder, pki, app, smtp):
    # Two password accounts ask to bind the same card; the first approved gets it.
    card = pki.citizen_card()
    first = holder.active_account()
    holder.post("/account/certificate/bind", {"signature": card.sign(holder.challenge("bind"))})
    other = CardHolder(app, app.test_client(), smtp)
    second = other.active_account(email="other@example.com")
    other.post("/account/certificate/bind", {"signature": card.sign(other.challenge("bind"))})
    one, two = _rows(app, "pending")
    staff = app.test_client()
    _staff_post(staff, one.id, "approve")
    refused = _flash(staff, _staff_post(staff, two.id, "approve"))
    assert "未核准" in refused or "Not approved" in refused
    assert _rows(app)[1].status == "pending"
    assert other.account(second["account_id"]).account_type == "non_certificate"
    assert holder.account(first["account_id"]).account_type == "citizen_certificate"
    # The CLI says so too.
    result = _run(app, "approve-delegation", str(two.id))
    assert result.exit_code == 1 and "bound to another account" in result.output


def test_the_pages_need_the_hosts_check_and_posts_the_csrf_token(holder, pki, app, staff):
    _, _, delegation_id = _citizen_applicant(holder, pki)
    client = app.test_client()
    assert client.post(f"/account-admin/delegations/{delegation_id}/approve").status_code == 400
    staff["allowed"] = False
    assert client.get("/account-admin/delegations").status_code == 403
    for action in ("approve", "revoke"):
        url = f"/account-admin/delegations/{delegation_id}/{action}"
        assert client.post(url).status_code == 403
    staff["allowed"] = True
    assert _rows(app)[0].status == "pending"
    assert _audit(app, "delegation_authorized") == []
    # Unknown and absurd ids are not found; hostile filters are a clear page.
    for bad in ("999999", "9" * 30):
        assert _staff_post(client, bad, "approve").status_code == 404, bad
    for query in ("?status=nonsense", "?account=%00", "?account=" + "x" * 500):
        assert client.get("/account-admin/delegations" + query).status_code == 200, query


def test_filters_and_the_link_from_the_account_page(holder, pki, app):
    account_id, _, delegation_id = _citizen_applicant(holder, pki)
    staff = app.test_client()
    nav = staff.get("/account-admin/").get_data(as_text=True)
    assert "/account-admin/delegations?status=pending" in nav and "自然人憑證授權" in nav
    page = staff.get(f"/account-admin/accounts/{account_id}").get_data(as_text=True)
    assert f"/account-admin/delegations?account={account_id}" in page
    assert 'data-delegations="1"' in page
    mine = staff.get(f"/account-admin/delegations?account={account_id}").get_data(as_text=True)
    assert f'data-delegation="{delegation_id}"' in mine
    for query in ("?account=NOSUCHID", "?status=authorized", "?status=revoked"):
        listing = staff.get("/account-admin/delegations" + query).get_data(as_text=True)
        assert "data-delegation=" not in listing, query
    # Approve from the account's list and come back to it.
    back = _staff_post(staff, delegation_id, "approve", account=account_id)
    assert back.headers["Location"].endswith(f"/account-admin/delegations?account={account_id}")
    listing = staff.get("/account-admin/delegations?status=authorized").get_data(as_text=True)
    assert f'data-delegation="{delegation_id}"' in listing


def test_the_cli_lists_approves_and_revokes(holder, pki, app):
    assert _run(app, "delegations").output == "no delegations\n"
    account_id, card, delegation_id = _citizen_applicant(holder, pki)
    listed = _run(app, "delegations", "--status", "pending")
    assert listed.exit_code == 0
    assert f"{delegation_id:>6} pending" in listed.output
    assert account_id in listed.output and UBN in listed.output and "王大明" in listed.output
    assert "no delegations" in _run(app, "delegations", "--status", "authorized").output
    assert _run(app, "delegations", "--status", "nonsense").exit_code == 2

    approved = _run(app, "approve-delegation", str(delegation_id), "--actor", "clerk")
    assert approved.exit_code == 0 and "authorized" in approved.output
    assert _delegation_of(app, account_id) == delegation_id
    assert "by staff cli:clerk" in _run(app, "delegations").output
    holder.logout()
    holder.card_login(card)
    assert _can_file(holder)
    again = _run(app, "approve-delegation", str(delegation_id), "--actor", "clerk")
    assert again.exit_code == 1 and "is not pending (it is authorized)" in again.output
    assert _audit(app, "delegation_authorized") == [("ok", "cli:clerk", account_id)]

    revoked = _run(app, "revoke-delegation", str(delegation_id))  # the login name
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert not _can_file(holder)
    twice = _run(app, "revoke-delegation", str(delegation_id), "--actor", "clerk")
    assert twice.exit_code == 1 and "already revoked" in twice.output
    ((outcome, actor, _),) = _audit(app, "delegation_revoked")
    assert outcome == "ok" and actor.startswith("cli")
    for unknown in ("999999", "0", "9" * 30):
        result = _run(app, "revoke-delegation", unknown)
        assert result.exit_code == 1 and f"no delegation #{unknown}" in result.output, unknown
    assert _run(app, "approve-delegation", "abc").exit_code == 2


def test_a_password_login_never_files_whatever_staff_approve(holder, pki, app):
    # A binding approved by staff takes the password away: there is no paper-only
    # password session left that the delegation could turn into an electronic one.
    details = holder.active_account()
    card = pki.citizen_card()
    holder.post("/account/certificate/bind", {"signature": card.sign(holder.challenge("bind"))})
    (pending,) = _rows(app, "pending")
    assert _run(app, "approve-delegation", str(pending.id)).exit_code == 0
    holder.logout()
    assert holder.login(UBN, details["account_id"], OWN_PASSWORD).status_code == 200
