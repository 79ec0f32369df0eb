"""The app a mail worker process runs: ``flask --app tests.worker_app industry-auth
deliver-mail --watch``, configured by INDUSTRY_AUTH_TEST_DATABASE_URL and TEST_SMTP_PORT."""

import os

from tests.hostapp import make_app

app = make_app(
    os.environ["INDUSTRY_AUTH_TEST_DATABASE_URL"],
    int(os.environ["TEST_SMTP_PORT"]),
    INDUSTRY_AUTH_MAIL_DELIVERY="worker",
    INDUSTRY_AUTH_RATELIMIT_ENABLED=False,
)
