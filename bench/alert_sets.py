"""What a benchmark run raised, by kind, once the workers have drained every topic they read.

Why it exists (issue 13): the pipeline bench used to count alerts the moment the last post was indexed,
while the alert stage and the linkage stages were still working through their topics (tens of seconds
behind on a busy machine), so the count measured how far behind they were, not what was raised; two
workers, with two alert-stage consumers, were less behind and "raised" more (240 against 147). Counting
after the consumer group has caught up, and comparing the two runs' alert ids by kind, shows what the
number of workers really changes.

Kinds: ``content`` (grouped per contact and window), ``watchlist``, ``model_health``, ``network`` (an
open cluster alert) and ``network merged`` (a cluster alerted and later absorbed by one founded earlier:
kept with ``merged_into`` as the record of what was raised; how many there are depends on the order the
links arrived in, which two workers change; the open network alerts do not depend on it).
"""

from __future__ import annotations

import time
from collections import Counter

from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

from trailhound.config import Settings
from trailhound.streams.topic_batches import READER_GROUPS

__all__ = ["alert_kinds", "by_kind", "difference_by_kind", "wait_drained"]


def _lag(admin: KafkaAdminClient, consumer: KafkaConsumer, group: str, topic: str) -> int:
    """Records of ``topic`` not yet committed by ``group`` (a partition it never committed counts from its
    start); -1 when Kafka left an answer out."""
    committed = admin.list_consumer_group_offsets(group)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    try:
        ends = consumer.end_offsets(partitions)
        starts = consumer.beginning_offsets(partitions)
    except KeyError:  # kafka-python sometimes misses a partition's answer: ask again on the next round
        return -1
    return sum(max(0, ends[tp] - (committed[tp].offset if tp in committed else starts[tp])) for tp in partitions)


def wait_drained(settings: Settings, timeout_s: float, every_s: float = 1.0) -> float:
    """Wait until each of the workers' consumer groups (Faust's and every topic reader's) has committed
    every record of the topics it reads (twice in a row); returns the seconds waited. Raises after
    ``timeout_s``."""
    groups = [(settings.consumer_group(), settings.topic("posts.enriched")),  # Faust's, then each reader's
              *((settings.consumer_group(reader), settings.topic(topic)) for topic, reader in READER_GROUPS.items())]
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    t0 = time.monotonic()
    zero_in_a_row = 0
    try:
        while time.monotonic() - t0 < timeout_s:
            lags = [_lag(admin, consumer, group, topic) for group, topic in groups]
            zero_in_a_row = zero_in_a_row + 1 if all(lag == 0 for lag in lags) else 0
            if zero_in_a_row >= 2:
                return time.monotonic() - t0
            time.sleep(every_s)
    finally:
        consumer.close()
        admin.close()
    raise TimeoutError(f"the workers had not drained their topics after {timeout_s:.0f} s")


def _kind(source: dict) -> str:
    category = (source.get("rule") or {}).get("category", "?")
    if category == "network" and ((source.get("trailhound") or {}).get("cluster") or {}).get("merged_into"):
        return "network merged"
    return str(category)


def alert_kinds(es: Elasticsearch, settings: Settings) -> dict[str, str]:
    """Every alert document of the run: id → kind."""
    index = settings.index("alerts")
    es.indices.refresh(index=index)
    found: dict[str, str] = {}
    for hit in _scan(es, index):
        found[hit["_id"]] = _kind(hit["_source"])
    return found


def _scan(es: Elasticsearch, index: str) -> list[dict]:
    hits: list[dict] = []
    after: list | None = None
    while True:
        page = es.search(index=index, size=5000, sort=["_doc"], search_after=after,
                         source=["rule.category", "trailhound.cluster.merged_into"])["hits"]["hits"]
        if not page:
            return hits
        hits.extend(page)
        after = page[-1]["sort"]


def by_kind(alerts: dict[str, str]) -> dict[str, int]:
    return dict(sorted(Counter(alerts.values()).items()))


def difference_by_kind(ours: dict[str, str], theirs: dict[str, str]) -> dict[str, int]:
    """Alerts in ``ours`` that ``theirs`` does not have (by id), counted by kind."""
    return by_kind({k: v for k, v in ours.items() if k not in theirs})
