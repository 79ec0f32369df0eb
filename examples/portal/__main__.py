"""``python -m examples.portal``: run the demo portal with its own SMTP sink."""

import argparse

from .app import create_app
from .mailsink import MailSink


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: SQLite file)")
    args = parser.parse_args()

    sink = MailSink()
    sink.start()
    app = create_app(
        port=args.port, smtp_port=sink.port, mail_sink=sink, database_url=args.database
    )
    print(f" * Demo portal: http://127.0.0.1:{args.port}/  (mail viewer: /mails)")
    app.run(host="127.0.0.1", port=args.port, use_reloader=False)


if __name__ == "__main__":
    main()
