"""Split a request body into posts as it arrives: JSON lines, the items of a JSON array, or one object.

Why it exists: reading a whole request and then parsing it costs memory in proportion to its size and
its number of items (a 4 MiB array of zeros once cost close to 1 GiB). Fed chunk by chunk, this keeps
only the post being read: a line or array item is handed on as soon as it is complete, a line over
the per-post limit is kept only up to the limit (its size is still reported), and an array item that
cannot be read ends the body with a reason naming the item. Array items are found with the standard
library's ``json.JSONDecoder.raw_decode``, which reads one value at a position and says where it ends.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass

__all__ = ["BodyItems", "BodyItemsError", "Item"]

_WHITESPACE = " \t\r\n"
_NUMBER_START = "-0123456789tfn"  # numbers and the literals true, false, null
_NUMBER_CHARS = "0123456789.eE+-truefalsn"
_PENDING_ITEMS = 4  # how many per-post limits of an unfinished item are kept before giving up on it


@dataclass(frozen=True, slots=True)
class Item:
    """One line or array item (numbered from 1); ``oversize`` items hold only their first bytes."""

    number: int
    raw: bytes
    size: int
    oversize: bool = False
    unreadable: str = ""
    """Why the item could not be read (then ``raw`` holds its first bytes), or empty."""


class BodyItemsError(Exception):
    """Item ``number`` cannot be read, so nothing after it can be found; ``items`` were complete before it."""

    def __init__(self, number: int, reason: str, raw: bytes = b"") -> None:
        super().__init__(reason)
        self.number, self.reason, self.raw = number, reason, raw
        self.items: list[Item] = []


class BodyItems:
    """``feed(chunk)`` returns the items completed by that chunk; ``end()`` the last ones."""

    def __init__(self, content_type: str, max_item_bytes: int) -> None:
        self.max_item_bytes = max_item_bytes
        self._lines = any(kind in content_type for kind in ("ndjson", "jsonl", "json-seq"))
        self._mode = "lines" if self._lines else ""  # "", "lines", "single" or "array" once known
        self._line = bytearray()
        self._line_size = 0
        self._number = 0
        self._text = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._json = json.JSONDecoder()
        self._array_state = "open"  # open → item → comma → … → closed

    def feed(self, chunk: bytes) -> list[Item]:
        if not self._mode:
            head = chunk.lstrip()
            if not head:
                return []
            self._mode = "array" if head.startswith(b"[") else "single"
        if self._mode == "array":
            return self._feed_array(chunk, final=False)
        return self._feed_lines(chunk)

    def end(self) -> list[Item]:
        if self._mode == "array":
            items = self._feed_array(b"", final=True)
            if self._array_state != "closed":
                error = BodyItemsError(self._number + 1, "the JSON array is not closed with ]")
                error.items = items
                raise error
            return items
        items = []
        if self._line.strip() or self._line_size > len(self._line):
            items.append(self._emit_line())
        return items

    # -- lines and single objects ------------------------------------------------------------------

    def _feed_lines(self, chunk: bytes) -> list[Item]:
        items = []
        parts = chunk.split(b"\n") if self._mode == "lines" else [chunk]
        for n, part in enumerate(parts):
            if n:  # a newline ended the previous part
                if self._line.strip() or self._line_size > len(self._line):
                    items.append(self._emit_line())
                else:
                    self._line.clear()
                    self._line_size = 0
            room = self.max_item_bytes + 1 - len(self._line)
            if room > 0:
                self._line += part[:room]
            self._line_size += len(part)
        return items

    def _emit_line(self) -> Item:
        self._number += 1
        item = Item(self._number, bytes(self._line), self._line_size, self._line_size > self.max_item_bytes)
        self._line.clear()
        self._line_size = 0
        return item

    # -- JSON arrays ---------------------------------------------------------------------------------

    def _feed_array(self, chunk: bytes, final: bool) -> list[Item]:
        items: list[Item] = []
        try:
            try:
                self._text += self._decoder.decode(chunk, final)
            except UnicodeDecodeError as exc:  # the items before the bad bytes still count
                self._text += chunk[: exc.start].decode("utf-8", "ignore")
                self._parse_array(items, final)
                raise BodyItemsError(self._number + 1, "the body is not valid UTF-8") from None
            self._parse_array(items, final)
        except BodyItemsError as exc:
            exc.items = items
            raise
        return items

    def _parse_array(self, items: list[Item], final: bool) -> None:
        text, pos = self._text, 0
        while True:
            while pos < len(text) and text[pos] in _WHITESPACE:
                pos += 1
            if pos >= len(text):
                break
            if self._array_state == "open":
                if text[pos] != "[":
                    raise BodyItemsError(1, "the body is not a JSON array")
                self._array_state, pos = "first", pos + 1
            elif self._array_state == "closed":
                raise BodyItemsError(self._number + 1, "text after the end of the JSON array")
            elif self._array_state in ("first", "comma") and text[pos] == "]":
                if self._array_state == "comma":
                    raise BodyItemsError(self._number + 1, "a comma before ] with no item after it")
                self._array_state, pos = "closed", pos + 1
            elif self._array_state == "item":
                if text[pos] not in ",]":
                    raise BodyItemsError(self._number + 1, "array items must be separated by commas")
                self._array_state = "comma" if text[pos] == "," else "closed"
                pos += 1
            else:
                try:
                    end = self._item_end(text, pos, final)
                except BodyItemsError as exc:
                    exc.raw = text[pos: pos + self.max_item_bytes].encode("utf-8", "surrogatepass")
                    raise
                if end is None:
                    break  # the item continues in the next chunk
                self._number += 1
                raw = text[pos:end].encode("utf-8", "surrogatepass")
                items.append(Item(self._number, raw, len(raw)))
                self._array_state, pos = "item", end
        self._text = text[pos:]

    def _item_end(self, text: str, pos: int, final: bool) -> int | None:
        """Where the array item starting at ``pos`` ends, or None if it may go on in the next chunk."""
        number = self._number + 1
        pending = len(text) - pos
        try:
            _, end = self._json.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            if not final and pending <= _PENDING_ITEMS * self.max_item_bytes:
                return None  # most likely cut by the chunk boundary: wait for more
            raise BodyItemsError(number, f"item cannot be read within {pending} bytes: {exc.msg}") from None
        except RecursionError:
            raise BodyItemsError(number, "item is nested too deeply to read") from None
        except ValueError as exc:  # e.g. an integer with more digits than Python converts
            raise BodyItemsError(number, f"item cannot be read: {str(exc)[:120]}") from None
        if not final and text[pos] in _NUMBER_START and not text[end:].strip(_NUMBER_CHARS):
            return None  # a number or literal may go on in the next chunk ("1" of "1.5")
        return end
