"""A host portal run from the installed wheel, in a fresh virtual environment.

Called by ``tests/hosts/test_wheel.py`` in steps, so the test (which holds the SMTP server) can read
the mail between them: ``apply``, ``activate LINK``, ``login ACCOUNT_ID PASSWORD``.
Prints one JSON object.
"""

import json
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

import flask_industry_auth
from flask_industry_auth import IndustryAuth
from flask_industry_auth.mail import wait_for_delivery
from flask_industry_auth.migrate import upgrade

database, smtp_port, step, *args = sys.argv[1:]
app = Flask(__name__)
app.config.update(
    SECRET_KEY="wheel-test",
    TESTING=True,  # allows the fast argon2 parameters below
    MAIL_SUPPRESS_SEND=False,  # Flask-Mail would suppress mail under TESTING
    SQLALCHEMY_DATABASE_URI=database,
    MAIL_SERVER="127.0.0.1",
    MAIL_PORT=int(smtp_port),
    MAIL_DEFAULT_SENDER="portal@example.gov.tw",
    INDUSTRY_AUTH_EXTERNAL_URL="https://portal.example.gov.tw",
    INDUSTRY_AUTH_SECURE_COOKIES=False,  # the test client speaks plain HTTP
    INDUSTRY_AUTH_ARGON2_TIME_COST=1,
    INDUSTRY_AUTH_ARGON2_MEMORY_COST=1024,
    INDUSTRY_AUTH_ARGON2_PARALLELISM=1,
)
db = SQLAlchemy(app)
IndustryAuth(app, db=db)
client = app.test_client()
with app.app_context():
    upgrade()


def post(path, data):
    page = client.get("/account/login", follow_redirects=True).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post(path, data={"csrf_token": token, **data})


result = {"package": str(Path(flask_industry_auth.__file__).parent)}
if step == "apply":
    form = {
        "business_name": "測試公司",
        "business_id": "22099131",
        "responsible_person": "王大明",
        "contact_person": "林小華",
        "phone": "02-2311-2345",
        "address": "臺北市",
        "email": "wheel@example.com",
    }
    result["label"] = "營利事業名稱" in client.get("/account/register").get_data(as_text=True)
    result["status"] = post("/account/register", {**form, "action": "apply"}).status_code
elif step == "activate":
    client.get(urlsplit(args[0]).path)
    result["status"] = post("/account/activate/confirm", {}).status_code
elif step == "login":
    response = post(
        "/account/login", {"business_id": "22099131", "account_id": args[0], "password": args[1]}
    )
    result["status"] = response.status_code
    result["location"] = response.headers.get("Location")
with app.app_context():
    wait_for_delivery()
print(json.dumps(result))
