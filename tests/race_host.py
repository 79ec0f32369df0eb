"""One app process of the concurrency tests: the test host served on 127.0.0.1:PORT.

``python tests/race_host.py DATABASE_URL PORT``
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.serving import run_simple

from tests.hostapp import make_app

database_url, port = sys.argv[1], int(sys.argv[2])
app = make_app(
    database_url, 9, INDUSTRY_AUTH_MAIL_DELIVERY="worker", INDUSTRY_AUTH_RATELIMIT_ENABLED=False
)
run_simple("127.0.0.1", port, app, threaded=True)
