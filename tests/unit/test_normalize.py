"""Normalisation: evasive spellings fold to one form, numbers survive, evidence maps back exactly."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailhound.detectors.normalize import NormalizedText, normalize


@pytest.mark.parametrize(
    "written",
    [
        "YOUNG",
        "ｙｏｕｎｇ",  # fullwidth
        "уоung",  # Cyrillic у and о
        "𝐲𝐨𝐮𝐧𝐠",  # mathematical bold
        "ʏᴏᴜɴɢ",  # small capitals
        "y o u n g",
        "y.o.u.n.g",
        "y-o-u-n-g",
        "y\u200bo\u200cu\u200dn\u2060g",  # zero-width characters
        "y0ung",
        "yooooung",
        "ý̷o̷u̷n̷g̷",  # combining marks
    ],
)
def test_evasive_spellings_fold_to_the_plain_word(written: str) -> None:
    norm = normalize(f"sweet {written} thing")
    assert norm.text == "sweet young thing"


@pytest.mark.parametrize(
    ("written", "expected"),
    [("fr3sh n3w t33n", "fresh new teen"), ("g1rl 1ittle sm1le", "girl little smile"), ("tw0 fiv3", "two five")],
)
def test_leetspeak_inside_words_is_folded(written: str, expected: str) -> None:
    assert normalize(written).text == expected


@pytest.mark.parametrize(
    "kept",
    ["22yo", "150hr", "$200", "(201) 555-0123", "5five5", "24/7", "2015550123", "1st", "covid19", "4hr"],
)
def test_numbers_that_matter_survive(kept: str) -> None:
    assert kept in normalize(f"call {kept} today").text


def test_words_spaced_out_keep_their_word_breaks() -> None:
    assert normalize("y o u n g  g i r l").text == "young girl"
    assert normalize("y.o.u.n.g g.i.r.l").text == "young girl"


def test_real_cyrillic_text_is_not_turned_into_latin() -> None:
    assert normalize("Привет мир").text == "привет мир"


def test_emoji_keep_their_glyph_and_gain_a_stable_name() -> None:
    norm = normalize("sweet🍒girl 👑")
    assert "🍒" in norm.text and ":cherries:" in norm.text and ":crown:" in norm.text
    start = norm.text.index(":cherries:")
    assert norm.evidence(start, start + len(":cherries:"))[0] == "🍒"


def test_keycap_digits_become_digits() -> None:
    assert normalize("2️⃣0️⃣1️⃣").text == "201"


@pytest.mark.parametrize(
    ("original", "word", "as_written"),
    [
        ("Sweet ｙｏｕｎｇ thing", "young", "ｙｏｕｎｇ"),
        ("so y o u n g and fresh", "young", "y o u n g"),
        ("NEW\u200b in town", "new in town", "NEW\u200b in town"),
        ("she is fr3sh", "fresh", "fr3sh"),
        ("Sooooo  tired", "so tired", "Sooooo  tired"),
        ("ask 👑 for her", "for her", "for her"),
    ],
)
def test_evidence_is_shown_exactly_as_written(original: str, word: str, as_written: str) -> None:
    norm = normalize(original)
    start = norm.text.index(word)
    evidence, (a, b) = norm.evidence(start, start + len(word))
    assert evidence == as_written
    assert original[a:b] == as_written


def test_unchanged_text_carries_no_map_and_changed_text_a_short_one() -> None:
    plain = normalize("plain ascii text with nothing to fold")
    assert plain.to_json()["map"] == []
    body = "An ordinary sentence that goes on for a while. " * 20
    changed = normalize(body + "ｙｏｕｎｇ 🍒 " + body)
    assert len(changed.to_json()["map"]) <= 4 * 8  # a handful of segments, not one entry per character


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(list("abcyoung 0123.-_\u200bЁуо🍒ｙ𝐲!$|\n5ive7") + ["2️⃣", "🇺🇸"]), max_size=60)
       .map("".join))
def test_spans_stay_inside_the_original_and_survive_json(text: str) -> None:
    norm = normalize(text)
    again = NormalizedText.from_json(json.loads(json.dumps(norm.to_json())))
    assert again == norm and again.text == norm.text
    previous_start = 0
    for m in re.finditer(r"\S+", norm.text):
        a, b = norm.original_span(m.start(), m.end())
        assert 0 <= a <= b <= len(text)
        assert a >= previous_start  # evidence comes out in the order it was written
        assert again.original_span(m.start(), m.end()) == (a, b)
        previous_start = a


def test_from_json_refuses_a_map_that_cannot_be_right() -> None:
    with pytest.raises(ValueError):
        NormalizedText.from_json({"original": "AB", "text": "ab", "map": []})
    with pytest.raises(ValueError):
        NormalizedText.from_json({"original": "AB", "text": "ab", "map": [0, 2, 0]})


def test_only_ascii_capitals_are_lowered_before_the_ascii_steps() -> None:
    """Other scripts' capitals were folded (or kept) by the Unicode step; a lone surrogate survives."""
    from trailhound.detectors.normalize import _lower_ascii_letters

    text = "ÀBCdé ÉTÉ \ud800 İSTANBUL ǅ Ω ПРИВЕТ"
    assert _lower_ascii_letters(text) == "".join(c.lower() if "A" <= c <= "Z" else c for c in text)
    assert _lower_ascii_letters("PLAIN Text") == "plain text"
