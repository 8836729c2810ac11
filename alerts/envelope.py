"""The message a partner receives: a CloudEvents JSON envelope, signed, with an idempotency key.

CloudEvents (CNCF, v1.0 structured JSON mode) is understood by common event routers and webhook
tooling, so partners need no Trailhound-specific code to receive it. Each request is signed with
HMAC-SHA256 over ``timestamp + "." + body`` under the partner's own secret; the timestamp lets a
partner refuse replays older than a few minutes, and the ``Idempotency-Key`` (the delivery id, also
the event ``id``) lets it process an alert once even if a crash makes us send it twice. The
acknowledgement link is signed the same way, so only the partner holding the secret can confirm.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from trailhound.timefmt import iso

__all__ = ["EVENT_TYPES", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "Envelope", "ack_signature", "ack_url",
           "build_envelope", "email_message", "sign_body", "verify_signature"]

EVENT_TYPES = {"alert": "org.trailhound.alert.raised", "resolved": "org.trailhound.alert.resolved",
               "withdrawn": "org.trailhound.alert.withdrawn"}
SIGNATURE_HEADER = "X-Trailhound-Signature"
TIMESTAMP_HEADER = "X-Trailhound-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
CONTENT_TYPE = "application/cloudevents+json"
MAX_SKEW_S = 300


@dataclass(frozen=True)
class Envelope:
    """The serialised event and the headers that go with it."""

    body: bytes
    headers: dict[str, str]
    event: dict[str, Any]


def sign_body(secret: bytes, timestamp: int, body: bytes) -> str:
    return "v1=" + hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, timestamp: str | None, body: bytes, signature: str | None, now: float,
                     max_skew_s: float = MAX_SKEW_S) -> str | None:
    """Why a received request must be refused (None: genuine and fresh). What partners implement."""
    if not timestamp or not signature:
        return "unsigned"
    try:
        sent = int(timestamp)
    except ValueError:
        return "malformed timestamp"
    if abs(now - sent) > max_skew_s:
        return "timestamp too old or in the future (replay?)"
    if not hmac.compare_digest(sign_body(secret, sent, body), signature):
        return "bad signature"
    return None


def ack_signature(secret: bytes, delivery_id: str) -> str:
    return hmac.new(secret, b"ack\x1f" + delivery_id.encode(), hashlib.sha256).hexdigest()


def ack_url(base_url: str, partner: str, delivery_id: str, secret: bytes) -> str:
    """The link a partner calls (GET or POST) to confirm it has taken the alert on."""
    return (f"{base_url.rstrip('/')}/ack/{quote(partner, safe='')}/{delivery_id}"
            f"?sig={ack_signature(secret, delivery_id)}")


def build_envelope(kind: str, delivery_id: str, alert_id: str, data: dict[str, Any], source: str,
                   secret: bytes, now: float) -> Envelope:
    """The signed CloudEvent for one delivery (``kind``: alert | resolved | withdrawn)."""
    event = {
        "specversion": "1.0",
        "id": delivery_id,
        "source": source,
        "type": EVENT_TYPES[kind],
        "subject": alert_id,
        "time": iso(now),
        "datacontenttype": "application/json",
        "data": data,
    }
    body = json.dumps(event, ensure_ascii=False, sort_keys=True).encode("utf-8")
    timestamp = int(now)
    headers = {"Content-Type": CONTENT_TYPE, IDEMPOTENCY_HEADER: delivery_id, TIMESTAMP_HEADER: str(timestamp),
               SIGNATURE_HEADER: sign_body(secret, timestamp, body)}
    return Envelope(body, headers, event)


def email_message(envelope: Envelope, sender: str, to: tuple[str, ...]) -> EmailMessage:
    """The same event as an e-mail: a short readable text with the signed CloudEvent attached."""
    event = envelope.event
    data = event["data"]
    message = EmailMessage()
    what = event["type"].rsplit(".", 1)[-1]
    message["Subject"] = f"[Trailhound] {data.get('severity', '')} alert {event['subject']} {what}".replace("  ", " ")
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Message-ID"] = f"<{event['id']}@trailhound>"
    for name, value in envelope.headers.items():
        if name.startswith("X-") or name == IDEMPOTENCY_HEADER:
            message[name] = value
    lines = [f"Trailhound alert {event['subject']} — {what}", ""]
    lines += [f"{name}: {value}" for name, value in data.items() if name != "ack_url"]
    if data.get("ack_url"):
        lines += ["", f"Confirm receipt: {data['ack_url']}"]
    message.set_content("\n".join(lines))
    message.add_attachment(envelope.body, maintype="application", subtype="cloudevents+json",
                           filename="event.json")
    return message
