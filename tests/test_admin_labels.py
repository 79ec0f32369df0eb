"""The staff pages speak the clerk's language and time (issue 16, point 8): states, events and
outcomes by their labels (the raw code kept beside them), times in 臺北時間, 民國 dates on
request, and labels a host adds."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from flask_industry_auth.admin import AccountAdmin
from flask_industry_auth.audit_labels import AUDIT_EVENTS, OUTCOMES
from flask_industry_auth.lifecycle import Lifecycle, add_approval
from flask_industry_auth.testkit import csrf_token
from tests.helpers import text_of
from tests.hostapp import auth, db

# 2026-12-02 06:05:09 UTC is 14:05:09 in Taipei.
MOMENT = datetime(2026, 12, 2, 6, 5, 9)


def _mount(app):
    AccountAdmin(app, can_access=lambda: True, actor=lambda: "admin:lin")
    return app


@pytest.fixture
def staff_app(app):
    """The test app with the admin pages mounted (before any request)."""
    return _mount(app)


def _at_moment(app, account_id):
    """Date the account and its whole history at MOMENT."""
    with app.app_context():
        models = auth.models
        found = db.session.scalars(db.select(models.Account).filter_by(account_id=account_id)).one()
        found.created_at = found.last_login_at = MOMENT
        rows = db.select(models.AuditEvent).filter_by(account_id=account_id)
        for row in db.session.scalars(rows):
            row.created_at = MOMENT
        db.session.commit()


def _add_row(app, account_id, **row):
    with app.app_context():
        models = auth.models
        pk = db.session.scalar(db.select(models.Account.id).filter_by(account_id=account_id))
        db.session.add(
            models.AuditEvent(account_pk=pk, account_id=account_id, created_at=MOMENT, **row)
        )
        db.session.commit()


def _english(client):
    token = csrf_token(client.get("/account-admin/").get_data(as_text=True))
    client.post(
        "/account/language", data={"csrf_token": token, "locale": "en", "next": "/account-admin/"}
    )


def _history(page: str) -> str:
    return page[page.index('id="ia-history-title"') :]


def test_chinese_account_page_labels_the_history_in_taipei_time(staff_app, account):
    app = staff_app
    _at_moment(app, account["account_id"])
    page = text_of(app.test_client().get(f"/account-admin/accounts/{account['account_id']}"))
    assert "2026年12月2日 14:05（臺北時間）" in page  # applied, last login
    history = _history(page)
    assert "時間（臺北時間）" in history
    assert "2026-12-02 14:05:09" in history
    assert "UTC" not in page
    # Events and outcomes by their Chinese labels, the code beside them for quoting.
    assert "啟用帳號" in history and "<code>activate</code>" in history
    assert "申請帳號" in history and "登入" in history
    assert "成功" in history and "<code>ok</code>" in history
    assert "待啟用 → 已啟用" in history


def test_english_staff_read_english_labels(staff_app, account):
    app = staff_app
    _at_moment(app, account["account_id"])
    client = app.test_client()
    _english(client)
    page = text_of(client.get(f"/account-admin/accounts/{account['account_id']}"))
    assert "2026-12-02 14:05 (Taipei time)" in page
    history = _history(page)
    assert "Time (Taipei time)" in history
    assert "Activate the account" in history and "Done" in history
    assert "啟用帳號" not in history


def test_a_failed_login_reads_as_its_outcome(staff_app, portal, account):
    app = staff_app
    portal.login(account["business_id"], account["account_id"], "not the password 1")
    page = text_of(app.test_client().get(f"/account-admin/accounts/{account['account_id']}"))
    assert "密碼錯誤" in _history(page) and "<code>wrong_password</code>" in _history(page)


def test_minguo_dates_when_configured(make, smtp):
    from tests.helpers import Portal

    app = _mount(make(INDUSTRY_AUTH_CALENDAR="minguo"))
    details = Portal(app, app.test_client(), smtp).active_account()
    _at_moment(app, details["account_id"])
    client = app.test_client()
    page = text_of(client.get(f"/account-admin/accounts/{details['account_id']}"))
    assert "民國115年12月2日 14:05（臺北時間）" in page
    assert "115/12/02 14:05:09" in _history(page)
    search = text_of(client.get("/account-admin/?q=" + details["account_id"]))
    assert "115/12/02" in search


def test_another_time_zone_is_named(make, smtp):
    from tests.helpers import Portal

    app = _mount(make(INDUSTRY_AUTH_TIMEZONE="Europe/Paris"))
    details = Portal(app, app.test_client(), smtp).active_account()
    _at_moment(app, details["account_id"])
    page = text_of(app.test_client().get(f"/account-admin/accounts/{details['account_id']}"))
    assert "2026-12-02 07:05:09" in _history(page) and "時間（Europe/Paris）" in page


def test_unknown_codes_fall_back_to_themselves(staff_app, account):
    app = staff_app
    _add_row(
        app,
        account["account_id"],
        event="host_export",
        outcome="host_quota",
        from_state="host_limbo",
        to_state="host_limbo",
    )
    history = _history(
        text_of(app.test_client().get(f"/account-admin/accounts/{account['account_id']}"))
    )
    for code in ("host_export", "host_quota", "host_limbo"):
        assert code in history


@pytest.fixture
def host_catalog(tmp_path):
    """A host's own catalog (domain ``messages``) with one Chinese string."""
    catalog = Catalog(locale="zh_Hant_TW", domain="messages")
    catalog.add("Over the export quota", "超過匯出配額")
    folder = tmp_path / "zh_Hant_TW" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / "messages.mo", "wb") as out:
        write_mo(out, catalog)
    return str(tmp_path)


def test_host_labels_show_a_dict_and_a_host_catalog_string(make, smtp, host_catalog):
    from tests.helpers import Portal

    app = _mount(make(BABEL_TRANSLATION_DIRECTORIES=host_catalog))
    details = Portal(app, app.test_client(), smtp).active_account()
    lifecycle = auth.get_lifecycle(app)
    lifecycle.add_state("suspended", label={"zh_Hant_TW": "暫停使用", "en": "Suspended"})
    lifecycle.add_transition(
        "suspend", "activated", "suspended", label={"zh_Hant_TW": "暫停", "en": "Suspend"}
    )
    lifecycle.add_outcome("host_quota", label="Over the export quota")
    lifecycle.add_audit_event("host_export", label={"zh_Hant_TW": "匯出資料", "en": "Export"})
    _add_row(app, details["account_id"], event="host_export", outcome="host_quota")
    client = app.test_client()
    page_url = f"/account-admin/accounts/{details['account_id']}"
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    client.post(f"{page_url}/events/suspend", data={"csrf_token": token})
    page = text_of(client.get(page_url))
    assert re.search(r'data-state="suspended">\s*暫停使用', page)
    history = _history(page)
    assert "超過匯出配額" in history and "<code>host_quota</code>" in history
    assert "匯出資料" in history and "暫停" in history
    assert "暫停使用" in text_of(client.get("/account-admin/?state=suspended"))
    _english(client)
    history = _history(text_of(client.get(page_url)))
    assert "Over the export quota" in history and "Export" in history and "Suspended" in history


def test_every_package_state_event_and_outcome_has_a_label():
    import ast
    from pathlib import Path

    from flask_industry_auth.certificates.errors import REASONS

    lifecycle = Lifecycle.default()
    add_approval(lifecycle)
    for name in lifecycle.states:
        assert lifecycle.state_label(name) != name, name
    for t in lifecycle.transitions:
        assert lifecycle.event_label(t.trigger) != t.trigger, t.trigger
    # Every literal outcome and event the package records, and every certificate refusal.
    package = Path(__file__).resolve().parent.parent / "flask_industry_auth"
    outcomes, events = set(REASONS), set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and isinstance(node.value, ast.Constant):
                if node.arg == "outcome":
                    outcomes.add(node.value.value)
                if node.arg == "event" and isinstance(node.value.value, str):
                    events.add(node.value.value)
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) in {"LoginResult", "_refused"}
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
            ):
                (events if node.func.id == "_refused" else outcomes).add(node.args[1].value)
    assert outcomes and not outcomes - OUTCOMES.keys()
    assert events and all(lifecycle.event_label(e) != e for e in events), events
    assert not (set(AUDIT_EVENTS) & {t.trigger for t in lifecycle.transitions})


def _delegation_and_failed_mail(app, account_id):
    with app.app_context():
        models = auth.models
        found = db.session.scalars(db.select(models.Account).filter_by(account_id=account_id)).one()
        db.session.add(
            models.Delegation(
                account_pk=found.id,
                business_id=found.business_id,
                card_issuer="MOICA",
                card_serial="01",
                holder="王大明",
                requested_at=MOMENT,
                authorized_at=MOMENT,
                authorized_by="admin:lin",
                status="authorized",
            )
        )
        db.session.add(
            models.OutboxMail(
                kind="activation",
                recipient=found.email,
                subject="s",
                status="failed",
                created_at=MOMENT,
            )
        )
        db.session.commit()


def test_delegations_and_mail_pages_in_taipei_time(staff_app, account):
    app = staff_app
    _delegation_and_failed_mail(app, account["account_id"])
    client = app.test_client()
    listing = text_of(client.get("/account-admin/delegations"))
    assert "申請時間（臺北時間）" in listing and "授權時間（臺北時間）" in listing
    assert listing.count("2026-12-02 14:05") == 2 and "UTC" not in listing
    mail = text_of(client.get("/account-admin/mail"))
    assert "排入時間（臺北時間）" in mail and "2026-12-02 14:05" in mail and "UTC" not in mail


def test_the_cli_prints_times_in_the_configured_zone(staff_app, account):
    app = staff_app
    _at_moment(app, account["account_id"])
    _delegation_and_failed_mail(app, account["account_id"])
    runner = app.test_cli_runner()
    shown = runner.invoke(
        args=["industry-auth", "show", account["business_id"], account["account_id"]]
    ).output
    assert "created_at     2026-12-02 14:05:09 +08:00" in shown
    assert "last_login_at  2026-12-02 14:05:09 +08:00" in shown
    assert "  2026-12-02 14:05:09 +08:00 activate" in shown
    listed = runner.invoke(args=["industry-auth", "delegations"]).output
    assert "2026-12-02 14:05 +08:00 王大明" in listed
    assert "authorized 2026-12-02 14:05 +08:00 by admin:lin" in listed


def test_the_lifecycle_page_lists_states_and_events_by_label_and_code(staff_app):
    client = staff_app.test_client()
    page = text_of(client.get("/account-admin/lifecycle"))
    assert re.search(r'data-state="requested"><td>待啟用 <code>requested</code>', page)
    assert re.search(r'data-transition="activate">\s*<td>啟用帳號 <code>activate</code>', page)
    assert re.search(
        r'data-transition="delete">\s*<td>刪除 <code>delete</code></td>\s*<td>所有狀態', page
    )
    _english(client)
    page = text_of(client.get("/account-admin/lifecycle"))
    assert "Activate the account <code>activate</code>" in page and "Every state" in page
