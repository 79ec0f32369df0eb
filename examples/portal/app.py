"""The demo host portal: a landing page, the mounted blueprint, filing pages, a mail viewer.

Its instance folder (``DEMO_INSTANCE``, by default ``instance/`` at the top of the repository)
keeps what must outlive a restart: the secret key (``secret_key``, made once, mode 0600; it
signs the sessions and encrypts the queued mail), the database (``demo.sqlite``), the mail the
viewer received (``mails.sqlite``) and where the running demo listens (``demo.json``: its
port and its mail viewer's SMTP port). ``flask --app examples.portal.app industry-auth ...``
builds the app from the same folder, so the operator commands act on the demo's accounts and
mail it into the demo's viewer.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
from pathlib import Path

from flask import Flask, abort, render_template, request
from flask_sqlalchemy import SQLAlchemy
from markupsafe import Markup, escape

from flask_industry_auth import (
    IndustryAuth,
    account_required,
    current_account,
    electronic_filing_required,
    signing,
)
from flask_industry_auth.admin import AccountAdmin
from flask_industry_auth.certificates import CertificateRefused
from flask_industry_auth.messages import certificate_message
from flask_industry_auth.migrate import upgrade

from .favicon import favicon_ico

db = SQLAlchemy()
auth = IndustryAuth(db=db)

_URL = re.compile(r"https?://[^\s<>\"]+")

#: The instance folder unless ``DEMO_INSTANCE`` names another (``instance/`` is gitignored).
DEFAULT_INSTANCE = Path(__file__).resolve().parents[2] / "instance"
#: In the instance folder: where the running demo listens (written at each start).
LISTENING = "demo.json"


def instance_folder(path: str | Path | None = None) -> Path:
    """The demo's instance folder (created): ``path``, else ``DEMO_INSTANCE``, else
    :data:`DEFAULT_INSTANCE`."""
    folder = Path(path or os.environ.get("DEMO_INSTANCE") or DEFAULT_INSTANCE).resolve()
    # Only its owner reads it: the key, and mail with temporary passwords and links in it.
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def secret_key(folder: Path) -> str:
    """The demo's secret key, kept in ``folder/secret_key`` (made on first use, mode 0600).

    A key of its own per start would end every session at a restart and make the mail still
    queued unreadable (it is encrypted with a key derived from this one)."""
    path = folder / "secret_key"
    if not path.exists():
        descriptor, name = tempfile.mkstemp(dir=folder, prefix=".secret_key.")  # mode 0600
        draft = Path(name)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            # Written whole, then linked: of two processes starting at once (the demo and an
            # operator command), the first wins and both read its key.
            os.link(draft, path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: the draft itself becomes the key
            if not path.exists():
                os.replace(draft, path)
        finally:
            draft.unlink(missing_ok=True)
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it and a new key is made")
    return key


def listening(folder: Path) -> dict:
    """Where the demo that uses ``folder`` listens: ``{"port": …, "smtp_port": …}`` as its
    last start wrote them, or ``{}``."""
    try:
        return json.loads((folder / LISTENING).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def create_app(
    *,
    port: int | None = None,
    smtp_port: int | None = None,
    mail_sink=None,
    database_url: str | None = None,
    instance_path: str | Path | None = None,
    **overrides,
) -> Flask:
    """Build the demo app. ``mail_sink`` (a ``MailSink``) feeds the /mails viewer.

    Without ``port`` and ``smtp_port`` (``flask --app examples.portal.app ...``), they are the
    running demo's (:func:`listening`): links in mail point at it and mail goes to its viewer.
    Settings in the environment as ``FLASK_<NAME>`` (``FLASK_INDUSTRY_AUTH_REQUIRE_APPROVAL=
    true``) come next, and ``overrides`` last."""
    folder = instance_folder(instance_path)
    running = listening(folder)
    port = port or running.get("port") or 5000
    app = Flask(__name__, instance_path=str(folder))
    app.config.update(
        SECRET_KEY=secret_key(folder),
        SQLALCHEMY_DATABASE_URI=database_url or f"sqlite:///{folder / 'demo.sqlite'}",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_port or running.get("smtp_port") or 8025,
        MAIL_DEFAULT_SENDER="no-reply@portal.example.gov.tw",
        INDUSTRY_AUTH_EXTERNAL_URL=f"http://127.0.0.1:{port}",
        INDUSTRY_AUTH_BASE_TEMPLATE="portal/base.html",
        INDUSTRY_AUTH_SECURE_COOKIES=False,  # the demo is plain HTTP on 127.0.0.1
    )
    app.config.from_prefixed_env()
    app.config.update(overrides)
    db.init_app(app)
    dev_signer = app.config.get("DEMO_DEV_SIGNER", True)
    if dev_signer:
        from .devsigner import init_dev_signer, use_demo_crls

        init_dev_signer(app)  # test cards and a stand-in HiPKI; 127.0.0.1 only
    auth.init_app(app)
    if dev_signer:
        use_demo_crls(app)
    # The staff pages. The demo has no staff login, so its check lets in only requests from
    # this machine; a real portal checks its staff user's role here.
    AccountAdmin(app, can_access=lambda: request.remote_addr == "127.0.0.1", actor=_demo_actor)
    with app.app_context():
        upgrade()  # the package's Alembic revisions create its tables

    @app.route("/favicon.ico")
    def favicon():
        return app.response_class(
            favicon_ico(),
            mimetype="image/vnd.microsoft.icon",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.route("/")
    def home():
        return render_template("portal/home.html", account=current_account())

    @app.route("/filing/paper")
    @account_required
    def paper_filing():
        return render_template("portal/filing.html", kind="paper")

    @app.route("/filing/electronic")
    @electronic_filing_required
    def electronic_filing():
        return render_template("portal/filing.html", kind="electronic")

    @app.route("/filing/electronic/sign", methods=["GET", "POST"])
    @electronic_filing_required
    def sign_filing():
        # A sample filing signed by the applicant's card: the evidence is what a real portal
        # stores beside the document (here it is only shown).
        document = _sample_filing(current_account()).encode()
        evidence = failure = None
        if request.method == "POST":
            try:
                evidence = signing.verify("filing", document).to_dict()
            except CertificateRefused as refused:
                failure = certificate_message(refused.reason)
        digest = signing.prepare("filing", document)
        return render_template(
            "portal/filing_sign.html",
            document=document.decode(),
            digest=digest,
            evidence=json.dumps(evidence, ensure_ascii=False, indent=2) if evidence else None,
            certificate_failure=failure,
            **signing.template_context(),
        )

    @app.route("/mails")
    def mails():
        received = list(reversed(mail_sink.mails)) if mail_sink else []
        return render_template("portal/mails.html", mails=received, total=len(received))

    @app.route("/mails/<int:number>")
    def mail(number: int):
        if mail_sink is None or not 0 <= number < len(mail_sink.mails):
            abort(404)
        return render_template(
            "portal/mail.html",
            mail=mail_sink.mails[number],
            number=number,
            body=_linkify(mail_sink.mails[number].text),
        )

    return app


def _sample_filing(account) -> str:
    return (
        "產業升級創新平台 示範申請書 DEMO-001\n"
        f"申請人：{account.business_name}（統一編號 {account.business_id}）\n"
        f"電子身分帳號：{account.account_id}\n"
        "申請項目：示範用，無任何效力 (a sample filing, of no effect)\n"
    )


def _demo_actor() -> str:
    return "demo-staff@127.0.0.1"


def _linkify(text: str) -> Markup:
    escaped = str(escape(text))
    # Safe: the text was escaped first, and the URL pattern excludes quotes and brackets.
    linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
    return Markup(linked)  # noqa: S704
