"""How fast the known-pattern engine matches, as the library grows from 50 to 5,000 patterns.

Run: ``.venv/bin/python bench/patterns.py`` (about a minute). For each library size it times, on the
same realistic mix of synthetic posts (a few hundred characters each, built from the shipped
library's own examples plus benign classified-ad filler):

* **engine** — :class:`trailhound.detectors.matcher.PatternMatcher.match` on already normalised and extracted
  posts (match only: one Hyperscan scan, then the confirmation and entity stage);
* **naive** — the same expressions run as a loop of ``re.search`` calls per post (what the engine
  replaces), on the same normalised text;
* **ac+re** — the alternative design we measured before choosing Hyperscan: one ``pyahocorasick``
  automaton for the literal forms plus a loop of ``re.search`` for the regex forms;
* **full path** — ``normalize`` + ``extract_entities`` + ``PatternDetector.score`` per raw post.

The requirements (issue 3) apply to the matcher, i.e. to the *engine* column: at 5,000 patterns it
must be at least 20x faster than the naive loop, and its per-post cost at 5,000 patterns at most 3x
its cost at 50. The libraries are nested so that only the library size changes: 50 patterns drawn
from the shipped library, then the same 50 plus synthetic patterns (realistic literal phrases and
regexes from classified-ad vocabulary, some of which do occur in the posts) up to 500 and 5,000. A
separate row shows the whole shipped library, whose real indicators fire more often on these posts.
Each figure is the best of three timing rounds (the machine is shared).

**Hot reload at scale** (issue 13): publishing the 5,000-pattern library to a running worker must not
pause its stream for more than a second. The bench runs the worker's own code path —
:meth:`trailhound.streams.pattern_updates.PatternUpdates.apply` on the published record (decode,
validate, compile off the event loop, swap) — inside an event loop whose ticker wakes every 10 ms,
and reports the compile time and the longest the loop was kept from running (``reload_max_pause_s``).
``--reload-only`` runs only this part.

The last line is one JSON object with the figures.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import ahocorasick

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trailhound.detectors.extract import extract_entities  # noqa: E402
from trailhound.detectors.library import REGEX_FLAGS, PatternLibrary  # noqa: E402
from trailhound.detectors.matcher import PatternDetector, PatternMatcher, literal_regex  # noqa: E402
from trailhound.detectors.normalize import normalize  # noqa: E402

SIZES = (50, 500, 5000)
POSTS = 400
NAIVE_POSTS = 100  # the naive loops are slow at 5,000 patterns; a smaller sample gives the same rate
SEED = 7

_FILLER = [
    "Text me anytime for more details about availability this week.",
    "Looking for a reliable used car under five thousand, must have clean title.",
    "Fresh produce new in store every Tuesday, organic and local.",
    "Young professionals networking event downtown, drinks included.",
    "Our team is available 24/7 for IT support and network upgrades.",
    "Beautiful two bedroom apartment, close to transit and parks, pets allowed.",
    "Call for a free quote on roofing, gutters and siding repairs.",
    "Hiring line cooks and dishwashers, competitive pay, weekends off.",
    "Selling a gently used stroller and baby clothes, pickup only.",
    "Yoga classes for beginners every morning at the community centre.",
    "Reply with your best offer, cash only, no trades please.",
    "New in town and looking for a good coffee shop and a gym nearby.",
    "Personal trainer offering sessions at $60 per hour, first one free.",
    "Massage chairs on sale this weekend, financing available.",
    "Visiting Denver until Friday for a conference, happy to meet colleagues.",
]
_VOCABULARY = """
    apartment garden bicycle kitchen driver warehouse delivery shift weekend evening morning cashier
    cleaner painter plumber tutor lesson course discount coupon market festival concert ticket sofa
    table lamp laptop phone camera repair service rental parking storage moving packing office
    meeting client project invoice schedule contract training safety helmet gloves forklift truck
    route depot harbour ferry island mountain river valley village county street avenue corner
    bakery bread pastry coffee espresso menu dinner lunch breakfast catering wedding party birthday
    puppy kitten adoption shelter volunteer donation charity museum gallery theatre cinema stage
    guitar piano violin drums singer dancer painter sculptor writer editor printer paper envelope
"""
_WORDS = tuple(_VOCABULARY.split())


def _rng_phrase(rnd: random.Random, n: int) -> str:
    return " ".join(rnd.choice(_WORDS) for _ in range(n))


def synthetic_patterns(count: int, rnd: random.Random) -> list[dict[str, Any]]:
    """Realistic extra patterns: half literal phrases, half regexes with alternations and gaps."""
    out = []
    for i in range(count):
        if i % 2 == 0:
            phrase = _rng_phrase(rnd, rnd.randint(2, 4))
            form: dict[str, Any] = {"literal": phrase}
            positive = f"we have {phrase} today"
        else:
            a, b, c, d = (rnd.choice(_WORDS) for _ in range(4))
            form = {"regex": rf"\b(?:{a}|{b}) (?:\w+ ){{0,2}}?{c}s?\b(?! {d})"
                    if i % 4 == 1 else rf"\b{a}\W{{1,3}}(?:{b}|{c}|{d})\b"}
            positive = f"the {a} {c} is here" if i % 4 == 1 else f"new {a}, {b} too"
        out.append({
            "id": f"synthetic.p{i:05d}",
            "weight": 0.1,
            "description": "Synthetic benchmark pattern.",
            "source": "Generated by bench/patterns.py.",
            "match": [form],
            "examples": {"positive": [positive], "negative": ["zzz qqq"]},
        })
    return out


def build_library(shipped: PatternLibrary, keep: set[str], synthetic: list[dict[str, Any]]) -> PatternLibrary:
    """The shipped patterns whose ids are in ``keep``, plus ``synthetic`` ones."""
    wire = shipped.to_json()
    files = []
    for f in wire["files"]:
        chosen = [p for p in f["patterns"] if p["id"] in keep]
        if chosen:
            files.append(f | {"patterns": chosen})
    if synthetic:
        files.append({"name": "synthetic.yaml", "category": "synthetic", "patterns": synthetic})
    categories = wire["categories"] | {"synthetic": {"label": "synthetic", "description": "benchmark"}}
    data = {"format": 1, "declared_version": "bench", "description": "", "categories": categories,
            "macros": wire["macros"], "files": files}
    return PatternLibrary.from_json(data)


def make_posts(shipped: PatternLibrary, rnd: random.Random) -> list[str]:
    """A few hundred characters each; about a third carry one or two indicator examples."""
    examples = [e for p in shipped.patterns for e in p.positive + p.negative]
    posts = []
    for i in range(POSTS):
        parts = rnd.sample(_FILLER, 4)
        if i % 3 == 0:
            parts.insert(rnd.randint(0, 4), rnd.choice(examples))
            parts.insert(rnd.randint(0, 5), rnd.choice(examples))
        posts.append(" ".join(parts))
    return posts


def expressions(library: PatternLibrary) -> tuple[list[re.Pattern[str]], list[str], list[re.Pattern[str]]]:
    """All expressions as Python regexes, plus the literal/regex split for the ac+re design."""
    everything, literals, regexes = [], [], []
    for p in library.patterns:
        for form in p.forms:
            if form.kind in ("literal", "emoji"):
                everything.append(re.compile(literal_regex(form.text), REGEX_FLAGS))
                literals.append(normalize(form.text).text.strip())
            elif form.kind == "regex":
                compiled = re.compile(form.text, REGEX_FLAGS)
                everything.append(compiled)
                regexes.append(compiled)
            elif form.kind == "near" and form.near is not None:
                for side in (form.near.a, form.near.b):
                    compiled = re.compile(side, REGEX_FLAGS)
                    everything.append(compiled)
                    regexes.append(compiled)
    return everything, literals, regexes


def per_post_seconds(fn: Any, items: list[Any], min_time: float = 0.4, trials: int = 3) -> float:
    """Seconds per item: best of ``trials`` rounds, each repeating the list for ``min_time``."""
    best = float("inf")
    for _ in range(trials):
        rounds, elapsed = 0, 0.0
        start = time.perf_counter()
        while elapsed < min_time:
            for item in items:
                fn(item)
            rounds += 1
            elapsed = time.perf_counter() - start
        best = min(best, elapsed / (rounds * len(items)))
    return best


async def _reload_pause(start: PatternLibrary, published: PatternLibrary) -> tuple[float, float]:
    """Seconds the worker needs to apply ``published``, and the longest event-loop pause meanwhile."""
    from types import SimpleNamespace

    from trailhound.config import Settings
    from trailhound.detectors.detector_set import DetectorSet
    from trailhound.streams.metrics import PipelineMetrics
    from trailhound.streams.pattern_updates import PatternUpdates

    detectors = DetectorSet(start)
    updates = PatternUpdates(Settings(), detectors, PipelineMetrics())
    record = SimpleNamespace(offset=0, value=json.dumps({"library": published.to_json(), "published_by": "bench",
                                                         "published_at": time.time()}).encode())
    pauses: list[float] = []
    applying = True

    async def ticker() -> None:
        last = time.perf_counter()
        while applying:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            pauses.append(now - last - 0.01)
            last = now

    ticking = asyncio.ensure_future(ticker())
    await asyncio.sleep(0.05)
    t0 = time.perf_counter()
    await updates.apply(record)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    applying = False
    await ticking
    if detectors.library.version != published.version:
        raise RuntimeError("the published library was not applied")
    return seconds, max(pauses, default=0.0)


def hot_reload(shipped: PatternLibrary, large: PatternLibrary) -> dict[str, Any]:
    seconds, pause = asyncio.run(_reload_pause(shipped, large))
    ok = pause <= 1.0
    print(f"hot reload of {len(large.patterns)} patterns: applied in {seconds:.1f} s, longest stream pause "
          f"{pause:.3f} s (need <= 1 s): {'OK' if ok else 'FAIL'}")
    return {"reload_patterns": len(large.patterns), "reload_apply_s": round(seconds, 2),
            "reload_max_pause_s": round(pause, 3), "reload_ok": ok}


def main() -> None:
    rnd = random.Random(SEED)
    if "--reload-only" in sys.argv:
        shipped = PatternLibrary.load(ROOT / "detectors" / "patterns")
        base = set(rnd.sample([p.id for p in shipped.patterns], SIZES[0]))
        large = build_library(shipped, base, synthetic_patterns(SIZES[-1] - SIZES[0], rnd))
        print(json.dumps({"benchmark": "patterns", **hot_reload(shipped, large)}))
        return
    shipped = PatternLibrary.load(ROOT / "detectors" / "patterns")
    posts = make_posts(shipped, rnd)
    prepared = []
    for text in posts:
        norm = normalize(text)
        prepared.append((norm, extract_entities(norm)))
    print(f"{len(posts)} posts, mean {sum(map(len, posts)) / len(posts):.0f} characters; "
          f"shipped library {len(shipped.patterns)} patterns ({shipped.version})\n")

    all_ids = [p.id for p in shipped.patterns]
    base = set(rnd.sample(all_ids, SIZES[0]))
    synthetic = synthetic_patterns(SIZES[-1] - SIZES[0], rnd)
    plan = [(str(size), base, synthetic[: size - SIZES[0]]) for size in SIZES]
    plan.append(("shipped", set(all_ids), []))
    rows = []
    libraries: dict[str, PatternLibrary] = {}
    for label, keep, extra in plan:
        t0 = time.perf_counter()
        library = libraries[label] = build_library(shipped, keep, extra)
        matcher = PatternMatcher(library)
        compile_s = time.perf_counter() - t0
        detector = PatternDetector(matcher)
        everything, literals, regexes = expressions(library)
        automaton = ahocorasick.Automaton()
        for i, lit in enumerate(literals):
            automaton.add_word(lit, i)
        automaton.make_automaton()

        def naive(item: tuple[Any, Any], exprs: list[re.Pattern[str]] = everything) -> list[int]:
            text = item[0].text
            return [i for i, rx in enumerate(exprs) if rx.search(text)]

        def ac_re(item: tuple[Any, Any], ac: Any = automaton, rxs: list[re.Pattern[str]] = regexes) -> int:
            text = item[0].text
            hits = sum(1 for _ in ac.iter(text))
            return hits + sum(1 for rx in rxs if rx.search(text))

        def full(text: str, det: PatternDetector = detector) -> float:
            norm = normalize(text)
            return det.score(norm, extract_entities(norm)).score

        engine_s = per_post_seconds(lambda item, m=matcher: m.match(*item), prepared)
        naive_s = per_post_seconds(naive, prepared[:NAIVE_POSTS], trials=1)
        ac_s = per_post_seconds(ac_re, prepared[:NAIVE_POSTS], trials=1)
        full_s = per_post_seconds(full, posts)
        expr_count = len(everything)
        rows.append({
            "library": label, "patterns": len(library.patterns), "expressions": expr_count,
            "compile_s": round(compile_s, 2),
            "engine_us": round(engine_s * 1e6, 1), "naive_us": round(naive_s * 1e6, 1),
            "ac_re_us": round(ac_s * 1e6, 1), "full_us": round(full_s * 1e6, 1),
            "engine_posts_s": round(1 / engine_s), "naive_posts_s": round(1 / naive_s),
            "ac_re_posts_s": round(1 / ac_s), "full_posts_s": round(1 / full_s),
            "speedup_vs_naive": round(naive_s / engine_s, 1),
        })

    header = (f"{'library':>8} {'patterns':>8} {'exprs':>6} {'compile s':>9} | {'engine µs':>9} {'posts/s':>8} | "
              f"{'naive µs':>9} {'posts/s':>8} | {'ac+re µs':>9} | {'speedup':>7} | "
              f"{'full path µs':>12} {'posts/s':>8}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['library']:>8} {r['patterns']:>8} {r['expressions']:>6} {r['compile_s']:>9} | {r['engine_us']:>9} "
              f"{r['engine_posts_s']:>8} | {r['naive_us']:>9} {r['naive_posts_s']:>8} | {r['ac_re_us']:>9} | "
              f"{r['speedup_vs_naive']:>6}x | {r['full_us']:>12} {r['full_posts_s']:>8}")

    small, large = rows[0], rows[len(SIZES) - 1]
    growth = large["engine_us"] / small["engine_us"]
    speedup_ok = large["speedup_vs_naive"] >= 20
    growth_ok = growth <= 3
    print()
    print("engine = match only (normalised text in, indicators out); full path = normalise + extract + score")
    print(f"at {large['patterns']} patterns: engine {large['speedup_vs_naive']}x faster than the naive loop "
          f"(need >= 20x): {'OK' if speedup_ok else 'FAIL'}")
    print(f"engine cost {large['patterns']} vs {small['patterns']} patterns: {growth:.2f}x (need <= 3x): "
          f"{'OK' if growth_ok else 'FAIL'}")
    reload = hot_reload(shipped, libraries[str(SIZES[-1])])
    print(json.dumps({"benchmark": "patterns", "timed": "match_only", "posts": len(posts), "rows": rows,
                      "growth_5000_vs_50": round(growth, 2), "speedup_ok": speedup_ok,
                      "growth_ok": growth_ok, **reload}))


if __name__ == "__main__":
    main()
