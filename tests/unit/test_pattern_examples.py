"""Every pattern's own examples, and disguised versions of its positive examples, run as tests.

Like Sigma rules with tests: a pattern whose positive example no longer raises it (or whose negative
example does) fails here under its own id. The property-based part rewrites each positive example the
way evasive ads do (look-alike letters, spaced letters, leetspeak, zero-width characters, fullwidth
forms) and checks that the same pattern still fires.
"""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.shipped_patterns import shipped_library, shipped_matcher
from trailhound.detectors.extract import extract_entities
from trailhound.detectors.library import Pattern
from trailhound.detectors.normalize import normalize

LIBRARY = shipped_library()
PATTERNS = {p.id: p for p in LIBRARY.patterns}


def matched_ids(text: str) -> dict[str, str]:
    """The patterns the shipped matcher finds in ``text``, with their evidence.

    An expression that ran past its share of the match budget fails the test as over budget, never as a
    silent miss (the budget is CPU time, so a busy machine does not cause it).
    """
    matcher, norm = shipped_matcher(), normalize(text)
    skipped = matcher.over_budget
    found = {i.pattern_id: i.evidence for i in matcher.match(norm, extract_entities(norm))}
    assert matcher.over_budget == skipped, f"matching {text!r} ran past the match budget"
    return found


@pytest.mark.parametrize("pattern_id", sorted(PATTERNS))
def test_positive_examples_raise_the_pattern(pattern_id: str) -> None:
    for text in PATTERNS[pattern_id].positive:
        assert pattern_id in matched_ids(text), f"{pattern_id} missed its positive example {text!r}"


@pytest.mark.parametrize("pattern_id", sorted(PATTERNS))
def test_negative_examples_do_not_raise_the_pattern(pattern_id: str) -> None:
    for text in PATTERNS[pattern_id].negative:
        found = matched_ids(text)
        assert pattern_id not in found, (
            f"{pattern_id} matched its negative example {text!r} on {found.get(pattern_id)!r}"
        )


# ----------------------------------------------------------------------------------------------
# Evasive rewrites of positive examples

_LOOKALIKES = {"a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у", "i": "і", "s": "ѕ",
               "j": "ј", "h": "һ", "u": "υ"}
_LEET = {"o": "0", "e": "3", "a": "4", "s": "5", "t": "7"}
_INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
_WORD = re.compile(r"\w+")


def _words(text: str) -> list[re.Match[str]]:
    return list(_WORD.finditer(text))


def leetspeak(text: str, rnd: random.Random) -> str:
    """Replace one inner letter of some words by the digit that looks like it (y0ung, fr3sh)."""
    out = list(text)
    for m in _words(text):
        word = m.group()
        if not (word.isascii() and word.isalpha() and len(word) >= 3) or rnd.random() < 0.5:
            continue
        inner = [k for k in range(1, len(word) - 1) if word[k].lower() in _LEET]
        if inner:
            k = rnd.choice(inner)
            out[m.start() + k] = _LEET[word[k].lower()]
    return "".join(out)


def spaced(text: str, rnd: random.Random) -> str:
    """Write one word letter by letter (y o u n g, y.o.u.n.g, y-o-u-n-g)."""
    words = _words(text)
    choices = []
    for n, m in enumerate(words):
        word = m.group()
        if not (word.isascii() and word.isalpha() and len(word) >= 3):
            continue
        neighbours = [words[k] for k in (n - 1, n + 1) if 0 <= k < len(words)]
        # a one-character neighbour would be read as part of the spelled-out word, as a human would too
        if all(len(w.group()) >= 2 for w in neighbours):
            choices.append(m)
    if not choices:
        return text
    m = rnd.choice(choices)
    sep = rnd.choice([" ", ".", "-"])
    return text[: m.start()] + sep.join(m.group()) + text[m.end() :]


def lookalikes(text: str, rnd: random.Random) -> str:
    """Swap Latin letters for Cyrillic/Greek ones that look the same."""
    return "".join(_LOOKALIKES[c] if c in _LOOKALIKES and rnd.random() < 0.5 else c for c in text)


def fullwidth(text: str, rnd: random.Random) -> str:
    """Write some words in fullwidth forms (ｙｏｕｎｇ)."""
    out = list(text)
    for m in _words(text):
        if rnd.random() < 0.5:
            for k in range(m.start(), m.end()):
                if "!" <= out[k] <= "~":
                    out[k] = chr(ord(out[k]) + 0xFEE0)
    return "".join(out)


def zero_width(text: str, rnd: random.Random) -> str:
    """Hide invisible characters between letters."""
    out = []
    for k, c in enumerate(text):
        out.append(c)
        if c.isalpha() and k + 1 < len(text) and text[k + 1].isalpha() and rnd.random() < 0.3:
            out.append(rnd.choice(_INVISIBLE))
    return "".join(out)


TRANSFORMS = (leetspeak, spaced, lookalikes, fullwidth, zero_width)  # applied in this order


@st.composite
def disguised(draw: st.DrawFn, pattern: Pattern) -> tuple[str, str]:
    text = draw(st.sampled_from(pattern.positive))
    chosen = draw(st.lists(st.sampled_from(TRANSFORMS), min_size=1, max_size=3, unique=True))
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    out = text
    for transform in TRANSFORMS:
        if transform in chosen:
            out = transform(out, rnd)
    return text, out


@pytest.mark.parametrize("pattern_id", sorted(p.id for p in LIBRARY.patterns))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_disguised_positive_examples_still_raise_the_pattern(pattern_id: str, data: st.DataObject) -> None:
    original, variant = data.draw(disguised(PATTERNS[pattern_id]))
    assert pattern_id in matched_ids(variant), f"{pattern_id}: {original!r} disguised as {variant!r} was missed"
