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


def test_the_quick_us_validity_answers_as_phonenumbers_does() -> None:
    """``_plain_us_number`` reads the library's US metadata itself; it must agree with
    ``phonenumbers.is_valid_number_for_region`` on every kind of ten-digit number."""
    import random

    import phonenumbers

    from trailhound.detectors.extract.phones import _plain_us_number

    rng = random.Random(5)
    candidates = [str(rng.randint(2_000_000_000, 9_999_999_999)) for _ in range(20_000)]
    # every area code with the fictional 555-01xx lines, toll-free, premium and personal prefixes
    candidates += [f"{npa}5550{rng.randint(100, 199)}" for npa in range(200, 1000)]
    candidates += [f"{p}{rng.randint(2_000_000, 9_999_999)}" for p in ("800", "833", "888", "900", "500", "521", "524")
                   for _ in range(300)]
    candidates += ["٢٠١٥٥٥٠١٢٣", "٠٢٠١٥٥٥٠١٢"]  # Arabic-Indic digits: the library reads them as numbers
    valid = 0
    for raw in candidates:
        expected = raw[0] not in "01" and phonenumbers.is_valid_number_for_region(
            phonenumbers.PhoneNumber(country_code=1, national_number=int(raw)), "US")
        assert _plain_us_number(raw) == expected, raw
        valid += expected
    assert 1_000 < valid < len(candidates)  # both answers were tested, many times
