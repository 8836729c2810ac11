"""What the stream benchmarks share: a namespace on the real stack, worker processes, feeds and counts.

Each benchmark (``pipeline.py``, ``latency.py``, ``soak.py``) runs real ``trailhound worker`` processes
against the local Kafka and Elasticsearch (started if missing, through ``stack.manager.up``) under a
namespace of its own, which is deleted afterwards, together with any server the run started.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch, NotFoundError
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient

from trailhound.config import Settings
from trailhound.provision import prepare_servers
from trailhound.stack.manager import ServerState, down, status, up

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@contextlib.contextmanager
def stack() -> Iterator[Settings]:
    """The running local stack (started if needed, and then stopped again at the end)."""
    base = Settings.from_env()
    report = up(base)
    started = [s.name for s in report.servers if s.state is ServerState.STARTED]
    try:
        yield base
    finally:
        if started:
            down(base, only=started)


def es_client(settings: Settings) -> Elasticsearch:
    """The benchmarks' client: a refresh or count may take longer than the default 10 s on a loaded machine."""
    return Elasticsearch(settings.elasticsearch_url, request_timeout=60, retry_on_timeout=True, max_retries=3)


def servers_cpu_seconds(settings: Settings) -> float | None:
    """CPU time Kafka and Elasticsearch have used so far (every process of their groups), or None when a
    server was not started by the local stack (its processes are not known here)."""
    leaders = [report.pid for report in status(settings).servers]
    if not leaders or None in leaders:
        return None
    ticks = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) in leaders:  # process group
                    ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def namespace(base: Settings, prefix: str = "bench", partitions: int | None = None) -> Iterator[Settings]:
    """A fresh namespace with its topics and indices, deleted afterwards."""
    settings = base.with_namespace(f"{prefix}{uuid.uuid4().hex[:6]}")
    if partitions is not None:
        from dataclasses import replace
        settings = replace(settings, partitions=partitions)
    prepare_servers(settings)
    try:
        yield settings
    finally:
        delete_namespace(settings)


def delete_namespace(settings: Settings) -> None:
    """Delete a benchmark namespace's indices, index templates and topics."""
    es = es_client(settings)
    es.options(ignore_status=404).indices.delete(index=f"trailhound-{settings.namespace}-*", expand_wildcards="all")
    es.options(ignore_status=404).indices.delete_index_template(name=f"trailhound-{settings.namespace}-*")
    es.close()
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    mine = [t for t in admin.list_topics() if t.startswith(settings.namespace + ".")]
    if mine:
        admin.delete_topics(mine)
    admin.close()


class Worker:
    """A ``trailhound worker`` process on the benchmark's namespace."""

    def __init__(self, settings: Settings, root: Path = ROOT, command: list[str] | None = None, **env: str) -> None:
        """``root``: the folder the worker runs from (another commit's export: ``worker_ab.py``); ``command``:
        what runs instead of ``-m trailhound``, before ``worker`` (``latency.py``'s traced worker)."""
        self.port = free_port()
        self.log_path = Path(tempfile.mkdtemp()) / "worker.log"
        environment = {**os.environ, "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
                       "ELASTICSEARCH_URL": settings.elasticsearch_url, "TRAILHOUND_NAMESPACE": settings.namespace,
                       "TRAILHOUND_PARTITIONS": str(settings.partitions), "TRAILHOUND_WORKER_PORT": str(self.port),
                       **env}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen([sys.executable, *(command or ["-m", "trailhound"]), "worker",
                                             "--loglevel", "warning"],
                                            cwd=root, env=environment, stdout=log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout_s: float = 240) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"worker not ready:\n{self.log_path.read_text()[-3000:]}")

    def rss_bytes(self) -> int:
        """Resident memory of the worker and its enrichment pool processes."""
        total = 0
        for pid in [self.process.pid, *_children(self.process.pid)]:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        return total

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the worker and its enrichment pool processes have used so far."""
        total = 0
        for pid in [self.process.pid, *_children(self.process.pid)]:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
        return total / os.sysconf("SC_CLK_TCK")

    def metrics(self) -> str:
        return httpx.get(self.url + "/metrics", timeout=10).text

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


@contextlib.contextmanager
def workers(settings: Settings, n: int, command: list[str] | None = None, **env: str) -> Iterator[list[Worker]]:
    """``n`` worker processes (``command``: what runs instead of ``-m trailhound``, before ``worker``)."""
    started = [Worker(settings, command=command, **env) for _ in range(n)]
    try:
        for worker in started:
            worker.wait_ready()
        yield started
    finally:
        for worker in started:
            worker.stop()


def producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5,
                         batch_size=512 * 1024, max_request_size=8 * 1024 * 1024)


def post_key_bytes(post: dict[str, Any]) -> bytes:
    return f"{post['source']}:{post['id']}".encode()


def produce_posts(settings: Settings, posts: Iterable[dict[str, Any]]) -> int:
    """Put posts on ``posts.raw`` as the ingest command does (keyed by post), as fast as Kafka takes them."""
    kafka = producer(settings)
    n = 0
    for post in posts:
        kafka.send(settings.topic("posts.raw"), key=post_key_bytes(post), value=json.dumps(post).encode())
        n += 1
    kafka.flush()
    kafka.close()
    return n


def produce_paced(settings: Settings, posts: Iterable[dict[str, Any]], rate: float) -> dict[str, float]:
    """Put posts on ``posts.raw`` at ``rate`` posts/s, as a steady feed arrives; post key → send time."""
    kafka = producer(settings)
    sent: dict[str, float] = {}
    start = time.time()
    for i, post in enumerate(posts):
        pause = start + i / rate - time.time()
        if pause > 0:
            time.sleep(pause)
        key = post_key_bytes(post)
        sent[key.decode()] = time.time()
        kafka.send(settings.topic("posts.raw"), key=key, value=json.dumps(post).encode())
    kafka.flush()
    kafka.close()
    return sent


def indexed_posts(es: Elasticsearch, settings: Settings) -> int:
    try:
        es.indices.refresh(index=settings.index("posts"))
        return int(es.count(index=settings.index("posts"))["count"])
    except NotFoundError:
        return 0


def wait_indexed(es: Elasticsearch, settings: Settings, n: int, timeout_s: float, every_s: float = 0.5) -> float:
    """Seconds (monotonic clock) at which ``n`` posts were found indexed; raises after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if indexed_posts(es, settings) >= n:
            return time.monotonic()
        time.sleep(every_s)
    raise TimeoutError(f"only {indexed_posts(es, settings)} of {n} posts indexed after {timeout_s:.0f} s")
