"""The demo host portal: a landing page, the mounted blueprint, filing pages, a mail viewer."""

from __future__ import annotations

import json
import re
import secrets
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

db = SQLAlchemy()
auth = IndustryAuth(db=db)

_URL = re.compile(r"https?://[^\s<>\"]+")


def create_app(
    *,
    port: int = 5000,
    smtp_port: int = 8025,
    mail_sink=None,
    database_url: str | None = None,
    **overrides,
) -> Flask:
    """Build the demo app. ``mail_sink`` (a ``MailSink``) feeds the /mails viewer."""
    app = Flask(__name__, instance_path=str(Path.cwd() / "instance"))
    Path(app.instance_path).mkdir(exist_ok=True)
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        SQLALCHEMY_DATABASE_URI=database_url
        or f"sqlite:///{Path(app.instance_path) / 'demo.sqlite'}",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_port,
        MAIL_DEFAULT_SENDER="no-reply@portal.example.gov.tw",
        INDUSTRY_AUTH_EXTERNAL_URL=f"http://127.0.0.1:{port}",
        INDUSTRY_AUTH_BASE_TEMPLATE="portal/base.html",
        INDUSTRY_AUTH_SECURE_COOKIES=False,  # the demo is plain HTTP on 127.0.0.1
    )
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
