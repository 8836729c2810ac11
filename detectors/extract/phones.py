"""Find phone numbers however they are written, and say when they were written to evade.

Ads spell numbers as ``5five5``, ``two oh one``, ``O1OO``, keycap emoji or one digit per word, and
split them across the text. We read the normalised text as *chains* of digit-like atoms (digits,
English and Spanish number words, ``o``/``l``/``i`` standing for 0/1), then let Google's
``phonenumbers`` library decide which digit runs are real numbers and format them as E.164, so the
same contact written five ways becomes one key. ``phonenumbers`` is used because numbering plans
change and it is the maintained reference for them.

An obscured number is itself a trafficking indicator (Lugo-Graulich et al. 2024), so every number
found also says whether it was written evasively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers

from trailhound.detectors.normalize import NormalizedText

__all__ = ["NUMBER_WORDS", "FoundPhone", "find_phones", "parse_phone"]

_WORD_DIGITS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "cero": "0", "uno": "1", "dos": "2", "tres": "3",
    "cuatro": "4", "cinco": "5", "seis": "6", "siete": "7", "ocho": "8", "nueve": "9",
    "o": "0", "l": "1", "i": "1",
}
NUMBER_WORDS = frozenset(word for word in _WORD_DIGITS if len(word) > 1)
"""Digits written as words ("five", "cinco"); the single letters read as digits inside a number are left out."""
_ATOM = "|".join(sorted((re.escape(w) for w in _WORD_DIGITS), key=len, reverse=True))
_ATOM_RE = re.compile(rf"\d+|{_ATOM}")  # a run of digits is one group of a chain
_SEP = r"[\s\-.()/_,*:]{0,3}"
# The look-ahead names every character a chain can start with, so ``re`` leaves other positions at once
# instead of trying each number word there.
_CHAIN_START = "".join(sorted({word[0] for word in _WORD_DIGITS}))
_CHAIN = re.compile(rf"(?<![a-z])(?=[+\d{_CHAIN_START}])(\+\s?)?(?:\d|{_ATOM})(?:{_SEP}(?:\d|{_ATOM}))*(?![a-z])")
_THREE_DIGITS = re.compile(r"\d\D*\d\D*\d")
_DIGIT_RUN = re.compile(r"\d+")
_LETTER = re.compile(r"[a-z]")
_NUMBER_WORD = re.compile(r"\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|cero|uno|dos|tres|"
                          r"cuatro|cinco|seis|siete|ocho|nueve)")
_PLAIN_CHARS = frozenset("0123456789 +-.()/")
_MAX_FRAGMENT_GAP = 30
_PARSE_BUDGET = 400  # phonenumbers calls per post; bounds the cost of absurd inputs ("five five five ...")
# phonenumbers compiles its metadata's expressions through ``re``'s own cache, which holds 512 and is shared
# with every other module: in a worker the large national patterns fell out of it and were compiled
# again (about 2 ms each). The library's own switch keeps them compiled.
phonenumbers.enable_pattern_cache()
_US_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
             "fixed_line", "mobile")


@dataclass(frozen=True, slots=True)
class FoundPhone:
    """One number found in the normalised text: E.164, where, and whether it was disguised."""

    e164: str
    start: int
    end: int
    obfuscated: bool


@dataclass(frozen=True, slots=True)
class _Chain:
    start: int
    end: int
    plus: bool
    groups: tuple[tuple[str, int, int], ...]  # (digits, start, end) per atom group

    @property
    def digits(self) -> str:
        return "".join(g[0] for g in self.groups)


@lru_cache(maxsize=65536)
def parse_phone(raw: str, region: str = "US") -> str | None:
    """E.164 for a number written plainly (e.g. a post's contact field), or ``None`` if invalid.

    Cached: ``phonenumbers`` costs about a third of a millisecond per call, and the same contacts recur
    across many ads (that recurrence is what entity linking is built on). A plain ten-digit US number,
    the most common case, skips the parser, which would only read it as the national number of
    country code 1 (see :func:`_plain_us_number`).
    """
    if region == "US" and _plain_us_number(raw):
        return "+1" + raw
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _plain_us_number(raw: str) -> bool:
    """Whether ``raw`` is ten digits that ``phonenumbers`` reads as a valid number of the United States.

    Ten digits not starting with 0 or 1 carry no international or national prefix, so the parser's
    result is country code 1 with those digits as national number. Validity is checked for the US
    region only: the general check first has to find which of the 25 countries sharing code 1 the
    number belongs to, which costs four times as much. A number not valid in the US (say Canadian)
    takes the full path, so the answer is the same as the parser's.
    """
    if len(raw) != 10 or not raw.isdigit() or raw[0] in "01":
        return False
    national = raw if raw.isascii() else str(int(raw))  # the library reads other scripts' digits as numbers
    general, types = _us_descriptions()
    return _fits(national, general) and any(_fits(national, desc) for desc in types)


Description = tuple[frozenset[int], re.Pattern[str]]


@lru_cache(maxsize=1)
def _us_descriptions() -> tuple[Description, tuple[Description, ...]]:
    """The United States' number descriptions from ``phonenumbers``' metadata: lengths and pattern of
    any valid number, then of each type of number.

    ``phonenumbers.is_valid_number_for_region(number, "US")`` is true when the national number fits
    the general description and one of the types (fixed line, mobile, toll free, ...), mobile being
    read only when its pattern differs from fixed line's; :func:`_plain_us_number` asks exactly that
    of the same metadata, without building a number object and walking the library's checks type by
    type (a third of the time extraction spent on a new number). A unit test holds the two to the
    same answers.
    """
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("US")
    if metadata is None or metadata.general_desc is None:
        raise RuntimeError("phonenumbers has no metadata for the United States")

    def described(desc: Any) -> Description | None:
        if desc is None or not desc.national_number_pattern:
            return None
        return frozenset(desc.possible_length), re.compile(desc.national_number_pattern)

    names = [n for n in _US_TYPES if n != "mobile" or not metadata.same_mobile_and_fixed_line_pattern]
    general = described(metadata.general_desc)
    if general is None:
        raise RuntimeError("phonenumbers' United States metadata has no general pattern")
    return general, tuple(d for d in (described(getattr(metadata, n)) for n in names) if d is not None)


def _fits(national: str, description: Description) -> bool:
    """``phonenumbers``' test of a national number against one description: length, then the whole pattern."""
    lengths, pattern = description
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


def _chains(text: str) -> list[_Chain]:
    chains = []
    for m in _CHAIN.finditer(text):
        if m.end() - m.start() < 3:
            continue  # every atom is at least one character and gives one digit: fewer than three
        groups = [(token if token[0].isdigit() else _WORD_DIGITS[token], *atom.span())
                  for atom in _ATOM_RE.finditer(text, m.start(), m.end()) for token in (atom.group(),)]
        if sum(len(g[0]) for g in groups) >= 3:
            chains.append(_Chain(m.start(), m.end(), bool(m.group(1)), tuple(groups)))
    return chains


class _Budget:
    """Counts ``phonenumbers`` calls so that one post cannot make extraction slow."""

    def __init__(self, calls: int = _PARSE_BUDGET) -> None:
        self.left = calls

    def valid(self, digits: str, plus: bool, region: str) -> str | None:
        if self.left <= 0:
            return None
        self.left -= 1
        return parse_phone(("+" + digits) if plus else digits, region)


def _numbers_in(chain: _Chain, region: str, budget: _Budget) -> list[tuple[str, int, int]]:
    """Valid numbers inside one chain, trying every group boundary as a start (left to right)."""
    found: list[tuple[str, int, int]] = []
    groups = chain.groups
    i = 0
    while i < len(groups) and budget.left > 0:
        digits = ""
        hit = None
        for j in range(i, len(groups)):
            digits += groups[j][0]
            if len(digits) > 15:
                break
            if len(digits) < 7:
                continue
            e164 = budget.valid(digits, chain.plus and i == 0, region)
            if e164:
                hit = (e164, groups[i][1], groups[j][2], j)
                if len(digits) >= 10:
                    break
        if hit:
            found.append(hit[:3])
            i = hit[3] + 1
        else:
            i += 1
    return found


def _disguised_in_original(norm: NormalizedText, start: int, end: int) -> bool:
    written, _ = norm.evidence(start, end)
    if not _PLAIN_CHARS.issuperset(written):
        return True
    return len(_DIGIT_RUN.findall(written)) > 4


def find_phones(norm: NormalizedText, region: str = "US") -> list[FoundPhone]:
    """Every valid phone number in ``norm.text``, in order of appearance."""
    text = norm.text
    if _THREE_DIGITS.search(text) is None and not _NUMBER_WORD.search(text):
        return []
    chains = _chains(text)
    found: list[FoundPhone] = []
    leftovers: list[_Chain] = []
    budget = _Budget()
    for chain in chains:
        numbers = _numbers_in(chain, region, budget)
        for e164, s, e in numbers:
            # Only the atoms inside the number count: "612-555-0162, I reply" has a word after it.
            obfuscated = _LETTER.search(text, s, e) is not None or _disguised_in_original(norm, s, e)
            found.append(FoundPhone(e164, s, e, obfuscated))
        if not numbers and 3 <= len(chain.digits) < 10:
            leftovers.append(chain)
    found.extend(_split_numbers(leftovers, text, region, budget))
    found.sort(key=lambda p: p.start)
    return found


def _split_numbers(fragments: list[_Chain], text: str, region: str, budget: _Budget) -> list[FoundPhone]:
    """Numbers broken into pieces with words between them ("201 555 text me 0123")."""
    found: list[FoundPhone] = []
    i = 0
    while i < len(fragments):
        digits = fragments[i].digits
        hit = None
        for j in range(i + 1, min(i + 3, len(fragments))):
            gap = text[fragments[j - 1].end : fragments[j].start]
            if len(gap) > _MAX_FRAGMENT_GAP:
                break
            digits += fragments[j].digits
            if len(digits) >= 10:
                e164 = budget.valid(digits, fragments[i].plus, region)
                if e164:
                    hit = (e164, j)
                break
        if hit:
            found.append(FoundPhone(hit[0], fragments[i].start, fragments[hit[1]].end, True))
            i = hit[1] + 1
        else:
            i += 1
    return found
