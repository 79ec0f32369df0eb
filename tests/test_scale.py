"""Operations that must hold on a national data set (issue 17): search by part of a name
through the name index, operator jobs in batches, the outbox's partial index, revision 0004."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from flask_industry_auth.flows import operations
from flask_industry_auth.migrate import VERSION_TABLE, downgrade, schema_differences, upgrade
from flask_industry_auth.models import utcnow
from tests.hostapp import auth, db

NAMES = [
    "鴻海精密工業股份有限公司",
    "精密鴻海",  # the text at the start ...
    "台灣鴻海",  # ... and at the end
    "鴻 海商行",  # the two characters apart: not a match
    "ABC Trading 有限公司",
    "100%_純 有限公司",
]


_SERIAL = itertools.count()


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["industry-auth", *args])


def _add_accounts(names, **columns):
    """Accounts written straight to the table (many, fast); returns their account ids."""
    Account = auth.models.Account
    ids = []
    for position, name in enumerate(names):
        n = next(_SERIAL)
        account_id = f"T{n:09d}"
        db.session.add(
            Account(
                account_id=account_id,
                state=columns.get("state", "activated"),
                business_name=name,
                business_id=f"{n:08d}",
                responsible_person="王小明",
                contact_person="李小華",
                phone="+886223456789",
                address="台北市",
                email=f"a{n}@example.com",
                email_key=f"a{n}@example.com",
                session_uniquifier=f"u{n}",
                created_at=utcnow() - timedelta(minutes=len(names) - position),
                last_login_at=columns.get("last_login_at"),
                activated_at=columns.get("last_login_at"),
            )
        )
        ids.append(account_id)
    db.session.commit()
    return ids


def _names(page) -> set[str]:
    return {account.business_name for account in page.accounts}


def test_search_by_part_of_a_name(app):
    with app.app_context():
        _add_accounts(NAMES)
        assert _names(operations.search(text="鴻海")) == set(NAMES[:3])
        assert _names(operations.search(text="鴻")) == set(NAMES[:4])  # one character
        assert _names(operations.search(text="精密工業")) == {NAMES[0]}  # three and more
        assert _names(operations.search(text="abc trading")) == {NAMES[4]}  # any case
        assert _names(operations.search(text="TRADING")) == {NAMES[4]}
        assert _names(operations.search(text="%_")) == {NAMES[5]}  # wildcards as themselves
        assert _names(operations.search(text="_")) == {NAMES[5]}
        assert _names(operations.search(text="0%")) == {NAMES[5]}
        assert _names(operations.search(text="有限公司")) == set(NAMES[4:]) | {NAMES[0]}
        assert operations.search(text="海鴻").accounts == []


def test_counts_stop_at_the_cap(app, monkeypatch):
    monkeypatch.setattr(operations, "COUNT_CAP", 3)
    with app.app_context():
        _add_accounts([f"測試{n}號" for n in range(5)])
        page = operations.search(text="測試", per_page=2)
        assert (page.total, page.more, page.has_next, len(page.accounts)) == (3, True, True, 2)
        assert operations.search(text="測試", per_page=2, page=3).accounts
        exact = operations.search(text="1號")
        assert (exact.total, exact.more) == (1, False)
    listed = _run(app, "list", "--per-page", "2")
    assert "page 1 of 2+ (3+ accounts)" in listed.output


def _postgresql(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


def _plan(sql: str, **params) -> str:
    rows = db.session.execute(sa.text(f"EXPLAIN (FORMAT JSON) {sql}"), params).scalar_one()
    return json.dumps(rows)


def test_postgresql_finds_names_and_due_mail_by_index(app):
    if not _postgresql(app):
        pytest.skip("PostgreSQL only: INDUSTRY_AUTH_TEST_DATABASE_URL")
    with app.app_context():
        _add_accounts(NAMES)
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = _plan(
            "SELECT id FROM industry_auth_account "
            "WHERE industry_auth_name_grams(business_name) @> ARRAY['鴻海']"
        )
        assert "ix_industry_auth_account_name_grams" in plan
        plan = _plan(
            "SELECT id FROM industry_auth_audit WHERE account_pk = 1 ORDER BY id DESC LIMIT 100"
        )
        assert "ix_industry_auth_audit_account" in plan
        db.session.rollback()


def test_prune_audit_in_batches_deletes_only_old_rows(app):
    with app.app_context():
        AuditEvent = auth.models.AuditEvent
        now = utcnow()
        for n in range(25):
            db.session.add(
                AuditEvent(event="login", outcome="ok", created_at=now - timedelta(days=400 + n))
            )
        for n in range(4):
            db.session.add(AuditEvent(event="login", outcome="ok", created_at=now - timedelta(n)))
        db.session.commit()
        seen = []
        assert operations.prune_audit(365, batch_size=7, progress=seen.append) == 25
        assert seen == [7, 14, 21, 25]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 4
    result = _run(app, "prune-audit", "--batch-size", "0")
    assert result.exit_code == 1


def test_disable_idle_over_several_batches(app):
    with app.app_context():
        old = utcnow() - timedelta(days=400)
        idle = _add_accounts([f"閒置{n}" for n in range(7)], last_login_at=old)
        recent = _add_accounts(["最近"], last_login_at=utcnow())
        batches = []
        count = operations.disable_idle(
            365, actor="cron", batch_size=3, progress=lambda ids: batches.append(list(ids))
        )
        assert count == 7 and [len(b) for b in batches] == [3, 3, 1]
        assert sorted(i for batch in batches for i in batch) == sorted(idle)
        Account, AuditEvent = auth.models.Account, auth.models.AuditEvent
        states = dict(db.session.execute(sa.select(Account.account_id, Account.state)).all())
        assert {states[i] for i in idle} == {"disabled"} and states[recent[0]] == "activated"
        audited = db.session.scalars(
            sa.select(AuditEvent.account_id).where(AuditEvent.event == "disable")
        ).all()
        assert sorted(audited) == sorted(idle)
    dry = _run(app, "disable-idle", "--days", "365", "--dry-run", "--batch-size", "2")
    assert "would disable 0 account" in dry.output


def test_purge_mail_deletes_only_old_sent_and_failed_mail(app):
    with app.app_context():
        OutboxMail = auth.models.OutboxMail
        now, old = utcnow(), utcnow() - timedelta(days=40)
        rows = [
            ("sent", old, old, True),
            ("sent", old, old, True),
            ("failed", old, None, True),
            ("sent", now, now, False),
            ("failed", now, None, False),
            ("pending", old, None, False),  # waiting: never deleted
        ]
        for status, created, sent, _ in rows:
            db.session.add(
                OutboxMail(
                    kind="x",
                    recipient="a@example.com",
                    subject="s",
                    status=status,
                    created_at=created,
                    sent_at=sent,
                    next_attempt_at=now + timedelta(days=1),
                )
            )
        db.session.commit()
    result = _run(app, "purge-mail", "--batch-size", "2")
    assert result.exit_code == 0 and "removed 3 mail(s)" in result.output
    with app.app_context():
        left = db.session.scalars(sa.select(OutboxMail.status).order_by(OutboxMail.id)).all()
        assert left == ["sent", "failed", "pending"]
    assert _run(app, "purge-mail", "--days", "0").exit_code == 1


def test_revision_0004_down_and_up(app):
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
        upgrade()
        indexes = {i["name"] for i in sa.inspect(db.engine).get_indexes("industry_auth_account")}
        assert "ix_industry_auth_account_email_key" in indexes
        downgrade("0003")
        indexes = {i["name"] for i in sa.inspect(db.engine).get_indexes("industry_auth_account")}
        assert "ix_industry_auth_account_email_key" not in indexes
        upgrade()
        with db.engine.connect() as connection:
            assert schema_differences(connection) == []
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE {VERSION_TABLE}"))


def test_postgresql_sender_reads_only_waiting_mail_past_many_sent(app):
    """The sender's own queries, on an outbox of sent mail with the due mail newest (as it
    is in life): each is a range of the waiting-mail index, never a walk of the table or of
    its primary key past the sent rows."""
    if not _postgresql(app):
        pytest.skip("PostgreSQL only: INDUSTRY_AUTH_TEST_DATABASE_URL")
    from flask_industry_auth.mail import due_queries

    with app.app_context():
        outbox = auth.models.OutboxMail.__table__
        db.session.execute(
            sa.text(
                "INSERT INTO industry_auth_outbox (kind, recipient, subject, status, attempts, "
                "next_attempt_at, created_at, sent_at) SELECT 'activation', 'a@example.com', "
                "'s', CASE WHEN g > 30000 - 5 THEN 'pending' ELSE 'sent' END, 1, "
                "now() - interval '1 day', now() - interval '1 day', now() FROM "
                "generate_series(1, 30000) AS g"
            )
        )
        db.session.execute(sa.text("ANALYZE industry_auth_outbox"))
        for query in due_queries(outbox, utcnow(), False, 100):
            compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = _plan(str(compiled))
            assert "ix_industry_auth_outbox_waiting" in plan, plan
            assert "Seq Scan" not in plan and "industry_auth_outbox_pkey" not in plan, plan
        pending = db.session.scalars(due_queries(outbox, utcnow(), False, 100)[1]).all()
        assert len(pending) == 5
        db.session.rollback()


def test_postgresql_revision_0002_runs_again_after_its_index_build_failed(app):
    """0002 builds the card constraint's index outside its transaction, which commits the
    new table and columns first: when the build fails (here: two accounts hold the same
    card), the revision is not recorded, and a second run after the fix completes it."""
    if not _postgresql(app):
        pytest.skip("PostgreSQL only: INDUSTRY_AUTH_TEST_DATABASE_URL")
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
        upgrade("0001")
        # What a first run of 0002 commits before its index build: the table, the columns.
        auth.models.Challenge.__table__.create(db.engine)
        db.session.execute(
            sa.text(
                "ALTER TABLE industry_auth_account ADD COLUMN certificate_issuer VARCHAR(500), "
                "ADD COLUMN certificate_serial VARCHAR(64)"
            )
        )
        db.session.commit()
        _first, second = _add_accounts(["甲公司", "乙公司"])
        db.session.execute(
            sa.text(
                "UPDATE industry_auth_account SET certificate_issuer = 'CN=x', "
                "certificate_serial = '01'"
            )
        )
        db.session.commit()
        with pytest.raises(sa.exc.IntegrityError):
            upgrade("0002")  # the concurrent build fails and leaves an INVALID index
        with db.engine.connect() as connection:
            version = sa.text(f"SELECT version_num FROM {VERSION_TABLE}")  # noqa: S608
            assert connection.scalar(version) == "0001"
        db.session.execute(
            sa.text(
                "UPDATE industry_auth_account SET certificate_serial = '02' WHERE account_id = :a"
            ),
            {"a": second},
        )
        db.session.commit()
        upgrade()
        with db.engine.connect() as connection:
            assert schema_differences(connection) == []
            valid = connection.scalar(
                sa.text(
                    "SELECT indisvalid FROM pg_index WHERE indexrelid = "
                    "'uq_industry_auth_account_card'::regclass"
                )
            )
            assert valid is True
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE {VERSION_TABLE}"))
