"""Alert latency under a steady feed and after a burst: post produced → alert indexed, per alert.

Run ``.venv/bin/python bench/latency.py`` (five minutes or more: it waits until every stage has drained).
One worker on the real local stack:

1. **probe** — ``--probe-posts`` posts in one go measure the worker's maximum rate (posts/s);
2. **steady** — posts at 50% of that rate for ``--steady-s`` seconds (60);
3. **burst** — 10× the steady rate for ``--burst-s`` seconds (5);
4. **after** — the steady rate again for ``--after-s`` seconds (90), to see the backlog drain.

Each post's send time is recorded by the producer; each alert's time is when the alert stage had it
recorded in Elasticsearch (the worker runs as ``traced_worker.py``, which writes that time after each of
the stage's batches). Until session 4 the bench took the alert's record timestamp on the ``alerts`` topic,
which is before the alert stage's batch window, grouping, related-alert search and bulk write: the
"indexed" latency without its last hop. So every alert gives one exact latency, no histogram buckets; a
network alert, re-published as its cluster grows, gives the latency of the newest post it adds
(:func:`first_alerted`).
Each phase sends posts of its own, and the steady phase starts once the probe's records are all drained
(every stage's consumer caught up), and the alerts are read once the whole feed is drained.

Where the time goes: the record timestamps on ``posts.enriched``,
``linkage.keys``, ``linkage.links`` and ``alerts`` split each steady post's latency into its stages, for a
content alert (enrich → detect → record) and a network alert (enrich → detect → link_keys →
build_clusters → record); p50 and p99 of each hop are printed, and the calls and seconds of the alert and
cluster stages' main steps (Elasticsearch reads, writes, searches) over the whole run.

Reported: p50/p95/p99 of the steady phase, and ``burst_recovery_s``:
seconds from the end of the burst until the rolling p99 (over the alerts of the posts sent in the last
``--window-s`` seconds) is back under 1 s and stays there. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alert_sets import wait_drained
from elasticsearch import Elasticsearch
from harness import load_average, namespace, produce_paced, produce_posts, stack, wait_indexed, workers
from kafka import KafkaConsumer, TopicPartition

from trailhound.config import Settings
from trailhound.synth import generate

TARGET_S = 1.0


def _feed(n: int, prefix: str, seed: int) -> list[dict[str, Any]]:
    return [{**post, "id": f"{prefix}-{i}"} for i, post in enumerate(generate(n, seed))]


def _paced(settings: Settings, phases: list[tuple[str, float, float]], seed: int) -> dict[str, tuple[str, float]]:
    """Produce each phase ``(name, posts/s, seconds)`` at its rate; post key → (phase, send time)."""
    sent: dict[str, tuple[str, float]] = {}
    for number, (name, rate, seconds) in enumerate(phases):  # each phase its own posts, not the last one's again
        posts = _feed(max(1, int(rate * seconds)), f"{name}{seed}", seed + number)
        sent.update((key, (name, at)) for key, at in produce_paced(settings, posts, rate).items())
    return sent


def _records(settings: Settings, name: str) -> Iterator[tuple[dict[str, Any], float]]:
    """(decoded value, record timestamp in s) of every record on topic ``name``."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=5000)
    topic = settings.topic(name)
    parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    ends = consumer.end_offsets(parts)
    while any(consumer.position(tp) < ends[tp] for tp in parts):
        for records in consumer.poll(timeout_ms=1000).values():
            for record in records:
                yield json.loads(record.value), record.timestamp / 1000.0
    consumer.close()


def _published(settings: Settings) -> tuple[list[tuple[str, list[str], float]], set[str]]:
    """(event id, post keys, publication time) of every record on the ``alerts`` topic; the network alerts' ids."""
    published, networks = [], set()
    for alert, at in _records(settings, "alerts"):
        if "event" in alert:
            published.append((alert["event"]["id"], alert.get("trailhound", {}).get("post_ids", []), at))
            if (alert.get("rule") or {}).get("category") == "network":
                networks.add(alert["event"]["id"])
    return published, networks


def _recorded(trace: Path) -> list[tuple[str, list[str], float]]:
    """(event id, post keys, time recorded in Elasticsearch) of every alert the traced worker recorded."""
    out: list[tuple[str, list[str], float]] = []
    for line in trace.read_text().splitlines():
        batch = json.loads(line)
        out.extend((alert_id, post_ids, batch["at"]) for alert_id, post_ids in batch["alerts"])
    return out


def _steps(trace: Path) -> dict[str, list[float]]:
    """The alert and cluster stages' main steps: name → [calls, seconds], as of the trace's last line."""
    lines = trace.read_text().splitlines()
    steps = json.loads(lines[-1]).get("steps", {}) if lines else {}
    return {name: [int(calls), round(seconds, 2)] for name, (calls, seconds) in steps.items()}


def _first_seen(settings: Settings, name: str) -> dict[str, float]:
    """Post key → timestamp of the first record on ``posts.enriched``, ``linkage.keys`` or ``linkage.links``
    that carries the post."""
    seen: dict[str, float] = {}
    for value, at in _records(settings, name):
        for item in value.get("batch", (value,)):
            keys = ([item["post_key"]] if "post_key" in item else [item["post"]["post_key"]] if "post" in item
                    else list(item["posts"]) if item.get("type") == "links"  # links naming their posts
                    else [item[side]["post_key"] for side in ("a", "b") if side in item])
            for key in keys:
                seen.setdefault(key, at)
    return seen


def first_alerted(records: list[tuple[str, list[str], float]], sent: dict[str, tuple[str, float]]
                  ) -> dict[str, tuple[str, float]]:
    """Post key → (alert id, time) of the first alert record caused by the post.

    A record is caused by the newest of the posts it is the first to show: a content alert shows its one
    post; a network alert is re-published as its cluster grows, each time because a post joined. The
    older posts a new network alert lists were not late, they only became part of a network now, and a
    record listing posts an alert already showed says nothing of how long they took. Until session 4 a
    record counted for the newest post it listed, so a post whose link came late (after a newer post of
    its cluster) was never counted: exactly the slow ones. Until session 11 "already shown" meant by the
    same alert, so when one network absorbed another, a post the absorbed network's alert had shown
    minutes before could count again, with those minutes as its latency.
    """
    out: dict[str, tuple[str, float]] = {}
    shown: set[str] = set()
    for alert_id, post_ids, at in sorted(records, key=lambda r: r[2]):
        added = [key for key in post_ids if key in sent and key not in shown]
        shown.update(post_ids)
        if added:
            out.setdefault(max(added, key=lambda key: sent[key][1]), (alert_id, at))
    return out


def breakdown(settings: Settings, sent: dict[str, tuple[str, float]], published: list[tuple[str, list[str], float]],
              recorded: list[tuple[str, list[str], float]], networks: set[str], phase: str = "steady"
              ) -> dict[str, dict[str, float]]:
    """``path/hop`` → {p50, p99, n} in seconds, for the posts of ``phase`` (see the module docstring)."""
    network_ids = networks
    enriched, keys, links = (_first_seen(settings, name)
                             for name in ("posts.enriched", "linkage.keys", "linkage.links"))
    pub, rec = first_alerted(published, sent), first_alerted(recorded, sent)
    hops: dict[str, list[float]] = {}
    for key, (name, sent_at) in sent.items():
        if name != phase or key not in pub or key not in rec or key not in enriched:
            continue
        alert_id, published_at = pub[key]
        path = "network" if alert_id in network_ids else "content"
        marks = [("enrich", enriched[key])]
        if path == "network" and key in keys and key in links:
            marks += [("detect", keys[key]), ("link_keys", links[key]), ("build_clusters", published_at)]
        else:
            marks += [("detect", published_at)]
        marks.append(("record_alerts", rec[key][1]))
        before = sent_at
        for hop, at in marks:
            hops.setdefault(f"{path}/{hop}", []).append(at - before)
            before = at
        hops.setdefault(f"{path}/total", []).append(before - sent_at)
    return {hop: {"p50": round(_quantile(v, 0.5), 3), "p99": round(_quantile(v, 0.99), 3), "n": len(v)}
            for hop, v in sorted(hops.items())}


def alert_latencies(records: list[tuple[str, list[str], float]], sent: dict[str, tuple[str, float]]
                    ) -> dict[str, list[tuple[float, float]]]:
    """Phase → (send time, latency) of each post that caused an alert record (:func:`first_alerted`)."""
    latencies: dict[str, list[tuple[float, float]]] = {"steady": [], "burst": [], "after": []}
    for key, (_, at) in first_alerted(records, sent).items():
        phase, sent_at = sent[key]
        latencies[phase].append((sent_at, at - sent_at))
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
    parser.add_argument("--rate", type=float, default=0.0, help="steady posts/s (default: half the probed maximum)")
    args = parser.parse_args()

    load_before = load_average()
    trace = Path(tempfile.mkdtemp()) / "recorded.jsonl"
    traced = [str(Path(__file__).with_name("traced_worker.py")), str(trace)]
    with stack() as base, namespace(base, "latency") as settings, workers(settings, 1, traced) as (worker,):
        es = Elasticsearch(settings.elasticsearch_url, request_timeout=60)  # a busy shared machine answers slowly
        t0, cpu0 = time.monotonic(), worker.cpu_seconds()
        produce_posts(settings, _feed(args.probe_posts, "probe", 11))
        max_rate = args.probe_posts / (wait_indexed(es, settings, args.probe_posts, 1800, 0.2) - t0)
        wait_drained(settings, 1800)  # the probe's alert and linkage work must not spill into the steady phase
        cpu1 = worker.cpu_seconds()
        steady = args.rate or max_rate / 2
        phases = [("steady", steady, args.steady_s), ("burst", 10 * steady, args.burst_s),
                  ("after", steady, args.after_s)]
        sent = _paced(settings, phases, seed=12)  # the probe's feed is seed 11
        wait_indexed(es, settings, args.probe_posts + len(sent), 1800, 0.5)
        wait_drained(settings, 1800)  # every alert of the feed recorded
        cpu2 = worker.cpu_seconds()
        es.close()
        published, networks = _published(settings)
        recorded = _recorded(trace)
        steps = _steps(trace)
        hops = breakdown(settings, sent, published, recorded, networks)
    load_after = load_average()

    latencies = alert_latencies(recorded, sent)
    steady_published = [lat for _, lat in alert_latencies(published, sent)["steady"]]
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
        "steady_published_p99_s": round(_quantile(steady_published, 0.99), 3), "steady_breakdown_s": hops,
        "stage_steps_calls_s": steps,
        "worker_cpu_ms_per_post_probe": round(1000 * (cpu1 - cpu0) / args.probe_posts, 2),
        "worker_cpu_ms_per_post_paced": round(1000 * (cpu2 - cpu1) / max(1, len(sent)), 2),
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
                       ("p99 of the phase after the burst, s", "after_p99_s"),
                       ("steady p99 at publication on alerts, s", "steady_published_p99_s"),
                       ("worker CPU per post, probe (one burst), ms", "worker_cpu_ms_per_post_probe"),
                       ("worker CPU per post, paced phases, ms", "worker_cpu_ms_per_post_paced")]:
        print(f"{label:<48}{figures[key]!s:>10}")
    print(f"\n{'steady phase, per stage (s)':<34}{'p50':>8}{'p99':>8}{'posts':>8}")
    for hop, q in hops.items():
        print(f"{hop:<34}{q['p50']:>8}{q['p99']:>8}{q['n']:>8}")
    print(f"\n{'alert and cluster stage steps (whole run)':<44}{'calls':>8}{'s':>8}")
    for name, (calls, seconds) in steps.items():
        print(f"{name:<44}{calls:>8}{seconds:>8}")
    print(f"load average before / after: {load_before} / {load_after} on {os.cpu_count()} cores")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
