"""Sending one signed envelope to a partner, by webhook (aiohttp) or e-mail (aiosmtplib).

A notifier either returns (the partner took the message) or raises :class:`DeliveryFailed` saying
whether trying again may help: a timeout, a refused connection, HTTP 429 or 5xx may pass, a 4xx
answer or a refused recipient will not. Retrying is the caller's job (:mod:`streams.escalator`).

Webhooks go through aiohttp's client, which the project already has for its web ports. Its connector
keeps each host's idle connections in a queue, so a request costs the same whether the partner holds
one open request or hundreds. httpx was used before, but its pool (httpcore) walks every connection
of the pool on each request and response. With a partner answering after 10 s and 200 requests open,
that walk took most of the escalator's CPU and slowed every other partner: measured with py-spy in
``bench/escalation.py``. aiosmtplib is the maintained asyncio SMTP client, so a slow mail server never
blocks the event loop.
"""

from __future__ import annotations

import aiohttp
import aiosmtplib

from trailhound.alerts.deliveries import is_retryable_status
from trailhound.alerts.envelope import Envelope, email_message
from trailhound.alerts.partners import Partner

__all__ = ["DeliveryFailed", "Notifiers"]


class DeliveryFailed(Exception):
    """A delivery attempt failed; ``retryable`` says whether another attempt may succeed."""

    def __init__(self, reason: str, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Notifiers:
    """One HTTP connection pool per partner (sized to its concurrency, so a slow partner's open requests
    never take the connections another partner needs); ``send`` picks the partner's channel."""

    def __init__(self) -> None:
        self.http: dict[str, aiohttp.ClientSession] = {}

    def _client(self, partner: Partner) -> aiohttp.ClientSession:
        if partner.id not in self.http:
            self.http[partner.id] = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=partner.concurrency, limit_per_host=0),
                auto_decompress=True, raise_for_status=False)
        return self.http[partner.id]

    async def close(self) -> None:
        for client in self.http.values():
            await client.close()

    async def send(self, partner: Partner, envelope: Envelope) -> str:
        """Deliver; return a short description of the partner's answer."""
        if partner.webhook is not None:
            return await self._webhook(partner, envelope)
        return await self._email(partner, envelope)

    async def _webhook(self, partner: Partner, envelope: Envelope) -> str:
        assert partner.webhook is not None
        timeout = partner.webhook.timeout_s
        try:
            async with self._client(partner).post(
                    partner.webhook.url, data=envelope.body, headers=envelope.headers, allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                status = response.status
                answer = (await response.read()).decode("utf-8", errors="replace")
        except TimeoutError:
            raise DeliveryFailed(f"no answer within {timeout:g} s", True) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise DeliveryFailed(f"cannot reach {partner.webhook.url}: {exc!r}", True) from None
        if 200 <= status < 300:
            return f"HTTP {status}"
        raise DeliveryFailed(f"HTTP {status}: {answer[:200]}", is_retryable_status(status))

    async def _email(self, partner: Partner, envelope: Envelope) -> str:
        target = partner.email
        assert target is not None
        message = email_message(envelope, target.sender, target.to)
        try:
            errors, answer = await aiosmtplib.send(message, hostname=target.host, port=target.port,
                                                   start_tls=target.starttls, timeout=target.timeout_s)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(f"recipients refused: {exc}", False) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"SMTP {exc.code}: {exc.message}", exc.code >= 400 and exc.code < 500) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"cannot send mail via {target.host}:{target.port}: {exc!r}", True) from None
        if errors:
            raise DeliveryFailed(f"refused for {', '.join(errors)}", False)
        return f"SMTP {answer}"
