"""Alert latency under a steady feed and after a burst: post produced → alert indexed, per alert.

Run ``.venv/bin/python bench/latency.py`` (about three minutes). One worker on the real local stack:

1. **probe** — ``--probe-posts`` posts in one go measure the worker's maximum rate (posts/s);
2. **steady** — posts at 50% of that rate for ``--steady-s`` seconds (60);
3. **burst** — 10× the steady rate for ``--burst-s`` seconds (5);
4. **after** — the steady rate again for ``--after-s`` seconds (90), to see the backlog drain.

Each post's send time is recorded by the producer; each alert's time is the timestamp of its record
on the ``alerts`` topic, which the detect stage writes only after the post and its evidence are
indexed in Elasticsearch; the alert stage then records the alert itself in its next batch (one more
``within`` window and bulk request, about 0.1-0.3 s, not included). So every alert gives one exact
latency, no histogram buckets; a network alert, re-published as its cluster grows, gives its newest post's
(:func:`alert_latencies`). Each phase sends posts of its own. Reported: p50/p95/p99 of the steady
phase, and ``burst_recovery_s``:
seconds from the end of the burst until the rolling p99 (over the alerts of the posts sent in the last
``--window-s`` seconds) is back under 1 s and stays there. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from elasticsearch import Elasticsearch
from harness import load_average, namespace, post_key_bytes, produce_posts, producer, stack, wait_indexed, workers
from kafka import KafkaConsumer, TopicPartition

from trailhound.config import Settings
from trailhound.synth import generate

TARGET_S = 1.0


def _feed(n: int, prefix: str, seed: int) -> list[dict[str, Any]]:
    return [{**post, "id": f"{prefix}-{i}"} for i, post in enumerate(generate(n, seed))]


def _paced(settings: Settings, phases: list[tuple[str, float, float]], seed: int) -> dict[str, tuple[str, float]]:
    """Produce each phase ``(name, posts/s, seconds)`` at its rate; post key → (phase, send time)."""
    kafka = producer(settings)
    sent: dict[str, tuple[str, float]] = {}
    for number, (name, rate, seconds) in enumerate(phases):  # each phase its own posts, not the last one's again
        posts = _feed(max(1, int(rate * seconds)), f"{name}{seed}", seed + number)
        start = time.time()
        for i, post in enumerate(posts):
            due = start + i / rate
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            key = post_key_bytes(post)
            sent[key.decode()] = (name, time.time())
            kafka.send(settings.topic("posts.raw"), key=key, value=json.dumps(post).encode())
        kafka.flush()
    kafka.close()
    return sent


def _alert_times(settings: Settings) -> list[tuple[list[str], float]]:
    """(post keys, publication time) of every record on the ``alerts`` topic (published after indexing)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=5000)
    topic = settings.topic("alerts")
    parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    ends = consumer.end_offsets(parts)
    published: list[tuple[list[str], float]] = []
    while any(consumer.position(tp) < ends[tp] for tp in parts):
        for records in consumer.poll(timeout_ms=1000).values():
            for record in records:
                alert = json.loads(record.value)
                published.append((alert.get("trailhound", {}).get("post_ids", []), record.timestamp / 1000.0))
    consumer.close()
    return published


def alert_latencies(published: list[tuple[list[str], float]], sent: dict[str, tuple[str, float]]
                    ) -> dict[str, list[tuple[float, float]]]:
    """Phase → (send time, latency) of each post whose alert was published.

    A record's latency is that of the newest post it covers: a content alert covers its one post; a
    network alert is re-published as its cluster grows, each time because of its newest post, and
    listing the cluster's older posts again says nothing of how long they took. Each post counts once,
    at the first record it is the newest post of.
    """
    timed: dict[str, tuple[str, float, float]] = {}
    for post_ids, at in sorted(published, key=lambda item: item[1]):
        known = [key for key in post_ids if key in sent]
        if not known:
            continue
        newest = max(known, key=lambda key: sent[key][1])
        if newest not in timed:
            phase, sent_at = sent[newest]
            timed[newest] = (phase, sent_at, at - sent_at)
    latencies: dict[str, list[tuple[float, float]]] = {"steady": [], "burst": [], "after": []}
    for phase, sent_at, latency in timed.values():
        latencies[phase].append((sent_at, latency))
    return latencies


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def rolling_p99(points: list[tuple[float, float]], window_s: float) -> list[tuple[float, float]]:
    """``(send time, p99 of the latencies of the posts sent in the window_s before it)`` for each point."""
    ordered = sorted(points)
    out: list[tuple[float, float]] = []
    start = 0
    for i, (at, _) in enumerate(ordered):
        while ordered[start][0] < at - window_s:
            start += 1
        out.append((at, _quantile([lat for _, lat in ordered[start:i + 1]], 0.99)))
    return out


def recovery_s(points: list[tuple[float, float]], burst_end: float, window_s: float,
               target_s: float = TARGET_S) -> float | None:
    """Seconds after ``burst_end`` from which the rolling p99 stays at or under ``target_s``; None if never.

    ``points`` are ``(send time, latency)`` of the burst's and later posts' alerts.
    """
    rolling = rolling_p99(points, window_s)
    late = [at for at, p99 in rolling if p99 > target_s]
    if not late:
        return 0.0
    if max(late) >= rolling[-1][0]:
        return None  # still above the target when the feed ended
    return max(0.0, max(late) - burst_end)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--probe-posts", type=int, default=3000)
    parser.add_argument("--steady-s", type=float, default=60)
    parser.add_argument("--burst-s", type=float, default=5)
    parser.add_argument("--after-s", type=float, default=90)
    parser.add_argument("--window-s", type=float, default=5.0, help="rolling window of the recovery p99")
    args = parser.parse_args()

    load_before = load_average()
    with stack() as base, namespace(base, "latency") as settings, workers(settings, 1):
        es = Elasticsearch(settings.elasticsearch_url)
        t0 = time.monotonic()
        produce_posts(settings, _feed(args.probe_posts, "probe", 11))
        max_rate = args.probe_posts / (wait_indexed(es, settings, args.probe_posts, 1800, 0.2) - t0)
        steady = max_rate / 2
        phases = [("steady", steady, args.steady_s), ("burst", 10 * steady, args.burst_s),
                  ("after", steady, args.after_s)]
        sent = _paced(settings, phases, seed=12)  # the probe's feed is seed 11
        wait_indexed(es, settings, args.probe_posts + len(sent), 1800, 0.5)
        time.sleep(2)
        es.close()
        published = _alert_times(settings)
    load_after = load_average()

    latencies = alert_latencies(published, sent)
    steady_values = [lat for _, lat in latencies["steady"]]
    burst_end = max(at for at, _ in latencies["burst"]) if latencies["burst"] else 0.0
    recovery = recovery_s(latencies["burst"] + latencies["after"], burst_end, args.window_s)
    after_p99 = _quantile([lat for _, lat in latencies["after"]], 0.99)

    figures = {
        "benchmark": "latency", "max_posts_s": round(max_rate, 1), "steady_posts_s": round(steady, 1),
        "burst_posts_s": round(10 * steady, 1), "steady_alerts": len(steady_values),
        "steady_p50_s": round(_quantile(steady_values, 0.50), 3),
        "steady_p95_s": round(_quantile(steady_values, 0.95), 3),
        "steady_p99_s": round(_quantile(steady_values, 0.99), 3),
        "burst_max_s": round(max((lat for _, lat in latencies["burst"]), default=float("nan")), 3),
        "burst_recovery_s": round(recovery, 2) if recovery is not None else None,
        "recovery_window_s": args.window_s, "after_p99_s": round(after_p99, 3),
        "cores": os.cpu_count(), "load_average_before": load_before, "load_average_after": load_after,
    }
    print(f"{'what':<48}{'figure':>10}")
    for label, key in [("one worker's maximum, posts/s", "max_posts_s"),
                       ("steady feed (50%), posts/s", "steady_posts_s"),
                       ("burst (10x steady), posts/s", "burst_posts_s"),
                       ("alerts in the steady phase", "steady_alerts"), ("steady p50, s", "steady_p50_s"),
                       ("steady p95, s", "steady_p95_s"),
                       ("steady p99, s", "steady_p99_s"), ("worst latency during the burst, s", "burst_max_s"),
                       ("rolling p99 back under 1 s after the burst, s", "burst_recovery_s"),
                       ("p99 of the phase after the burst, s", "after_p99_s")]:
        print(f"{label:<48}{figures[key]!s:>10}")
    print(f"load average before / after: {load_before} / {load_after} on {os.cpu_count()} cores")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
