"""How well detection holds up on ads written independently of the project's synthetic feed.

Run: ``.venv/bin/python bench/quality.py`` (about a minute). It judges every post of
``bench/data/eval.jsonl`` (written by ``bench/data/make_eval.py``: ten languages, every evasion the
normaliser undoes, consenting adults' own ads, benign look-alikes) exactly as a worker does: the
stream's enrichment (normalise, detect the language, extract), the bundled pattern library, the
online models warm-started on the synthetic feed (no analyst verdicts), and ``alerts.scoring.assess``.

It prints precision, recall and F1 of "alert raised" against the labels (trafficking and labour
trafficking are positives), recall per language, per evasion and per indicator concept, false alarms
on adults' own ads and on benign posts, how often the detected language is right, the same figures
for the bundled sample feed (``samples/sample-feed.jsonl``), and the detect throughput: normalise +
detect language + extract + score + assess per post on one core (best of three passes; the machine is
shared, so treat it as a lower bound), with a table of what each stage costs per post (CPU time, from one
more pass with a clock around each stage).

The throughput passes run the worker's path: its enrichment stage enriches a batch of posts at a time
(``streams.enrich.enrich_posts``, which detects the batch's languages together) and its detect stage
then judges the batch's posts one by one. The passes take the evaluation posts :data:`BATCH` at a time.
A worker takes up to 500 posts a batch (``streams.app.BATCH_SIZE``) or what arrived within its batch window; 100
is what 100 ms bring at 1,000 posts/s, so it is a batch a busy worker sees, not its largest.

``--no-tolerant`` switches off approximate (edit-distance)
matching, to measure the false alarms it adds. The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from trailhound.alerts.scoring import assess
from trailhound.config import Settings
from trailhound.detectors.detector_set import DetectorSet
from trailhound.detectors.extract.phones import parse_phone
from trailhound.detectors.library import BUNDLED_PATTERNS, PatternLibrary
from trailhound.detectors.online.labels import POSITIVE_LABELS
from trailhound.streams.enrich import enrich_post, enrich_posts
from trailhound.streams.warm_start import warm_start_synthetic

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "bench" / "data" / "eval.jsonl"
SAMPLE = ROOT / "samples" / "sample-feed.jsonl"
BATCH = 100
"""Posts a throughput pass enriches at a time, as the worker's enrichment stage does (see the docstring)."""


def load(path: Path) -> list[dict[str, Any]]:
    """Posts of a JSONL file; the sample feed's deliberately broken lines (dead-letter demo) are skipped."""
    posts = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                post = json.loads(line)
            except ValueError:
                continue
            if isinstance(post, dict) and post.get("body"):
                posts.append(post)
    return posts


def judge(detectors: DetectorSet, post: dict[str, Any], threshold: float) -> tuple[bool, dict[str, Any]]:
    enriched = enrich_post(post, 0.0)
    result = assess(detectors.score(enriched), threshold, detectors.supporting_categories)
    return result.should_alert, enriched


def judge_batches(detectors: DetectorSet, posts: list[dict[str, Any]], threshold: float) -> list[bool]:
    """Whether each post raises an alert, judged on the worker's path: enriched :data:`BATCH` at a time,
    then scored post by post (the same decisions as :func:`judge`)."""
    alerts = []
    for start in range(0, len(posts), BATCH):
        for enriched in enrich_posts([(post, 0.0) for post in posts[start:start + BATCH]]):
            if isinstance(enriched, Exception):
                raise enriched
            alerts.append(assess(detectors.score(enriched), threshold, detectors.supporting_categories).should_alert)
    return alerts


def ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def evaluate(detectors: DetectorSet, posts: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    tp = fp = fn = 0
    by_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_evasion: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_concept: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    lang_right = 0
    misses: list[str] = []
    alarms: list[str] = []
    for post in posts:
        alert, enriched = judge(detectors, post, threshold)
        positive = post["label"] in POSITIVE_LABELS
        lang_right += enriched.get("language") == post["language"]
        if positive:
            tp += alert
            fn += not alert
            by_lang[post["language"]][0] += alert
            by_lang[post["language"]][1] += 1
            for ev in post["evasions"] or ["none"]:
                by_evasion[ev][0] += alert
                by_evasion[ev][1] += 1
            for concept in post["concepts"]:
                by_concept[concept][0] += alert
                by_concept[concept][1] += 1
            if not alert:
                misses.append(f"{post['language']} {post['evasions']} {post['body'][:110]!r}")
        else:
            fp += alert
            groups[post["group"]][0] += alert
            groups[post["group"]][1] += 1
            if alert:
                alarms.append(f"{post['language']} {post['group']} {post['body'][:110]!r}")
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
    return {
        "posts": len(posts), "tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1,
        "language_recall": {k: ratio(*v) for k, v in sorted(by_lang.items())},
        "language_n": {k: v[1] for k, v in sorted(by_lang.items())},
        "evasion_recall": {k: ratio(*v) for k, v in sorted(by_evasion.items())},
        "evasion_n": {k: v[1] for k, v in sorted(by_evasion.items())},
        "concept_recall": {k: ratio(*v) for k, v in sorted(by_concept.items())},
        "adult_false_alarm": ratio(*groups["adult"]), "adult_n": groups["adult"][1],
        "benign_false_alarm": ratio(*groups["benign"]), "benign_n": groups["benign"][1],
        "language_accuracy": ratio(lang_right, len(posts)), "misses": misses, "alarms": alarms,
    }


def sample_feed(detectors: DetectorSet, threshold: float) -> dict[str, int]:
    raised = positives = negatives = false = 0
    for post in load(SAMPLE):
        alert, _ = judge(detectors, post, threshold)
        if "synthetic_label" not in post:
            continue
        if post["synthetic_label"] in POSITIVE_LABELS:
            positives += 1
            raised += alert
        else:
            negatives += 1
            false += alert
    return {"alerted": raised, "positives": positives, "false_alarms": false, "negatives": negatives}


def throughput(detectors: DetectorSet, posts: list[dict[str, Any]], threshold: float) -> tuple[float, float, float]:
    """Posts per second of CPU time (one core) and of wall time, best of three passes; and the same in
    CPU time without the online models (normalise + language + extract + patterns + assess).

    CPU time, because the machine is shared: wall time counts other people's processes too. The
    phone-number cache is emptied before each pass so only repetition within a pass helps.
    """
    patterns_only = DetectorSet(detectors.library)
    best_cpu = best_wall = best_patterns = 0.0
    for _ in range(3):
        for chosen in (detectors, patterns_only):
            parse_phone.cache_clear()
            cpu, wall = time.process_time(), time.perf_counter()
            judge_batches(chosen, posts, threshold)
            cpu_rate = len(posts) / max(time.process_time() - cpu, 1e-9)
            if chosen is detectors:
                best_cpu = max(best_cpu, cpu_rate)
                best_wall = max(best_wall, len(posts) / (time.perf_counter() - wall))
            else:
                best_patterns = max(best_patterns, cpu_rate)
    return round(best_cpu, 1), round(best_wall, 1), round(best_patterns, 1)


STAGES: tuple[tuple[str, str, str], ...] = (
    ("normalise", "trailhound.streams.enrich", "normalize"),
    ("language", "trailhound.streams.enrich", "detect_languages"),
    ("extract", "trailhound.streams.enrich", "extract_entities"),
    ("phones", "trailhound.detectors.extract", "find_phones"),
    ("matcher", "trailhound.detectors.matcher", "PatternDetector.score_one"),
    ("text model", "trailhound.detectors.online.text_model", "TextModel.score_one"),
    ("anomaly", "trailhound.detectors.online.entity_anomaly", "EntityAnomaly.score_one"),
)
"""Stage name, the module and the function (or ``Class.method``) that does the stage's work. A stage's
cost excludes the stages it calls (``extract`` is extraction without ``phones``); ``other`` is the rest
of the per-post path (per-post caps, records, ``assess``)."""


@contextlib.contextmanager
def _stage_clocks(totals: dict[str, float]) -> Iterator[None]:
    """Wrap every stage function in a CPU-time clock that adds its own time (less nested stages) to ``totals``."""
    nested: list[float] = []  # time spent in inner stages, per open stage
    undo: list[tuple[Any, str, Any]] = []

    def clocked(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            nested.append(0.0)
            start = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.process_time() - start
                inner = nested.pop()
                totals[name] += spent - inner
                if nested:
                    nested[-1] += spent
        return run

    for name, module, attr in STAGES:
        owner: Any = importlib.import_module(module)
        *path, leaf = attr.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = owner.__dict__[leaf]
        undo.append((owner, leaf, original))
        setattr(owner, leaf, clocked(name, original))
    try:
        yield
    finally:
        for owner, leaf, original in reversed(undo):
            setattr(owner, leaf, original)


def stage_costs(detectors: DetectorSet, posts: list[dict[str, Any]], threshold: float) -> dict[str, float]:
    """Milliseconds of CPU per post for each stage of :data:`STAGES` and ``other``, and the ``total``."""
    totals: dict[str, float] = defaultdict(float)
    parse_phone.cache_clear()
    with _stage_clocks(totals):
        start = time.process_time()
        judge_batches(detectors, posts, threshold)
        total = time.process_time() - start
    costs = {name: totals[name] for name, _, _ in STAGES}
    costs["other"] = total - sum(costs.values())
    costs["total"] = total
    return {name: round(1000 * spent / len(posts), 4) for name, spent in costs.items()}


def table(title: str, rows: dict[str, float], counts: dict[str, int] | None = None) -> None:
    print(f"\n{title}")
    for key, value in rows.items():
        n = f"  (n={counts[key]})" if counts else ""
        print(f"  {key:<14} {value:6.3f}{n}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-tolerant", action="store_true", help="switch off edit-distance matching")
    parser.add_argument("--show", type=int, default=15, help="misses and false alarms to print")
    args = parser.parse_args()
    settings = Settings.from_env()
    library = PatternLibrary.load(BUNDLED_PATTERNS)
    if args.no_tolerant:
        library = library.without_tolerance()
    detectors = DetectorSet(library, warm_start_synthetic())
    posts = load(EVAL)
    result = evaluate(detectors, posts, settings.alert_threshold)
    sample = sample_feed(detectors, settings.alert_threshold)
    rate, wall_rate, patterns_rate = throughput(detectors, posts, settings.alert_threshold)
    costs = stage_costs(detectors, posts, settings.alert_threshold)

    print(f"Evaluation set: {result['posts']} posts ({EVAL.relative_to(ROOT)}), threshold {settings.alert_threshold}, "
          f"tolerant matching {'off' if args.no_tolerant else 'on'}")
    print(f"  precision {result['precision']:.3f}  recall {result['recall']:.3f}  F1 {result['f1']:.3f}  "
          f"(tp {result['tp']}, fp {result['fp']}, fn {result['fn']})")
    print(f"  adults' own ads raised {result['adult_false_alarm']:.2%} of {result['adult_n']}, "
          f"benign raised {result['benign_false_alarm']:.2%} of {result['benign_n']}")
    print(f"  detected language right on {result['language_accuracy']:.1%} of posts")
    table("Recall per language", result["language_recall"], result["language_n"])
    table("Recall per evasion", result["evasion_recall"], result["evasion_n"])
    table("Recall per indicator concept", result["concept_recall"])
    print(f"\nSample feed: {sample['alerted']}/{sample['positives']} trafficking alerted, "
          f"{sample['false_alarms']}/{sample['negatives']} benign or adult raised")
    print(f"Detect throughput, one core (CPU time): {rate:,.0f} posts/s with the online models, "
          f"{patterns_rate:,.0f} posts/s with patterns only (normalise + language + extract + match + assess); "
          f"wall clock on the shared machine: {wall_rate:,.0f} posts/s")
    print("\nCost per post by stage (ms of CPU, one pass with a clock around each stage, so a little slower):")
    for name, ms in costs.items():
        share = f"{ms / costs['total']:6.1%}" if name != "total" else ""
        print(f"  {name:<12} {ms:7.4f} ms  {share}")
    for title, lines in (("Missed", result["misses"]), ("False alarms", result["alarms"])):
        if lines:
            print(f"\n{title} (first {args.show} of {len(lines)}):")
            for line in lines[: args.show]:
                print("  " + line)
    summary = {
        "f1": result["f1"], "precision": result["precision"], "recall": result["recall"],
        "min_language_recall": min(result["language_recall"].values()),
        "language_recall": result["language_recall"],
        "evasion_recall": result["evasion_recall"],
        "adult_false_alarm": result["adult_false_alarm"], "benign_false_alarm": result["benign_false_alarm"],
        "language_accuracy": result["language_accuracy"], "detect_posts_s": rate,
        "detect_posts_s_patterns_only": patterns_rate, "detect_posts_s_wall": wall_rate,
        "sample_feed_alerted": f"{sample['alerted']}/{sample['positives']}",
        "sample_feed_false_alarms": f"{sample['false_alarms']}/{sample['negatives']}",
        "tolerant_matching": not args.no_tolerant, "eval_posts": result["posts"],
        "stage_ms": costs, "loadavg": _loadavg(),
    }
    print(json.dumps(summary))


def _loadavg() -> float | None:
    """The machine's one-minute load when the figures were taken (a shared machine slows every rate)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


if __name__ == "__main__":
    main()
