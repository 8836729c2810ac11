"""The word lists the normaliser folds with: look-alike letters, emoji codes, slang, indicator words.

* **Look-alike letters** come from the Unicode confusables data as packaged by
  ``confusable-homoglyphs`` (maintained, 145 KB, the data inside the wheel), not from a hand list, so
  every script's look-alikes fold: Cyrillic, Greek, Armenian, Georgian, Cherokee, Latin small
  capitals, mathematical letters. A character folds to the ASCII letter (or digit) it is confusable
  with, following the data's chains (``в`` → ``ʙ`` → ``b``); a lower-case letter whose capital is
  confusable (``н`` from ``Н`` = ``H``) folds too, since ads are case-folded before matching.
  :func:`latin_lookalikes` holds the Latin-script ones (always folded), :func:`script_lookalikes` the
  other scripts' (folded only where a word is written to look Latin, see ``detectors.normalize``).
* **Emoji codes and slang** come from ``detectors/lexicon.yaml``, which names its sources.
* **Indicator words** are the words of the bundled pattern library (literal forms and the plain words
  of regex forms): the normaliser rejoins a word broken by one mark (``yo-ung``) or spaced letters
  running into the next word only when the result is one of them, so ordinary hyphenated words and
  e-mail domains stay as written.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import yaml
from confusable_homoglyphs import categories, confusables

__all__ = ["emoji_words", "indicator_vocabulary", "latin_lookalikes", "script_lookalikes", "slang_words"]

_HERE = Path(__file__).resolve().parent
_LEXICON = _HERE / "lexicon.yaml"
_PATTERNS = _HERE / "patterns"
_SMALL_CAPITAL = re.compile(r"LATIN LETTER SMALL CAPITAL ([A-Z])")
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, dict[str, str]]:
    with _LEXICON.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return {"emoji": dict(data.get("emoji") or {}), "slang": dict(data.get("slang") or {})}


def emoji_words() -> dict[str, str]:
    """Emoji → the word ads use it for (``🐣`` → ``young``)."""
    return _lexicon()["emoji"]


def slang_words() -> dict[str, str]:
    """Slang or coded spelling → the plain word (``mngr`` → ``manager``)."""
    return _lexicon()["slang"]


def _ascii_target(ch: str, data: dict[str, list[dict[str, str]]], depth: int = 3) -> str | None:
    """The ASCII letter (preferred) or digit ``ch`` is confusable with, following chains of the data."""
    if ch.lower() in _ASCII_ALNUM:
        return ch.lower()
    if depth == 0:
        return None
    found: list[str] = []
    for glyph in data.get(ch, ()):
        c = glyph["c"]
        if len(c) != 1:
            continue
        target = _ascii_target(c, data, depth - 1)
        if target:
            found.append(target)
    letters = [t for t in found if t.isalpha()]
    if letters or found:
        return (letters or found)[0]
    return None


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, str], dict[str, str]]:
    data = confusables.confusables_data
    latin: dict[str, str] = {}
    other: dict[str, str] = {}
    for ch in data:
        if len(ch) != 1 or ch.isascii() or not unicodedata.category(ch).startswith("L"):
            continue
        target = _ascii_target(ch, data)
        if target is None:
            continue
        table = latin if categories.alias(ch) == "LATIN" else other
        table.setdefault(ch, target)
        low = ch.casefold()
        if len(low) == 1 and not low.isascii() and low not in data:
            table.setdefault(low, target)
    # Small capitals are missing from the confusables data; their Unicode names say which letter they are.
    for block in ((0x0250, 0x02B0), (0x1D00, 0x1D80), (0xA730, 0xA7FF)):
        for code in range(*block):
            m = _SMALL_CAPITAL.fullmatch(unicodedata.name(chr(code), ""))
            if m:
                latin.setdefault(chr(code), m.group(1).lower())
    return latin, other


def latin_lookalikes() -> dict[str, str]:
    """Latin-script letters that look like ASCII ones (small capitals, ``ɑ``, ``ı``)."""
    return _tables()[0]


def script_lookalikes() -> dict[str, str]:
    """Letters of other scripts that look like ASCII ones (Cyrillic ``а``, Armenian ``ո``, Greek ``ο``)."""
    return _tables()[1]


_REGEX_ESCAPE = re.compile(r"\\[a-zA-Z]|\{\{\w+\}\}|\(\?(?:[:=!]|<[=!])")
_PLAIN_WORD = re.compile(r"[a-z]{4,}")


@lru_cache(maxsize=1)
def indicator_vocabulary() -> frozenset[str]:
    """Words of four letters or more in the bundled pattern library and the lexicon."""
    words: set[str] = set(slang_words().values()) | set(emoji_words().values())
    for path in sorted(_PATTERNS.glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            body = yaml.safe_load(fh) or {}
        for pattern in body.get("patterns") or ():
            for form in pattern.get("match") or ():
                text = str(form.get("literal") or form.get("regex") or "")
                text = _REGEX_ESCAPE.sub(" ", text.lower())
                words.update(_PLAIN_WORD.findall(text))
    return frozenset(words)
