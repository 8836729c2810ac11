"""Synthetic labelled posts for cold start, demos and tests — never real people's data.

Why it exists: the online models need a first lesson before analysts have given any verdict, the demo
needs a feed, and the tests need posts whose truth is known. ``generate(n, seed)`` yields posts in the
raw post schema (``trailhound/schemas/post.schema.json``) with the truth in extra fields
(``synthetic_label``, ``synthetic_template``, ``synthetic_actor``, ``synthetic_obfuscations``), which the
schema keeps. The same seed always gives the same feed.

All texts are invented, non-explicit and obviously synthetic: phone numbers come from the +1 555-01xx
range reserved for fiction, e-mails are at example.com/.org/.net, URLs at example.org, and the source
names end in ``.example``. The feed has structure (see :mod:`trailhound.synth.actors`): phones reused
across cities in bursts, template networks, steady businesses — and, as in real data, about one
trafficking or recruiting network in ten writes ads with no textual indicator at all (an adult's or
a business's template), so that only its behaviour can give it away and text models are not handed a
perfectly separable problem.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trailhound.synth.actors import Actor, ContactBook, new_actor
from trailhound.synth.obfuscate import disguise_email, disguise_phone, disguise_word, national
from trailhound.synth.phrases import BANKS, DISGUISABLE, LABELS, TITLES

__all__ = ["DEFAULT_MIX", "LABELS", "generate", "write_jsonl"]

# Share of each label in the feed (benign look-alikes and adults' own ads dominate, as in real feeds).
DEFAULT_MIX: dict[str, float] = {
    "benign": 0.40,
    "adult_no_indicators": 0.28,
    "trafficking": 0.20,
    "labour_trafficking": 0.12,
}
# How many actors of each label post at the same time; with the mix above and a post every ~90 s,
# a trafficking network posts every hour or two across its route, a business a few times a day.
_ACTIVE = {"benign": 50, "adult_no_indicators": 30, "trafficking": 10, "labour_trafficking": 8}
_START = datetime(2024, 1, 1, tzinfo=UTC)  # room for a million posts (90 s apart) before today
_MEAN_GAP_S = 90.0
_PAY = ("$6,000", "$7,500", "$8,000", "5,000 USD", "$9,000", "4,800 EUR")
_WHERE = ("abroad", "in Europe", "overseas", "in {city}", "in the Gulf")
# Ways to string sentences together; every label uses them, so layout says nothing about the label.
_SEPARATORS = (" ", " ", " ", ". ", " - ", " \u2728 ", "! ", " \U0001f338 ")
_WORD = re.compile(r"[A-Za-z]+")


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _capitalise(segment: str) -> str:
    return segment[:1].upper() + segment[1:] if segment[:1].islower() else segment


def _disguise_keywords(body: str, rng: random.Random, tricks: list[str]) -> str:
    candidates = [m for m in _WORD.finditer(body) if m.group().lower() in DISGUISABLE]
    if not candidates:
        return body
    for match in sorted(rng.sample(candidates, k=min(len(candidates), rng.randint(1, 2))),
                        key=lambda m: m.start(), reverse=True):
        new, trick = disguise_word(match.group(), rng)
        if new == match.group():
            continue
        tricks.append(trick)
        body = body[: match.start()] + new + body[match.end():]
    return body


def _render(actor: Actor, rng: random.Random) -> tuple[str, dict[str, list[str]], list[str]]:
    """The body text, the structured contact a scraper would have seen, and the tricks used."""
    tricks: list[str] = []
    city = actor.city[0]
    phone = rng.choice(actor.phones)
    if actor.phone_style is not None and rng.random() < 0.9:
        style = actor.phone_style if rng.random() < 0.8 else None
        phone_text, used = disguise_phone(phone, rng, style)
        tricks.append(used)
        plain_phone = False
    else:
        phone_text = national(phone) if rng.random() < 0.7 else f"+1 {national(phone).replace('-', ' ')}"
        plain_phone = True
    email_text = actor.email
    if actor.label == "trafficking" and rng.random() < 0.5:
        email_text = disguise_email(actor.email)
    values = {
        "name": rng.choice(actor.names),
        "phone": phone_text,
        "email": email_text,
        "handle": actor.handle,
        "pay": rng.choice(_PAY),
        "where": rng.choice(_WHERE),
    }
    values["where"] = values["where"].replace("{city}", city)
    values["city"] = city
    segments = []
    for slot, chance in actor.template.slots:
        if chance < 1 and rng.random() >= chance:
            continue
        bank = BANKS[slot]
        index = actor.choices[slot] if rng.random() < 0.75 else rng.randrange(len(bank))
        segments.append(_capitalise(_fill(bank[index], values)))
    separator = rng.choice(_SEPARATORS)
    if separator.strip():
        body = separator.join(s.rstrip(".!,:") for s in segments)
    else:
        body = separator.join(s if s[-1:] in ".!?:" or not s[-1:].isalnum() else s + "." for s in segments)
    if email_text != actor.email and email_text in body:
        tricks.append("email_words")
    if not plain_phone and phone_text not in body:
        tricks.remove(used)
    if rng.random() < actor.disguise_prob:
        body = _disguise_keywords(body, rng, tricks)
    contact: dict[str, list[str]] = {}
    if plain_phone and phone_text in body:
        contact["phones"] = [phone]
    if actor.email in body:
        contact["emails"] = [actor.email]
    if actor.handle in body:
        contact["handles"] = [actor.handle]
    return body, contact, tricks


def _post(i: int, seed: int, when: datetime, actor: Actor, rng: random.Random) -> dict[str, Any]:
    body, contact, tricks = _render(actor, rng)
    city, region, country = actor.city
    post_id = f"synth-{seed}-{i:07d}"
    post: dict[str, Any] = {
        "id": post_id,
        "source": actor.template.source,
        "posted_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "body": body,
        "url": f"https://{actor.template.source.replace('.example', '')}.example.org/ads/{post_id}",
        "location": {"city": city, "region": region, "country": country},
        "author": f"synthetic-{actor.key}",
        "lang": "en",
    }
    if rng.random() < 0.6:
        post["title"] = rng.choice(TITLES[actor.label])
    if contact:
        post["contact"] = contact
    if actor.phashes and rng.random() < 0.6:
        post["images"] = [{"phash": h} for h in actor.phashes]
    post["synthetic_label"] = actor.label
    post["synthetic_template"] = actor.template.id
    post["synthetic_actor"] = actor.key
    post["synthetic_obfuscations"] = tricks
    return post


def generate(n: int, seed: int, mix: dict[str, float] | None = None) -> Iterator[dict[str, Any]]:
    """Yield ``n`` labelled synthetic posts in time order; identical output for identical arguments."""
    if n < 0:
        raise ValueError("n must not be negative")
    weights = mix or DEFAULT_MIX
    unknown = set(weights) - set(LABELS)
    if unknown:
        raise ValueError(f"unknown labels in mix: {sorted(unknown)}")
    rng = random.Random(seed)
    book = ContactBook(rng)
    pools: dict[str, list[Actor]] = {label: [] for label in LABELS}
    labels = sorted(weights)
    cumulative = [weights[label] for label in labels]
    when = _START + timedelta(seconds=rng.randrange(86_400))
    for i in range(n):
        when += timedelta(seconds=max(1, round(rng.expovariate(1 / _MEAN_GAP_S))))
        label = rng.choices(labels, weights=cumulative)[0]
        pool = pools[label]
        while len(pool) < _ACTIVE[label]:
            pool.append(new_actor(label, rng, book, pool))
        actor = rng.choice(pool)
        yield _post(i, seed, when, actor, rng)
        actor.remaining -= 1
        if rng.random() < actor.move_prob:
            actor.position += 1
        if actor.remaining <= 0:
            pool.remove(actor)


def write_jsonl(path: str | Path, n: int, seed: int) -> int:
    """Write ``generate(n, seed)`` as JSON lines to ``path`` (``-`` is not special); return the count."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for post in generate(n, seed):
            out.write(json.dumps(post, ensure_ascii=False) + "\n")
            count += 1
    return count
