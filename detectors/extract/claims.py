"""Remember which characters already belong to an extracted value, so one span is read only once.

Several extractors run more than one pattern over the same text (a price with a currency sign, then
a bare rate such as ``150hr``); a later pattern must not read a span an earlier one already took. A
byte per character keeps each check cheap however many values a (possibly hostile) post contains.
"""

from __future__ import annotations

__all__ = ["Claimed"]


class Claimed:
    """Marks over ``[0, length)``: which positions are already part of a found value."""

    __slots__ = ("_marks",)

    def __init__(self, length: int) -> None:
        self._marks = bytearray(length)

    def overlaps(self, start: int, end: int) -> bool:
        return self._marks.find(1, start, max(end, start + 1)) != -1

    def claim(self, start: int, end: int) -> None:
        self._marks[start:end] = b"\x01" * (end - start)
