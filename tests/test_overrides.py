"""Host overrides of the package's templates: extending the packaged template of the same
name through ``industry_auth/packaged/``, and every kind of mail, each of its three parts."""

import re
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from flask_industry_auth.admin import blueprint as admin_blueprint
from flask_industry_auth.mail import MAIL_KINDS, render_mail
from flask_industry_auth.resources import resource_dir
from flask_industry_auth.templating import PackagedTemplateLoader
from flask_industry_auth.views import blueprint
from tests.helpers import text_of
from tests.hostapp import make_app

PACKAGE = Path(__file__).resolve().parent.parent / "flask_industry_auth"
EMAIL_TEMPLATES = resource_dir("templates") / "industry_auth" / "email"


def write(folder: Path, name: str, source: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")


def test_a_page_override_extends_the_packaged_page(make, tmp_path):
    write(
        tmp_path,
        "industry_auth/login.html",
        '{% extends "industry_auth/packaged/login.html" %}'
        "{% block page_title %}AGENCY LOGIN{% endblock %}",
    )
    app = make()
    app.template_folder = str(tmp_path)
    response = app.test_client().get("/account/login")
    assert response.status_code == 200
    page = text_of(response)
    assert "<h1>AGENCY LOGIN</h1>" in page  # the host's block
    assert "非憑證帳號登入" not in page  # the block it replaced
    for name in ("business_id", "account_id", "password"):  # the package's form
        assert f'name="{name}"' in page


def test_a_mail_override_extends_the_packaged_mail(make, tmp_path, smtp):
    from tests.helpers import Portal

    write(
        tmp_path,
        "industry_auth/email/activation_message.html",
        '{% extends "industry_auth/packaged/email/activation_message.html" %}'
        "{% block body %}{{ super() }}<p>AGENCY SERVICE DESK 02-1234-5678</p>{% endblock %}",
    )
    app = make()
    app.template_folder = str(tmp_path)
    details = Portal(app, app.test_client(), smtp).apply_and_read_mail()
    html = details["mail"].html
    assert "AGENCY SERVICE DESK 02-1234-5678" in html  # the host's block
    # The package's body, and its frame (_base.html), are still there.
    assert details["account_id"] in html
    assert details["password"] in html
    assert details["link"] in html
    assert "[啟用電子身分證]" in html
    assert "<!doctype html>" in html


@pytest.mark.parametrize(
    "name",
    [
        "login.html",
        "_layout.html",
        "email/activation_message.html",
        "email/activation_subject.txt",
        "admin/account.html",
    ],
)
def test_the_alias_is_served_from_the_package_folder_only(make, tmp_path, name):
    # Even when the host overrides the same name, the alias is the package's file.
    write(tmp_path, f"industry_auth/{name}", "HOST OVERRIDE")
    app = make()
    app.template_folder = str(tmp_path)
    with app.test_request_context():
        assert app.jinja_env.get_template(f"industry_auth/{name}").render() == "HOST OVERRIDE"
        packaged = app.jinja_env.get_template(f"industry_auth/packaged/{name}")
    assert Path(packaged.filename) == resource_dir("templates") / "industry_auth" / name


def test_both_blueprints_use_the_packaged_loader():
    for bp in (blueprint, admin_blueprint):
        loader = bp.jinja_loader
        assert isinstance(loader, PackagedTemplateLoader)
        names = loader.list_templates()
        assert "industry_auth/login.html" in names
        assert "industry_auth/packaged/login.html" in names
        assert "industry_auth/packaged/admin/account.html" in names


# Mail kinds ---------------------------------------------------------------------------


def test_mail_kinds_are_the_shipped_mail_templates():
    shipped = {
        path.name.removesuffix("_subject.txt") for path in EMAIL_TEMPLATES.glob("*_subject.txt")
    }
    assert set(MAIL_KINDS) == shipped
    for kind in MAIL_KINDS:
        for part in ("subject.txt", "message.txt", "message.html"):
            assert (EMAIL_TEMPLATES / f"{kind}_{part}").is_file(), (kind, part)
        assert MAIL_KINDS[kind].strip(), kind  # says when it is sent


def test_every_queued_kind_is_listed():
    queued = {
        match.group(1)
        for path in PACKAGE.rglob("*.py")
        for match in re.finditer(r'queue_mail\(\s*"(\w+)"', path.read_text(encoding="utf-8"))
    }
    assert queued, "no queue_mail() call found: the pattern is out of date"
    assert queued <= set(MAIL_KINDS)


#: What each kind's templates are rendered with (read from the templates and their flows).
URL = "https://portal.example.gov.tw/account"
MAIL_CONTEXT = {
    "activation": {
        "password": "TEMP-PASSWORD-1",
        "activation_url": f"{URL}/activate/TOKEN",
        "expires_hours": 72,
        "expires_at": datetime(2026, 12, 5, 6, 0),
        "password_hours": 24,
    },
    "duplicate_application": {},
    "temporary_password": {
        "password": "TEMP-PASSWORD-2",
        "expires_hours": 24,
        "expires_at": datetime(2026, 12, 3, 6, 0),
        "login_url": f"{URL}/login",
    },
    "certificate_recovery": {"login_url": f"{URL}/login"},
    "password_changed": {},
    "email_changed": {"old_email": "old@example.com"},
    "account_locked": {
        "minutes": 15,
        "locked_until": datetime(2026, 12, 2, 6, 15),
        "forgot_url": f"{URL}/forgot-password",
    },
    "account_locked_by_staff": {"reason": "reported stolen", "login_url": f"{URL}/login"},
    "application_rejected": {"reason": "the address is incomplete", "register_url": URL},
}


@pytest.fixture
def mail_app(tmp_path):
    """A host app whose templates folder is ``tmp_path / "templates"`` (no mail is sent)."""
    app = make_app(f"sqlite:///{tmp_path / 'mail.sqlite'}", 0)
    app.template_folder = str(tmp_path / "templates")
    return app


def an_account(**fields) -> SimpleNamespace:
    """What a mail template reads of an account (``fields`` changed)."""
    return SimpleNamespace(
        **{
            "account_id": "ABCD2345",
            "business_id": "04595257",
            "business_name": "Example Trading Co.",
            "email": "new@example.com",
            "is_certificate_account": False,
            "locale": "en",
            **fields,
        }
    )


@pytest.mark.parametrize("kind", sorted(MAIL_KINDS))
def test_each_part_of_each_mail_kind_is_overridable(mail_app, tmp_path, kind):
    account, context = an_account(), MAIL_CONTEXT[kind]
    with mail_app.test_request_context():
        subject, text, html = render_mail(kind, "en", account=account, **context)
    assert "HOST" not in subject + text + html
    assert account.business_name in text

    folder = tmp_path / "templates" / "industry_auth" / "email"
    write(folder, f"{kind}_subject.txt", "HOST SUBJECT {{ account.account_id }}")
    write(folder, f"{kind}_message.txt", "HOST TEXT {{ account.business_id }}")
    write(
        folder,
        f"{kind}_message.html",
        f'{{% extends "industry_auth/packaged/email/{kind}_message.html" %}}'
        "{% block body %}<p>HOST HTML</p>{{ super() }}{% endblock %}",
    )
    mail_app.jinja_env.cache.clear()  # the package's templates were cached under these names
    with mail_app.test_request_context():
        subject, text, html = render_mail(kind, "en", account=account, **context)
    assert subject == "HOST SUBJECT ABCD2345"
    assert text == "HOST TEXT 04595257"
    assert "<p>HOST HTML</p>" in html
    assert account.business_name in html  # the packaged body, rendered with its context
