"""A host portal with the flask_industry_auth blueprint (the app measured)."""

import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from benchmarks.apps.common import ACCOUNTS, ARGON2, BUSINESS_ID, DATABASE, PASSWORD, account_id
from flask_industry_auth import IndustryAuth

db = SQLAlchemy()
auth = IndustryAuth(db=db)


def create_app(database: str = DATABASE) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="benchmark-secret",
        SQLALCHEMY_DATABASE_URI=database,
        INDUSTRY_AUTH_EXTERNAL_URL="http://127.0.0.1",
        INDUSTRY_AUTH_SECURE_COOKIES=False,
        INDUSTRY_AUTH_RATELIMIT_ENABLED=False,
        INDUSTRY_AUTH_MAIL_DELIVERY="worker",
        MAIL_DEFAULT_SENDER="bench@example.com",
        INDUSTRY_AUTH_ARGON2_TIME_COST=ARGON2["time_cost"],
        INDUSTRY_AUTH_ARGON2_MEMORY_COST=ARGON2["memory_cost"],
        INDUSTRY_AUTH_ARGON2_PARALLELISM=ARGON2["parallelism"],
    )
    db.init_app(app)
    auth.init_app(app)
    return app


def seed(app: Flask) -> None:
    with app.app_context():
        db.drop_all()
        db.create_all()
        digest = PasswordHasher(**ARGON2).hash(PASSWORD)
        table = auth.account_model.__table__
        rows = [
            dict(
                account_id=account_id(n),
                account_type="non_certificate",
                state="activated",
                business_name=f"公司{n}",
                business_id=BUSINESS_ID,
                responsible_person="王",
                contact_person="林",
                phone="+886223112345",
                address="臺北市",
                email=f"user{n}@example.com",
                email_key=f"user{n}@example.com",
                locale="zh_Hant_TW",
                password_hash=digest,
                must_change_password=False,
                failed_logins=0,
                session_uniquifier=f"u{n}",
            )
            for n in range(ACCOUNTS)
        ]
        for start in range(0, len(rows), 5000):
            db.session.execute(sa.insert(table), rows[start : start + 5000])
        db.session.commit()


app = create_app()
