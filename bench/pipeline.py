"""End-to-end throughput and latency of one stream worker on the real local Kafka and Elasticsearch.

Not a requirement of the open issues (the scale work on the roadmap will compare against a bare Kafka
passthrough and run several workers); this gives the team a figure to watch. It starts the local stack
if needed (``stack.manager.up``), uses a fresh namespace, starts one ``trailhound worker``, ingests
``--posts`` synthetic posts in one go, and reports how long the worker needs until every post is
indexed, plus the end-to-end latency (post in Kafka → alert indexed) from the worker's own histogram.
Run ``.venv/bin/python bench/pipeline.py``. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from elasticsearch import Elasticsearch, NotFoundError
from kafka.admin import KafkaAdminClient

from trailhound.config import Settings
from trailhound.provision import prepare_servers
from trailhound.stack.manager import ServerState, down, up
from trailhound.synth import write_jsonl

ROOT = Path(__file__).resolve().parent.parent


def _indexed(es: Elasticsearch, settings: Settings) -> int:
    try:
        es.indices.refresh(index=settings.index("posts"))
        return int(es.count(index=settings.index("posts"))["count"])
    except NotFoundError:
        return 0


def _quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """A quantile from cumulative Prometheus histogram buckets (upper bound of the bucket reached)."""
    total = buckets[-1][1]
    for bound, count in buckets:
        if total and count >= q * total:
            return bound
    return float("inf")


def _latency_buckets(metrics: str) -> list[tuple[float, float]]:
    rows = []
    for line in metrics.splitlines():
        if line.startswith("trailhound_end_to_end_latency_seconds_bucket"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            rows.append((float(bound), float(line.rsplit(" ", 1)[1])))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=5000)
    args = parser.parse_args()

    base = Settings.from_env()
    report = up(base)
    started = [s.name for s in report.servers if s.state is ServerState.STARTED]
    settings = base.with_namespace(f"bench{uuid.uuid4().hex[:6]}")
    prepare_servers(settings)
    port = 6900
    env = {**os.environ, "TRAILHOUND_NAMESPACE": settings.namespace, "TRAILHOUND_WORKER_PORT": str(port)}
    log_path = Path(tempfile.mkdtemp()) / "bench-worker.log"
    with log_path.open("wb") as log:  # the worker keeps its own copy of the descriptor
        worker = subprocess.Popen([sys.executable, "-m", "trailhound", "worker"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    es = Elasticsearch(settings.elasticsearch_url)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        feed = Path(tempfile.mkdtemp()) / "feed.jsonl"
        write_jsonl(feed, args.posts, seed=99)
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "trailhound", "ingest", str(feed), "--no-progress"], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        ingest_s = time.monotonic() - t0
        while _indexed(es, settings) < args.posts and time.monotonic() - t0 < 900:
            time.sleep(0.5)
        total_s = time.monotonic() - t0
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        buckets = _latency_buckets(metrics)
        alerts = int(sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                         if line.startswith("trailhound_alerts_raised_total{")))
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        es.options(ignore_status=404).indices.delete(index=f"trailhound-{settings.namespace}-*")
        es.options(ignore_status=404).indices.delete_index_template(name=f"trailhound-{settings.namespace}-*")
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(settings.namespace + ".")])
        admin.close()
        if started:
            down(base, only=started)

    figures = {
        "benchmark": "pipeline", "posts": args.posts, "workers": 1, "partitions": settings.partitions,
        "ingest_s": round(ingest_s, 2), "ingest_posts_s": round(args.posts / ingest_s),
        "end_to_end_s": round(total_s, 2), "end_to_end_posts_s": round(args.posts / total_s),
        "alerts": alerts, "latency_p50_s_le": _quantile(buckets, 0.5), "latency_p95_s_le": _quantile(buckets, 0.95),
    }
    print(f"{'what':<44}{'figure':>12}")
    print(f"{'posts (synthetic, one file)':<44}{args.posts:>12}")
    print(f"{'ingest (validate + produce), posts/s':<44}{figures['ingest_posts_s']:>12}")
    print(f"{'all posts scored and indexed, seconds':<44}{figures['end_to_end_s']:>12}")
    print(f"{'end to end, posts/s (one worker, 2 cores)':<44}{figures['end_to_end_posts_s']:>12}")
    print(f"{'alerts raised':<44}{alerts:>12}")
    print(f"{'alert latency p50 (bucket upper bound), s':<44}{figures['latency_p50_s_le']:>12}")
    print(f"{'alert latency p95 (bucket upper bound), s':<44}{figures['latency_p95_s_le']:>12}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
