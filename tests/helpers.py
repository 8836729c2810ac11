"""Small helpers the integration tests share: waiting for effects, reading topics, making posts."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from elasticsearch import Elasticsearch, NotFoundError
from kafka import KafkaConsumer, TopicPartition

from trailhound.config import Settings

ROOT = Path(__file__).resolve().parent.parent

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], timeout_s: float = 60.0, interval_s: float = 0.5,
             what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what} (last: {last!r})")


def read_topic(settings: Settings, logical: str, timeout_s: float = 10.0) -> list[Any]:
    """Every record currently in a topic (all partitions), read from the beginning."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=int(timeout_s * 1000))
    topic = settings.topic(logical)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    ends = consumer.end_offsets(partitions)
    records = []
    while any(consumer.position(tp) < ends[tp] for tp in partitions):
        for batch in consumer.poll(timeout_ms=1000).values():
            records.extend(batch)
    consumer.close()
    return records


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(post_id: str, body: str, **extra: Any) -> dict[str, Any]:
    return {"id": post_id, "source": "test-board", "posted_at": "2026-11-20T10:00:00Z", "body": body, **extra}


def jsonl(*posts: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(p).encode() + b"\n" for p in posts)


RISKY_BODY = (
    "New girls just arrived, very young and sweet, fresh in town. My girls do not speak English and are "
    "available 24/7, ask for her when you call. Text five five five, zero one two three four."
)
BENIGN_BODY = "Farmers market this Saturday: fresh produce, new potatoes and young carrots. Open 8 to 2."


def answers(url: str) -> bool:
    """Whether an HTTP endpoint answers 200 right now."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a ``trailhound`` command needs to work on the test's namespace."""
    env = {"KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "ELASTICSEARCH_URL": settings.elasticsearch_url,
           "TRAILHOUND_NAMESPACE": settings.namespace, "TRAILHOUND_CACHE": str(settings.cache_dir),
           "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    if settings.feedback_key:  # workers and the verdict command must sign with the same key
        env["TRAILHOUND_FEEDBACK_KEY"] = settings.feedback_key
    return {**env, **extra}


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``trailhound ARGS`` as a user would, against the test's namespace."""
    return subprocess.run([sys.executable, "-m", "trailhound", *args], cwd=ROOT, env=cli_env(settings),
                          capture_output=True, timeout=120, text=True)


def alerts_for(es: Elasticsearch, settings: Settings, post_key: str | None = None) -> list[dict[str, Any]]:
    """Alerts indexed so far, all of them or those about one post."""
    es.indices.refresh(index=settings.index("alerts"))
    query = {"term": {"trailhound.post_ids": post_key}} if post_key else {"match_all": {}}
    hits = es.search(index=settings.index("alerts"), query=query, size=1000)["hits"]["hits"]
    return [h["_source"] for h in hits]


def posts_indexed(es: Elasticsearch, settings: Settings) -> int:
    """Posts in the posts indices (0 before the first monthly index exists)."""
    try:
        es.indices.refresh(index=settings.index("posts"))
        return es.count(index=settings.index("posts"))["count"]
    except NotFoundError:
        return 0


def send_posts(settings: Settings, *posts: dict[str, Any]) -> None:
    """Send posts to posts.raw through the real ingest path (all must be valid)."""
    from trailhound.ingest.producer import IngestCounts, PostIngestor

    ingestor = PostIngestor(settings)
    try:
        for number, line in enumerate(jsonl(*posts).splitlines()):
            assert ingestor.submit(line, f"test:{number}", IngestCounts()) is None
        ingestor.flush()
    finally:
        ingestor.close()
