"""Entity extraction: the contacts, prices, ages and places an ad states, each in one canonical form.

Runs once per post (in the enrichment stage) over the normalised text, so that every detector and the
per-contact linking see the same values: one E.164 number however it was spelled, one e-mail however it
was disguised. Each value also keeps *where* it was found (a :class:`Mention` in normalised-text
coordinates), so proximity patterns and evidence display can point at it. The post's structured
``contact``/``location`` fields are merged in through ``hints``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trailhound.detectors.extract.amounts import Price, amount_candidates, find_ages, find_prices
from trailhound.detectors.extract.contacts import find_emails, find_handles
from trailhound.detectors.extract.phones import find_phones, parse_phone
from trailhound.detectors.extract.places import canonical_place, find_places
from trailhound.detectors.normalize import NormalizedText, normalize

__all__ = ["Entities", "Mention", "Price", "extract_entities"]


@dataclass(frozen=True, slots=True)
class Mention:
    """Where one extracted value was written, in normalised-text offsets (``-1`` when from hints)."""

    kind: str  # phone | email | handle | price | age | location
    value: str
    start: int
    end: int
    obfuscated: bool = False


@dataclass(frozen=True, slots=True)
class Entities:
    """Everything extracted from one post, de-duplicated, in order of first appearance."""

    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()
    prices: tuple[Price, ...] = ()
    ages: tuple[int, ...] = ()
    locations: tuple[str, ...] = ()
    contact_obfuscated: bool = False
    mentions: tuple[Mention, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "phones": list(self.phones),
            "emails": list(self.emails),
            "handles": list(self.handles),
            "prices": [p.to_json() for p in self.prices],
            "ages": list(self.ages),
            "locations": list(self.locations),
            "contact_obfuscated": self.contact_obfuscated,
            "mentions": [[m.kind, m.value, m.start, m.end, int(m.obfuscated)] for m in self.mentions],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entities:
        return cls(
            phones=tuple(data.get("phones", ())),
            emails=tuple(data.get("emails", ())),
            handles=tuple(data.get("handles", ())),
            prices=tuple(Price.from_json(p) for p in data.get("prices", ())),
            ages=tuple(int(a) for a in data.get("ages", ())),
            locations=tuple(data.get("locations", ())),
            contact_obfuscated=bool(data.get("contact_obfuscated", False)),
            mentions=tuple(Mention(k, v, int(s), int(e), bool(o)) for k, v, s, e, o in data.get("mentions", ())),
        )

    def mentions_of(self, kind: str) -> tuple[Mention, ...]:
        return tuple(m for m in self.mentions if m.kind == kind)


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _region(hints: dict[str, Any]) -> str:
    country = str(hints.get("country") or (hints.get("location") or {}).get("country") or "US").upper()
    return country if len(country) == 2 and country.isalpha() else "US"


def extract_entities(norm: NormalizedText, hints: dict[str, Any] | None = None) -> Entities:
    """Extract contacts, prices, ages and places from ``norm``, merging the post's structured fields."""
    hints = hints or {}
    region = _region(hints)
    text = norm.text
    mentions: list[Mention] = []


    for p in find_phones(norm, region):
        mentions.append(Mention("phone", p.e164, p.start, p.end, p.obfuscated))
    emails = find_emails(norm)
    for c in emails:
        mentions.append(Mention("email", c.value, c.start, c.end, c.obfuscated))
    for c in find_handles(norm, emails):
        mentions.append(Mention("handle", c.value, c.start, c.end, c.obfuscated))
    amounts = amount_candidates(text)
    prices = find_prices(text, amounts)
    for fp in prices:
        mentions.append(Mention("price", f"{fp.price.amount:g} {fp.price.currency} {fp.price.unit or ''}".strip(),
                                fp.start, fp.end))
    for a in find_ages(text, amounts):
        mentions.append(Mention("age", str(a.age), a.start, a.end))
    for place in find_places(text):
        mentions.append(Mention("location", place.name, place.start, place.end))
    mentions.extend(_hint_mentions(hints, region))
    mentions.sort(key=lambda m: (m.start < 0, m.start))

    by_kind: dict[str, list[str]] = {}
    for m in mentions:
        by_kind.setdefault(m.kind, []).append(m.value)

    def values(kind: str) -> tuple[str, ...]:
        return _unique(by_kind.get(kind, []))

    return Entities(
        phones=values("phone"),
        emails=values("email"),
        handles=values("handle"),
        prices=tuple(fp.price for fp in prices),
        ages=tuple(int(v) for v in values("age")),
        locations=values("location"),
        contact_obfuscated=any(m.obfuscated for m in mentions if m.kind in ("phone", "email", "handle")),
        mentions=tuple(mentions),
    )


def _hint_mentions(hints: dict[str, Any], region: str) -> list[Mention]:
    """Structured contact/location fields, normalised exactly like values found in the text."""
    out: list[Mention] = []
    contact = hints.get("contact") or {}
    for raw in contact.get("phones") or ():
        e164 = parse_phone(str(raw), region)
        if e164 is None:
            for p in find_phones(normalize(str(raw)), region):
                e164 = p.e164
        if e164:
            out.append(Mention("phone", e164, -1, -1))
    for raw in contact.get("emails") or ():
        for c in find_emails(normalize(str(raw)))[:1]:
            out.append(Mention("email", c.value, -1, -1))
    for raw in contact.get("handles") or ():
        text = str(raw).strip()
        found = find_handles(normalize(text), []) or find_handles(normalize("@" + text.lstrip("@")), [])
        for c in found[:1]:
            out.append(Mention("handle", c.value, -1, -1))
    location = hints.get("location") or {}
    for key in ("city", "region"):
        if location.get(key):
            out.append(Mention("location", canonical_place(str(location[key])), -1, -1))
    return out
