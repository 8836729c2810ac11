"""E-mail addresses and social-media handles, including their spelled-out evasive forms.

Investigators link ads through shared contacts, so each value is reduced to one canonical key:
``name@example.com`` for ``name (at) example dot com``, and ``platform:name`` for ``snap: name`` or
``IG - name``. Plain regular expressions suffice here (the forms are few and regular). Values are
located in the normalised text, then read again from the original span folded *without* leetspeak,
so that ``jane7@example.com`` keeps its digit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from trailhound.detectors.extract.claims import Claimed
from trailhound.detectors.normalize import NormalizedText, normalize

__all__ = ["FoundContact", "find_emails", "find_handles"]

_TLDS = r"com|net|org|edu|gov|io|co|us|uk|ca|info|me|biz|xyz|de|fr|es|mx|au|in|ru|app|dev|online|site"
_EMAIL = re.compile(r"(?<![a-z0-9._%+-])([a-z0-9][a-z0-9._%+-]*)@([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})\b")
_AT = r"(?:\s*[(\[{<]\s*at\s*[)\]}>]\s*|\s+at\s+|\s*@\s*)"
_DOT = r"(?:\s*[(\[{<]\s*dot\s*[)\]}>]\s*|\s+dot\s+|\s*\.\s*)"
_SPELLED_EMAIL = re.compile(
    rf"(?<![a-z0-9._%+-])([a-z0-9][a-z0-9._%+-]*){_AT}([a-z0-9-]+(?:{_DOT}[a-z0-9-]+)*?){_DOT}({_TLDS})\b"
)
_NOT_A_MAILBOX = frozenset(
    [
        "me", "us", "you", "him", "her", "them", "it", "here", "there", "home", "least", "all", "work",
        "night", "noon", "9", "the", "a", "an", "my", "our", "your", "hotel", "place", "house",
        "apartment"
    ]
)

_PLATFORMS = {
    "snapchat": "snapchat", "snap": "snapchat", "sc": "snapchat", "instagram": "instagram",
    "insta": "instagram", "ig": "instagram", "kik": "kik", "telegram": "telegram", "tg": "telegram",
    "whatsapp": "whatsapp", "wa": "whatsapp", "twitter": "twitter", "onlyfans": "onlyfans",
    "of": "onlyfans", "tiktok": "tiktok", "wechat": "wechat", "signal": "signal", "line": "line",
}
# Short or everyday words count as a platform only with an explicit ":" or "@".
_NEEDS_MARK = frozenset({"sc", "tg", "wa", "of", "signal", "line", "twitter"})
_HANDLE_AFTER_PLATFORM = re.compile(  # the look-ahead lets ``re`` pass words no platform name starts like
    r"\b(?=[" + "".join(sorted({name[0] for name in _PLATFORMS})) + r"])"
    r"(" + "|".join(sorted(_PLATFORMS, key=len, reverse=True)) + r")\b"
    r"(\s*(?:[:=\-]|\bis\b|\bid\b)?\s*)(@?)([a-z0-9][a-z0-9_.]{2,29})"
)
_BARE_HANDLE = re.compile(r"(?<![a-z0-9._%+-])@([a-z0-9_][a-z0-9_.]{2,29})")
_NOT_A_HANDLE = frozenset(
    [
        "me", "you", "us", "now", "only", "and", "the", "for", "add", "dm", "msg", "text", "call",
        "here", "there", "with", "please", "pls", "daily", "today", "tonight", "available", "is", "my",
        "our", "your", "at", "or", "to"
    ]
)


@dataclass(frozen=True, slots=True)
class FoundContact:
    """A canonical contact value, where it sits in the normalised text, and whether it was spelled out."""

    value: str
    start: int
    end: int
    obfuscated: bool


def _exact(norm: NormalizedText, start: int, end: int, read: Callable[[str], str | None]) -> str | None:
    """Re-read a value from the original text folded without leetspeak (digits stay digits)."""
    written, _ = norm.evidence(start, end)
    return read(normalize(written, fold_leet=False).text)


def _read_email(text: str) -> str | None:
    m = _EMAIL.search(text)
    return f"{m.group(1)}@{m.group(2)}" if m else None


def _read_spelled_email(text: str) -> str | None:
    m = _SPELLED_EMAIL.search(text)
    if m is None:
        return None
    return f"{m.group(1)}@{re.sub(_DOT, '.', m.group(2))}.{m.group(3)}"


def find_emails(norm: NormalizedText) -> list[FoundContact]:
    """Plain and spelled-out (``name at example dot com``) e-mail addresses."""
    text = norm.text
    found: list[FoundContact] = []
    taken = Claimed(len(text))
    if "@" in text:
        for m in _EMAIL.finditer(text):
            value = _exact(norm, m.start(), m.end(), _read_email) or f"{m.group(1)}@{m.group(2)}"
            found.append(FoundContact(value, m.start(), m.end(), False))
            taken.claim(m.start(), m.end())
    if " dot " in text or "(dot)" in text or "[dot]" in text or " at " in text or "(at)" in text \
            or "[at]" in text:
        for m in _SPELLED_EMAIL.finditer(text):
            if taken.overlaps(m.start(), m.start() + 1) or m.group(1) in _NOT_A_MAILBOX:
                continue
            spelled = _exact(norm, m.start(), m.end(), _read_spelled_email) or _read_spelled_email(m.group())
            if spelled:
                found.append(FoundContact(spelled, m.start(), m.end(), True))
    found.sort(key=lambda c: c.start)
    return found


def _read_handle(text: str) -> str | None:
    m = _HANDLE_AFTER_PLATFORM.search(text)
    if m is not None:
        return f"{_PLATFORMS[m.group(1)]}:{m.group(4).rstrip('.')}"
    m = _BARE_HANDLE.search(text)
    return "@" + m.group(1).rstrip(".") if m else None


def find_handles(norm: NormalizedText, emails: list[FoundContact]) -> list[FoundContact]:
    """``platform:name`` for handles named with a platform, ``@name`` for bare at-handles."""
    text = norm.text
    found: list[FoundContact] = []
    taken = Claimed(len(text))
    for e in emails:
        taken.claim(e.start, e.end)
    for m in _HANDLE_AFTER_PLATFORM.finditer(text):
        platform, mark, at, name = m.group(1), m.group(2).strip(), m.group(3), m.group(4).rstrip(".")
        if platform in _NEEDS_MARK and not (mark or at):
            continue
        if name in _NOT_A_HANDLE or name in _PLATFORMS or name.isdigit():
            continue
        if taken.overlaps(m.start(), m.start() + 1):
            continue
        value = _exact(norm, m.start(), m.end(), _read_handle) or f"{_PLATFORMS[platform]}:{name}"
        found.append(FoundContact(value, m.start(), m.end(), False))
        taken.claim(m.start(), m.end())
    if "@" in text:
        for m in _BARE_HANDLE.finditer(text):
            if taken.overlaps(m.start(), m.start() + 1):
                continue
            value = _exact(norm, m.start(), m.end(), _read_handle) or "@" + m.group(1).rstrip(".")
            found.append(FoundContact(value, m.start(), m.end(), False))
    found.sort(key=lambda c: c.start)
    return found
