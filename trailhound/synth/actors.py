"""Who writes the synthetic posts: advertisers with contacts, home cities, routes and habits.

Why actors rather than independent posts: the entity-level detectors (shared phones, circuits across
cities, reused template text) only have something to find if the feed has structure. A trafficking
network posts in bursts from one controller phone while moving through several cities and reuses its
template text across personas; a recruiter posts the same job ad widely; an independent adult posts
a few times from her own number, mostly from home; a business posts steadily from one city.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from trailhound.synth.obfuscate import PHONE_STYLES
from trailhound.synth.phrases import BANKS, CITIES, NAMES, TEMPLATES, Template

__all__ = ["Actor", "ContactBook", "new_actor"]

# Area codes whose 555-01xx lines (the range reserved for fiction) pass phone-number validation.
_AREA_CODES = (
    202, 206, 212, 213, 214, 303, 305, 312, 313, 404, 415, 416, 469, 503, 512, 602, 604, 612, 615, 617,
    619, 702, 704, 713, 718, 720, 773, 786, 818, 832, 916, 917, 954, 972, 403, 613, 647, 778, 980, 971,
)
_DOMAINS = ("example.com", "example.org", "example.net")


class ContactBook:
    """Hands out fictional contacts (+1 NPA 555-01xx, example.* e-mail) without repeats until exhausted.

    There are 4,000 such phone numbers; a very long feed cycles through them again, which then links
    unrelated actors — the same kind of false link generic numbers cause in real data.
    """

    def __init__(self, rng: random.Random) -> None:
        self._next = rng.randrange(100 * len(_AREA_CODES))
        self._count = 0

    def phone(self) -> str:
        k = (self._next + self._count * 37) % (100 * len(_AREA_CODES))
        self._count += 1
        return f"+1{_AREA_CODES[k // 100]}5550{100 + k % 100:03d}"

    def serial(self) -> int:
        self._count += 1
        return self._count


@dataclass(slots=True)
class Actor:
    """One advertiser (or trafficking network) and the habits that shape its posts."""

    key: str
    label: str
    template: Template
    choices: dict[str, int]
    phones: list[str]
    email: str
    handle: str
    names: list[str]
    route: list[tuple[str, str, str]]
    move_prob: float
    remaining: int
    phone_style: str | None
    disguise_prob: float
    phashes: list[str] = field(default_factory=list)
    position: int = 0

    @property
    def city(self) -> tuple[str, str, str]:
        return self.route[self.position % len(self.route)]


# Per label: (route length range, move probability, posts range, chance the phone is disguised,
# chance a keyword is disguised, names per actor)
_HABITS: dict[str, tuple[tuple[int, int], float, tuple[int, int], float, float, int]] = {
    "trafficking": ((4, 7), 0.55, (6, 24), 0.85, 0.6, 3),
    "labour_trafficking": ((3, 6), 0.6, (4, 16), 0.3, 0.2, 1),
    "adult_no_indicators": ((1, 2), 0.1, (2, 8), 0.06, 0.03, 1),
    "benign": ((1, 1), 0.0, (1, 5), 0.0, 0.0, 1),
}


_CAMOUFLAGE = {"trafficking": "adult_no_indicators", "labour_trafficking": "benign"}
_CAMOUFLAGE_SHARE = 0.1


def _phash(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


def new_actor(label: str, rng: random.Random, book: ContactBook, peers: list[Actor]) -> Actor:
    """A fresh actor; a trafficking one sometimes copies a peer's template text (a template network)."""
    route_len, move_prob, posts, phone_disguise, word_disguise, n_names = _HABITS[label]
    serial = book.serial()
    network_peers = [p for p in peers if p.label == label]
    if label == "trafficking" and network_peers and rng.random() < 0.4:
        model = rng.choice(network_peers)
        template, choices = model.template, dict(model.choices)
        phashes = list(model.phashes)
    else:
        # Some networks write ads with no textual indicator at all (in a study of 17,362 UK ads, 19%
        # showed none); only their behaviour — one phone, many cities, many personas — gives them away.
        looks_like = _CAMOUFLAGE.get(label) if rng.random() < _CAMOUFLAGE_SHARE else None
        template = rng.choice(TEMPLATES[looks_like or label])
        choices = {slot: rng.randrange(len(BANKS[slot])) for slot, _ in template.slots}
        phashes = [_phash(rng) for _ in range(rng.randint(0, 2))]
    n_phones = 2 if label == "trafficking" and rng.random() < 0.3 else 1
    phones = [book.phone() for _ in range(n_phones)]
    names = rng.sample(NAMES, k=n_names)
    stem = names[0].lower() if label in ("adult_no_indicators", "trafficking") else rng.choice(
        ("info", "jobs", "hello", "office", "team", "hire", "shop"))
    style = rng.choice(sorted(PHONE_STYLES)) if rng.random() < phone_disguise else None
    return Actor(
        key=f"actor-{serial}",
        label=label,
        template=template,
        choices=choices,
        phones=phones,
        email=f"{stem}{serial}@{rng.choice(_DOMAINS)}",
        handle=f"@{stem}_{serial}",
        names=names,
        route=rng.sample(CITIES, k=rng.randint(*route_len)),
        move_prob=move_prob,
        remaining=rng.randint(*posts),
        phone_style=style,
        disguise_prob=word_disguise,
        phashes=phashes,
    )
