"""Partners' watchlists: contacts and images a partner is already investigating, matched on every post.

A partner (an NGO, a hotline, a police unit) hands over phones, e-mails, handles and image hashes, each
with its case reference and who may see a match. Values are normalised exactly like the extractors
normalise what posts say, so a watched number matches however an ad spells it (words, emoji digits,
split up); the post side needs nothing extra because enrichment already decoded it. Image hashes match
by Hamming distance through :class:`ImageIndex`, not a scan.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from trailhound.detectors.extract.contacts import find_emails, find_handles
from trailhound.detectors.extract.phones import find_phones, parse_phone
from trailhound.detectors.linkage.image_index import ImageIndex
from trailhound.detectors.linkage.keys import IMAGE_RADIUS, parse_phash
from trailhound.detectors.normalize import normalize
from trailhound.ids import stable_id

__all__ = ["WATCH_KINDS", "WatchEntry", "WatchMatch", "Watchlist", "WatchlistError", "parse_entries"]

WATCH_KINDS = ("phone", "email", "handle", "image")


class WatchlistError(ValueError):
    """A watchlist line Trailhound cannot use, with the line number and why."""


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """One watched value with the partner's case reference and who may see a match."""

    kind: str
    value: str  # normalised: E.164 phone, lower-case e-mail/handle, 16 hex characters for an image
    case_ref: str
    partner: str
    visible_to: tuple[str, ...]
    note: str = ""

    @property
    def entry_id(self) -> str:
        return stable_id("trailhound.watch", self.partner, self.kind, self.value, self.case_ref)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "case_ref": self.case_ref, "partner": self.partner,
                "visible_to": list(self.visible_to), "note": self.note}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WatchEntry:
        return cls(data["kind"], data["value"], data["case_ref"], data.get("partner", ""),
                   tuple(data.get("visible_to", ())), data.get("note", ""))


@dataclass(frozen=True, slots=True)
class WatchMatch:
    """A post value that matched a watched one (``distance`` in bits for images, else 0)."""

    entry: WatchEntry
    found: str
    distance: int = 0

    def to_json(self) -> dict[str, Any]:
        return {**self.entry.to_json(), "found": self.found, "distance": self.distance,
                "entry_id": self.entry.entry_id}


def normalise_value(kind: str, raw: str, region: str = "US") -> str | None:
    """The canonical form of a watched value, as the extractors would write it; None if it is not one."""
    text = str(raw).strip()
    if kind == "phone":
        e164 = parse_phone(text, region)
        if e164 is None:
            e164 = next((p.e164 for p in find_phones(normalize(text), region)), None)
        return e164
    if kind == "email":
        return next((c.value for c in find_emails(normalize(text))), None)
    if kind == "handle":
        found = find_handles(normalize("@" + text.lstrip("@")), [])
        return found[0].value if found else None
    if kind == "image":
        phash = parse_phash(text)
        return f"{phash:016x}" if phash is not None else None
    return None


def parse_entries(lines: Iterable[str]) -> list[WatchEntry]:
    """Watch entries from JSON lines ``{"kind", "value", "case_ref", "partner", "visible_to", "note"}``."""
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            kind = str(data["kind"]).lower()
            raw, case_ref, partner = data["value"], str(data["case_ref"]), str(data["partner"])
            visible_to = data.get("visible_to") or [partner]
        except (ValueError, KeyError, TypeError) as exc:
            raise WatchlistError(f"line {number}: needs kind, value, case_ref and partner ({exc!r})") from exc
        if kind not in WATCH_KINDS:
            raise WatchlistError(f"line {number}: kind {kind!r} is not one of {', '.join(WATCH_KINDS)}")
        if not isinstance(visible_to, list) or not all(isinstance(v, str) for v in visible_to):
            raise WatchlistError(f"line {number}: visible_to must be a list of names")
        value = normalise_value(kind, str(raw), str(data.get("country") or "US"))
        if value is None:
            raise WatchlistError(f"line {number}: {raw!r} is not a valid {kind}")
        entries.append(WatchEntry(kind, value, case_ref, partner, tuple(visible_to), str(data.get("note", ""))))
    return entries


class Watchlist:
    """Every loaded entry, by exact value for contacts and in an image index for image hashes."""

    def __init__(self, entries: Iterable[WatchEntry] = (), image_radius: int = IMAGE_RADIUS) -> None:
        self.image_radius = image_radius
        self._exact: dict[tuple[str, str], dict[str, WatchEntry]] = {}
        self._images: ImageIndex[WatchEntry] = ImageIndex()
        self._ids: set[str] = set()
        for entry in entries:
            self.add(entry)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, entry: WatchEntry) -> None:
        if entry.entry_id in self._ids:
            return
        self._ids.add(entry.entry_id)
        if entry.kind == "image":
            phash = parse_phash(entry.value)
            if phash is not None:
                self._images.add(phash, entry)
        else:
            self._exact.setdefault((entry.kind, entry.value.lower()), {})[entry.entry_id] = entry

    def match(self, entities: dict[str, Any], images: Iterable[Any]) -> list[WatchMatch]:
        """Watched values among a post's extracted contacts and image hashes."""
        matches = []
        for kind, field in (("phone", "phones"), ("email", "emails"), ("handle", "handles")):
            for value in entities.get(field) or ():
                for entry in self._exact.get((kind, str(value).lower()), {}).values():
                    matches.append(WatchMatch(entry, str(value)))
        for image in images:
            phash = parse_phash(image.get("phash") if isinstance(image, dict) else image)
            if phash is None:
                continue
            for distance, _, entry in self._images.search(phash, self.image_radius):
                matches.append(WatchMatch(entry, f"{phash:016x}", distance))
        return matches
