"""An SMTP server on 127.0.0.1 that keeps what it receives, for the demo's mail viewer."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from dataclasses import dataclass, field
from datetime import datetime

from aiosmtpd.controller import Controller

from flask_industry_auth.testkit import free_port


@dataclass
class ReceivedMail:
    """One mail as the sink received it."""

    recipients: list[str]
    subject: str
    text: str
    html: str
    received_at: datetime = field(default_factory=datetime.now)
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


class MailSink:
    """Start with :meth:`start`; ``mails`` lists what arrived, oldest first."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.mails: list[ReceivedMail] = []
        #: An SMTP reply such as "451 try again later" to refuse every mail with (tests).
        self.refuse_with: str | None = None
        #: Seconds to stall before answering RCPT TO, to look like a hung server (tests).
        self.stall_seconds: float = 0
        self._lock = threading.Lock()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def add(self, mail: ReceivedMail) -> None:
        with self._lock:
            self.mails.append(mail)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
