"""Analysts' verdicts from a file onto the ``feedback`` topic, signed; malformed ones to ``feedback.dlq``.

The console produces its verdicts with the same :func:`signed_verdict` (signed with the analyst's own
key instead of the shared one). Each record gets a unique ``verdict_id`` and is signed (see
:mod:`trailhound.signing`), so workers can tell Trailhound's own verdicts from anything else written to
the topic, and refuse a replayed copy of a genuine one.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from trailhound.config import Settings
from trailhound.ingest.producer import IngestCounts
from trailhound.schemas import InvalidRecord, parse_verdict
from trailhound.signing import SIGNER_HEADER, analyst_key, feedback_key, sign
from trailhound.topics import dead_letter_headers, kafka_producer

__all__ = ["SignedVerdict", "send_verdicts", "signed_verdict"]

SignedVerdict = tuple[bytes, bytes, list[tuple[str, bytes]]]
"""A verdict as a Kafka record: (key, value, headers)."""


def signed_verdict(verdict: dict[str, Any], key: bytes, signer: str | None = None) -> SignedVerdict:
    """Give ``verdict`` a ``verdict_id`` and sign it: with the shared ``key``, or with ``signer``'s own key."""
    verdict.setdefault("verdict_id", uuid.uuid4().hex)
    value = json.dumps(verdict, ensure_ascii=False, sort_keys=True).encode("utf-8")
    subject = verdict.get("post_id") or verdict["alert_id"]
    if signer is None:
        return subject.encode("utf-8"), value, [("signature", sign(key, value))]
    return subject.encode("utf-8"), value, [("signature", sign(analyst_key(key, signer), value)),
                                            (SIGNER_HEADER, signer.encode("utf-8"))]


def send_verdicts(settings: Settings, path: Path) -> IngestCounts:
    """Validate, sign and produce every verdict line of ``path``; return the counts once confirmed."""
    key = feedback_key(settings)
    counts = IngestCounts()
    producer = kafka_producer(settings, "trailhound-feedback")
    try:
        futures = []
        with path.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                line = line.rstrip(b"\r\n")
                if not line.strip():
                    continue
                origin = f"{path.name}:{number}"
                try:
                    verdict = parse_verdict(line)
                except InvalidRecord as exc:
                    counts.reject(exc.reason, origin)
                    futures.append(producer.send(settings.topic("feedback.dlq"), key=origin.encode(), value=line,
                                                 headers=dead_letter_headers(exc.reason, "feedback", origin)))
                    continue
                record_key, value, headers = signed_verdict(verdict, key)
                futures.append(producer.send(settings.topic("feedback"), key=record_key, value=value, headers=headers))
                counts.accepted += 1
        producer.flush()
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close(timeout=10)
    return counts
