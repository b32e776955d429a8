"""An SMTP server on loopback (aiosmtpd) that keeps what it is sent."""

from __future__ import annotations

from email import message_from_bytes, policy

from core.testing.web import free_port


class Inbox:
    """An aiosmtpd handler keeping the envelopes it receives."""

    def __init__(self):
        self.received = []
        self.host = "127.0.0.1"
        self.port = None

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self):
        """The messages received, parsed (``email.message.EmailMessage``)."""
        return [message_from_bytes(e.content, policy=policy.default) for e in self.received]

    def by_recipient(self) -> dict:
        """``{address: [message, ...]}`` over every envelope received."""
        result = {}
        for envelope in self.received:
            message = message_from_bytes(envelope.content, policy=policy.default)
            for rcpt in envelope.rcpt_tos:
                result.setdefault(rcpt, []).append(message)
        return result


class SmtpServer:
    """``start()`` an aiosmtpd controller on a free loopback port; ``stop()`` it."""

    def __init__(self, handler=None, **options):
        self.inbox = handler or Inbox()
        self.options = options
        self.controller = None

    def start(self):
        from aiosmtpd.controller import Controller  # a test dependency, loaded when used

        port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=port, **self.options)
        self.controller.start()
        self.inbox.port = port
        return self.inbox

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
