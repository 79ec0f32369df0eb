"""An SMTP server on 127.0.0.1 that keeps what it receives, for the demo's mail viewer (and
the tests' mail). Given a ``store`` file, it keeps the mail there too (SQLite), and a sink
started again on the same file shows what the earlier one received."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aiosmtpd.controller import Controller

from flask_industry_auth.models import utcnow


@dataclass
class ReceivedMail:
    """One mail as the sink received it."""

    recipients: list[str]
    subject: str
    text: str
    html: str
    #: When it arrived, naive UTC (as the package stores times).
    received_at: datetime = field(default_factory=utcnow)
    #: The envelope sender (MAIL FROM): who sent it.
    mail_from: str = ""


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.sink.stall_seconds:
            await asyncio.sleep(self.sink.stall_seconds)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.sink.refuse_with:
            return self.sink.refuse_with
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        self.sink.add(
            ReceivedMail(
                recipients=list(envelope.rcpt_tos),
                subject=str(message["subject"]),
                text=text.get_content() if text else "",
                html=html.get_content() if html else "",
                mail_from=envelope.mail_from or "",
            )
        )
        return "250 OK"


class _Controller(Controller):
    """aiosmtpd's controller, listening on the port it was given or, for 0, on the free port
    the system picks when it binds (a port chosen earlier may be taken meanwhile)."""

    def _create_server(self):
        return self._bind()

    async def _bind(self):
        server = await self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=self.port
        )
        self.port = server.sockets[0].getsockname()[1]
        return server


_SCHEMA = """CREATE TABLE IF NOT EXISTS mail (
    number INTEGER PRIMARY KEY, received_at TEXT NOT NULL, mail_from TEXT NOT NULL,
    recipients TEXT NOT NULL, subject TEXT NOT NULL, text TEXT NOT NULL, html TEXT NOT NULL)"""


class MailSink:
    """Start with :meth:`start` (``port`` is known then); ``mails`` lists what arrived, oldest
    first, with what ``store`` (an SQLite file) kept from earlier runs."""

    def __init__(self, port: int = 0, store: str | Path | None = None) -> None:
        self.port = port
        self.store = Path(store) if store is not None else None
        self.mails: list[ReceivedMail] = self._load() if self.store is not None else []
        #: An SMTP reply such as "451 try again later" to refuse every mail with (tests).
        self.refuse_with: str | None = None
        #: Seconds to stall before answering RCPT TO, to look like a hung server (tests).
        self.stall_seconds: float = 0
        self._lock = threading.Lock()
        self._controller = _Controller(_Handler(self), hostname="127.0.0.1", port=port)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.store)
        connection.execute(_SCHEMA)
        return connection

    def _load(self) -> list[ReceivedMail]:
        with closing(self._connect()) as connection:
            rows = connection.execute(
                "SELECT recipients, subject, text, html, received_at, mail_from"
                " FROM mail ORDER BY number"
            ).fetchall()
        return [
            ReceivedMail(json.loads(to), subject, text, html, datetime.fromisoformat(at), sender)
            for to, subject, text, html, at, sender in rows
        ]

    def add(self, mail: ReceivedMail) -> None:
        with self._lock:
            if self.store is not None:
                with closing(self._connect()) as connection, connection:
                    connection.execute(
                        "INSERT INTO mail (received_at, mail_from, recipients, subject, text,"
                        " html) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            mail.received_at.isoformat(),
                            mail.mail_from,
                            json.dumps(mail.recipients),
                            mail.subject,
                            mail.text,
                            mail.html,
                        ),
                    )
            self.mails.append(mail)

    def start(self) -> None:
        self._controller.start()
        self.port = self._controller.port

    def stop(self) -> None:
        self._controller.stop()
