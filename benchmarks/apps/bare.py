"""The limit: bare Flask doing only the work that must be done (an indexed lookup, an
argon2id verify with the same parameters, a session cookie, a small template; for an
application: the form read, one argon2id hash, one insert)."""

import re
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from flask import Flask, redirect, render_template, request, session
from flask_sqlalchemy import SQLAlchemy

from benchmarks.apps.common import (
    ACCOUNTS,
    ARGON2,
    BUSINESS_ID,
    DATABASE,
    PASSWORD,
    account_id,
)

db = SQLAlchemy()
hasher = PasswordHasher(**ARGON2)
DUMMY = hasher.hash(secrets.token_hex(8))
#: The application form's fields (as ours names them) and their length limits.
APPLICATION = {
    "business_name": 100,
    "business_id": 8,
    "responsible_person": 50,
    "contact_person": 50,
    "phone": 40,
    "address": 200,
    "email": 254,
}


class User(db.Model):
    __tablename__ = "bare_user"
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.String(32), unique=True, index=True)
    business_id = db.Column(db.String(8))
    name = db.Column(db.String(100))
    email = db.Column(db.String(254))
    password_hash = db.Column(db.String(255))


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="benchmark-secret", SQLALCHEMY_DATABASE_URI=DATABASE)
    db.init_app(app)

    @app.get("/login")
    def login_page():
        return render_template("page.html", title="login", body="form")

    @app.post("/login")
    def login():
        user = db.session.scalar(
            sa.select(User).where(User.account_id == request.form.get("account_id", ""))
        )
        try:
            ok = hasher.verify(user.password_hash if user else DUMMY, request.form["password"])
        except VerificationError:
            ok = False
        if not (ok and user and user.business_id == request.form.get("business_id")):
            return render_template("page.html", title="login", body="failed")
        session["uid"] = user.id
        return redirect("/profile")

    @app.get("/profile")
    def profile():
        user = db.session.get(User, session.get("uid", 0))
        if user is None:
            return redirect("/login")
        return render_template("page.html", title="profile", body=user.name)

    @app.post("/forgot")
    def forgot():
        user = db.session.scalar(
            sa.select(User).where(User.account_id == request.form.get("account_id", ""))
        )
        hasher.hash(secrets.token_hex(16))  # a temporary password, or the same work
        if user is not None:
            db.session.commit()
        return render_template("page.html", title="forgot", body="sent")

    @app.post("/register")
    def register():
        # The least an application must do: read and check the form, hash a system
        # password, insert the account. Ours also writes an audit row and an outbox mail.
        form = {name: request.form.get(name, "").strip() for name in APPLICATION}
        if (
            not all(form.values())
            or any(len(form[name]) > limit for name, limit in APPLICATION.items())
            or not re.fullmatch(r"[0-9]{8}", form["business_id"])
            or "@" not in form["email"]
        ):
            return render_template("page.html", title="register", body="invalid"), 400
        db.session.add(
            User(
                account_id=secrets.token_hex(6).upper(),
                business_id=form["business_id"],
                name=form["business_name"],
                email=form["email"].lower(),
                password_hash=hasher.hash(secrets.token_urlsafe(12)),
            )
        )
        db.session.commit()
        return render_template("page.html", title="register", body="applied")

    return app


def seed(app: Flask) -> None:
    with app.app_context():
        db.drop_all()
        db.create_all()
        digest = hasher.hash(PASSWORD)
        rows = [
            dict(
                account_id=account_id(n),
                business_id=BUSINESS_ID,
                name=f"公司{n}",
                password_hash=digest,
            )
            for n in range(ACCOUNTS)
        ]
        for start in range(0, len(rows), 5000):
            db.session.execute(sa.insert(User.__table__), rows[start : start + 5000])
        db.session.commit()


app = create_app()
