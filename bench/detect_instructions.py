"""Instructions per post of the detect path, counted by valgrind's callgrind: a figure machine load cannot move.

Run: ``.venv/bin/python bench/detect_instructions.py [--posts 300]`` (about five minutes; needs Debian's
``valgrind``). ``bench/quality.py`` times the same path in CPU seconds, but on a shared machine a busy
neighbour still slows it (caches, memory bandwidth, frequency): the same code measured 1,540 to 1,820
posts/s within ten minutes at load 12 to 15. Counting executed instructions instead gives the same
number on every run, so a change of one or two percent is visible, and it tells how much of the path
runs inside the standard library's regular-expression engine (the ``_sre`` module), the largest single
consumer.

How: the script starts itself under ``valgrind --tool=callgrind --instr-atstart=no``; that child warms
the models up and judges the posts once (caches filled as in a long-running worker), then switches
counting on with ``callgrind_control`` around one more pass over the first ``--posts`` evaluation
posts (``quality.judge_batches``, the worker's path: enrich a batch, then patterns, online models and
assess post by post) and off again. The last line is one
JSON object: ``instructions_per_post``, ``regex_engine_share`` and ``posts``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD_FLAG = "--measured-pass"
_TOTALS = re.compile(r"^totals:\s+(\d+)", re.MULTILINE)
_ANNOTATED = re.compile(r"^\s*([\d,]+)\s+\([\s\d.]+%\)\s+(\S+)", re.MULTILINE)


def measured_pass(posts: int) -> None:
    """In the child under callgrind: warm up, then count one pass over ``posts`` evaluation posts."""
    import quality  # bench/quality.py, next to this file

    from trailhound.config import Settings
    from trailhound.detectors.detector_set import DetectorSet
    from trailhound.detectors.extract.phones import parse_phone
    from trailhound.detectors.library import BUNDLED_PATTERNS, PatternLibrary
    from trailhound.streams.warm_start import warm_start_synthetic

    detectors = DetectorSet(PatternLibrary.load(BUNDLED_PATTERNS), warm_start_synthetic())
    chosen = quality.load(quality.EVAL)[:posts]
    threshold = Settings.from_env().alert_threshold
    for post in chosen:
        quality.judge(detectors, post, threshold)
    parse_phone.cache_clear()  # as in quality.throughput: only repetition within the pass helps
    _instrument("on")
    quality.judge_batches(detectors, chosen, threshold)
    _instrument("off")


def _instrument(state: str) -> None:
    subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], check=True, capture_output=True)


def count(posts: int) -> dict[str, float | int]:
    """Run the measured pass under callgrind and read its instruction totals."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        raise SystemExit("valgrind is not installed (Debian package 'valgrind')")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                        sys.executable, __file__, _CHILD_FLAG, "--posts", str(posts)],
                       check=True, capture_output=True)
        found = _TOTALS.search(out.read_text(encoding="utf-8", errors="replace"))
        if found is None:
            raise SystemExit("callgrind wrote no totals")
        total = int(found.group(1))
        annotated = subprocess.run(["callgrind_annotate", "--threshold=100", str(out)], check=True,
                                   capture_output=True, text=True).stdout
    regex = sum(int(n.replace(",", "")) for n, where in _ANNOTATED.findall(annotated) if "/_sre/" in where)
    return {"instructions_per_post": round(total / posts), "regex_engine_share": round(regex / total, 3),
            "posts": posts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=300, help="evaluation posts in the counted pass")
    parser.add_argument(_CHILD_FLAG, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measured_pass:
        measured_pass(args.posts)
        return
    result = count(args.posts)
    print(f"{result['instructions_per_post']:,} instructions per post over {args.posts} posts; "
          f"{result['regex_engine_share']:.1%} of them in the regular-expression engine (_sre)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
