"""The Hyperscan prefilter in front of the extraction expressions never skips an expression that matches."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from trailhound.detectors.extract import amounts
from trailhound.detectors.normalize import normalize
from trailhound.detectors.prefilter import RegexPrefilter
from trailhound.synth import generate

ROOT = Path(__file__).resolve().parents[2]


def _corpus() -> list[str]:
    """Normalised texts of the evaluation set, the sample feed and synthetic posts: every language and evasion."""
    bodies = [p["body"] for p in generate(600, 11)]
    for path in (ROOT / "bench" / "data" / "eval.jsonl", ROOT / "samples" / "sample-feed.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                post = json.loads(line)
            except ValueError:
                continue  # the sample feed's deliberately broken lines
            if isinstance(post, dict) and isinstance(post.get("body"), str):
                bodies.append(post["body"])
    return [normalize(body).text for body in bodies]


CORPUS = _corpus()


@pytest.mark.parametrize("patterns", [amounts._AGE_PATTERNS, amounts._PRICE_PATTERNS,
                                      (*amounts._PRICE_PATTERNS, *amounts._AGE_PATTERNS)],
                         ids=["ages", "prices", "prices and ages in one pass"])
def test_every_expression_that_matches_is_a_candidate(patterns: tuple[re.Pattern[str], ...]) -> None:
    prefilter = RegexPrefilter(patterns)
    matched = skipped = 0
    for text in CORPUS:
        candidates = prefilter.candidates(text)
        for i, pattern in enumerate(patterns):
            if pattern.search(text):
                matched += 1
                assert i in candidates, (pattern.pattern, text)
            skipped += i not in candidates
    assert matched > 100  # the corpus exercises the expressions
    assert skipped > len(CORPUS)  # and the prefilter does skip most of them


def test_unicode_word_edges_match_as_in_re() -> None:
    """``\\b`` next to Cyrillic or accented letters: Hyperscan's ASCII default would miss these."""
    patterns = (re.compile(r"\b(?:только)\s(\d{2})\b"), re.compile(r"\b(\d{2})\s?лет\b"), re.compile(r"\bniña\b"))
    prefilter = RegexPrefilter(patterns)
    for text in ("ей только 17, звоните", "мне 17 лет", "una niña"):
        assert {i for i, p in enumerate(patterns) if p.search(text)} <= prefilter.candidates(text)
        assert prefilter.candidates(text)


def test_an_expression_hyperscan_cannot_read_as_written_is_always_run() -> None:
    patterns = (re.compile(r"a b  # verbose: the spaces do not count", re.VERBOSE), re.compile(r"zzz"))
    prefilter = RegexPrefilter(patterns)
    assert prefilter.candidates("ab") == {0}
    assert prefilter.candidates("nothing") == {0}
    assert prefilter.candidates("zzz") == {0, 1}


def test_amounts_found_after_one_shared_pass_are_those_every_expression_finds() -> None:
    """The shared pass skips only expressions that find nothing: the result equals running them all."""
    every = set(range(len(amounts._PRICE_PATTERNS) + len(amounts._AGE_PATTERNS)))
    found = 0
    for text in CORPUS:
        shared = amounts.amount_candidates(text)
        prices, ages = amounts.find_prices(text, shared), amounts.find_ages(text, shared)
        assert (prices, ages) == (amounts.find_prices(text, every), amounts.find_ages(text, every)), text
        found += bool(prices) + bool(ages)
    assert found > 200
