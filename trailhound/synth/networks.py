"""A synthetic feed with planted networks whose truth is known, for the linkage bench and tests.

Why apart from :func:`trailhound.synth.generate`: measuring linkage needs exact truth about which posts
belong together, and the general feed reuses its 4,000 fictional numbers on long runs, which links
unrelated actors. Here every actor has its own numbers, every background post its own wording, and each
planted network its own phrasing (a few invented words of its own), so a link between two networks is a
linkage error, not a coincidence of the generator.

Planted, and expected to alert: **circuits** (one controller phone, several personas, a route through
cities), **template networks** (one ad text under many contacts; adult-service or labour ads) and
**shared-image networks** (one photo under several contacts). Planted, and expected *not* to alert:
**hub numbers** (a hotel front desk in hundreds of unrelated ads), **benign multi-city businesses**
(a moving company, a restaurant chain) and **independent adults** touring alone. Everything else is
background: single ads of every kind. Each post carries ``synthetic_network`` (the truth group) and
``synthetic_network_kind``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from trailhound.synth.obfuscate import PHONE_STYLES, disguise_phone, national
from trailhound.synth.phrases import BANKS, CITIES, NAMES

__all__ = ["EXPLOITATIVE", "PlantedNetwork", "planted_feed"]

EXPLOITATIVE = ("circuit", "template", "shared_image")
_START = datetime(2024, 3, 1, tzinfo=UTC)
_SYLLABLES = ("ka", "lo", "mi", "ren", "tas", "vo", "zel", "pri", "dun", "fa", "gor", "hil", "jen", "quo", "sar",
              "tem", "ul", "wix", "yad", "bre", "cal", "dro", "esk", "fil", "nob", "pim", "rus", "tol", "vek", "zam")
_LAYOUTS: dict[str, tuple[str, ...]] = {
    "trafficking": ("t_open", "t_youth", "t_control", "t_coercion", "t_price", "t_contact"),
    "labour": ("l_open", "l_job", "l_pay", "l_debt", "l_housing", "l_contact"),
    "adult": ("a_open", "a_self", "a_move", "a_rates", "a_screen", "a_contact"),
    "business": ("b_job", "b_job2", "b_contact"),
    "restaurant": ("b_produce", "b_produce2", "b_contact"),
}


@dataclass
class PlantedNetwork:
    """One planted group of posts and how it is meant to look."""

    network_id: str
    kind: str  # circuit | template | shared_image | hub | business | adult_tour
    style: str  # a key of _LAYOUTS
    phones: list[str]
    personas: list[str]
    route: list[tuple[str, str, str]]
    choices: dict[str, int]
    words: str
    phash: int | None = None
    posts: int = 0
    remaining: int = 0
    start: float = 0.0
    gap_s: float = 3600.0
    evasive: str | None = None
    per_contact: list[int] = field(default_factory=list)


class _Numbers:
    """Unique fictional numbers: +1 NPA 555 plus four digits, never reused within one feed."""

    def __init__(self, rng: random.Random) -> None:
        self._n = rng.randrange(1000)

    def phone(self) -> str:
        self._n += 1
        area = (202, 212, 305, 312, 415, 503, 602, 702, 713, 818)[self._n % 10]
        return f"+1{area}555{(self._n // 10) % 10_000:04d}"


def _invented(rng: random.Random, n: int) -> str:
    return " ".join("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))) for _ in range(n))


def _text(net: PlantedNetwork, rng: random.Random, contact: int, name: str, city: str, vary: float) -> str:
    """The network's ad; every contact of a network has its own phone, e-mail and handle."""
    phone = net.phones[contact]
    own = f"{name.lower()}{contact}.{net.network_id[4:]}"
    values = {"name": name, "city": city, "where": f"in {city}", "pay": "$7,500",
              "email": f"{own}@example.com", "handle": f"@{own.replace('.', '_')}"}
    values["phone"] = disguise_phone(phone, rng, net.evasive)[0] if net.evasive else national(phone)
    parts = []
    for slot in _LAYOUTS[net.style]:
        bank = BANKS[slot]
        index = net.choices[slot] if rng.random() >= vary else rng.randrange(len(bank))
        text = bank[index]
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        parts.append(text)
    parts.insert(len(parts) - 1, net.words)
    return " ".join(parts)


def _network(kind: str, style: str, serial: int, rng: random.Random, numbers: _Numbers, t0: float) -> PlantedNetwork:
    n_contacts = {"template": rng.randint(4, 8), "shared_image": rng.randint(3, 5)}.get(kind, 1)
    n_cities = {"circuit": rng.randint(4, 6), "business": rng.randint(5, 8), "adult_tour": rng.randint(3, 4),
                "hub": 1}.get(kind, rng.randint(1, 3))
    posts = {"circuit": rng.randint(8, 16), "template": 2 * n_contacts, "shared_image": 2 * n_contacts,
             "business": rng.randint(10, 24), "adult_tour": rng.randint(6, 10), "hub": rng.randint(150, 300)}[kind]
    layout = _LAYOUTS[style]
    net = PlantedNetwork(
        network_id=f"net-{serial:05d}", kind=kind, style=style,
        phones=[numbers.phone() for _ in range(n_contacts)],
        personas=rng.sample(NAMES, k=3 if kind == "circuit" else 1),
        route=rng.sample(CITIES, k=n_cities),
        choices={slot: rng.randrange(len(BANKS[slot])) for slot in layout},
        words=_invented(rng, 12),
        phash=rng.getrandbits(64) if kind == "shared_image" else None,
        remaining=posts, start=t0, gap_s=(10 * 86_400) / posts,
        evasive=rng.choice(sorted(PHONE_STYLES)) if kind == "circuit" and rng.random() < 0.5 else None,
    )
    net.posts = posts
    return net


def _post(net: PlantedNetwork, i: int, seed: int, when: float, rng: random.Random) -> dict[str, Any]:
    k = net.posts - net.remaining
    contact = k % len(net.phones)
    phone = net.phones[contact]
    city = net.route[min(len(net.route) - 1, k * len(net.route) // net.posts)] if net.kind in (
        "circuit", "business", "adult_tour") else net.route[(k + contact) % len(net.route)]
    persona = net.personas[k % len(net.personas)]
    if net.kind == "hub":  # every post behind the front desk is somebody else's, in its own words
        room = rng.choice(BANKS["b_room"]).replace("{city}", city[0])
        body = f"{room} {_invented(rng, 14)} call the front desk {national(phone)}"
        author = f"guest-{i}"
    else:
        vary = 0.6 if net.kind == "shared_image" else 0.1
        body = _text(net, rng, contact, persona, city[0], vary)
        author = f"{net.network_id}-{persona.lower()}" if net.kind != "template" else f"{net.network_id}-{contact}"
    post: dict[str, Any] = {
        "id": f"planted-{seed}-{i:07d}", "source": "linkage.example",
        "posted_at": datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "body": body, "location": {"city": city[0], "region": city[1], "country": city[2]},
        "author": author, "lang": "en",
        "synthetic_network": net.network_id if net.kind != "hub" else f"bg-{seed}-{i}",
        "synthetic_network_kind": net.kind,
    }
    if net.phash is not None:
        noise = 0 if rng.random() < 0.6 else 1 << rng.randrange(64)
        post["images"] = [{"phash": f"{net.phash ^ noise:016x}"}]
    return post


def _background(i: int, seed: int, when: float, rng: random.Random, numbers: _Numbers) -> dict[str, Any]:
    style = rng.choice(("adult", "business", "restaurant", "adult", "business"))
    slot = rng.choice(_LAYOUTS[style][:-1])
    name = rng.choice(NAMES)
    city = rng.choice(CITIES)
    text = rng.choice(BANKS[slot]).replace("{name}", name).replace("{city}", city[0]).replace("{where}", "")
    body = f"{text} {_invented(rng, 12)} call {national(numbers.phone())}"
    return {
        "id": f"planted-{seed}-{i:07d}", "source": "linkage.example",
        "posted_at": datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "body": body,
        "location": {"city": city[0], "region": city[1], "country": city[2]}, "author": f"single-{i}", "lang": "en",
        "synthetic_network": f"bg-{seed}-{i}", "synthetic_network_kind": "background",
    }


# How many networks of each kind run at once, and of which style.
_ACTIVE: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("circuit", ("trafficking", "adult"), 40),
    ("template", ("trafficking", "labour", "adult"), 20),
    ("shared_image", ("trafficking", "adult"), 12),
    ("hub", ("business",), 2),
    ("business", ("business", "restaurant"), 25),
    ("adult_tour", ("adult",), 25),
)


def planted_feed(n: int, seed: int, network_share: float = 0.2,
                 networks: list[PlantedNetwork] | None = None) -> Iterator[dict[str, Any]]:
    """``n`` posts in time order, about ``network_share`` of them from planted networks (``networks`` collects them).

    Planted networks run side by side and each spreads its posts over about ten days.
    """
    rng = random.Random(seed)
    numbers = _Numbers(rng)
    active: list[PlantedNetwork] = []
    serial = 0
    when = _START.timestamp()
    for i in range(n):
        when += rng.expovariate(1 / 45.0)
        for kind, styles, count in _ACTIVE:
            while sum(1 for net in active if net.kind == kind) < count:
                serial += 1
                net = _network(kind, rng.choice(styles), serial, rng, numbers, when)
                active.append(net)
                if networks is not None:
                    networks.append(net)
        due = [net for net in active if net.start + (net.posts - net.remaining) * net.gap_s <= when]
        if due and rng.random() < network_share:
            net = min(due, key=lambda x: x.start + (x.posts - x.remaining) * x.gap_s)
            yield _post(net, i, seed, when, rng)
            net.remaining -= 1
            if net.remaining <= 0:
                active.remove(net)
        else:
            yield _background(i, seed, when, rng, numbers)


