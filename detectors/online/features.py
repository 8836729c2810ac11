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
    bigrams (``my girls`` matters) but not as unigrams. Numbers of three or more digits (pieces of
    phone numbers, prices) are dropped: a model that learns contact numbers as words would keep
    flagging a number long after it changed hands; contacts are the entity detector's business.
    """
    out: list[Token] = []
    add = out.append
    prev = ""  # the previous word, "" after a break (number, punctuation, emoji)
    prev_start = 0
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok.isdigit() and len(tok) >= 3:
            prev = ""
            continue
        start, end = m.span()
        if not tok[0].isalnum():
            if not tok.isascii():
                add((tok, start, end))
            prev = ""
            continue
        if tok not in _STOP:
            add((tok, start, end))
        if prev:
            add((f"{prev} {tok}", prev_start, end))
        prev, prev_start = tok, start
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
