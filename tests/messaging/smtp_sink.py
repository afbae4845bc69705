"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

`reject` maps a recipient to an SMTP reply ("550 5.1.1 no such user", "451 4.3.0 try later"),
so bounces and transient failures are exercised over a real socket too.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self) -> None:
        self.envelopes: list = []
        self.reject: dict[str, str] = {}
        self.connections = 0
        self.ehlo_delay = 0.0  # seconds before answering EHLO (a server slow to talk)
        self.data_delay = 0.0  # seconds before answering the message it has just queued

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if self.ehlo_delay:
            await asyncio.sleep(self.ehlo_delay)
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.reject.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        return "250 Message accepted for delivery"


class CountingSMTP(SMTP):
    def connection_made(self, transport):  # noqa: ANN001
        self.event_handler.connections += 1
        super().connection_made(transport)


class SmtpSink:
    def __init__(self) -> None:
        self.handler = Handler()
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.port = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> SmtpSink:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            self.loop.create_server(
                lambda: CountingSMTP(self.handler, hostname="sink.test"), "127.0.0.1", 0
            ),
            self.loop,
        )
        self.server = future.result(timeout=5)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(env.original_content, policy=email.policy.default)
            for env in self.handler.envelopes
        ]

    def recipients(self) -> list[str]:
        return [rcpt for env in self.handler.envelopes for rcpt in env.rcpt_tos]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.handler.envelopes) >= count:
                return self.messages
            time.sleep(0.05)
        raise AssertionError(f"the sink got {len(self.handler.envelopes)} of {count} messages")

    def clear(self) -> None:
        self.handler.envelopes.clear()
