"""Memory of one worker over a long feed: resident memory every ``--every`` posts must level off.

Run ``.venv/bin/python bench/soak.py`` (1,000,000 posts, 200,000 distinct contacts). The run is bounded
by ``--max-minutes`` (default 120): when the budget is spent it stops feeding, reports the samples it
has (``"complete": false`` and ``reached_posts``) and cleans up, so the full size can always be started;
``--posts``/``--every`` make a smaller run. One worker on the real local
stack reads a feed produced as it goes (never more than ``--ahead`` posts ahead of what is indexed,
so Kafka's backlog does not grow without end). Each post names one of ``--contacts`` contacts (an
e-mail handle, drawn at random) and the posts' dates advance through ``--days`` days, as a real feed
does, so the per-contact windows see contacts come, go quiet and expire (their seven-day time to live,
and at most 200,000 kept: :mod:`trailhound.detectors.online.entity_anomaly`). Resident memory is the
worker's plus its enrichment pool's. "Flat after warm-up" is judged on the second half of the
samples: their growth is printed next to the first half's, also per post (``*_bytes_per_post``), so that
runs of any size compare. A shorter run shows the same sooner if its feed is busier: ``--days 4`` keeps
every post inside the linkage window (`TRAILHOUND_LINKAGE_RETENTION_DAYS`, 14), the case where a worker
whose state grew with the window would never level off. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch
from harness import indexed_posts, load_average, namespace, producer, stack, workers

from trailhound.synth import generate

CHUNK = 2000  # posts produced at a time, each chunk with texts of its own
_NUMBERS = re.compile(r"\d|\b(zero|one|two|three|four|five|six|seven|eight|nine)\b", re.IGNORECASE)


def _feed_texts(chunk: int, n: int) -> list[dict[str, Any]]:
    """``n`` synthetic posts of their own for one chunk of the feed, with their contacts and numbers taken
    out so the soak's contact is the key. Each chunk has its own seed: a few thousand texts repeated
    across a million posts would make giant template clusters no real feed has."""
    out = []
    for post in generate(n, seed=1000 + chunk):
        body = _NUMBERS.sub("", post["body"])
        out.append({"source": post["source"], "title": post.get("title", ""), "body": body,
                    "location": post.get("location") or {}})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--every", type=int, default=100_000)
    parser.add_argument("--days", type=float, default=60.0)
    parser.add_argument("--ahead", type=int, default=20_000)
    parser.add_argument("--max-minutes", type=float, default=120.0, help="stop feeding after this long")
    args = parser.parse_args()

    rnd = random.Random(5)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    step = timedelta(days=args.days) / args.posts
    samples: list[tuple[int, int, float]] = []
    load_before = load_average()
    with stack() as base, namespace(base, "soak") as settings, workers(settings, 1) as (worker,):
        es = Elasticsearch(settings.elasticsearch_url, request_timeout=60)
        kafka = producer(settings)
        samples.append((0, worker.rss_bytes(), 0.0))
        t0 = time.monotonic()
        produced = 0
        next_sample = args.every
        deadline = t0 + 60 * args.max_minutes
        while next_sample <= args.posts and time.monotonic() < deadline:
            while (indexed := indexed_posts(es, settings)) < next_sample and time.monotonic() < deadline:
                if produced < args.posts and produced - indexed < args.ahead:
                    for text in _feed_texts(produced // CHUNK, CHUNK):
                        contact = rnd.randrange(args.contacts)
                        post = {**text, "id": f"soak-{produced}", "posted_at": (start + produced * step).isoformat(),
                                "contact": {"emails": [f"contact{contact}@soak.example.org"]}}
                        kafka.send(settings.topic("posts.raw"), key=post["id"].encode(),
                                   value=json.dumps(post).encode())
                        produced += 1
                    kafka.flush()
                else:
                    time.sleep(2)
            if time.monotonic() >= deadline:
                print(f"time budget of {args.max_minutes:.0f} min spent at {indexed_posts(es, settings)} posts",
                      flush=True)
                break
            samples.append((next_sample, worker.rss_bytes(), time.monotonic() - t0))
            _, rss_now, seconds = samples[-1]
            print(f"{next_sample:>10} posts  RSS {rss_now / 2**20:8.1f} MiB  {seconds:8.0f} s", flush=True)
            next_sample += args.every
        kafka.close()
        es.close()
    load_after = load_average()

    rss = [mib for _, mib, _ in samples[1:]]
    at = [n for n, _, _ in samples[1:]]
    half = len(rss) // 2
    first_growth = (rss[half] - rss[0]) / 2**20 if half else 0.0
    second_growth = (rss[-1] - rss[half]) / 2**20 if half else 0.0
    # growth per post, so that runs of any size compare (the "flat" is about 0 B a post)
    first_per_post = (rss[half] - rss[0]) / (at[half] - at[0]) if half else None
    second_per_post = (rss[-1] - rss[half]) / (at[-1] - at[half]) if half else None
    figures = {
        "benchmark": "soak", "posts": args.posts, "contacts": args.contacts, "days": args.days,
        "complete": samples[-1][0] >= args.posts, "reached_posts": samples[-1][0],
        "rss_mib": [round(b / 2**20, 1) for _, b, _ in samples],
        "at_posts": [n for n, _, _ in samples],
        "first_half_growth_mib": round(first_growth, 1), "second_half_growth_mib": round(second_growth, 1),
        "first_half_bytes_per_post": None if first_per_post is None else round(first_per_post),
        "second_half_bytes_per_post": None if second_per_post is None else round(second_per_post),
        "posts_s": round(samples[-1][0] / samples[-1][2]) if samples[-1][2] else None,
        "cores": os.cpu_count(), "load_average_before": load_before, "load_average_after": load_after,
    }
    print(f"growth over the first half of the samples: {first_growth:.1f} MiB; over the second half: "
          f"{second_growth:.1f} MiB ({second_per_post or 0:.0f} B a post)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
