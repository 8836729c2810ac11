"""Where a busy worker's time goes: py-spy samples one real worker while a burst of posts goes through.

Run ``.venv/bin/python bench/worker_profile.py --posts 3000`` (py-spy is a dev dependency; it needs to be
allowed to read the worker's memory, which root or ``ptrace_scope`` 0 gives). One worker on the real
local stack gets ``--posts`` synthetic posts in one burst while ``py-spy record`` samples it; the
samples are then sorted into what the issue 13 profile asks about: the detectors (everything under
``detectors/``, enrichment's normalisation and extraction included), and around them Kafka (aiokafka,
socket writes), Faust and its ``mode`` services, JSON, schema validation, Elasticsearch, logging and the
event loop. A second table sorts the busy samples (idle left out) by the stage whose code is outermost
on the stack (enrichment, detection, linkage keys, the key index, cluster and alert stages, bulk
indexing, Kafka sends), and what runs outside every stage by library: that is where a post's cost
outside its own judgement goes. The collapsed stacks are kept (``--out``) for a closer look.
``--feed-rate N`` feeds the posts at N a second instead of in one burst: batches are then small, and
what each batch costs whatever its size (requests, commits, queries) shows, as in ``bench/latency.py``.
Wall-clock samples of a process on a shared machine: the shares, not the seconds, are the figure.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import collections
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from harness import es_client, load_average, namespace, produce_paced, produce_posts, stack, wait_indexed, workers

from trailhound.synth import generate

DETECTORS = "detectors/"
# The innermost frame that matches decides where a sample outside the detectors goes.
CATEGORIES = [
    ("schemas", "schema validation"), ("alerts/recorder", "alert stage"), ("alerts/", "alert documents, sink"),
    ("elasticsearch", "Elasticsearch client"), ("elastic_transport", "Elasticsearch client"),
    ("orjson", "JSON"), ("json/", "JSON"), ("aiokafka", "aiokafka"), ("kafka/", "aiokafka"),
    ("faust/", "Faust"), ("mode/", "Faust (mode services)"), ("prometheus", "metrics"),
    ("logging/", "logging"), ("selector_events.py", "socket writes and reads"), ("selectors.py", "idle"),
    ("asyncio/", "event loop"), ("streams/", "stream glue"),
]


# The outermost frame that matches decides a sample's stage.
STAGES = [
    ("enrich_batch", "enrich: validate, normalise, extract, language, encode"),
    ("PostProcessor.process", "detect: detectors, post and alert documents"),
    ("Linkage.after_post", "linkage keys: summary, MinHash, records"),
    ("Linkage.observe", "link_keys: key index"), ("Linkage.build_clusters", "cluster stage"),
    ("AlertStage.handle", "alert stage"), ("ElasticsearchSink", "bulk indexing"),
    ("Deliveries.", "Kafka sends (Deliveries)"),
]


def _counts(collapsed: Path) -> Iterator[tuple[list[str], int]]:
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        yield stack.split(";"), int(count)


def by_stage(collapsed: Path) -> dict[str, float]:
    """Share of the busy samples per stage (outermost stage frame), the rest by library (innermost)."""
    counts: collections.Counter[str] = collections.Counter()
    for frames, count in _counts(collapsed):
        if "selectors.py" in frames[-1]:
            continue  # waiting for the network: idle
        stage = next((name for frame in frames for key, name in STAGES if key in frame), None)
        counts[stage or next((f"outside the stages: {name}" for frame in reversed(frames)
                              for key, name in CATEGORIES if key in frame), "outside the stages: other")] += count
    total = sum(counts.values()) or 1
    return {name: round(100 * n / total, 1) for name, n in counts.most_common()}


def categorise(collapsed: Path) -> dict[str, float]:
    """Share of samples per category, from py-spy's ``--format raw`` output."""
    counts: collections.Counter[str] = collections.Counter()
    for frames, count in _counts(collapsed):
        if any(DETECTORS in frame for frame in frames):
            counts["detectors"] += count
            continue
        counts[next((name for frame in reversed(frames) for key, name in CATEGORIES if key in frame), "other")] += count
    total = sum(counts.values()) or 1
    return {name: round(100 * n / total, 1) for name, n in counts.most_common()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--rate", type=int, default=50, help="py-spy samples per second")
    parser.add_argument("--out", type=Path, default=Path("worker-profile.txt"))
    parser.add_argument("--feed-rate", type=float, default=0.0,
                        help="posts/s to feed at (default: one burst); a paced feed shows each batch's fixed costs")
    args = parser.parse_args()

    feed = list(generate(args.posts, seed=99))
    load_before = load_average()
    with stack() as base, namespace(base, "profile") as settings, workers(settings, 1) as (worker,):
        es = es_client(settings)
        spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(worker.process.pid),
                                "-o", str(args.out), "--format", "raw", "-r", str(args.rate), "--nonblocking",
                                "--subprocesses"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            t0 = time.monotonic()
            if args.feed_rate > 0:
                produce_paced(settings, feed, args.feed_rate)
            else:
                produce_posts(settings, feed)
            posts_s = args.posts / (wait_indexed(es, settings, args.posts, max(900.0, args.posts / 5)) - t0)
        finally:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
            _, err = spy.communicate(timeout=60)
            es.close()
    if not args.out.exists():
        sys.exit(f"py-spy wrote no profile: {err.decode(errors='replace')[-500:]}")
    shares, stages = categorise(args.out), by_stage(args.out)
    print(f"{'share of the worker samples':<36}{'%':>6}")
    for name, share in shares.items():
        print(f"{name:<36}{share:>6}")
    print(f"\n{'share of the busy samples, by stage':<60}{'%':>6}")
    for name, share in stages.items():
        print(f"{name:<60}{share:>6}")
    print(f"{args.posts} posts at {posts_s:.0f} posts/s; load average before / after: {load_before} / {load_average()}")
    print(json.dumps({"benchmark": "profile", "posts": args.posts, "posts_s": round(posts_s), "shares_pct": shares,
                      "busy_by_stage_pct": stages,
                      "load_average_before": load_before, "load_average_after": load_average()}))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--summarise":  # an earlier run's --out file
        profile = Path(sys.argv[2])
        print(json.dumps({"shares_pct": categorise(profile), "busy_by_stage_pct": by_stage(profile)}))
    else:
        main()
