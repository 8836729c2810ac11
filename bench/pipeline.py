"""Throughput of the whole pipeline against the ceilings of the framework it runs on, in one run.

Run ``.venv/bin/python bench/pipeline.py`` (a few minutes; it starts the local stack if needed and
removes what it created). On the real local Kafka and Elasticsearch it measures, one after the other:

1. **aiokafka relay** — a bare consume → produce loop (``getmany`` + ``send``): Kafka's own ceiling;
2. **Faust per-event relay** — a Faust agent sending each record on as its own event;
3. **Faust batched relay** — a Faust agent taking batches and waiting for their deliveries, as the
   Trailhound agents do;
4. **one worker** — Trailhound end to end: ``--posts`` synthetic posts produced on ``posts.raw``, then
   enrichment, every detector, posts and alerts indexed in Elasticsearch; from the first post produced
   to the last post found indexed;
5. **two workers** — the same with two worker processes sharing the partitions;
6. **one worker with enrichment on a second process** (``TRAILHOUND_ENRICH_PROCESSES=1``; the
   default is 0), to show whether the second process pays.

The relays copy ``--relay-records`` records of the same size as a synthetic post. Prints a table with
the ratios (and the machine's load average, since the machine may be shared), then as the last line
one JSON object.

Alerts are counted once the workers' consumer group has caught up with every topic (``alert_sets``),
and the one- and two-worker runs' alert ids are compared by kind. Counted when the last post was indexed
(as before this session), they measured how far the alert and linkage stages lagged: 147 against 240 at
6,000 posts. What does differ between one and two workers: network alerts raised and later merged into
a network founded earlier (``network merged``), a record of what was raised whose number depends on the
order the links arrive in; the open network alerts and the content alerts were the same alerts.

Where a worker's time goes (issue 13): per-post CPU, measured offline with cProfile over 1,500
synthetic posts, is enrichment 46% (entity extraction 32%, phone parsing 15%, normalisation 10%,
schema validation 5%) and detection 54%; those internals are the detection-speed work. Around them,
``bench/worker_profile.py`` samples a whole running worker with py-spy (3,000 posts, one burst, load
6-14 on the shared two-core machine). Before this session's changes only 27% of the worker's samples
were in the detectors; socket writes of produce requests took 17% (one request per record: no linger,
and the linkage stage sent each post's keys and each link on its own), the event loop 12%, aiokafka
10%, Faust 8% + 2%, JSON 8% (the sink encoded every document twice), and logging 4%: Faust's start-up
spinner sets the root logger to DEBUG, so aiokafka and Faust built a debug record for every message
sent. After (5 ms linger and 1 MB producer batches, linkage keys and links sent a batch at a time,
records handed straight to the producer, orjson encoding each document once, no spinner): detectors
37%, socket writes 12%, event loop 11%, aiokafka 10%, Faust 9% + 3%, JSON 1%, logging 0.1%. What is
left around the detectors is Faust's per-event consumer path (each post is read twice, posts.raw and
posts.enriched, plus its linkage keys) and the Kafka client. Running the stateless half, enrichment,
on a second process (row 6) is measured in every run; on the shared two-core machine Kafka and
Elasticsearch take the "free" core, so it is off by default. The CPU seconds per post of each run
tell whether the worker itself scales when the posts/s do not; Kafka's and Elasticsearch's CPU per post
(every process of the local stack's servers, so also whatever else uses them meanwhile) tell how much
of the machine the servers need for the same posts.

Session 4 (``bench/worker_profile.py``, 3,000 posts, load 6-8, share of the busy samples by stage):
before, detection 36%, enrichment 18%, the key index 9%, linkage keys 7%, cluster stage 2% (73% in
the stages' own work), and around them the event loop 7%, Faust 5.5%, socket writes 3.6%, aiokafka 2.7%,
other stream glue 2.7%, Kafka sends 2.3%, bulk indexing 1.5% (27%). Most of that was Faust's per-message
consumer path (fetcher, conductor, stream buffer, acks), paid twice a post: once on ``posts.raw``, once on
``posts.enriched``. ``posts.enriched`` now carries one record per partition per enrich batch, as the
linkage topics already did; after: 77% in the stages' work, 23% around it (event loop 5.7%, Faust 4.7%,
aiokafka 2.7%, socket 1.8%, Kafka sends 1.5%, bulk indexing 1.4%). Measured paired against the code
before (``bench/worker_ab.py``, both fed the same 3,000 posts at the same time, load 6-9): 2.62 against
3.13 and 2.73 against 3.39 ms of CPU a post (0.84 and 0.80), at 1.2-1.3 times its posts/s. What is
left around the stages is mostly the one Faust event each post still is on ``posts.raw`` (one record per
post is the input's contract); what is left in them is the detectors' and linkage's own work.

Session 5 (same profile, 3,000 posts, load 5-6): ``posts.raw`` is now read by a bare aiokafka consumer
a batch at a time (``streams/raw_batches.py``; offsets committed after each batch's outputs are
acknowledged), so a post no longer pays Faust's per-event path. Before: 78.8% of the busy samples in the
stages, 21.2% around them (event loop 5.3%, Faust 3.7% + 1.6%, socket 3.7%, stream glue 3.4%, aiokafka
2.1%). After: 85.2% in the stages, 14.7% around them (stream glue 4.9%, mostly decoding
``posts.enriched``'s joined records and the enrich loop's per-post records; socket 3.7%, event loop 1.9%,
aiokafka 1.9%, Faust 0.8% + 0.2%); 139 against 103 posts/s at the same load. Smaller steps: Kafka's
murmur2 partition computed with whole words (5 µs a key instead of 10-30), ``iso`` formatting the whole
second once, one JSON decoder for post validation (and, on that branch, Elasticsearch answers decoded
with orjson, which main now has from the latency work). Paired against the session's start
(``bench/worker_ab.py --base main``, 3,000 posts, load 6-10): 0.96 and 0.77 of main's CPU per post with
the new reader alone, 0.78 and 0.91 with every change. The whole
bench at the end, at load 6-10: one worker 135 posts/s at 2.80 ms of CPU a post, two workers 241
(1.78×) at 2.78 ms a post (last session, quiet: 2.35 and 2.87), the bare Faust relay 1,227.

Session 11 (each process's CPU read from ``/proc``, 10,000 posts): the worker's own process spent 0.9 ms
a post, its linkage process 0.7, Kafka 0.15 and Elasticsearch 0.6 while the posts went through, about
2.3 ms on two cores, and the worker's process shared its core. With the linkage process at a lower
priority, young collections every 20,000 allocations (the collector had taken 8% of the worker) and
30 ms batch windows, one worker went from 742 to 991-1,095 posts/s, two from 781 to 1,259-1,317
(``docs/performance-history.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from dataclasses import dataclass

from alert_sets import alert_kinds, by_kind, difference_by_kind, wait_drained
from harness import (
    es_client,
    load_average,
    namespace,
    produce_posts,
    servers_cpu_seconds,
    stack,
    wait_indexed,
    workers,
)
from relays import aiokafka_relay, faust_relay

from trailhound.config import Settings
from trailhound.synth import generate


def _relay_topics(settings: Settings, records: list[bytes]) -> tuple[str, str, str]:
    """Three topics (source, two targets) with the same partitions as the pipeline; source pre-filled."""
    from kafka.admin import KafkaAdminClient, NewTopic

    names = tuple(settings.topic(name) for name in ("relay.source", "relay.a", "relay.b", "relay.c"))
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    admin.create_topics([NewTopic(name, settings.partitions, 1) for name in names])
    admin.close()
    from harness import producer

    kafka = producer(settings)
    for i, value in enumerate(records):
        kafka.send(names[0], key=str(i).encode(), value=value)
    kafka.flush()
    kafka.close()
    return names  # type: ignore[return-value]


def relays(settings: Settings, n: int) -> dict[str, float]:
    values = [json.dumps(p).encode() for p in generate(min(n, 2000), seed=3)]
    records = [values[i % len(values)] for i in range(n)]
    source, to_aiokafka, to_event, to_batch = _relay_topics(settings, records)
    from harness import free_port

    return {
        "aiokafka": n / asyncio.run(aiokafka_relay(settings.kafka_bootstrap, source, to_aiokafka, n)),
        "faust_event": n / faust_relay(settings.kafka_bootstrap, source, to_event, n, "event", free_port()),
        "faust_batch": n / faust_relay(settings.kafka_bootstrap, source, to_batch, n, "batch", free_port()),
    }


@dataclass
class Run:
    """One end-to-end run: posts/s, the workers' CPU per post (all workers together), and the alerts raised
    (id → kind, counted once the workers drained every topic: :mod:`alert_sets`)."""

    posts_s: float
    cpu_ms_per_post: float
    alerts: dict[str, str]
    drain_s: float
    cpu_ms_per_post_drained: float  # also the linkage and alert work still queued when the last post was indexed
    servers_cpu_ms_per_post: float | None  # Kafka and Elasticsearch (with whatever else uses them meanwhile)


def pipeline(base: Settings, n_workers: int, posts: int, seed: int, **env: str) -> Run:
    """``n_workers`` workers end to end: posts/s, alerts, and the CPU the workers spent per post.

    The CPU per post tells whether the workers themselves scale: if two workers spend about what one
    spends per post but the posts/s do not double, the cores went to something else (Kafka,
    Elasticsearch, other processes on the machine).
    """
    feed = list(generate(posts, seed))
    with namespace(base, f"bench{n_workers}w") as settings, workers(settings, n_workers, **env) as running:
        es = es_client(settings)
        try:
            cpu0, servers0 = sum(w.cpu_seconds() for w in running), servers_cpu_seconds(settings)
            t0 = time.monotonic()
            produce_posts(settings, feed)
            done = wait_indexed(es, settings, posts, timeout_s=max(900.0, posts / 5))
            cpu, servers1 = sum(w.cpu_seconds() for w in running) - cpu0, servers_cpu_seconds(settings)
            drain_s = wait_drained(settings, timeout_s=max(600.0, posts / 10))
            cpu_drained = sum(w.cpu_seconds() for w in running) - cpu0
            alerts = alert_kinds(es, settings)
        finally:
            es.close()
        servers = None if servers0 is None or servers1 is None else 1000 * (servers1 - servers0) / posts
        return Run(posts / (done - t0), 1000 * cpu / posts, alerts, drain_s, 1000 * cpu_drained / posts, servers)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--relay-records", type=int, default=20_000)
    args = parser.parse_args()

    load_before = load_average()
    with stack() as base, namespace(base, "relay") as relay_settings:
        ceilings = relays(relay_settings, args.relay_records)
        one = pipeline(base, 1, args.posts, seed=99)
        two = pipeline(base, 2, args.posts, seed=99)
        with_pool = pipeline(base, 1, args.posts, seed=99, TRAILHOUND_ENRICH_PROCESSES="1")
    load_after = load_average()

    figures = {
        "benchmark": "pipeline", "posts": args.posts, "relay_records": args.relay_records,
        "partitions": base.partitions, "cores": os.cpu_count(), "load_average_before": load_before,
        "load_average_after": load_after, "enrich_processes": base.enrich_processes,
        "aiokafka_relay_posts_s": round(ceilings["aiokafka"]), "faust_relay_posts_s": round(ceilings["faust_event"]),
        "faust_batched_relay_posts_s": round(ceilings["faust_batch"]), "one_worker_posts_s": round(one.posts_s),
        "two_workers_posts_s": round(two.posts_s), "one_worker_enrich_pool_posts_s": round(with_pool.posts_s),
        "one_worker_cpu_ms_per_post": round(one.cpu_ms_per_post, 3),
        "two_workers_cpu_ms_per_post": round(two.cpu_ms_per_post, 3),
        "one_worker_enrich_pool_cpu_ms_per_post": round(with_pool.cpu_ms_per_post, 3),
        "cpu_ms_per_post_drained": [round(r.cpu_ms_per_post_drained, 3) for r in (one, two, with_pool)],
        "servers_cpu_ms_per_post": [None if r.servers_cpu_ms_per_post is None else round(r.servers_cpu_ms_per_post, 3)
                                    for r in (one, two, with_pool)],
        "one_worker_alerts": len(one.alerts), "two_workers_alerts": len(two.alerts),
        "one_worker_alerts_by_kind": by_kind(one.alerts), "two_workers_alerts_by_kind": by_kind(two.alerts),
        "alerts_only_one_worker_by_kind": difference_by_kind(one.alerts, two.alerts),
        "alerts_only_two_workers_by_kind": difference_by_kind(two.alerts, one.alerts),
        "drain_after_last_post_s": [round(one.drain_s, 1), round(two.drain_s, 1), round(with_pool.drain_s, 1)],
        "one_worker_vs_faust_relay": round(one.posts_s / ceilings["faust_event"], 3),
        "two_workers_vs_one": round(two.posts_s / one.posts_s, 3),
    }
    rows = [
        ("bare aiokafka relay (Kafka's ceiling)", figures["aiokafka_relay_posts_s"]),
        ("bare Faust per-event relay", figures["faust_relay_posts_s"]),
        ("bare Faust batched relay", figures["faust_batched_relay_posts_s"]),
        ("Trailhound, one worker, end to end", figures["one_worker_posts_s"]),
        ("Trailhound, two workers, end to end", figures["two_workers_posts_s"]),
        ("one worker, enrichment on a second process", figures["one_worker_enrich_pool_posts_s"]),
    ]
    print(f"{'posts/s':<44}{'figure':>10}")
    for what, value in rows:
        print(f"{what:<44}{value:>10}")
    print(f"{'one worker / Faust per-event relay':<44}{figures['one_worker_vs_faust_relay']:>10}")
    print(f"{'two workers / one worker':<44}{figures['two_workers_vs_one']:>10}")
    print(f"{'alerts (one worker / two workers)':<44}{f'{len(one.alerts)} / {len(two.alerts)}':>10}")
    for kind in sorted(set(one.alerts.values()) | set(two.alerts.values())):
        counts = [figures[name].get(kind, 0) for name in ("one_worker_alerts_by_kind", "two_workers_alerts_by_kind",
                                                          "alerts_only_one_worker_by_kind",
                                                          "alerts_only_two_workers_by_kind")]
        print(f"{f'  {kind}: one / two (only one / only two)':<52}"
              f"{counts[0]} / {counts[1]} ({counts[2]} / {counts[3]})")
    print(f"{'worker CPU ms per post: one / two / pool':<44}"
          f"{f'{one.cpu_ms_per_post:.2f} / {two.cpu_ms_per_post:.2f} / {with_pool.cpu_ms_per_post:.2f}':>10}")
    if None not in figures["servers_cpu_ms_per_post"]:
        print(f"{'Kafka + Elasticsearch CPU ms per post':<44}"
              f"{' / '.join(f'{x:.2f}' for x in figures['servers_cpu_ms_per_post']):>10}")
    print(f"load average before / after: {load_before} / {load_after} on {os.cpu_count()} cores")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
