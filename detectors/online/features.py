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
from trailhound.detectors.normalize import NormalizedText

__all__ = ["Token", "entity_flags", "normalized", "normalized_text", "tokens"]

_TOKEN = re.compile(r"[^\W_]+|[^\w\s]")
_STOP = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "i", "if", "in", "is", "it", "me",
    "my", "of", "on", "or", "our", "so", "that", "the", "this", "to", "we", "with", "you", "your",
})

_NUMBER_WORDS = frozenset({
    "zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve",
})
"""Digits written as words, as ads spell phone numbers (the phone extractor reads the same words)."""
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
    a contact: a number of three or more digits, and a run of three or more number words or short numbers
    (``six one two five five five``, ``5 five 5``; punctuation between them does not end the run). A
    model that learns contact numbers as words would keep flagging a number long after it changed hands,
    and would show "five" as the wording that raised a score; contacts are the entity detector's business.
    Fewer number words in a row stay words (``two girls``).
    """
    out: list[Token] = []
    add, add_all = out.append, out.extend
    prev = ""  # the previous word, "" after a break (number, punctuation, emoji)
    prev_start = 0
    held: list[Token] = []  # a run of number words so far, kept back until it is known to be short
    atoms = 0  # number words and short numbers in the current run
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok.isdigit() and len(tok) >= 3:
            if 0 < atoms < _RUN_IS_NUMBER:
                add_all(held)  # "only 15. 312-555-0140": the age stays a word
            held, atoms, prev = [], 0, ""
            continue
        start, end = m.span()
        if not tok[0].isalnum():
            if tok.isascii():
                prev = ""  # punctuation breaks a bigram but not a run of numbers ("five-five-five")
                continue
            if 0 < atoms < _RUN_IS_NUMBER:
                add_all(held)
            held, atoms, prev = [], 0, ""
            add((tok, start, end))
            continue
        if tok in _NUMBER_WORDS or (tok.isdigit() and len(tok) <= 2):
            if atoms >= _RUN_IS_NUMBER - 1:  # the third atom in a row: the run is a number, drop all of it
                held, atoms, prev = [], _RUN_IS_NUMBER, ""
                continue
            atoms += 1
            held.append((tok, start, end))
            if prev:
                held.append((f"{prev} {tok}", prev_start, end))
            prev, prev_start = tok, start
            continue
        if atoms:
            if atoms < _RUN_IS_NUMBER:
                add_all(held)
            else:
                prev = ""  # no bigram across a dropped number
            held, atoms = [], 0
        if tok not in _STOP:
            add((tok, start, end))
        if prev:
            add((f"{prev} {tok}", prev_start, end))
        prev, prev_start = tok, start
    if atoms < _RUN_IS_NUMBER:
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
