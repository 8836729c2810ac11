"""The owner of a set of linkage keys: which earlier posts a new post links to, and which keys are hubs.

Every post carrying a key reaches the one owner of that key (Kafka partitions by key), so the owner sees
all posts with it, whichever worker enriched them. For each key it keeps the posts of the retention
window (bounded in count too) and answers a new post with explained :class:`Link` s:

- a contact key links the new post to the earliest post still held with it ("same phone +1…");
- a text band links it to held posts whose estimated similarity reaches the threshold
  ("text 0.93 similar"); a band only proposes candidates;
- an image chunk links it to held posts whose image hash is within the Hamming radius ("same image").

A **hub** is a contact or image key shared by many unrelated texts (a hotel front desk, an agency
switchboard, a stock photo): once its posts fall into ``hub_min_texts`` groups of dissimilar text, the
key stops linking and a :class:`HubKey` notice tells the cluster stage to undo what it glued.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from trailhound.detectors.linkage.keys import (
    CONTACT_KINDS,
    IMAGE_RADIUS,
    PostSummary,
    hamming,
    key_kind,
    similarity_to_many,
    text_similarity,
)

__all__ = ["HubKey", "KeyIndex", "KeyIndexParams", "Link", "reason_for"]

_POST_KEY = attrgetter("post_key")
_SIGNATURE = attrgetter("signature")


@dataclass(frozen=True, slots=True)
class KeyIndexParams:
    """Thresholds of the key owner; defaults are the documented settings."""

    retention_s: float = 30 * 86_400.0
    text_threshold: float = 0.6
    image_radius: int = IMAGE_RADIUS
    hub_min_texts: int = 25
    text_group_similarity: float = 0.35
    max_posts_per_key: int = 200
    max_text_links: int = 3


@dataclass(frozen=True, slots=True)
class Link:
    """Two posts that belong together, the key that says so and why, in words."""

    a: PostSummary
    b: PostSummary
    key: str
    reason: str
    similarity: float = 1.0


@dataclass(frozen=True, slots=True)
class HubKey:
    """A key shared by too many unrelated texts to mean one advertiser."""

    key: str
    distinct_texts: int
    posts: int

    @property
    def note(self) -> str:
        return (f"{describe_key(self.key)} is shared by {self.distinct_texts}+ unrelated texts "
                f"({self.posts} posts): a hub, not used to link")


def describe_key(key: str) -> str:
    kind, _, value = key.partition(":")
    if kind == "image":
        return "an image"
    return f"{kind} {value}"


def reason_for(key: str, similarity: float = 1.0, distance: int = 0) -> str:
    kind = key_kind(key)
    if kind == "text":
        return f"text {similarity:.2f} similar"
    if kind == "image":
        return "same image" if distance == 0 else f"similar image ({distance} bits apart)"
    return f"same {kind}"


class KeyIndex:
    """Posts by key within the retention window; memory bounded by window and per-key caps.

    Most keys (text bands above all) are held by one post only, so a key maps to the post itself and
    becomes a list at its second post; the text groups behind hub detection exist only for keys with
    several posts, and refer to the posts' own signatures. Each filing is remembered by time (a heap of
    the post's time and keys), so a sweep visits only the keys of posts that left the window instead of
    every key held.
    """

    SWEEPS_PER_WINDOW = 4

    def __init__(self, params: KeyIndexParams | None = None) -> None:
        self.params = params or KeyIndexParams()
        self._posts: dict[str, PostSummary | list[PostSummary]] = {}
        self._groups: dict[str, list[np.ndarray]] = {}
        self._hubs: set[str] = set()
        self._now = 0.0
        self._swept = 0.0
        self._seen: dict[str, float] = {}  # posts filed within the window (a post is filed key by key)
        self._filing = ""
        self._filed: set[str] = set()  # the keys the post being filed is filed under so far
        self._compared: set[str] = set()  # the posts it was compared with (through text bands)
        self._filings: list[tuple[float, tuple[str, ...]]] = []  # heap of (post time, keys filed): oldest first

    def __len__(self) -> int:
        return len(self._posts)

    def hubs(self) -> list[str]:
        return sorted(self._hubs)

    def _held(self, key: str) -> list[PostSummary]:
        held = self._posts.get(key)
        if held is None:
            return []
        posts = held if isinstance(held, list) else [held]
        horizon = self._now - self.params.retention_s
        if posts[0].ts < horizon:  # held in arrival order, so the oldest first (the sweep catches stragglers)
            posts = [p for p in posts if p.ts >= horizon]
            self._store(key, posts)
        return posts

    def _store(self, key: str, posts: list[PostSummary]) -> None:
        if not posts:
            self._posts.pop(key, None)
            self._groups.pop(key, None)
            self._hubs.discard(key)
        else:
            self._posts[key] = posts if len(posts) > 1 else posts[0]

    def observe(self, key: str, post: PostSummary) -> list[Link | HubKey]:
        """File ``post`` under ``key``; return the links it makes and a hub notice if the key just became one."""
        return self.observe_keys(post, (key,))

    def observe_keys(self, post: PostSummary, keys: Iterable[str]) -> list[Link | HubKey]:
        """File ``post`` under each of ``keys``, in order; the links it makes and the keys that just became hubs.

        A post may be filed in one call or key by key; filed again later (ingested twice), it links
        nothing new. Most keys (text bands above all) hold no earlier post, so filing under them is one
        dictionary lookup; the text candidates of all bands are compared with the post in one numpy step.
        """
        if post.ts > self._now:
            self._now = post.ts
            if self._now - self._swept > self.params.retention_s / self.SWEEPS_PER_WINDOW:
                self.sweep()
        if post.post_key != self._filing:
            if post.post_key in self._seen:
                return []  # the same post again (ingested twice): it links nothing new
            self._filing, self._filed, self._compared = post.post_key, set(), set()
            self._seen[post.post_key] = post.ts
        keys = tuple(keys)
        heapq.heappush(self._filings, (post.ts, keys))
        events: list[Link | HubKey] = []
        bands: list[tuple[int, str, list[PostSummary]]] = []  # (where in events, band key, candidates)
        filed, posts = self._filed, self._posts
        for key in keys:
            if key in filed:
                continue
            filed.add(key)
            if key not in posts:
                posts[key] = post
                continue
            held = self._held(key)
            if not held:
                posts[key] = post
                continue
            kind = key_kind(key)
            if kind == "text":
                fresh = self._candidates(held, post)
                if fresh:
                    bands.append((len(events), key, fresh))
            elif kind == "image" or kind in CONTACT_KINDS:
                distinct = self._track_texts(key, held, post)
                if distinct:
                    events.append(HubKey(key, distinct, len(held) + 1))
                if key not in self._hubs:
                    if kind == "image":
                        events.extend(self._image_links(key, held, post))
                    else:
                        events.append(Link(held[0], post, key, reason_for(key)))
            held.append(post)
            self._store(key, held[-self.params.max_posts_per_key:])
        if bands:
            events = self._with_text_links(events, bands, post)
        return events

    def observe_batch(self, items: Iterable[tuple[PostSummary, Iterable[str]]]) -> list[Link | HubKey]:
        """:meth:`observe_keys` for each ``(post, keys)`` in order: the links and hub notices of them all."""
        return [event for post, keys in items for event in self.observe_keys(post, keys)]

    def close(self) -> None:
        """Nothing to release: this index is plain Python objects (the stored one has a database)."""

    def _track_texts(self, key: str, held: list[PostSummary], post: PostSummary) -> int:
        """Group the key's texts by similarity; the number of groups when the key just became a hub, else 0."""
        if key in self._hubs or post.signature is None:
            return 0
        groups = self._groups.get(key)
        if groups is None:
            groups = self._groups[key] = [p.signature for p in held[:1] if p.signature is not None]
        similar = self.params.text_group_similarity
        if any(text_similarity(group, post.signature) >= similar for group in groups):
            return 0
        groups.append(post.signature)
        if len(groups) < self.params.hub_min_texts:
            return 0
        self._hubs.add(key)
        del self._groups[key]  # no longer needed: a hub stays a hub while the key is held
        return len(groups)

    def _candidates(self, held: list[PostSummary], post: PostSummary) -> list[PostSummary]:
        """The band's posts not yet compared with ``post`` (one met in an earlier band is not compared again)."""
        if post.signature is None:
            return []
        new = set(map(_POST_KEY, held))
        if self._compared:
            new -= self._compared
            if not new:  # the usual case after the first band of a family of copies: all met already
                return []
            self._compared |= new
            return [other for other in held if other.signature is not None and other.post_key in new]
        self._compared = new  # the first band with candidates: all of them are new
        return [other for other in held if other.signature is not None]

    def _with_text_links(self, events: list[Link | HubKey], bands: list[tuple[int, str, list[PostSummary]]],
                         post: PostSummary) -> list[Link | HubKey]:
        """``events`` with each band's verified links put where the band was filed: the most similar few
        candidates reaching the threshold, each linked through the first band that proposed it."""
        assert post.signature is not None  # a post without a signature has no candidates
        candidates = bands[0][2] if len(bands) == 1 else [other for _, _, fresh in bands for other in fresh]
        similarities = similarity_to_many(post.signature, list(map(_SIGNATURE, candidates))).tolist()
        merged: list[Link | HubKey] = []
        done = at = 0
        for where, key, fresh in bands:
            merged.extend(events[done:where])
            done = where
            scored = [(similarity, other) for similarity, other in zip(similarities[at:at + len(fresh)], fresh,
                                                                       strict=True)
                      if similarity >= self.params.text_threshold]
            at += len(fresh)
            scored.sort(key=lambda pair: (-pair[0], pair[1].ts, pair[1].post_key))
            merged.extend(Link(other, post, key, reason_for(key, similarity), round(similarity, 3))
                          for similarity, other in scored[:self.params.max_text_links])
        merged.extend(events[done:])
        return merged

    def _image_links(self, key: str, held: list[PostSummary], post: PostSummary) -> list[Link]:
        for other in held:
            distance = min((hamming(a, b) for a in other.phashes for b in post.phashes), default=99)
            if distance <= self.params.image_radius:  # one link per chunk: the other holders are linked already
                return [Link(other, post, key, reason_for(key, distance=distance), 1.0 - distance / 64)]
        return []

    def sweep(self) -> None:
        """Drop posts older than the retention window and keys left with none (bounds memory)."""
        self._swept = self._now
        horizon = self._now - self.params.retention_s
        self._seen = {k: ts for k, ts in self._seen.items() if ts >= horizon}
        filings, posts = self._filings, self._posts
        while filings and filings[0][0] < horizon:
            for key in heapq.heappop(filings)[1]:
                if key in posts:
                    self._held(key)
