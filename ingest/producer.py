"""Validate raw post lines and hand them to Kafka, sending every rejected line to the dead-letter topic.

Both the file/stdin command and the HTTP endpoint go through :class:`PostIngestor`, so a partner feed
and an analyst's upload are judged by exactly the same rules. kafka-python's producer is used because
ingest is a plain synchronous loop (its ``send`` batches in the background and ``flush`` confirms
delivery), and ``acks="all"`` with idempotence means an accepted post is durably in Kafka.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from trailhound.config import Settings
from trailhound.schemas import InvalidRecord, parse_post, post_key
from trailhound.topics import MAX_RECORD_BYTES, dead_letter_headers, kafka_producer

__all__ = ["IngestCounts", "IngestError", "PostIngestor"]

DEAD_LETTER_KEEP_BYTES = MAX_RECORD_BYTES - 64 * 1024
MAX_DISTINCT_REASONS = 100


class IngestError(RuntimeError):
    """Kafka could not take the records: an infrastructure failure, not bad input."""


@dataclass
class IngestCounts:
    """What happened to the lines of one ingest run."""

    accepted: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    first_seen: dict[str, str] = field(default_factory=dict)
    """Each distinct reason → where it first happened (``file:line``), for the report to the sender."""

    def reject(self, reason: str, origin: str) -> None:
        self.rejected += 1
        if reason not in self.reasons and len(self.reasons) >= MAX_DISTINCT_REASONS:
            reason = "other reasons (see the reason header of each dead letter)"
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        self.first_seen.setdefault(reason, origin)


class PostIngestor:
    """Validates lines and produces them; call :meth:`flush` before reporting success."""

    def __init__(self, settings: Settings, producer: KafkaProducer | None = None) -> None:
        self.settings = settings
        self.raw_topic = settings.topic("posts.raw")
        self.dlq_topic = settings.topic("posts.dlq")
        self._producer = producer or kafka_producer(settings, "trailhound-ingest")
        self._pending: list[Any] = []

    def submit(self, raw: bytes, origin: str, counts: IngestCounts) -> str | None:
        """Validate one line and queue it; return the rejection reason, or None if accepted."""
        raw = raw.rstrip(b"\r\n")
        origin = origin.encode("utf-8", "backslashreplace").decode("utf-8")  # file names may not be text
        try:
            post = parse_post(raw, self.settings.max_post_bytes, max_depth=self.settings.max_json_depth)
            key = post_key(post).encode("utf-8")
            value = json.dumps(post, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except InvalidRecord as exc:
            return self.reject(raw, exc.reason, origin, counts)
        except (ValueError, RecursionError) as exc:  # anything validation missed is still this line's problem
            return self.reject(raw, f"post cannot be encoded: {type(exc).__name__}", origin, counts)
        self._queue(self.raw_topic, key, value, [])
        counts.accepted += 1
        return None

    def reject(self, raw: bytes, reason: str, origin: str, counts: IngestCounts) -> str:
        """Dead-letter a line judged bad before parsing (too long to keep whole, unreadable); returns ``reason``."""
        headers = dead_letter_headers(reason, "ingest", origin)
        if len(raw) > DEAD_LETTER_KEEP_BYTES:  # even a huge line leaves a trace, cut to what Kafka takes
            headers.append(("truncated_from", str(len(raw)).encode("ascii")))
            raw = raw[:DEAD_LETTER_KEEP_BYTES]
        self._queue(self.dlq_topic, origin.encode(), raw, headers)
        counts.reject(reason, origin)
        return reason

    def _queue(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        try:
            self._pending.append(self._producer.send(topic, key=key, value=value, headers=headers))
        except KafkaError as exc:
            raise IngestError(f"Kafka at {self.settings.kafka_bootstrap} refused a record: {exc}") from exc
        if len(self._pending) >= 5000:
            self.flush()

    def flush(self, timeout_s: float = 60.0) -> None:
        """Block until every queued record is acknowledged by Kafka, or raise :class:`IngestError`."""
        try:
            self._producer.flush(timeout=timeout_s)
            for future in self._pending:
                future.get(timeout=timeout_s)
        except KafkaError as exc:
            raise IngestError(f"Kafka at {self.settings.kafka_bootstrap} did not confirm records: {exc}") from exc
        finally:
            self._pending.clear()

    def close(self) -> None:
        self._producer.close(timeout=10)
