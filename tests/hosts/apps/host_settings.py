"""What every host of this folder takes from the environment (the tests set it).

Only test needs differ from a real portal: ``TESTING`` (which alone allows the fast argon2
settings), real SMTP to the test's mail sink, plain HTTP, and links to the server itself.
"""

import os


def from_environment(database_variable: str = "HOST_DATABASE_URL") -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": os.environ[database_variable],
        "TESTING": True,  # only to allow the fast argon2 settings below
        "MAIL_SUPPRESS_SEND": False,  # Flask-Mail would suppress mail under TESTING
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": int(os.environ.get("HOST_SMTP_PORT", "25")),
        "MAIL_DEFAULT_SENDER": "no-reply@portal.example.gov.tw",
        # The server's own http://127.0.0.1:PORT (apps/serve.py); the CLI needs no links.
        "INDUSTRY_AUTH_EXTERNAL_URL": os.environ.get("HOST_EXTERNAL_URL", "http://127.0.0.1"),
        "INDUSTRY_AUTH_SECURE_COOKIES": False,  # plain HTTP
        "INDUSTRY_AUTH_ARGON2_TIME_COST": 1,
        "INDUSTRY_AUTH_ARGON2_MEMORY_COST": 1024,
        "INDUSTRY_AUTH_ARGON2_PARALLELISM": 1,
    }
