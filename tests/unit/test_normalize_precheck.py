"""The normaliser's Hyperscan pre-check only skips steps that would have changed nothing.

A skipped step must leave exactly what the full path (every step run, ``precheck=False``) gives: the
same text and the same map back to the original, on every language and evasion of the evaluation set,
the sample feed, synthetic posts, hand-picked evasions that chain steps, and generated texts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailhound.detectors import normalize as normalize_module
from trailhound.detectors.normalize import normalize
from trailhound.synth import generate

ROOT = Path(__file__).resolve().parents[2]

EVASIONS = [
    "Y O U N G girl, y.o.u.n.g, y-o-u-n-g, y o u n ggirl",  # spaced letters, also running into a word
    "yo-ung yo.ung you_ng fr3sh n3w t33n g1rl 1ittle tw0 fiv3 733n",  # marks inside words, leetspeak
    "yooooung fressh sooo neeew",  # repeated letters
    "barley legal, yung, dady, mngr, engrish",  # slang and misspellings
    "ｙｏｕｎｇ уоung 𝐲𝐨𝐮𝐧𝐠 ʏᴏᴜɴɢ y\u200bo\u200cu\u200dn\u2060g y\u2800o\u2800u ý̷o̷u̷n̷g̷",  # look-alikes, blanks
    "call 2️⃣0️⃣1️⃣ 🇺🇸 👧🏫🐣🆕🚗 5five5 two oh one (201) 555-0123 $200 22yo 150hr",  # keycaps, flags, emoji
    "TITLE\n\nbody\twith\u2028odd   blanks\x1c and\u3000ideographic space",  # whitespace of every kind
    "y  o  u  n  g",  # spaced letters whose separators become single spaces
    "b.a.r.l.e.y legal y-u-n-g",  # spacing joins letters into a slang word the first scan could not see
    "Chiquita de 16 años, recién llegada; 17 лет; 学生妹 17岁; только 17",  # other languages
    "snap: jane_7 ig @jane.7 jane7 (at) example dot com",  # contacts, read without leetspeak folding
]


def _corpus() -> list[str]:
    texts = [p["body"] for p in generate(400, 23)] + EVASIONS
    for path in (ROOT / "bench" / "data" / "eval.jsonl", ROOT / "samples" / "sample-feed.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                post = json.loads(line)
            except ValueError:
                continue
            if isinstance(post, dict) and isinstance(post.get("body"), str):
                texts.append(post["body"])
    return texts


def _same_as_full_path(text: str, fold_leet: bool = True) -> None:
    checked = normalize(text, fold_leet=fold_leet)
    full = normalize(text, fold_leet=fold_leet, precheck=False)
    assert (checked.text, checked.segments) == (full.text, full.segments), text


@pytest.mark.parametrize("fold_leet", [True, False])
def test_every_corpus_text_normalises_as_on_the_full_path(fold_leet: bool) -> None:
    for text in _corpus():
        _same_as_full_path(text, fold_leet)


@given(st.lists(st.sampled_from(
    list("abeglnoruyst YOUNG0134579.-_*~|/'!$\n\t\u200b\u2800уоЁ🍒ｙ𝐲") + ["2️⃣", "🇺🇸", "  ", "yung", "dady", "ung"]),
    max_size=50).map("".join))
@settings(max_examples=400, deadline=None)
def test_generated_texts_normalise_as_on_the_full_path(text: str) -> None:
    _same_as_full_path(text)
    _same_as_full_path(text, fold_leet=False)


def test_the_precheck_skips_most_steps_of_a_plain_post() -> None:
    """Not a no-op: a plain ad with a phone number needs none of the spacing, leet, squeeze, mark or slang steps."""
    found = normalize_module._ascii_precheck().candidates("new in town, call 201 555 0123 tonight")
    assert found == set()
    assert normalize_module._ascii_precheck().candidates("fr3sh yooouung yo-ung y o u n g yung") == {0, 1, 2, 3, 4}


@pytest.mark.parametrize(("text", "needed"), [("a b", False), ("a  b", True), ("a\nb", True), ("a\u3000b", True),
                                               ("a\x1cb", True), ("a\u2028b", True), ("плюс 17 лет", False)])
def test_the_whitespace_step_runs_whenever_it_can_change_the_text(text: str, needed: bool) -> None:
    assert normalize_module._needs_whitespace_step(text) is needed
    assert any(True for _ in normalize_module._whitespace_edits(text)) is needed
