"""What the online models read from an enriched post: its normalised text, its tokens and a few flags.

Kept in one place so every model sees the same tokens, and so the token spans can be mapped back to
the text as the analyst wrote it (through :class:`trailhound.detectors.normalize.NormalizedText`) when a model
explains itself. Tokens are word unigrams and bigrams of the *normalised* text (so ``y.o.u.n.g``,
``уоung`` and ``young`` are one token), emoji glyphs as tokens of their own (several are documented
codes), and flag tokens from the extracted entities (obscured contact, a stated age under 18), which
the field reports as predictive.
"""

from __future__ import annotations

import re
from typing import Any

from trailhound.detectors.decoded import decoded_normalized
from trailhound.detectors.extract.phones import NUMBER_WORDS
from trailhound.detectors.normalize import NormalizedText

__all__ = ["Token", "entity_flags", "normalized", "normalized_text", "tokens"]

_TOKEN = re.compile(r"[^\W_]+|[^\w\s]")
_STOP = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "i", "if", "in", "is", "it", "me",
    "my", "of", "on", "or", "our", "so", "that", "the", "this", "to", "we", "with", "you", "your",
})

_RUN_IS_NUMBER = 3  # number words or short numbers in a row that make a number, as three digits do

Token = tuple[str, int, int]
"""``(token, start, end)`` in the normalised text; a bigram spans both of its words."""


def normalized(post: dict[str, Any]) -> NormalizedText:
    """The post's :class:`NormalizedText` (rebuilt from the enriched record's JSON form)."""
    data = post.get("normalized")
    if isinstance(data, NormalizedText):
        return data
    if data:
        return decoded_normalized(data)
    raw = post.get("post", post)
    text = raw.get("body", "")
    return NormalizedText(text, text.lower(), ((0, len(text), 0, len(text)),) if text else ())


def normalized_text(post: dict[str, Any]) -> str:
    """Just the normalised text (what the models learn from)."""
    data = post.get("normalized")
    if isinstance(data, dict) and "text" in data:
        return str(data["text"])
    return normalized(post).text


def tokens(text: str) -> list[Token]:
    """Unigrams, bigrams and emoji glyphs of normalised text, with their spans, in order of appearance.

    Punctuation-only tokens are dropped, emoji (non-ASCII symbols) kept. Stop words are kept inside
    bigrams (``my girls`` matters) but not as unigrams. Numbers are dropped when they look like pieces of
    a contact: a number of three or more digits, and a run of three or more number words and short
    numbers with at least one word among them (``six one two five five five``, ``5 five 5``; punctuation
    between them does not end the run). A model that learns contact numbers as words would keep flagging
    a number long after it changed hands, and would show "five" as the wording that raised a score;
    contacts are the entity detector's business. Shorter runs stay words (``two girls``), and so do runs
    of digits alone (``15 16 17``: ages).
    """
    out: list[Token] = []
    add, add_all = out.append, out.extend
    prev = ""  # the previous word, "" after a break (number, punctuation, emoji)
    prev_start = 0
    held: list[Token] = []  # the current run of numbers, kept back until it is known not to be a contact
    atoms = words = 0  # numbers in the current run, and how many of them are number words
    dropping = False  # the current run is a contact: its numbers are dropped
    for m in _TOKEN.finditer(text):
        tok = m.group()
        start, end = m.span()
        long_number = tok.isdigit() and len(tok) >= 3
        if not long_number and (tok in NUMBER_WORDS or (tok.isdigit() and tok[0].isascii())):
            if dropping:
                continue
            atoms += 1
            words += not tok.isdigit()
            if atoms >= _RUN_IS_NUMBER and words:
                held, dropping, prev = [], True, ""
                continue
            held.append((tok, start, end))
            if prev:
                held.append((f"{prev} {tok}", prev_start, end))
            prev, prev_start = tok, start
            continue
        if tok.isascii() and not tok[0].isalnum():
            prev = ""  # punctuation breaks a bigram but not a run of numbers ("five-five-five")
            continue
        if atoms:  # a word, an emoji or a long number ends the run
            if dropping:
                prev = ""  # no bigram across a dropped number
            else:
                add_all(held)
            held, atoms, words, dropping = [], 0, 0, False
        if long_number or not tok[0].isalnum():
            if not long_number:
                add((tok, start, end))  # an emoji
            prev = ""
            continue
        if tok not in _STOP:
            add((tok, start, end))
        if prev:
            add((f"{prev} {tok}", prev_start, end))
        prev, prev_start = tok, start
    if not dropping:
        add_all(held)
    return out


def entity_flags(post: dict[str, Any]) -> list[str]:
    """Flag tokens from extracted entities; absent entities simply give no flags."""
    entities = post.get("entities") or {}
    flags = []
    if entities.get("contact_obfuscated"):
        flags.append("#contact_obfuscated")
    ages = [a.get("value") if isinstance(a, dict) else a for a in entities.get("ages") or []]
    if any(isinstance(a, int | float) and a < 18 for a in ages):
        flags.append("#age_under_18")
    if len(entities.get("phones") or []) > 1:
        flags.append("#several_phones")
    return flags
