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

from dataclasses import dataclass, field

import numpy as np

from trailhound.detectors.linkage.keys import (
    CONTACT_KINDS,
    IMAGE_RADIUS,
    PostSummary,
    hamming,
    key_kind,
    text_similarity,
)

__all__ = ["HubKey", "KeyIndex", "KeyIndexParams", "Link", "reason_for"]


@dataclass(frozen=True, slots=True)
class KeyIndexParams:
    """Thresholds of the key owner; defaults are the documented settings."""

    retention_s: float = 30 * 86_400.0
    text_threshold: float = 0.7
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


@dataclass(slots=True)
class _Bucket:
    posts: list[PostSummary] = field(default_factory=list)
    text_groups: list[np.ndarray] = field(default_factory=list)
    hub: bool = False


class KeyIndex:
    """Posts by key within the retention window; memory bounded by window and per-key caps."""

    SWEEPS_PER_WINDOW = 4

    def __init__(self, params: KeyIndexParams | None = None) -> None:
        self.params = params or KeyIndexParams()
        self._buckets: dict[str, _Bucket] = {}
        self._now = 0.0
        self._swept = 0.0
        self._compared: tuple[str, set[str]] = ("", set())  # the post being filed and who it was compared with
        self._seen: dict[str, float] = {}  # posts filed within the window (a post is filed key by key)
        self._filing = ""
        self._filed: set[str] = set()

    def __len__(self) -> int:
        return len(self._buckets)

    def hubs(self) -> list[str]:
        return [key for key, bucket in self._buckets.items() if bucket.hub]

    def observe(self, key: str, post: PostSummary) -> list[Link | HubKey]:
        """File ``post`` under ``key``; return the links it makes and a hub notice if the key just became one."""
        self._now = max(self._now, post.ts)
        if self._now - self._swept > self.params.retention_s / self.SWEEPS_PER_WINDOW:
            self.sweep()
        if post.post_key != self._filing:
            if post.post_key in self._seen:
                return []  # the same post again (ingested twice): it links nothing new
            self._filing, self._filed = post.post_key, set()
            self._seen[post.post_key] = post.ts
        if key in self._filed:
            return []
        self._filed.add(key)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket()
        else:
            self._expire(bucket)
        kind = key_kind(key)
        events: list[Link | HubKey] = []
        if kind in CONTACT_KINDS or kind == "image":
            distinct = self._track_texts(bucket, post)
            if distinct:
                events.append(HubKey(key, distinct, len(bucket.posts) + 1))
        if not bucket.hub:
            if kind in CONTACT_KINDS:
                if bucket.posts:
                    events.append(Link(bucket.posts[0], post, key, reason_for(key)))
            elif kind == "text":
                events.extend(self._text_links(key, bucket, post))
            elif kind == "image":
                events.extend(self._image_links(key, bucket, post))
        bucket.posts.append(post)
        if len(bucket.posts) > self.params.max_posts_per_key:
            del bucket.posts[0]
        return events

    def _track_texts(self, bucket: _Bucket, post: PostSummary) -> int:
        """Group the key's texts by similarity; the number of groups when the key just became a hub, else 0."""
        if bucket.hub or post.signature is None:
            return 0
        similar = self.params.text_group_similarity
        if any(text_similarity(group, post.signature) >= similar for group in bucket.text_groups):
            return 0
        bucket.text_groups.append(post.signature)
        distinct = len(bucket.text_groups)
        if distinct < self.params.hub_min_texts:
            return 0
        bucket.hub = True
        bucket.text_groups = []  # no longer needed: a hub stays a hub while the key is held
        return distinct

    def _text_links(self, key: str, bucket: _Bucket, post: PostSummary) -> list[Link]:
        if post.signature is None:
            return []
        if self._compared[0] != post.post_key:
            self._compared = (post.post_key, set())
        compared = self._compared[1]  # a candidate met in an earlier band of this post is not compared again
        scored = []
        for other in bucket.posts:
            if other.signature is not None and other.post_key not in compared:
                compared.add(other.post_key)
                similarity = text_similarity(other.signature, post.signature)
                if similarity >= self.params.text_threshold:
                    scored.append((similarity, other))
        scored.sort(key=lambda pair: (-pair[0], pair[1].ts, pair[1].post_key))
        return [Link(other, post, key, reason_for(key, similarity), round(similarity, 3))
                for similarity, other in scored[:self.params.max_text_links]]

    def _image_links(self, key: str, bucket: _Bucket, post: PostSummary) -> list[Link]:
        links = []
        for other in bucket.posts:
            distance = min((hamming(a, b) for a in other.phashes for b in post.phashes), default=99)
            if distance <= self.params.image_radius:
                links.append(Link(other, post, key, reason_for(key, distance=distance), 1.0 - distance / 64))
        return links[:1]  # one link per chunk: the other holders are linked already or via other chunks

    def _expire(self, bucket: _Bucket) -> None:
        horizon = self._now - self.params.retention_s
        if bucket.posts and bucket.posts[0].ts < horizon:
            bucket.posts = [p for p in bucket.posts if p.ts >= horizon]

    def sweep(self) -> None:
        """Drop posts older than the retention window and keys left with none (bounds memory)."""
        self._swept = self._now
        horizon = self._now - self.params.retention_s
        self._seen = {k: ts for k, ts in self._seen.items() if ts >= horizon}
        for key in list(self._buckets):
            bucket = self._buckets[key]
            self._expire(bucket)
            if not bucket.posts:
                del self._buckets[key]
