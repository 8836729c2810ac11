"""Normalise ad text so that evasive spellings match the same patterns as plain text.

Ads are written to slip past keyword filters: ``ｙｏｕｎｇ``, ``уоung`` (Cyrillic letters), ``y.o.u.n.g``,
``y0ung``, ``yooouung``, zero-width characters between letters, emoji used as codes. :func:`normalize`
folds all of these into one lower-case, mostly-ASCII form that the pattern library is written against,
and keeps a map back to the original so every piece of evidence can be shown to the analyst exactly as
it was written.

Design: the text passes through a short list of steps; each step is a regular-expression scan that
yields a few *edits* (replace ``[a, b)`` by a string). Untouched stretches keep a linear map to the
original, so the map is a short list of segments rather than one integer per character, and it is
small enough to travel inside the enriched Kafka record. Unicode folding uses the standard library's
``unicodedata`` (NFKC covers fullwidth, mathematical and circled letters; every format character, Cf,
is dropped and every blank look-alike becomes a space); look-alike letters of other scripts come from
the Unicode confusables data (:mod:`detectors.lexicon`) and fold only in words written to look Latin,
so Russian, Chinese or Thai text stays matchable; the emoji names come from the ``emoji`` package,
which tracks the Unicode emoji list so we do not have to, and code emoji, slang spellings and the
words that a single mark (``yo-ung``) or spaced letters running on (``y o u n ggirl``) break are read
through the lexicon.

Leetspeak is folded only inside words that mix letters with a few digits (``n3w``, ``t33n``), never in
pure numbers, in ``number + unit`` tokens (``22yo``, ``150hr``) or in tokens spelling digits with words
(``5five5``), so that ages, prices and phone numbers survive for entity extraction.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import emoji

from trailhound.detectors.lexicon import (
    emoji_words,
    indicator_vocabulary,
    latin_lookalikes,
    script_lookalikes,
    slang_words,
)
from trailhound.detectors.prefilter import RegexPrefilter

__all__ = ["NormalizedText", "normalize"]

Segment = tuple[int, int, int, int]
"""``(out_start, out_len, src_start, src_len)``; linear when both lengths are equal, else atomic."""

Edit = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """A post's text as written (``original``) and as matched (``text``), with a map between them."""

    original: str
    text: str
    segments: tuple[Segment, ...] = field(repr=False, compare=False)
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", tuple(seg[0] for seg in self.segments))

    def _segment_at(self, pos: int) -> Segment:
        return self.segments[max(bisect_right(self._starts, pos) - 1, 0)]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map ``text[start:end]`` back to the span of ``original`` it was made from."""
        segments = self.segments
        if not segments:
            return (0, 0)
        size = len(self.text)
        start = 0 if start < 0 else size if start > size else start
        end = start if end < start else size if end > size else end
        if len(segments) == 1:  # one segment: the text was only lowered, or folded as a whole
            o, n, s, m = segments[0]
            if n == m:
                return (s + start - o, s + end - o)
        o, n, s, m = self._segment_at(start)
        src_start = s + (start - o) if n == m else s
        if end == start:
            return (src_start, src_start)
        o, n, s, m = self._segment_at(end - 1)
        src_end = s + (end - o) if n == m else s + m
        return (src_start, max(src_end, src_start))

    def evidence(self, start: int, end: int) -> tuple[str, tuple[int, int]]:
        """The original text behind ``text[start:end]`` and its original span."""
        a, b = self.original_span(start, end)
        return self.original[a:b], (a, b)

    def to_json(self) -> dict[str, Any]:
        """Compact JSON form: the map is a flat list of segment quadruples, empty when identical."""
        identity = self.text == self.original and self.segments == ((0, len(self.text), 0, len(self.text)),)
        flat = [] if identity else [v for seg in self.segments for v in seg]
        return {"original": self.original, "text": self.text, "map": flat}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NormalizedText:
        original, text, flat = data["original"], data["text"], data.get("map") or []
        if not flat:
            if not text:
                return cls(original, text, ())
            if text != original:
                raise ValueError("normalised text differs from the original but carries no map")
            return cls(original, text, ((0, len(text), 0, len(text)),) if text else ())
        if len(flat) % 4:
            raise ValueError("normalised-text map must hold groups of four integers")
        segs = tuple(tuple(flat[i : i + 4]) for i in range(0, len(flat), 4))
        return cls(original, text, segs)


# --------------------------------------------------------------------------------------------------
# The mapped string a step works on


class _Mapped:
    """A working string and its segments back to the original; steps replace it edit by edit."""

    __slots__ = ("segs", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.segs: list[Segment] = [(0, len(text), 0, len(text))] if text else []

    def _src_start(self, pos: int, starts: list[int]) -> int:
        o, n, s, m = self.segs[max(bisect_right(starts, pos) - 1, 0)]
        return s + (pos - o) if n == m else s

    def _src_end(self, pos: int, starts: list[int]) -> int:
        o, n, s, m = self.segs[max(bisect_right(starts, pos - 1) - 1, 0)]
        return s + (pos - o) if n == m else s + m

    def apply(self, edits: Iterable[Edit]) -> bool:
        """Apply ``edits`` (in order, not overlapping); whether there were any."""
        edits = list(edits)
        if not edits:
            return False
        if len(self.segs) == 1 and self.segs[0] == (0, len(self.text), 0, len(self.text)):
            self._apply_to_unchanged(edits)
            return True
        starts = [seg[0] for seg in self.segs]
        parts: list[str] = []
        segs: list[Segment] = []
        pos = out = 0
        text = self.text
        for a, b, repl in edits:
            if a > pos:
                parts.append(text[pos:a])
                self._copy(pos, a, out, starts, segs)
                out += a - pos
            if repl:
                if b > a:
                    s, e = self._src_start(a, starts), self._src_end(b, starts)
                else:
                    s = e = self._src_start(a, starts) if a < len(text) else self._src_end(a, starts)
                _push(segs, (out, len(repl), s, e - s))
                parts.append(repl)
                out += len(repl)
            pos = b
        if pos < len(text):
            parts.append(text[pos:])
            self._copy(pos, len(text), out, starts, segs)
        self.text = "".join(parts)
        self.segs = segs
        return True

    def _apply_to_unchanged(self, edits: list[Edit]) -> None:
        """:meth:`apply` on text still as written (the first step that edits, usually Unicode folding):
        every position is its own original position, so no segment has to be looked up."""
        parts: list[str] = []
        segs: list[Segment] = []
        pos = out = 0
        text = self.text
        for a, b, repl in edits:
            if a > pos:
                parts.append(text[pos:a])
                _push(segs, (out, a - pos, pos, a - pos))
                out += a - pos
            if repl:
                _push(segs, (out, len(repl), a, b - a))
                parts.append(repl)
                out += len(repl)
            pos = b
        if pos < len(text):
            parts.append(text[pos:])
            _push(segs, (out, len(text) - pos, pos, len(text) - pos))
        self.text = "".join(parts)
        self.segs = segs

    def _copy(self, a: int, b: int, out: int, starts: list[int], segs: list[Segment]) -> None:
        i = max(bisect_right(starts, a) - 1, 0)
        while i < len(self.segs):
            o, n, s, m = self.segs[i]
            if o >= b:
                break
            lo, hi = max(a, o), min(b, o + n)
            if hi > lo:
                if n == m:
                    _push(segs, (out + lo - a, hi - lo, s + lo - o, hi - lo))
                else:
                    _push(segs, (out + lo - a, hi - lo, s, m))
            i += 1


def _push(segs: list[Segment], seg: Segment) -> None:
    if segs:
        o, n, s, m = segs[-1]
        if n == m and seg[1] == seg[3] and o + n == seg[0] and s + m == seg[2]:
            segs[-1] = (o, n + seg[1], s, m + seg[3])
            return
    segs.append(seg)


# --------------------------------------------------------------------------------------------------
# Character folding tables

_KEYCAP = re.compile("([0-9#*])\ufe0f?\u20e3")
_FLAG = re.compile("[\U0001f1e6-\U0001f1ff]{2}")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
# Invisible characters beyond Unicode's format class (Cf, removed by category): combining grapheme
# joiner, Khmer inherent vowels, variation selectors, skin-tone modifiers.
_INVISIBLE = frozenset(
    "\u034f\u17b4\u17b5" + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))  # variation selectors supplement
    + "".join(chr(c) for c in range(0x1F3FB, 0x1F400))  # skin-tone modifiers
)
# Characters drawn blank that are neither spaces nor format characters: Braille blank, Hangul fillers.
_BLANKS = frozenset("\u2800\u3164\u115f\u1160\uffa0")
_COMBINING_RANGES = ((0x0300, 0x036F), (0x0483, 0x0489), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF),
                     (0x20D0, 0x20FF), (0xFE20, 0xFE2F))
# Latin letters with a stroke or ligatures that NFD does not decompose (Vietnamese đ, Polish ł).
_LATIN_STROKES = {"ß": "ss", "ø": "o", "đ": "d", "ħ": "h", "ł": "l", "ŧ": "t", "ƀ": "b", "æ": "ae", "œ": "oe"}
_WORD = re.compile(r"\w+")


def _is_combining(ch: str) -> bool:
    c = ord(ch)
    return any(lo <= c <= hi for lo, hi in _COMBINING_RANGES)


@lru_cache(maxsize=8192)
def _emoji_name(ch: str) -> str | None:
    if ord(ch[0]) < 0x2190:
        return None
    data = emoji.EMOJI_DATA.get(ch)
    if data is None:
        return None
    name = data["en"].casefold()
    code = emoji_words().get(ch) or emoji_words().get(ch.rstrip("\ufe0f"))
    return f"{name} {code}" if code else name


@lru_cache(maxsize=16384)
def _fold_char(ch: str) -> str:
    """Fold one non-ASCII character: emoji keep their glyph and gain a stable name."""
    if ch in _INVISIBLE or _is_combining(ch):
        return ""
    category = unicodedata.category(ch)
    if category == "Cf":
        return ""
    if ch in _BLANKS or category == "Zs":
        return " "
    name = _emoji_name(ch)
    if name is not None:
        return f" {ch} {name} "
    out = unicodedata.normalize("NFKC", ch).casefold()
    if out.isascii():
        return out
    out = "".join(c for c in unicodedata.normalize("NFD", out) if not _is_combining(c))
    latin = latin_lookalikes()
    out = "".join(_LATIN_STROKES.get(c) or latin.get(c, c) for c in out)
    if out.isascii():
        return out
    # Letters such as "ñ" decompose above; keep other scripts as they are (re-composed).
    return unicodedata.normalize("NFC", out)


def _unicode_edits(text: str) -> Iterator[Edit]:
    for run in _NON_ASCII_RUN.finditer(text):
        base = run.start()
        for i, folded in _fold_run(run.group()):
            yield (base + i, base + i + 1, folded)


@lru_cache(maxsize=16384)
def _fold_run(run: str) -> tuple[tuple[int, str], ...]:
    """``(offset, folded)`` for each character of a non-ASCII run that folds; words and emoji recur across ads."""
    return tuple((i, folded) for i, ch in enumerate(run) if (folded := _fold_char(ch)) != ch)


def _keycap_edits(text: str) -> Iterator[Edit]:
    for m in _KEYCAP.finditer(text):
        yield (m.start(), m.end(), m.group(1))


def _flag_edits(text: str) -> Iterator[Edit]:
    for m in _FLAG.finditer(text):
        data = emoji.EMOJI_DATA.get(m.group())
        if data is not None:
            yield (m.start(), m.end(), f" {m.group()} {data['en'].casefold()} ")


def _confusable_edits(text: str) -> Iterator[Edit]:
    """Fold other scripts' look-alike letters inside words written to look Latin.

    A word folds when every non-ASCII letter in it has a Latin look-alike and either it also holds
    ASCII letters (mixed script: ``уоung``) or hardly any letter of the post lacks a Latin look-alike
    (a whole look-alike word in an English ad). Genuine Russian, Greek or Armenian text, where many
    letters have no look-alike (``д``, ``л``, ``я``), keeps its letters.
    """
    table = script_lookalikes()
    if table.keys().isdisjoint(text):
        return  # no look-alike letter at all (emoji are what most non-ASCII ads hold)
    latin_context: bool | None = None
    for m in _WORD.finditer(text):
        word = m.group()
        if word.isascii() or not all(c.isascii() or c in table for c in word):
            continue
        if not any(c.isascii() and c.isalpha() for c in word):
            if latin_context is None:
                letters = [c for c in text if c.isalpha()]
                foreign = sum(1 for c in letters if not c.isascii() and c not in table)
                latin_context = foreign * 8 < len(letters)
            if not latin_context:
                continue
        base = m.start()
        for i, c in enumerate(word):
            if not c.isascii():
                yield (base + i, base + i + 1, table[c])


# --------------------------------------------------------------------------------------------------
# ASCII-level steps

_ASCII_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")


def _lower_ascii_letters(text: str) -> str:
    """``A``-``Z`` lowered, every other character kept (length-preserving, so the map is unchanged).

    On UTF-8 bytes: no byte of a multi-byte character is below 0x80, so only ASCII letters change,
    and a byte table is far cheaper than ``str.translate`` on text that is not all ASCII.
    """
    if text.isascii():
        return text.lower()
    return text.encode("utf-8", "surrogatepass").translate(_ASCII_LOWER).decode("utf-8", "surrogatepass")
_SPACED = re.compile(r"(?<![a-z0-9])[a-z0-9](?:[ .\-_*~+|/\\]{1,3}[a-z0-9](?![a-z0-9])){2,}")
_SEPARATOR = re.compile(r"[ .\-_*~+|/\\]{1,3}")
_NEXT_WORD = re.compile(r"([ .\-_*~+|/\\]{1,3})([a-z]{3,})")
_MARKED_WORD = re.compile(r"(?<![a-z0-9@.])([a-z]+)([-._*'`~])([a-z]+)(?![a-z0-9@]|\.[a-z])")
_WHITESPACE = re.compile(r"\s{2,}|[^\S ]")
_SQUEEZE = re.compile(r"([a-z])\1{2,}")
# A whole token that somewhere has a letter next to a digit-like character. The look-behind pins the
# match to a token start and the possessive ``++`` forbids backtracking, so long tokens cost linear time.
_LEET_TOKEN = re.compile(r"(?<![a-z0-9$!|])(?=[a-z0-9$!|]*?(?:[a-z][0-9$!|]|[0-9$|][a-z]))[a-z0-9$!|]++")
_NUMBER_WORDS = (
    r"zero|one|two|three|four|five|six|seven|eight|nine|ten|cero|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve"
)
_NUMBER_WORD = re.compile(_NUMBER_WORDS)
_UNIT_TOKEN = re.compile(
    r"\d+(?:yo|yrs?|y|hrs?|h|hh|mins?|m|k|am|pm|st|nd|rd|th|x|qv|qk|gfe|pics?|girls?|ladies|days?|"
    r"nights?|hours?|weeks?|months?|usd|eur|gbp|roses?|dollars?|bucks|some|ft|in|cm|kg|lbs?|dd|ddd|"
    r"[a-h]{1,3})"
)
_LEET_DIGITS = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "!": "i", "|": "l"}
_VOWELS = frozenset("aeiouy")
_L_ONSETS = frozenset("bcfgps")


def _spacing_edits(text: str) -> Iterator[Edit]:
    vocabulary = indicator_vocabulary()
    for m in _SPACED.finditer(text):
        seps = list(_SEPARATOR.finditer(m.group()))
        usual = Counter(s.group() for s in seps).most_common(1)[0][0]
        base = m.start()
        for s in seps:
            a, b = base + s.start(), base + s.end()
            yield (a, b, "" if s.group() == usual else " ")
        yield from _run_into_next_word(text, m, usual, vocabulary)


_COMMON_WORDS = frozenset({
    "a", "an", "the", "i", "me", "my", "you", "he", "she", "it", "we", "us", "they", "them", "her", "his",
    "to", "of", "in", "on", "at", "by", "for", "no", "not", "so", "go", "do", "be", "is", "am", "are", "new",
})
"""Complete words that spaced letters often spell: such letters are a word already, not a word's start."""


def _run_into_next_word(text: str, m: re.Match[str], usual: str, vocabulary: frozenset[str]) -> Iterator[Edit]:
    """``y o u n ggirl``: the last spaced letter ran into the next word; take it back when that
    completes an indicator word the spaced letters alone do not."""
    nxt = _NEXT_WORD.match(text, m.end())
    if nxt is None or nxt.group(1) != usual:
        return
    joined = _SEPARATOR.sub("", m.group())
    word = nxt.group(2)
    took_letter = word[0] == word[1] or word[1:] in vocabulary  # "ggirl", "gthing" stays
    complete = joined in vocabulary or joined in _COMMON_WORDS  # "y o u reach" is "you reach", not "your each"
    if took_letter and not complete and joined + word[0] in vocabulary:
        yield (nxt.start(1), nxt.end(1), "")
        yield (nxt.start(2) + 1, nxt.start(2) + 1, " ")


def _mark_join_edits(text: str) -> Iterator[Edit]:
    """``yo-ung``, ``yo.ung``, ``you_ng``: drop one mark inside a word when that spells an indicator word."""
    vocabulary = indicator_vocabulary()
    for m in _MARKED_WORD.finditer(text):
        left, right = m.group(1), m.group(3)
        if left + right in vocabulary and not (left in vocabulary and right in vocabulary):
            yield (m.start(2), m.end(2), "")


def _slang_edits(text: str) -> Iterator[Edit]:
    slang = slang_words()
    for m in _slang_regex().finditer(text):
        yield (m.start(), m.end(), slang[m.group()])


@lru_cache(maxsize=1)
def _slang_regex() -> re.Pattern[str]:
    words = sorted(slang_words(), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b")


def _whitespace_edits(text: str) -> Iterator[Edit]:
    for m in _WHITESPACE.finditer(text):
        if m.group() != " ":
            yield (m.start(), m.end(), " ")


def _squeeze_edits(text: str) -> Iterator[Edit]:
    for m in _SQUEEZE.finditer(text):
        yield (m.start() + 1, m.end(), "")


def _one_as_letter(prev: str, nxt: str) -> str:
    """Decide whether a ``1`` inside a word stands for ``l`` or ``i`` from its neighbours."""
    if not prev:
        return "l" if nxt in _VOWELS else "i"
    if nxt in _VOWELS:
        if prev in _VOWELS:
            return "l"
        return "l" if prev in _L_ONSETS else "i"
    return "l" if prev in _VOWELS else "i"


def _spells_digits(tok: str) -> bool:
    """True for tokens such as ``5five5`` or ``fiveo1``: digits mixed with number words, not leet."""
    rest = _NUMBER_WORD.sub("", tok)
    return rest != tok and not any(c.isalpha() and c not in "oli" for c in rest)


def _leet_edits(text: str) -> Iterator[Edit]:
    for m in _LEET_TOKEN.finditer(text):
        tok = m.group()
        if _UNIT_TOKEN.fullmatch(tok) or _spells_digits(tok):
            continue
        if set(c for c in tok if c.isalpha()) <= {"o", "l", "i"}:
            continue  # a number written with letter look-alikes ("Ol4O"): leave it to phone extraction
        base = m.start()
        i, n = 0, len(tok)
        while i < n:
            j = i
            while j < n and not tok[j].isalpha():
                j += 1
            if j > i:
                yield from _leet_run(tok, i, j, base)
                i = j
            else:
                i += 1


def _leet_run(tok: str, i: int, j: int, base: int) -> Iterator[Edit]:
    """Fold one run ``tok[i:j]`` of non-letters when it sits where a letter should be."""
    run = tok[i:j]
    leading, trailing = i == 0, j == len(tok)
    whole_word_leet = leading and len(run) <= 3 and len(tok) - j >= 1 and all(c in _LEET_DIGITS for c in run)
    if (len(run) > 2 or ((leading or trailing) and len(run) > 1)) and not whole_word_leet:
        return  # "733n" (teen) folds: a short leading run of look-alike digits before letters
    if trailing and (i < 2 or run in "!$"):
        return  # "b4", "hi!" and similar stay as written; "tw0", "fiv3" fold
    if leading and (run in "!|" or tok[j:] in {"st", "nd", "rd", "th"}):
        return
    for k, ch in enumerate(run):
        if ch == "1":
            prev = tok[i + k - 1] if i + k > 0 else ""
            out = _one_as_letter(prev, tok[i + k + 1] if i + k + 1 < len(tok) else "")
        else:
            out = _LEET_DIGITS.get(ch, "")
        if out:
            yield (base + i + k, base + i + k + 1, out)


# --------------------------------------------------------------------------------------------------


# One Hyperscan pass tells which of the ASCII steps can find anything at all: on the evaluation set a
# post needs about one of the five on average, and each step skipped spares ``re`` a scan of the whole
# text (the whitespace step has a cheaper test of its own). A step's expression
# or, where Hyperscan cannot read it (back-references, possessive repeats), a condition every match of
# it meets: ``_SQUEEZE`` needs a letter three times in a row, ``_LEET_TOKEN`` a letter next to a
# digit-like character.
_SQUEEZE_CONDITION = re.compile("|".join(c * 3 for c in "abcdefghijklmnopqrstuvwxyz"))
_LEET_CONDITION = re.compile(r"[a-z][0-9$!|]|[0-9$|][a-z]")
_LEET_STEPS = (_leet_edits, _squeeze_edits, _mark_join_edits, _slang_edits)


@lru_cache(maxsize=1)
def _ascii_precheck() -> RegexPrefilter:
    """The pre-check of :data:`_LEET_STEPS` preceded by the spacing step, by index (the slang list loads lazily)."""
    return RegexPrefilter((_SPACED, _LEET_CONDITION, _SQUEEZE_CONDITION, _MARKED_WORD, _slang_regex()),
                          unicode=False)


def _needs_whitespace_step(text: str) -> bool:
    """Whether :data:`_WHITESPACE` can match: two blanks in a row, or a blank other than a space.

    Every character ``str.isspace`` accepts, except the space, is also one ``str.isprintable``
    refuses (control, separator and non-space blank characters), so a printable text without a
    double space has nothing to fold.
    """
    return "  " in text or not text.isprintable()


def _ascii_steps(work: _Mapped, fold_leet: bool, precheck: bool) -> None:
    """The steps on lower-cased text, each run only when the pre-check says it can find something.

    A step that edited the text may have made a later step's expression match (spaced letters joined
    into a slang word), so the pre-check is asked again after every edit that left a skipped step.
    The whitespace step is the exception: it only turns blanks into one space, and none of the later
    expressions tells one blank from another or matches across one, so it makes nothing new match.
    """
    steps = (_spacing_edits, *(_LEET_STEPS if fold_leet else ()))
    # With the spacing step alone to decide (``fold_leet=False``, short contact values), running it
    # costs less than a pass.
    check = _ascii_precheck() if precheck and fold_leet else None
    found = check.candidates(work.text) if check is not None else set(range(len(steps)))
    for i, step in enumerate(steps):
        if i in found and work.apply(step(work.text)) and check is not None \
                and not found.issuperset(range(i + 1, len(steps))):
            found = check.candidates(work.text)
        if i == 0 and (not precheck or _needs_whitespace_step(work.text)):
            work.apply(_whitespace_edits(work.text))


def normalize(text: str, *, fold_leet: bool = True, precheck: bool = True) -> NormalizedText:
    """Fold ``text`` for matching; see the module docstring for what is folded and why.

    ``fold_leet=False`` skips leetspeak and repeated-letter squeezing, for values whose exact
    letters and digits matter (e-mail addresses and handles such as ``jane7``). ``precheck=False``
    runs every step whatever the pre-check would say (the tests compare both paths).
    """
    work = _Mapped(text)
    if not text.isascii():
        if "\u20e3" in text or not precheck:
            work.apply(_keycap_edits(work.text))
        work.apply(_flag_edits(work.text))
        work.apply(_unicode_edits(work.text))
        if not work.text.isascii():
            work.apply(_confusable_edits(work.text))
    work.text = _lower_ascii_letters(work.text)
    _ascii_steps(work, fold_leet, precheck)
    return NormalizedText(text, work.text, tuple(work.segs))
