"""Caps on what one post may cost, applied before normalisation and extraction.

Why it exists: the work per post (normalising, finding phones and prices, matching, the text model)
and the size of its enriched record grow with its text and contact lists. Unbounded, one crafted post
cost seconds of a worker and an enriched record over Kafka's limit, so an ad padded with 87,000 × "$1 "
was dead-lettered *instead of scored* — padding became a way to evade detection. So, before the
expensive steps:

* at most ``max_contacts`` entries of each contact list (phones, e-mails, handles) and of images;
* text longer than ``max_text_chars`` first loses its repetition (a word or a group of up to four
  words repeated more than ``MAX_REPEATS`` times in a row is kept ``MAX_REPEATS`` times), which is
  what padding is made of; if it is still too long, its beginning and end are kept, where ads put
  their message.

The post is then scored on its meaningful part, and the record says what was cut (``limited``).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MAX_REPEATS", "bounded_post", "bounded_text"]

MAX_REPEATS = 3
MAX_PERIOD = 4  # longest group of words recognised as repeated padding
_TOKEN = re.compile(r"\S+\s*")
_GAP = "\n…\n"


def bounded_text(text: str, max_chars: int) -> str:
    """``text`` if short enough; else without long runs of repeats, and if still too long, head and tail."""
    if len(text) <= max_chars:
        return text
    text = _without_repeats(text)
    if len(text) <= max_chars:
        return text
    half = (max_chars - len(_GAP)) // 2
    return text[:half] + _GAP + text[len(text) - half:]


def _without_repeats(text: str) -> str:
    pieces = _TOKEN.findall(text)
    lead = text[: len(text) - len(text.lstrip())]
    words = [p.strip() for p in pieces]
    n = len(words)
    kept: list[str] = []
    i = 0
    while i < n:
        for period in range(1, MAX_PERIOD + 1):
            if i + period * (MAX_REPEATS + 1) > n or words[i + period] != words[i]:
                continue  # cheap test first: most words do not start a run
            unit = words[i:i + period]
            end = i + period
            while end + period <= n and words[end:end + period] == unit:
                end += period
            if (end - i) // period > MAX_REPEATS:
                kept.extend(pieces[i:i + period * MAX_REPEATS])
                i = end
                break
        else:
            kept.append(pieces[i])
            i += 1
    return lead + "".join(kept)


def bounded_post(post: dict[str, Any], max_contacts: int, max_text_chars: int) -> tuple[dict[str, Any], dict[str, int]]:
    """A copy of ``post`` within the caps (body and title cut as :func:`bounded_text` does), and what was cut.

    The second value maps each capped field to its original size (entries or characters); it is empty
    for an ordinary post, which comes back unchanged.
    """
    limited: dict[str, int] = {}
    changes: dict[str, Any] = {}
    contact = post.get("contact")
    if isinstance(contact, dict):
        capped = {}
        for name, values in contact.items():
            if isinstance(values, list) and len(values) > max_contacts:
                limited[f"contact.{name}"] = len(values)
                values = values[:max_contacts]
            capped[name] = values
        if limited:
            changes["contact"] = capped
    images = post.get("images")
    if isinstance(images, list) and len(images) > max_contacts:
        limited["images"] = len(images)
        changes["images"] = images[:max_contacts]
    for name, share in (("title", 0.1), ("body", 1.0)):
        value = post.get(name)
        cap = max(1, int(max_text_chars * share))
        if isinstance(value, str) and len(value) > cap:
            limited[name] = len(value)
            changes[name] = bounded_text(value, cap)
    return ({**post, **changes} if changes else post), limited
