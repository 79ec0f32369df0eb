"""Serve a host app of this folder with werkzeug's threaded server on 127.0.0.1.

    python serve.py APP_FILE [FACTORY]

Binds a free port first and puts ``http://127.0.0.1:PORT`` into ``HOST_EXTERNAL_URL``, so the
app built next (``FACTORY()``, default ``create_app``) links its mail to this very server;
then prints one JSON line (the port, and where ``flask_industry_auth`` was imported from) and
serves until terminated. Request lines and tracebacks go to stderr (werkzeug's log).

This folder has no ``__init__.py`` on purpose: ``flask --app apps/x.py`` and this script put
only this folder on ``sys.path``, never the source checkout, so the package comes from the
venv's wheel.
"""

import importlib
import json
import os
import sys
from pathlib import Path

from werkzeug.serving import make_server


def _not_ready(environ, start_response):
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


def main() -> None:
    app_file = Path(sys.argv[1]).resolve()
    factory = sys.argv[2] if len(sys.argv) > 2 else "create_app"
    server = make_server("127.0.0.1", 0, _not_ready, threaded=True)
    os.environ["HOST_EXTERNAL_URL"] = f"http://127.0.0.1:{server.port}"
    sys.path.insert(0, str(app_file.parent))
    module = importlib.import_module(app_file.stem)
    server.app = getattr(module, factory)()

    import flask_industry_auth

    package = str(Path(flask_industry_auth.__file__).parent)
    print(json.dumps({"port": server.port, "package": package}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
