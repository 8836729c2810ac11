"""Sending one signed envelope to a partner, by webhook (httpx) or e-mail (aiosmtplib).

A notifier either returns (the partner took the message) or raises :class:`DeliveryFailed` saying
whether trying again may help: a timeout, a refused connection, HTTP 429 or 5xx may pass, a 4xx
answer or a refused recipient will not. Retrying is the caller's job (:mod:`streams.escalator`).
httpx is the HTTP client the project already uses (async, timeouts per request, HTTP/1.1 keep-alive);
aiosmtplib is the maintained asyncio SMTP client, so a slow mail server never blocks the event loop.
"""

from __future__ import annotations

import aiosmtplib
import httpx

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
        self.http: dict[str, httpx.AsyncClient] = {}

    def _client(self, partner: Partner) -> httpx.AsyncClient:
        if partner.id not in self.http:
            self.http[partner.id] = httpx.AsyncClient(
                follow_redirects=False, limits=httpx.Limits(max_connections=partner.concurrency,
                                                            max_keepalive_connections=partner.concurrency))
        return self.http[partner.id]

    async def close(self) -> None:
        for client in self.http.values():
            await client.aclose()

    async def send(self, partner: Partner, envelope: Envelope) -> str:
        """Deliver; return a short description of the partner's answer."""
        if partner.webhook is not None:
            return await self._webhook(partner, envelope)
        return await self._email(partner, envelope)

    async def _webhook(self, partner: Partner, envelope: Envelope) -> str:
        assert partner.webhook is not None
        try:
            response = await self._client(partner).post(partner.webhook.url, content=envelope.body,
                                                        headers=envelope.headers, timeout=partner.webhook.timeout_s)
        except httpx.TimeoutException:
            raise DeliveryFailed(f"no answer within {partner.webhook.timeout_s:g} s", True) from None
        except httpx.TransportError as exc:
            raise DeliveryFailed(f"cannot reach {partner.webhook.url}: {exc!r}", True) from None
        if 200 <= response.status_code < 300:
            return f"HTTP {response.status_code}"
        raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:200]}",
                             is_retryable_status(response.status_code))

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
