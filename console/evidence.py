"""The post text as written, cut into pieces that say which patterns matched them and which hold contacts.

Indicator spans are offsets into the post text as written (title, blank line, body), so the console can
highlight each piece of evidence exactly where the analyst reads it and label it with every pattern
that matched it (spans may overlap). Contacts (phones, e-mails, handles) are found again with the
pipeline's own extractor, so a number written in words or split up is masked like a plain one, and the
page shows them only when the analyst asks (an audited reveal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trailhound.detectors.extract import extract_entities
from trailhound.detectors.normalize import normalize

__all__ = ["CONTACT_KINDS", "Piece", "contact_spans", "mask", "pieces"]

CONTACT_KINDS = ("phone", "email", "handle")


@dataclass
class Piece:
    """A run of the text with the same highlighting: the patterns covering it and the contact it is part of."""

    text: str
    patterns: list[dict[str, str]] = field(default_factory=list)
    contact_kind: str = ""  # phone, email or handle when the piece is personal data
    ending: list[dict[str, str]] = field(default_factory=list)  # the patterns whose evidence ends here


def contact_spans(text: str, hints: dict[str, Any] | None = None) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every phone, e-mail and handle written in ``text``, in original offsets."""
    norm = normalize(text)
    spans = []
    for mention in extract_entities(norm, hints or {}).mentions:
        if mention.kind in CONTACT_KINDS and mention.start >= 0:
            start, end = norm.original_span(mention.start, mention.end)
            if end > start:
                spans.append((start, end, mention.kind))
    spans.sort()
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in spans:  # one contact may be read two ways (an e-mail's local part as a handle)
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), last[2])
        else:
            merged.append((start, end, kind))
    return merged


def pieces(text: str, indicators: list[dict[str, Any]], contacts: list[tuple[int, int, str]],
           labels: dict[str, str] | None = None) -> list[Piece]:
    """Cut ``text`` at every indicator and contact boundary; each piece knows what covers it."""
    labels = labels or {}
    spans = []
    for indicator in indicators:
        start, end = (indicator.get("span") or [0, 0])[:2]
        start, end = max(0, int(start)), min(len(text), int(end))
        if end > start:
            spans.append((start, end, indicator))
    cuts = {0, len(text)}
    for start, end, _ in spans:
        cuts.update((start, end))
    for start, end, _ in contacts:
        cuts.update((start, end))
    ordered = sorted(c for c in cuts if 0 <= c <= len(text))
    result: list[Piece] = []
    for a, b in zip(ordered, ordered[1:], strict=False):
        covering = [(end, _label(ind, labels)) for start, end, ind in spans if start <= a and b <= end]
        piece = Piece(text[a:b], [label for _, label in covering],
                      ending=[label for end, label in covering if end == b])
        piece.contact_kind = next((kind for start, end, kind in contacts if start <= a and b <= end), "")
        result.append(piece)
    return result


def _label(indicator: dict[str, Any], labels: dict[str, str]) -> dict[str, str]:
    category = indicator["category"]
    return {"pattern_id": indicator["pattern_id"], "category": category,
            "label": labels.get(category, category.replace("_", " "))}


def mask(value: str, keep: int = 2) -> str:
    """A contact with all but its last ``keep`` letters or digits hidden."""
    visible = value[-keep:] if len(value) > keep + 2 else ""
    return "•" * min(max(len(value) - len(visible), 3), 10) + visible
