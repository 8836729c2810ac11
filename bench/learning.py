"""Measure how fast the online models adapt to a new indicator, and what they cost per post.

Issue 4, "Measured". Run ``.venv/bin/python bench/learning.py`` (add ``--compare`` for the learner
comparison behind the choice in ``detectors/online/text_model.py``). Prints readable tables, then
one JSON object with every figure as the last line.

**Adaptation.** Warm-start the models on ``--warm`` synthetic posts. Invent an indicator they have never
seen (a code word and, separately, an emoji). Stream 1,000 posts of which 20% carry it: the carriers
are *adults' own ads and benign ads* with the indicator inserted, labelled trafficking — so nothing
but the new indicator tells them apart from the look-alikes in the same stream, and the starting
recall is honestly near zero. Each post is scored, then observed (entity anomaly, drift); the
verdicts of the first 50 carriers only are learned (``OnlineModels.learn_verdict``). Reported:

* recall on the remaining carriers (after the 50th), before (warm model) and after the verdicts;
* false-alarm rate on the benign and adult posts of the stream that do not carry it, before/after;
* recall on the stream's ordinary trafficking ads, to show nothing was forgotten.

Two decisions are reported: the **text model's score alone** at the alert threshold
(``TRAILHOUND_ALERT_THRESHOLD``, default 0.5), the text model's own figure; and the **worker's own
decision** — every detector (patterns included) combined by ``trailhound.alerts.scoring.assess``, where a
classifier counts only above chance and an alert needs a sign of harm — which is what analysts see.
Required: recall ≥ 0.8 with false alarms ≤ 2%.

**Cost.** Throughput in one process for the whole online model set on already-enriched posts
(enrichment is the stream's previous stage and is measured there). The per-post path of a worker is
score + learn: both models score the post, the entity-anomaly model learns it, the drift monitors see
the scores (``score_all`` + ``observe``); this is what the requirement of ≥ 2,000 posts/s is checked
against. The text model learns only from analysts' verdicts, which arrive far more rarely than posts,
so verdicts/second is shown on its own line, and so is the unrealistic worst case of a verdict on
every post. A row with the pattern matcher added is shown when the pattern library loads.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from river import linear_model, metrics, naive_bayes, optim

from trailhound.alerts.scoring import assess
from trailhound.config import Settings
from trailhound.detectors.detector_set import DetectorSet
from trailhound.detectors.library import BUNDLED_PATTERNS, PatternLibrary
from trailhound.detectors.online.ensemble import OnlineModels
from trailhound.detectors.online.labels import POSITIVE_LABELS
from trailhound.detectors.online.text_model import TextModel
from trailhound.streams.warm_start import enrich_raw
from trailhound.synth import generate

INDICATORS = {"code word": "zorblax", "emoji": "\U0001f9a9"}  # an invented word; flamingo emoji
STREAM_LEN, CARRIER_SHARE, VERDICTS = 1000, 0.2, 50
NEGATIVE = ("benign", "adult_no_indicators")

Labelled = list[tuple[dict[str, Any], str]]


def _labelled(n: int, seed: int) -> Labelled:
    return [(enrich_raw(p), p["synthetic_label"]) for p in generate(n, seed)]


def _insert(body: str, indicator: str, rng: random.Random) -> str:
    words = body.split(" ")
    words.insert(rng.randrange(len(words) + 1), indicator)
    return " ".join(words)


def build_stream(indicator: str, seed: int) -> list[tuple[dict[str, Any], str, bool]]:
    """``(enriched post, label, carries the indicator)`` × 1,000, 20% carriers, in time order."""
    rng = random.Random(seed)
    base = list(generate(STREAM_LEN, seed))
    pool = [p for p in generate(STREAM_LEN * 2, seed + 1) if p["synthetic_label"] in NEGATIVE]
    carrier_at = set(rng.sample(range(STREAM_LEN), int(STREAM_LEN * CARRIER_SHARE)))
    stream = []
    for i, post in enumerate(base):
        if i in carrier_at:
            donor = pool.pop()
            post = {**donor, "id": f"carrier-{i}", "posted_at": post["posted_at"],
                    "body": _insert(donor["body"], indicator, rng)}
            stream.append((enrich_raw(post), "trafficking", True))
        else:
            stream.append((enrich_raw(post), post["synthetic_label"], False))
    return stream


def _rate(scores: list[float], threshold: float) -> float:
    return sum(s >= threshold for s in scores) / len(scores) if scores else float("nan")


def _alert_decision(models: OnlineModels) -> Callable[[dict[str, Any]], bool]:
    """The worker's own decision: all detectors, combined by ``trailhound.alerts.scoring.assess`` at the threshold."""
    detectors = DetectorSet(PatternLibrary.load(BUNDLED_PATTERNS), models)
    threshold = Settings.from_env().alert_threshold

    def alerts(post: dict[str, Any]) -> bool:
        return assess(detectors.score(post), threshold, detectors.supporting_categories).should_alert

    return alerts


def _share(decide: Callable[[dict[str, Any]], bool], posts: list[dict[str, Any]]) -> float:
    return sum(decide(p) for p in posts) / len(posts) if posts else float("nan")


def adaptation(warm: OnlineModels, indicator: str, threshold: float, seed: int) -> dict[str, float]:
    stream = build_stream(indicator, seed)
    models = OnlineModels.loads(warm.dumps())
    before_models = OnlineModels.loads(warm.dumps())
    before = before_models.text_model
    carriers = [i for i, (_, _, c) in enumerate(stream) if c]
    taught, rest = set(carriers[:VERDICTS]), carriers[VERDICTS:]
    t0 = time.perf_counter()
    for i, (post, label, _) in enumerate(stream):
        models.observe(post, models.score_all(post))
        if i in taught:
            models.learn_verdict(post, label, pattern_ids=[])
    elapsed = time.perf_counter() - t0
    after = models.text_model
    negatives = [p for p, label, c in stream if not c and label in NEGATIVE]
    known = [p for p, label, c in stream if not c and label in POSITIVE_LABELS]
    rest_posts = [stream[i][0] for i in rest]
    alerts_before, alerts_after = _alert_decision(before_models), _alert_decision(models)
    return {
        "alert_recall_before": _share(alerts_before, rest_posts),
        "alert_recall_after": _share(alerts_after, rest_posts),
        "alert_false_alarms_after": _share(alerts_after, negatives),
        "carriers": len(carriers),
        "recall_before": _rate([before.predict(p) for p in rest_posts], threshold),
        "recall_after": _rate([after.predict(p) for p in rest_posts], threshold),
        "false_alarms_before": _rate([before.predict(p) for p in negatives], threshold),
        "false_alarms_after": _rate([after.predict(p) for p in negatives], threshold),
        "known_recall_before": _rate([before.predict(p) for p in known], threshold),
        "known_recall_after": _rate([after.predict(p) for p in known], threshold),
        "negatives": len(negatives),
        "stream_seconds": elapsed,
    }


def holdout(models: OnlineModels, data: Labelled, threshold: float) -> dict[str, float]:
    auc = metrics.ROCAUC()
    pos, neg = [], []
    for post, label in data:
        score = models.text_model.predict(post)
        auc.update(label in POSITIVE_LABELS, score)
        (pos if label in POSITIVE_LABELS else neg).append(score)
    return {"roc_auc": auc.get(), "recall": _rate(pos, threshold), "false_alarms": _rate(neg, threshold)}


def _throughput(step: Callable[[dict[str, Any], str], None], data: Labelled, repeats: int = 3) -> float:
    """Best of ``repeats`` passes; every pass gets its own post keys, so no pass is a (cheaper) replay."""
    best = float("inf")
    for n in range(repeats):
        posts = [({**post, "post_key": f"{post.get('post_key')}#pass{n}"}, label) for post, label in data]
        t0 = time.perf_counter()
        for post, label in posts:
            step(post, label)
        best = min(best, time.perf_counter() - t0)
    return len(data) / best


def cost(warm: OnlineModels, data: Labelled) -> dict[str, float]:
    def fresh() -> OnlineModels:
        return OnlineModels.loads(warm.dumps())

    m1, m2, m3, m4 = fresh(), fresh(), fresh(), fresh()

    def score(post: dict[str, Any], _: str) -> None:
        m1.score_all(post)

    def score_observe(post: dict[str, Any], _: str) -> None:
        m2.observe(post, m2.score_all(post))

    def verdict(post: dict[str, Any], label: str) -> None:
        m3.learn_verdict(post, label, pattern_ids=[])

    def everything(post: dict[str, Any], label: str) -> None:
        m4.observe(post, m4.score_all(post))
        m4.learn_verdict(post, label, pattern_ids=[])

    out = {
        "score": _throughput(score, data),
        "score_observe": _throughput(score_observe, data),
        "learn_verdict": _throughput(verdict, data, repeats=1),
        "score_observe_verdict_every_post": _throughput(everything, data, repeats=1),
    }
    try:
        from trailhound.detectors.library import PatternLibrary
        from trailhound.detectors.matcher import PatternDetector, PatternMatcher

        library = PatternLibrary.load(Path(__file__).resolve().parents[1] / "detectors" / "patterns")
        patterns = PatternDetector(PatternMatcher(library), weight_of=m2.pattern_precision.weight_of)

        def with_patterns(post: dict[str, Any], _: str) -> None:
            patterns.score_one(post)
            m2.observe(post, m2.score_all(post))

        out["patterns_score_observe"] = _throughput(with_patterns, data)
    except Exception as exc:  # the pattern engine is another component; its absence is not ours to fail
        print(f"(pattern matcher row skipped: {exc})", file=sys.stderr)
    return out


# -- learner comparison ---------------------------------------------------------------------------

def _candidates() -> dict[str, Callable[[], TextModel]]:
    def lr(opt: optim.base.Optimizer, replay: int = 0) -> Callable[[], TextModel]:
        return lambda: TextModel(classifier=linear_model.LogisticRegression(optimizer=opt), replay=replay,
                                 verdict_weight=1)

    return {
        "LR + SGD(0.1)": lr(optim.SGD(0.1)),
        "LR + AdaGrad(0.3)": lr(optim.AdaGrad(0.3)),
        "ComplementNB": lambda: TextModel(classifier=naive_bayes.ComplementNB(), replay=0, verdict_weight=1),
        "MultinomialNB": lambda: TextModel(classifier=naive_bayes.MultinomialNB(), replay=0, verdict_weight=1),
        "LR + RaritySGD(0.5), no replay, w 1": lambda: TextModel(replay=0, verdict_weight=1),
        "LR + RaritySGD(0.5), replay 5, w 1": lambda: TextModel(replay=5, verdict_weight=1, replay_weight=1),
        "LR + RaritySGD(0.5), no replay, w 3": lambda: TextModel(replay=0),
        "LR + RaritySGD(0.5), replay 10, w 3/2 (chosen)": lambda: TextModel(),
    }


def compare(train: Labelled, test: Labelled, threshold: float, seed: int) -> list[dict[str, Any]]:
    rows = []
    for name, make in _candidates().items():
        t0 = time.perf_counter()
        models = OnlineModels.warm_start(train, text_model=make())
        learn_rate = len(train) / (time.perf_counter() - t0)
        row: dict[str, Any] = {"learner": name, "warm_learn_per_s": learn_rate, **holdout(models, test, threshold)}
        for kind, indicator in INDICATORS.items():
            result = adaptation(models, indicator, threshold, seed)
            row[f"{kind}: recall after"] = result["recall_after"]
            row[f"{kind}: false alarms after"] = result["false_alarms_after"]
        rows.append(row)
    return rows


# -- output ---------------------------------------------------------------------------------------

def _table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warm", type=int, default=4000, help="synthetic posts for the warm start")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threshold", type=float, default=None, help="default: TRAILHOUND_ALERT_THRESHOLD")
    parser.add_argument("--compare", action="store_true", help="also compare candidate learners")
    args = parser.parse_args()
    threshold = args.threshold if args.threshold is not None else Settings.from_env().alert_threshold

    t0 = time.perf_counter()
    train = _labelled(args.warm, args.seed)
    test = _labelled(2000, args.seed + 100)
    enrich_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm = OnlineModels.warm_start(train)
    warm_s = time.perf_counter() - t0
    quality = holdout(warm, test, threshold)
    print(f"warm start: {args.warm} synthetic posts, enriched in {enrich_s:.1f} s (with the 2,000 held-out), "
          f"learned in {warm_s:.1f} s; checkpoint {len(warm.dumps()) / 1024:.0f} KiB")
    print(f"decision: text model score >= {threshold} (TRAILHOUND_ALERT_THRESHOLD)")
    _table("held-out synthetic posts (2,000)", ["ROC AUC", "recall", "false alarms"],
           [[f"{quality['roc_auc']:.4f}", f"{quality['recall']:.3f}", f"{quality['false_alarms']:.3%}"]])

    results = {kind: adaptation(warm, ind, threshold, args.seed + 200) for kind, ind in INDICATORS.items()}
    _table(
        f"adaptation: 1,000 posts, 20% carry a new indicator, verdicts for the first {VERDICTS} carriers",
        ["indicator", "carriers", "recall before", "recall after", "false alarms before", "false alarms after",
         "known trafficking recall before/after"],
        [[f"{kind} ({INDICATORS[kind]})", str(r["carriers"]), f"{r['recall_before']:.3f}",
          f"{r['recall_after']:.3f}", f"{r['false_alarms_before']:.2%}", f"{r['false_alarms_after']:.2%}",
          f"{r['known_recall_before']:.3f} / {r['known_recall_after']:.3f}"] for kind, r in results.items()],
    )
    _table(
        "the same, judged as the worker judges: every detector combined by alerts.scoring.assess",
        ["indicator", "alert recall before", "alert recall after", "false alarms after"],
        [[f"{kind} ({INDICATORS[kind]})", f"{r['alert_recall_before']:.3f}", f"{r['alert_recall_after']:.3f}",
          f"{r['alert_false_alarms_after']:.2%}"] for kind, r in results.items()],
    )
    speeds = cost(warm, test)
    meaning = {
        "score": "score only (text model + entity anomaly)",
        "score_observe": "score + learn, every post (the worker's per-post path)",
        "learn_verdict": "one analyst verdict learned (per verdict)",
        "score_observe_verdict_every_post": "worst case: score + learn + a verdict on every post",
        "patterns_score_observe": "per-post path with the pattern matcher added",
    }
    _table("cost per worker process (already-enriched posts)", ["path", "what", "per second", "µs each"],
           [[path, meaning[path], f"{v:,.0f}", f"{1e6 / v:.0f}"] for path, v in speeds.items()])

    comparison = []
    if args.compare:
        comparison = compare(train, test, threshold, args.seed + 200)
        keys = [k for k in comparison[0] if k != "learner"]
        _table("learner comparison (text model)", ["learner", *keys],
               [[r["learner"], *(f"{r[k]:.3f}" if k != "warm_learn_per_s" else f"{r[k]:,.0f}" for k in keys)]
                for r in comparison])

    ok_adapt = all(r["recall_after"] >= 0.8 and r["false_alarms_after"] <= 0.02
                   and r["alert_recall_after"] >= 0.8 and r["alert_false_alarms_after"] <= 0.02
                   for r in results.values())
    ok_cost = speeds["score_observe"] >= 2000
    print(f"\nrequired: recall >= 0.8 with false alarms <= 2% (both decisions): {'met' if ok_adapt else 'NOT met'}; "
          f">= 2,000 posts/s for the models: {'met' if ok_cost else 'NOT met'}")
    summary = {
        "threshold": threshold,
        "warm_posts": args.warm,
        "holdout": quality,
        "adaptation": results,
        "posts_per_s": speeds,
        "median_adapt_recall_after": statistics.median(r["recall_after"] for r in results.values()),
        "adaptation_met": ok_adapt,
        "cost_met": ok_cost,
        "comparison": comparison,
    }
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
