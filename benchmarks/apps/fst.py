"""The same portal on Flask-Security-Too (login, an authenticated page, forgot password)."""

import sqlalchemy as sa
from flask import Flask, render_template
from flask_security import (
    MailUtil,
    Security,
    SQLAlchemyUserDatastore,
    auth_required,
    current_user,
    hash_password,
)
from flask_security.models import fsqla_v3 as fsqla
from flask_sqlalchemy import SQLAlchemy

from benchmarks.apps.common import ACCOUNTS, ARGON2, DATABASE, PASSWORD

db = SQLAlchemy()
fsqla.FsModels.set_db_info(db)


class Role(db.Model, fsqla.FsRoleMixin):
    __tablename__ = "role"


class User(db.Model, fsqla.FsUserMixin):
    __tablename__ = "user"


class NoMail(MailUtil):
    """Recovery mail is queued by the package in the same measurement, not sent: same here."""

    def send_mail(self, *args, **kwargs):
        return None


def create_app() -> Flask:
    # passlib loads its argon2 backend lazily and then refuses per-call options: load it now.
    from passlib.hash import argon2

    argon2.get_backend()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="benchmark-secret",
        SQLALCHEMY_DATABASE_URI=DATABASE,
        SECURITY_PASSWORD_SALT="benchmark-salt",
        SECURITY_PASSWORD_HASH="argon2",
        SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS={
            "argon2__rounds": ARGON2["time_cost"],
            "argon2__memory_cost": ARGON2["memory_cost"],
            "argon2__parallelism": ARGON2["parallelism"],
        },
        SECURITY_RECOVERABLE=True,
        SECURITY_EMAIL_SENDER="bench@example.com",
    )
    db.init_app(app)
    app.security = Security(app, SQLAlchemyUserDatastore(db, User, Role), mail_util_cls=NoMail)

    @app.get("/profile")
    @auth_required()
    def profile():
        return render_template("page.html", title="profile", body=current_user.email)

    return app


def seed(app: Flask) -> None:
    with app.app_context():
        db.drop_all()
        db.create_all()
        digest = hash_password(PASSWORD)
        rows = [
            dict(
                email=f"user{n}@example.com",
                password=digest,
                active=True,
                fs_uniquifier=f"u{n:07d}",
            )
            for n in range(ACCOUNTS)
        ]
        for start in range(0, len(rows), 5000):
            db.session.execute(sa.insert(User.__table__), rows[start : start + 5000])
        db.session.commit()


app = create_app()
