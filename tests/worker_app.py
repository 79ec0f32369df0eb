"""The app a mail worker process runs: ``flask --app tests.worker_app industry-auth
deliver-mail --watch``, started by ``flask_industry_auth.testkit.start_mail_worker``."""

from flask_industry_auth.testkit import worker_settings
from tests.hostapp import make_app

app = make_app(
    *worker_settings(),
    INDUSTRY_AUTH_MAIL_DELIVERY="worker",
    INDUSTRY_AUTH_RATELIMIT_ENABLED=False,
)
