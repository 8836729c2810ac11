"""The Kafka topics of the pipeline, declared once, and the admin step that creates them.

Topic names are logical (``posts.raw``); :meth:`trailhound.config.Settings.topic` turns them into real
names so that tests and demos can run side by side under a namespace. Records are keyed by entity
(normalised contact) from ``posts.enriched`` on, so everything about one contact lands on one partition.
Creation uses kafka-python's admin client: it is synchronous, which suits a one-off CLI step, and it
negotiates protocol versions with Kafka 4.x.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from trailhound.clock import Clock, system_clock
from trailhound.config import Settings
from trailhound.connections import kafka_options

__all__ = ["MAX_RECORD_BYTES", "TOPICS", "TopicSpec", "dead_letter_headers", "ensure_topics", "kafka_producer"]

log = logging.getLogger(__name__)


MAX_RECORD_BYTES = 8 * 1024 * 1024
"""Largest record any topic takes: an enriched 256 KiB post grows to ~2.5 MB, rejected lines can be big."""

TWO_WEEKS_MS = 14 * 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    """What a topic carries and how Kafka must keep it."""

    name: str
    purpose: str
    compacted: bool = False
    single_partition: bool = False
    keep_forever: bool = False

    def config(self) -> dict[str, str]:
        config = {"max.message.bytes": str(MAX_RECORD_BYTES)}
        if self.compacted:
            config.update({"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1", "segment.ms": "600000"})
        else:
            config["retention.ms"] = "-1" if self.keep_forever else str(TWO_WEEKS_MS)
        return config


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("posts.raw", "validated posts as accepted at ingest, keyed by source:id"),
    TopicSpec("posts.enriched", "normalised posts with extracted entities, keyed by entity"),
    TopicSpec("posts.dlq", "rejected input with the reason in headers and the original bytes as value"),
    TopicSpec("alerts", "scored, explained alerts keyed by event.id"),
    TopicSpec("feedback", "analysts' verdicts; every worker reads all of it, models are rebuilt from it",
              single_partition=True, keep_forever=True),
    TopicSpec("feedback.dlq", "rejected verdicts with the reason"),
    TopicSpec("escalations", "outbox: one record per delivery to a partner, keyed by delivery id",
              keep_forever=True),
    TopicSpec("escalations.dlq", "deliveries parked after their retries, with the reason"),
    TopicSpec("patterns", "published pattern-library versions (latest wins)", compacted=True,
              single_partition=True),
    TopicSpec("linkage.keys", "post summaries re-keyed by linkage key (contact, image chunk, text band); "
              "a partition's history is its key index"),
    TopicSpec("linkage.links", "explained links and hub notices, one partition so one writer keeps the clusters",
              single_partition=True),
    TopicSpec("watchlist", "partners' watched contacts and image hashes; every worker reads all of it",
              compacted=True, single_partition=True),
)


def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> list[str]:
    """Create every missing pipeline topic; return the names created now."""
    admin = KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id="trailhound-admin",
        request_timeout_ms=int(timeout_s * 1000),
        **kafka_options(settings),
    )
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(
                name=settings.topic(spec.name),
                num_partitions=1 if spec.single_partition else settings.partitions,
                replication_factor=1,
                topic_configs=spec.config(),
            )
            for spec in TOPICS
            if settings.topic(spec.name) not in existing
        ]
        created: list[str] = []
        for topic in wanted:
            try:
                admin.create_topics([topic], timeout_ms=int(timeout_s * 1000))
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        if created:
            log.info("created topics %s", ", ".join(created))
        return created
    finally:
        admin.close()


def kafka_producer(settings: Settings, client_id: str) -> KafkaProducer:
    """A producer for the command-line tools: durable (all replicas, idempotent), batched and compressed."""
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        batch_size=256 * 1024,
        compression_type="gzip",
        max_request_size=MAX_RECORD_BYTES,
        retries=10,
        client_id=client_id,
        **kafka_options(settings),
    )


def dead_letter_headers(reason: str, stage: str, origin: str, clock: Clock = system_clock) -> list[tuple[str, bytes]]:
    """Kafka headers that explain why a record went to a dead-letter topic."""
    return [
        ("reason", reason.encode("utf-8")),
        ("stage", stage.encode("utf-8")),
        ("origin", origin.encode("utf-8")),
        ("rejected_at", str(clock()).encode("ascii")),
    ]
