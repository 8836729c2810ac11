"""Analysts' verdicts from a file onto the ``feedback`` topic, signed; malformed ones to ``feedback.dlq``.

The console will produce verdicts the same way later. Each record gets a unique ``verdict_id`` and is
signed (see :mod:`trailhound.signing`), so workers can tell Trailhound's own verdicts from anything else
written to the topic, and refuse a replayed copy of a genuine one.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from trailhound.config import Settings
from trailhound.ingest.producer import IngestCounts
from trailhound.schemas import InvalidRecord, parse_verdict
from trailhound.signing import feedback_key, sign
from trailhound.topics import dead_letter_headers, kafka_producer

__all__ = ["send_verdicts"]


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
                verdict.setdefault("verdict_id", uuid.uuid4().hex)
                value = json.dumps(verdict, ensure_ascii=False, sort_keys=True).encode("utf-8")
                subject = verdict.get("post_id") or verdict["alert_id"]
                futures.append(producer.send(settings.topic("feedback"), key=subject.encode("utf-8"), value=value,
                                             headers=[("signature", sign(key, value))]))
                counts.accepted += 1
        producer.flush()
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close(timeout=10)
    return counts
