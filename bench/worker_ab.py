"""A worker's CPU per post against another commit's, both fed the same posts at the same time (paired).

Run ``.venv/bin/python bench/worker_ab.py --base main --posts 3000`` (a few minutes on the local stack).
On the shared two-core development machine a worker's CPU per post moves by half with the load the
other sessions put on it, so a figure from one run compared with an earlier run's mostly measures the
load. Here two workers run side by side, each on a namespace of its own: one from this working tree,
one from ``--base`` (``git archive`` of that commit, laid out as the installed ``trailhound`` package,
in a temporary folder, using this tree's virtual environment), or this tree's worker with other
environment settings (``--base-env``, e.g. ``TRAILHOUND_ENRICH_PROCESSES=1``). Both get the same
synthetic posts at the same moment; each one's CPU per post (its pool processes included) and posts/s
are measured from the first post produced to the last post indexed, ``--rounds`` times. Both workers
share the cores, so their posts/s are each other's load: the CPU per post is the figure, and the ratio
of the two in each round. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import harness
from harness import es_client, load_average, namespace, produce_posts, stack, wait_indexed

from trailhound.config import Settings
from trailhound.synth import generate

PACKAGES = ("detectors", "alerts", "streams", "ingest", "stack", "console")  # pyproject's package-dir


def export(rev: str, into: Path) -> Path:
    """``rev``'s tree as an importable ``trailhound`` package under ``into``; the folder to run it from."""
    source = into / "source"
    source.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=harness.ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    package = into / "run" / "trailhound"
    shutil.copytree(source / "trailhound", package)
    for name in PACKAGES:
        shutil.rmtree(package / name, ignore_errors=True)
        (package / name).symlink_to(source / name, target_is_directory=True)
    return into / "run"


def _feed(settings: Settings, worker: harness.Worker, feed: list[dict[str, Any]], out: dict[str, dict[str, float]],
          name: str) -> None:
    es = es_client(settings)
    try:
        cpu0, t0 = worker.cpu_seconds(), time.monotonic()
        produce_posts(settings, feed)
        done = wait_indexed(es, settings, len(feed), max(900.0, len(feed) / 2))
        out[name] = {"posts_s": len(feed) / (done - t0), "cpu_ms": 1000 * (worker.cpu_seconds() - cpu0) / len(feed)}
    finally:
        es.close()


def paired_round(base: Settings, posts: int, seed: int, base_root: Path, base_env: dict[str, str]) -> dict[str, Any]:
    feed = list(generate(posts, seed))
    with namespace(base, "abbase") as base_settings, namespace(base, "abhead") as head_settings:
        workers = {"base": harness.Worker(base_settings, root=base_root, **base_env),
                   "head": harness.Worker(head_settings)}
        try:
            for worker in workers.values():
                worker.wait_ready()
            time.sleep(3)  # start-up work of both (consumer groups, first fetches) settles
            load = load_average()
            out: dict[str, dict[str, float]] = {}
            threads = [threading.Thread(target=_feed, args=(settings, workers[name], feed, out, name))
                       for name, settings in (("base", base_settings), ("head", head_settings))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            for worker in workers.values():
                worker.stop()
    if len(out) < 2:
        raise RuntimeError("a worker did not index every post (see above)")
    return {**{name: {k: round(v, 3) for k, v in figures.items()} for name, figures in out.items()},
            "head_vs_base_cpu": round(out["head"]["cpu_ms"] / out["base"]["cpu_ms"], 3), "load_average": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base", default="main", help="commit to compare with (ignored with --base-env)")
    parser.add_argument("--base-env", action="append", default=[], metavar="NAME=VALUE",
                        help="run this tree's worker as the base, with these environment settings")
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    base_env = dict(item.split("=", 1) for item in args.base_env)

    with tempfile.TemporaryDirectory() as scratch, stack() as settings:
        base_root = harness.ROOT if base_env else export(args.base, Path(scratch))
        rounds = [paired_round(settings, args.posts, 99 + n, base_root, base_env) for n in range(args.rounds)]
    base_name = " ".join(args.base_env) if base_env else args.base
    print(f"{'round':<8}{'load':>18}{'base ms/post':>14}{'head ms/post':>14}{'head/base':>11}")
    for n, r in enumerate(rounds):
        print(f"{n + 1:<8}{r['load_average']:>18}{r['base']['cpu_ms']:>14.3f}{r['head']['cpu_ms']:>14.3f}"
              f"{r['head_vs_base_cpu']:>11.3f}")
    print(json.dumps({"benchmark": "worker_ab", "base": base_name, "posts": args.posts, "rounds": rounds,
                      "head_vs_base_cpu_median": statistics.median(r["head_vs_base_cpu"] for r in rounds)}))


if __name__ == "__main__":
    main()
