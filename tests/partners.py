"""Real partner endpoints for tests and the bench: a signed-webhook receiver (aiohttp) and an SMTP server.

The webhook receiver does what a partner's system should: it refuses requests whose HMAC signature or
timestamp is wrong, and it processes each idempotency key once, counting raw requests separately, so a
test can tell "sent twice" from "processed twice". Its answers can be scripted (500 then 200, slow, down).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller

from tests.helpers import free_port
from trailhound.alerts.envelope import verify_signature


@dataclass
class Received:
    event: dict[str, Any]
    at: float


@dataclass
class WebhookReceiver:
    """A partner's webhook endpoint on 127.0.0.1; ``answers`` are the statuses to give in turn (then 200)."""

    secret: bytes
    answers: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    port: int = field(default_factory=free_port)
    processed: dict[str, Received] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        problem = verify_signature(self.secret, request.headers.get("X-Trailhound-Timestamp"), body,
                                   request.headers.get("X-Trailhound-Signature"), time.time())
        if problem:
            self.refused.append(problem)
            return web.json_response({"error": problem}, status=401)
        key = request.headers["Idempotency-Key"]
        self.requests[key] += 1
        if self.answers:
            status = self.answers.pop(0)
            if status >= 300:
                return web.json_response({"error": "scripted failure"}, status=status)
        if key not in self.processed:  # a partner processes each idempotency key once
            self.processed[key] = Received(json.loads(body), time.time())
        return web.json_response({"ok": True})

    async def start(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/events", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        found = [r.event for r in self.processed.values()]
        return [e for e in found if kind is None or e["type"].endswith(kind)]


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted"


class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 keeping every message it accepts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = _Mailbox()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.mailbox.messages
