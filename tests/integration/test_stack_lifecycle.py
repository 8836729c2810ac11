"""The local stack brings real Kafka and Elasticsearch up once, reuses them, and cleans up fully.

It runs on its own ports (19092/19093 and 19200) and its own temporary cache folder, whose
``artifacts`` entry points at the shared download cache, so nothing is downloaded twice and the
user's own local servers are never touched.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError

from trailhound.config import Settings
from trailhound.stack import manager
from trailhound.stack.elasticsearch import ElasticsearchServer
from trailhound.stack.health import port_open
from trailhound.stack.layout import StackLayout
from trailhound.stack.manager import ServerState

pytestmark = pytest.mark.integration

KAFKA_PORT, ES_PORT = 19092, 19200


@pytest.fixture
def lifecycle_settings(tmp_path: Path) -> Iterator[Settings]:
    base = Settings.from_env()
    shared = StackLayout(base.cache_dir).artifacts
    shared.mkdir(parents=True, exist_ok=True)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "artifacts").symlink_to(shared, target_is_directory=True)
    settings = replace(base, cache_dir=cache, kafka_bootstrap=f"127.0.0.1:{KAFKA_PORT}",
                       elasticsearch_url=f"http://127.0.0.1:{ES_PORT}", kafka_heap="256m",
                       elasticsearch_heap="512m")
    busy = [port for port in (KAFKA_PORT, KAFKA_PORT + 1, ES_PORT) if port_open("127.0.0.1", port)]
    if busy:
        pytest.skip(f"ports {busy} are already in use on this machine")
    node_dir = ElasticsearchServer(settings, StackLayout(cache)).node_dir
    try:
        yield settings
    finally:
        manager.down(settings)
        shutil.rmtree(node_dir, ignore_errors=True)  # outside tmp_path when running as root


def _processes_mentioning(*needles: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(needle in command for needle in needles):
            found.append(f"{entry.name}: {command[:200]}")
    return found


def _kafka_serves_trailhound(bootstrap: str) -> None:
    """A compacted topic can be created; an unknown topic is not invented on first use."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic("patterns", 1, 1, topic_configs={"cleanup.policy": "compact"})])
        response = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "patterns")])[0]
        entries = {entry[0]: entry[1] for entry in response.resources[0][4]}
        assert entries["cleanup.policy"] == "compact"
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_block_ms=3000)
    try:
        with pytest.raises(KafkaError):
            producer.send("no-such-topic", b"x").get(timeout=5)
    finally:
        producer.close(timeout=2)


def _elasticsearch_indexes_and_finds(url: str) -> None:
    doc = {"message": "synthetic test post from the stack lifecycle test"}
    created = httpx.put(f"{url}/trailhound-lifecycle/_doc/1", params={"refresh": "true"}, json=doc, timeout=30)
    assert created.status_code in (200, 201), created.text
    found = httpx.post(f"{url}/trailhound-lifecycle/_search", json={"query": {"match": {"message": "lifecycle"}}},
                       timeout=30).json()
    assert found["hits"]["total"]["value"] == 1


def test_up_is_idempotent_and_down_leaves_nothing_running(lifecycle_settings: Settings) -> None:
    settings = lifecycle_settings
    first = manager.up(settings)
    assert first.kafka.state is ServerState.STARTED, str(first)
    assert first.elasticsearch.state is ServerState.STARTED, str(first)
    assert first.kafka.log_path is not None and first.kafka.log_path.is_relative_to(settings.cache_dir)
    assert first.elasticsearch.log_path is not None and first.elasticsearch.log_path.is_file()
    for server in first.servers:
        assert server.pid is not None and os.getsid(server.pid) == server.pid  # detached session

    _kafka_serves_trailhound(settings.kafka_bootstrap)
    _elasticsearch_indexes_and_finds(settings.elasticsearch_url)

    current = manager.status(settings)
    assert [s.state for s in current.servers] == [ServerState.RUNNING, ServerState.RUNNING]

    again = manager.up(settings)
    assert [s.state for s in again.servers] == [ServerState.RUNNING, ServerState.RUNNING]
    assert [s.pid for s in again.servers] == [s.pid for s in first.servers]

    manager.down(settings, only=["kafka"])
    assert not port_open("127.0.0.1", KAFKA_PORT)
    assert manager.status(settings).elasticsearch.state is ServerState.RUNNING

    manager.down(settings)
    for port in (KAFKA_PORT, KAFKA_PORT + 1, ES_PORT):
        assert not port_open("127.0.0.1", port), port
    assert [s.state for s in manager.status(settings).servers] == [ServerState.STOPPED, ServerState.STOPPED]
    assert not list(settings.cache_dir.glob("run/*/*.pid"))
    node_dir = ElasticsearchServer(settings, StackLayout(settings.cache_dir)).node_dir
    assert _processes_mentioning(str(settings.cache_dir), str(node_dir)) == []


@pytest.fixture
def squatter() -> Iterator[Callable[[int], None]]:
    """Occupy a port with a listener that accepts connections but never speaks any protocol."""
    sockets: list[socket.socket] = []

    def occupy(port: int) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        sockets.append(listener)

    yield occupy
    for listener in sockets:
        listener.close()


@pytest.mark.parametrize(("taken", "blamed"), [(KAFKA_PORT, "kafka"), (ES_PORT, "elasticsearch")])
def test_a_port_held_by_something_else_is_reported_and_nothing_is_left_running(
        lifecycle_settings: Settings, squatter: Callable[[int], None], taken: int, blamed: str) -> None:
    squatter(taken)
    with pytest.raises(manager.StackError) as failure:
        manager.up(lifecycle_settings)
    assert str(failure.value).startswith(f"{blamed} at ")
    assert f"port {taken} is taken" in str(failure.value)
    # Kafka may have been started before Elasticsearch's port turned out to be taken: it is stopped again
    for port in {KAFKA_PORT, ES_PORT} - {taken}:
        assert not port_open("127.0.0.1", port), port
    assert _processes_mentioning(str(lifecycle_settings.cache_dir)) == []
