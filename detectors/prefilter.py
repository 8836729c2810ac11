"""Which of several regular expressions can match a text at all, found in one Hyperscan pass.

Why it exists: extraction runs a dozen expressions over every post (stated ages alone are written a
dozen ways in ten languages), and Python's ``re`` tries each of them at every position of the text,
although on almost every post almost none of them matches. Hyperscan (already the pattern library's
engine, see :mod:`trailhound.detectors.matcher`) scans for all of them at once in a couple of
microseconds. It is compiled in its *prefilter* mode, which may report an expression that does not
match (look-arounds and back-references are widened) but never misses one that does, so ``re``
still decides every value and span: the prefilter only skips the expressions that cannot match.
``HS_FLAG_UCP`` gives ``\\b``, ``\\w``, ``\\d`` and ``\\s`` the Unicode meaning they have in ``re``.
An expression Hyperscan cannot compile is simply always run.

``unicode=False`` leaves ``HS_FLAG_UCP`` out, for expressions whose classes are spelled out in ASCII
and whose only Unicode-dependent part is ``\\b`` next to an ASCII word (the normaliser's steps): every
character ``re`` counts as outside a word is outside a word in Hyperscan's ASCII reading too, so no
match is missed, while Unicode's reading of ``\\b`` differs from ``re``'s for a few marks that
``re`` keeps out of words (combining vowel signs), where Hyperscan would miss a match.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import hyperscan

__all__ = ["RegexPrefilter"]

_FLAGS = hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_UCP | hyperscan.HS_FLAG_SINGLEMATCH
_RE_FLAGS = ((re.IGNORECASE, hyperscan.HS_FLAG_CASELESS), (re.DOTALL, hyperscan.HS_FLAG_DOTALL),
             (re.MULTILINE, hyperscan.HS_FLAG_MULTILINE))
_UNSUPPORTED = re.VERBOSE | re.ASCII | re.LOCALE


class RegexPrefilter:
    """``candidates(text)``: the indices of ``patterns`` that may match ``text`` (a superset of those that do)."""

    def __init__(self, patterns: Sequence[re.Pattern[str]], *, unicode: bool = True) -> None:
        flags = _FLAGS if unicode else _FLAGS & ~hyperscan.HS_FLAG_UCP
        self._always: frozenset[int] = frozenset()
        compiled: list[int] = []
        for i, pattern in enumerate(patterns):
            if pattern.flags & _UNSUPPORTED or not _compiles(pattern, flags):
                self._always |= {i}
            else:
                compiled.append(i)
        self._database: hyperscan.Database | None = None
        if compiled:
            self._database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            self._database.compile(expressions=[patterns[i].pattern.encode() for i in compiled], ids=compiled,
                                   flags=[_hs_flags(patterns[i], flags) for i in compiled])

    def candidates(self, text: str) -> set[int]:
        found = set(self._always)
        if self._database is not None and text:
            self._database.scan(text.encode("utf-8", "replace"), match_event_handler=_add, context=found)
        return found


def _hs_flags(pattern: re.Pattern[str], flags: int = _FLAGS) -> int:
    for re_flag, hs_flag in _RE_FLAGS:
        if pattern.flags & re_flag:
            flags |= hs_flag
    return flags


def _compiles(pattern: re.Pattern[str], flags: int) -> bool:
    try:
        hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK).compile(expressions=[pattern.pattern.encode()],
                                                                 flags=[_hs_flags(pattern, flags)])
    except hyperscan.error:
        return False
    return True


def _add(index: int, _from: int, _to: int, _flags: int, found: Any) -> None:
    found.add(index)  # ``found`` is the set ``candidates`` passes as the scan's context
