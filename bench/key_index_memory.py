"""The link-keys stage's memory and CPU per post, in-memory key index against the stored one, on a soak feed.

Why it exists: ``bench/soak.py`` measures a whole worker on the real stack, which takes an hour at full
size and whose resident memory also moves with Kafka's buffers, the allocator and the other stages.
This bench runs only what the link-keys stage runs (the detect stage's ``linkage.keys`` records →
:meth:`~trailhound.streams.linkage.Linkage.observe` on one key index per partition), on the soak's feed
(texts of their own per chunk of 2,000 posts, ``--contacts`` e-mail contacts, dates over ``--days``),
once with :class:`~trailhound.detectors.linkage.key_index.KeyIndex` and once with
:class:`~trailhound.detectors.linkage.stored_key_index.StoredKeyIndex`, and reports for each the Python
process's resident memory (and with ``--traced`` the Python memory it holds) at every ``--every`` posts, the growth per
post over the second half, and CPU time per post; the links must be identical. With ``--days 4`` every
post stays inside the 30-day window: the busy feed on which a window-bounded index never levels off.

Run ``.venv/bin/python bench/key_index_memory.py --posts 40000``. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from soak import CHUNK, _feed_texts

from trailhound.config import Settings
from trailhound.detectors.linkage.key_index import KeyIndex, Link
from trailhound.detectors.linkage.stored_key_index import StoredKeyIndex
from trailhound.streams.batching import Outgoing, joined_records
from trailhound.streams.enrich import enrich_post
from trailhound.streams.linkage import Linkage, index_params
from trailhound.streams.worker import build_detectors

BATCH = 100  # posts a detect batch sends together (one linkage.keys record per partition)
_TOPIC = SimpleNamespace(name="linkage.keys")


def records(args: argparse.Namespace, linkage: Linkage) -> list[list[tuple[int, bytes]]]:
    """The feed's ``linkage.keys`` records, a batch at a time: ``[(partition, value), …]`` per batch."""
    rnd = random.Random(5)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    step = timedelta(days=args.days) / args.posts
    batches, batch = [], []
    for n in range(args.posts):
        if n % CHUNK == 0:
            texts = _feed_texts(n // CHUNK, CHUNK)
        post = {**texts[n % CHUNK], "id": f"soak-{n}", "posted_at": (start + n * step).isoformat(),
                "contact": {"emails": [f"contact{rnd.randrange(args.contacts)}@soak.example.org"]}}
        batch += [(partition, key, value) for partition, key, value in
                  linkage.key_records(enrich_post(post, 0.0), (), 0.0)]
        if (n + 1) % BATCH == 0:
            outgoing = [Outgoing(_TOPIC, key, value, partition=partition)  # type: ignore[arg-type]
                        for partition, key, value in batch]
            batches.append([(r.partition, r.value) for r in joined_records(outgoing)])
            batch = []
    return batches


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def run(kind: type[KeyIndex], batches: list[list[tuple[int, bytes]]], linkage: Linkage, every_batches: int,
        partitions: int, traced: bool) -> dict[str, Any]:
    indexes = {p: kind(linkage.params) for p in range(partitions)}
    linkage.summaries = type(linkage.summaries)()
    links: list[tuple[str, str, str]] = []
    samples: list[tuple[int, int, int]] = []
    gc.collect()
    if traced:
        tracemalloc.start()
    cpu = 0.0
    for count, batch in enumerate(batches, 1):
        started = time.process_time()
        for partition, value in batch:
            links += [(e.a.post_key, e.b.post_key, e.key) for e in linkage.observe(indexes[partition], value)
                      if isinstance(e, Link)]
        cpu += time.process_time() - started
        if count % every_batches == 0:
            samples.append((count * BATCH, tracemalloc.get_traced_memory()[0] if traced else 0, rss_bytes()))
    tracemalloc.stop()
    half = len(samples) // 2
    (n0, t0, r0), (n1, t1, r1) = samples[half], samples[-1]
    for index in indexes.values():
        if isinstance(index, StoredKeyIndex):
            index.close()
    return {"links": links, "traced_mib": [round(t / 2**20, 1) for _, t, _ in samples],
            "rss_mib": [round(r / 2**20, 1) for _, _, r in samples], "at_posts": [n for n, _, _ in samples],
            "second_half_traced_bytes_per_post": round((t1 - t0) / max(1, n1 - n0)),
            "second_half_rss_bytes_per_post": round((r1 - r0) / max(1, n1 - n0)),
            "cpu_us_per_post": round(cpu / (len(batches) * BATCH) * 1e6)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--posts", type=int, default=40_000)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--days", type=float, default=4.0)
    parser.add_argument("--every", type=int, default=5_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--traced", action="store_true", help="also count Python memory (tracemalloc; slow)")
    args = parser.parse_args()
    settings = Settings(partitions=args.partitions)
    linkage = Linkage(settings, es=None, detectors=build_detectors(settings))  # type: ignore[arg-type]
    linkage.params = index_params(settings)
    batches = records(args, linkage)
    every = max(1, args.every // BATCH)
    load_before = os.getloadavg()[0]
    stored = run(StoredKeyIndex, batches, linkage, every, args.partitions, args.traced)  # first: RSS not the other's
    memory = run(KeyIndex, batches, linkage, every, args.partitions, args.traced)
    for name, result in (("in memory", memory), ("stored", stored)):
        print(f"{name:>10}: traced MiB {result['traced_mib']}  RSS MiB {result['rss_mib']}  "
              f"{result['second_half_rss_bytes_per_post']} B/post RSS, {result['second_half_traced_bytes_per_post']} "
              f"B/post traced, {result['cpu_us_per_post']} µs/post")
    figures = {
        "benchmark": "key_index_memory", "posts": args.posts, "contacts": args.contacts, "days": args.days,
        "partitions": args.partitions, "at_posts": memory["at_posts"],
        "identical_links": memory["links"] == stored["links"], "links": len(memory["links"]),
        **{f"{name}_{key}": result[key] for name, result in (("memory", memory), ("stored", stored))
           for key in ("rss_mib", "second_half_rss_bytes_per_post", "traced_mib", "second_half_traced_bytes_per_post",
                       "cpu_us_per_post")},
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
