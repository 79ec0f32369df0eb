"""``python -m examples.portal``: run the demo portal with its own SMTP server (the mail viewer).

The port is ``--port``, else ``DEMO_PORT``, else 5000; the instance folder ``--instance``, else
``DEMO_INSTANCE``, else ``instance/`` (see ``examples.portal.app``). The port is bound before
anything else: a taken port is one line on stderr and exit status 1, and no URL is printed.
SIGTERM and Ctrl-C stop it cleanly.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .server import PortTaken, listen, serve


def main(argv: list[str] | None = None) -> int:
    """Run the demo until SIGTERM or Ctrl-C; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m examples.portal", description=__doc__)
    parser.add_argument(
        "--port",
        type=int,
        default=os.environ.get("DEMO_PORT", "5000"),  # argparse checks it as it checks --port
        help="port on 127.0.0.1 (default: DEMO_PORT, else 5000; 0: any free port)",
    )
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: SQLite file)")
    parser.add_argument("--instance", default=None, help="instance folder (default: instance/)")
    args = parser.parse_args(argv)

    try:
        sock = listen(args.port)
    except PortTaken:
        print(
            f"demo: port {args.port} on 127.0.0.1 is taken by another program; choose another"
            f" with DEMO_PORT, e.g. make demo DEMO_PORT={args.port + 1}",
            file=sys.stderr,
        )
        return 1
    # Only now the heavy imports: a taken port is told at once.
    from .app import LISTENING, create_app, instance_folder
    from .mailsink import MailSink

    port = sock.getsockname()[1]
    folder = instance_folder(args.instance)
    sink = MailSink(store=folder / "mails.sqlite")
    sink.start()
    try:
        app = create_app(
            port=port,
            smtp_port=sink.port,
            mail_sink=sink,
            database_url=args.database,
            instance_path=folder,
        )
        server = serve(app, sock)
    except BaseException:
        sock.close()
        sink.stop()
        raise
    # The operator commands (flask --app examples.portal.app) read where to mail and link.
    (folder / LISTENING).write_text(json.dumps({"port": port, "smtp_port": sink.port}))
    # Mail the last run left queued (or that waited for the viewer while the demo was down)
    # goes out now, not at the next retry.
    sender = threading.Thread(target=_send_waiting_mail, args=(app,), daemon=True)
    sender.start()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(f" * Demo portal: http://127.0.0.1:{port}/  (mail viewer: /mails)", flush=True)
        print(f" * Instance folder: {folder}", flush=True)
        server.serve_forever()  # until KeyboardInterrupt (Ctrl-C, or SIGTERM below)
    except KeyboardInterrupt:  # serve_forever() takes its own; this one came before it ran
        server.server_close()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second one ends it at once
        sender.join(10)
        with app.app_context():
            from flask_industry_auth.mail import cancel_retry, wait_for_delivery

            cancel_retry(app)
            wait_for_delivery(10)
        sink.stop()
    return 0


def _send_waiting_mail(app) -> None:
    from flask_industry_auth.mail import deliver_due, schedule_retry, seconds_to_next_due

    from .app import db

    with app.app_context():
        try:
            deliver_due(include_deferred=True)
            delay = seconds_to_next_due()
        finally:
            db.session.remove()
    if delay is not None:  # some could not go yet: the package's retry timer takes them
        schedule_retry(app, delay)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
