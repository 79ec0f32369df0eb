"""The README's "Extending the lifecycle" guide, run exactly as it is written.

Its Python blocks run in order in a host portal (with ``app``, ``auth`` and ``db`` as the
guide's reader has them), its Jinja blocks are written to the portal's templates folder under
the path each names in its first line, and its shell lines run through the app's CLI. Then the
journey the guide promises is checked step by step.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from flask_industry_auth import ACTIVATED
from tests.helpers import OWN_PASSWORD, VALID, Portal, text_of
from tests.hostapp import auth, db

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def guide_blocks() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Extending the lifecycle\n", 1)[1].split("\n## ", 1)[0]
    return _BLOCK.findall(section)


def test_the_guide_has_code_of_each_kind():
    kinds = [kind for kind, _ in guide_blocks()]
    assert kinds.count("python") >= 2 and kinds.count("jinja") == 3 and "sh" in kinds


@pytest.fixture
def guided(make, tmp_path):
    app = make()
    templates = tmp_path / "templates"
    commands = []
    namespace = {"app": app, "auth": auth, "db": db}
    with app.app_context():
        for kind, code in guide_blocks():
            if kind == "python":
                exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 (the guide)
            elif kind == "jinja":
                first, _, body = code.partition("\n")
                path = re.fullmatch(r"\{# templates/(\S+) #\}", first.strip()).group(1)
                (templates / path).parent.mkdir(parents=True, exist_ok=True)
                (templates / path).write_text(body, encoding="utf-8")
            else:
                commands += [shlex.split(line) for line in code.splitlines() if line.strip()]
        db.create_all()  # the portal's own table (its migration, in a real portal)
    app.template_folder = str(templates)
    from flask_industry_auth.admin import AccountAdmin

    AccountAdmin(app, can_access=lambda: True, actor=lambda: "staff:test")
    return app, namespace, commands


def _cli(app, command: list[str], **replace: str):
    assert command[:3] == ["flask", "--app", "portal"]
    args = [replace.get(word, word) for word in command[3:]]
    return app.test_cli_runner().invoke(args=args)


def test_the_guide_runs_end_to_end(guided, smtp):
    app, namespace, commands = guided
    portal = Portal(app, app.test_client(), smtp)
    # Activation fills the portal's own table, through the signal.
    details = portal.active_account()
    with app.app_context():
        welcomed = db.session.scalars(db.select(namespace["Welcome"].account_pk)).all()
        account = db.session.scalar(
            db.select(auth.account_model).filter_by(account_id=details["account_id"])
        )
        assert welcomed == [account.id]
    portal.forget_mails()
    account_id = details["account_id"]
    start, end, audit, states = commands
    # Without its reason the CLI refuses, and nothing changes.
    refused = _cli(app, start[:-2], ABCD2345=account_id)
    assert refused.exit_code == 1 and "needs a reason" in refused.output
    assert portal.client.get("/account/").status_code == 200
    # Staff start the review: the applicant's session ends, the reason is mailed.
    done = _cli(app, start, ABCD2345=account_id)
    assert done.exit_code == 0, done.output
    assert portal.client.get("/account/").status_code == 302
    (mail,) = portal.settle()
    assert mail.subject == "帳號審查通知" and "原因：請補件" in mail.text
    # The right password learns why; a wrong one learns nothing.
    right = text_of(portal.login(VALID["business_id"], account_id, OWN_PASSWORD))
    assert "您的帳號正在審查中" in right
    wrong = text_of(portal.login(VALID["business_id"], account_id, "not my password!"))
    assert "您的帳號正在審查中" not in wrong
    # The staff's page offers the review's events with their labels, in both languages.
    admin_page = _admin_page(app, account_id)
    assert "結束審查" in admin_page and "審查中" in admin_page
    assert "End the review" in _admin_page(app, account_id, locale="en")
    # The audit trail and the diagram know the new state.
    history = _cli(app, audit, ABCD2345=account_id)
    assert "start_review" in history.output and "請補件" in history.output
    assert "under_review --> activated: end_review" in _cli(app, states).output
    # Staff end the review: the applicant logs in again.
    assert _cli(app, end, ABCD2345=account_id).exit_code == 0
    assert portal.login(VALID["business_id"], account_id, OWN_PASSWORD).status_code == 302
    with app.app_context():
        assert db.session.get(auth.account_model, account.id).state == ACTIVATED


def _admin_page(app, account_id: str, locale: str = "zh_Hant_TW") -> str:
    client = app.test_client()
    with client.session_transaction() as session:
        session["_industry_auth_locale"] = locale
    return text_of(client.get(f"/account-admin/accounts/{account_id}"))
