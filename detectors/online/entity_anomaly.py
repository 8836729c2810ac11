"""Behavioural anomaly per contact: bursts of posts, many cities, many different texts.

Why it exists: a trafficking network shows itself less in any one ad than in how its contact behaves —
one phone posting dozens of ads across five cities in a day, with a different persona's text in each.
Investigators link ads by shared contacts for exactly this reason. For each post we look up its
entity (``entity_key``: phone, e-mail, handle or author) and describe the entity's last 24 hours with
*rate* features: posts per hour and per day, distinct cities, distinct texts, hours since its previous
post. River's :class:`~river.anomaly.HalfSpaceTrees` scores how unusual that description is among all
entities, learning unsupervised from every post.

Design choices. On 6,000 synthetic posts (entity keys from the real enrichment, first 1,000 as
burn-in), the share of posts scoring above 0.5 was 85% for trafficking networks, 77% for labour
recruiters, 20% for independent adults (who also post repeatedly and tour) and 4% for benign
advertisers, at about 80 µs per post (score + learn). With river's default 10 trees instead of 25 it
was 85% / 79% / 28% / 10% at half the cost; the clearer separation is worth 35 µs. The score is a
supporting signal about the contact, not a reason to alert on its own.

* Half-space trees split a fixed feature range; they are weak when anomalies arrive packed together
  as single points, so every feature is a per-entity *rate over a window*, where a burst shows as a
  large value rather than as many ordinary-looking points.
* Features are ``log1p`` counts with fixed ``limits`` instead of a learned ``MinMaxScaler``: a
  min-max range is set by the most extreme entity ever seen, so one huge circuit would squash every
  later entity into a corner of the space and blunt the detector; known log ranges do not move.
* Half-space-tree scores are not probabilities (ordinary posts score around 0.6), so the detector
  reports ``(raw - median) / (p99 - median)`` over the last ``calibration_window`` raw scores, clipped
  to [0, 1]: the typical entity scores 0, the most unusual one in a hundred scores 1. The raw score
  stays in ``details["raw_score"]``.
* Scoring reads the trees' reference masses, which change only when a window of ``window_size``
  learned posts completes (or a checkpoint is restored). So :class:`_ReferenceTrees` copies them, at
  each such change, into flat lists walked without river's per-node objects, and remembers the score
  of each feature vector seen since (most posts describe a contact seen for the first time, which is
  one and the same vector): the same arithmetic as ``HalfSpaceTrees.score_one``, at a fraction of its
  cost (about 100 µs per post for 25 trees on the shared machine; now a dictionary look-up for a
  repeated description, a fifth of it otherwise).
* Per-entity state is bounded: at most ``max_events`` recent events per entity, entities idle for
  longer than ``ttl_s`` are forgotten, and at most ``max_entities`` are kept (least recently seen
  dropped first).
"""

from __future__ import annotations

import math
import re
import sys
import zlib
from collections import OrderedDict, deque
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from river import anomaly, stats
from river.tree.padded import PaddedBranch, PaddedLeaf

from trailhound.detectors.base import Detection
from trailhound.detectors.online.features import normalized_text
from trailhound.detectors.online.state_checks import check_bool, check_float, check_int, check_list

__all__ = ["EntityAnomaly", "EntityWindow"]

_DAY = 86_400.0
_HOUR = 3_600.0
_DIGITS = re.compile(r"[\d\s\W_]+")
# log1p of the largest count we expect to distinguish; larger values are clipped to the edge.
_LIMITS = {
    "posts_1h": (0.0, math.log1p(20)),
    "posts_24h": (0.0, math.log1p(100)),
    "cities_24h": (0.0, math.log1p(12)),
    "texts_24h": (0.0, math.log1p(50)),
    "quick_repost": (0.0, 1.0),
}


class EntityWindow:
    """The recent events of one entity, oldest first, as one flat list: ``ts, city, fingerprint, post id``
    per event.

    A worker keeps one window for each of up to ``max_entities`` contacts, so a window is kept compact:
    no per-event tuple, no deque (an empty one costs 600 bytes), city names shared between windows
    (``sys.intern``), and the post key kept as its hash (an int, a third of the key's string), which is
    all :meth:`holds` and :meth:`describe` compare it for (two keys of one contact sharing a 64-bit hash
    is not a risk worth a string per event). A contact seen once costs about 460 bytes with its place in
    :class:`EntityAnomaly`'s map, instead of 1,330.
    """

    __slots__ = ("_flat", "last_seen")

    def __init__(self) -> None:
        self._flat: list[Any] = []
        self.last_seen = 0.0

    def __len__(self) -> int:
        return len(self._flat) // 4

    def add(self, ts: float, city: str, fingerprint: int, post_key: str, max_events: int) -> None:
        """Add an event; the oldest is dropped once the window holds ``max_events``."""
        flat = self._flat
        flat += (ts, sys.intern(city), fingerprint, hash(post_key))
        if len(flat) > 4 * max_events:
            del flat[:4]
        if ts > self.last_seen:
            self.last_seen = ts

    def holds(self, post_key: str) -> bool:
        return hash(post_key) in self._flat[3::4]

    def describe(self, ts: float, city: str, fingerprint: int, post_key: str) -> dict[str, float]:
        """Raw counts over the window ending at ``ts``, counting the post ``post_key`` once.

        A replayed post (already in the window) is not counted twice; the same text cross-posted as
        another post (another key) is, because that is the behaviour worth noticing.
        """
        key, flat = hash(post_key), self._flat
        day_start, hour_start = ts - _DAY, ts - _HOUR
        posts = hour = 0
        cities = {city} if city else set()
        texts = {fingerprint}
        previous: float | None = None
        for i in range(0, len(flat), 4):
            event_ts = flat[i]
            if not event_ts <= ts or flat[i + 3] == key:
                continue
            if previous is None or event_ts > previous:
                previous = event_ts
            if event_ts >= day_start:
                posts += 1
                if flat[i + 1]:
                    cities.add(flat[i + 1])
                texts.add(flat[i + 2])
                if event_ts >= hour_start:
                    hour += 1
        gap_h = (ts - previous) / _HOUR if previous is not None else None
        return {
            "posts_1h": float(hour + 1),
            "posts_24h": float(posts + 1),
            "cities_24h": float(len(cities)),
            "texts_24h": float(len(texts)),
            "gap_h": -1.0 if gap_h is None else gap_h,
        }


_FEATURES = tuple(_LIMITS)
_MAX_REMEMBERED_SCORES = 4096


class _ReferenceTrees:
    """Scores as ``HalfSpaceTrees.score_one`` does, from a flat copy of the trees' reference masses.

    Valid until the masses change: :class:`EntityAnomaly` builds a new one after each completed window
    and after a restore. Each tree is stored in heap order (children of node ``i`` at ``2i+1`` and
    ``2i+2``) as three lists: split feature (index into :data:`_FEATURES`), threshold, reference mass.
    """

    __slots__ = ("_flat", "_height", "_max_score", "_scores", "_size_limit", "_trained")

    def __init__(self, hst: anomaly.HalfSpaceTrees) -> None:
        self._trained = not hst._first_window
        self._height = hst.height
        self._size_limit = 0.1 * hst.window_size
        self._max_score = hst._max_score
        self._flat = [_flatten(tree) for tree in hst.trees] if self._trained else []
        self._scores: dict[tuple[float, ...], float] = {}

    def score(self, features: dict[str, float]) -> float:
        if not self._trained:
            return 0.0
        values = tuple(features[name] for name in _FEATURES)
        known = self._scores.get(values)
        if known is not None:
            return known
        height, size_limit = self._height, self._size_limit
        total = 0.0
        for split, threshold, mass in self._flat:
            node, depth_pow, score = 0, 1, 0.0
            for _ in range(height):
                r = mass[node]
                score += r * depth_pow
                if r < size_limit:
                    break
                node = 2 * node + (1 if values[split[node]] < threshold[node] else 2)
                depth_pow <<= 1
            else:
                score += mass[node] * depth_pow
            total += score
        result = 1 - total / self._max_score
        if len(self._scores) >= _MAX_REMEMBERED_SCORES:
            self._scores.clear()
        self._scores[values] = result
        return result


def _flatten(root: PaddedBranch) -> tuple[list[int], list[float], list[int]]:
    split: list[int] = []
    threshold: list[float] = []
    mass: list[int] = []
    level: list[PaddedBranch | PaddedLeaf] = [root]
    while level:
        for node in level:
            mass.append(node.r_mass)
            if isinstance(node, PaddedBranch):
                split.append(_FEATURES.index(node.feature))
                threshold.append(node.threshold)
        level = [child for node in level if isinstance(node, PaddedBranch) for child in node.children]
    return split, threshold, mass


def _post_key(post: dict[str, Any]) -> str:
    original = post.get("post") or {}
    return str(post.get("post_key") or f"{original.get('source', '')}:{original.get('id', '')}")


def _features(raw: dict[str, float]) -> dict[str, float]:
    gap = raw["gap_h"]
    return {
        "posts_1h": min(math.log1p(raw["posts_1h"] - 1), _LIMITS["posts_1h"][1]),
        "posts_24h": min(math.log1p(raw["posts_24h"] - 1), _LIMITS["posts_24h"][1]),
        "cities_24h": min(math.log1p(max(raw["cities_24h"] - 1, 0)), _LIMITS["cities_24h"][1]),
        "texts_24h": min(math.log1p(raw["texts_24h"] - 1), _LIMITS["texts_24h"][1]),
        # 1 for a repost within minutes, fading to 0 after a few hours; 0 for a first post.
        "quick_repost": 0.0 if gap < 0 else math.exp(-gap),
    }


def _timestamp(post: dict[str, Any]) -> float:
    ts = post.get("posted_ts")
    if isinstance(ts, int | float):
        return float(ts)
    raw = post.get("post", {}).get("posted_at", "")
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _city(post: dict[str, Any]) -> str:
    location = (post.get("post") or {}).get("location") or {}
    if location.get("city"):
        return str(location["city"]).strip().casefold()
    for loc in (post.get("entities") or {}).get("locations") or []:
        name = loc.get("city") or loc.get("name") if isinstance(loc, dict) else loc
        if name:
            return str(name).strip().casefold()
    return ""


def _fingerprint(post: dict[str, Any]) -> int:
    """Same text modulo numbers, spacing and punctuation → same fingerprint (template reuse counts once)."""
    return zlib.crc32(_DIGITS.sub(" ", normalized_text(post)).strip().encode("utf-8"))


def _tree_state(node: PaddedBranch | PaddedLeaf) -> list[Any]:
    """A half-space tree as a flat depth-first list: ``[feature, threshold, l_mass, r_mass]`` per branch."""
    if isinstance(node, PaddedBranch):
        return [[node.feature, node.threshold, node.l_mass, node.r_mass],
                *_tree_state(node.children[0]), *_tree_state(node.children[1])]
    return [[node.l_mass, node.r_mass]]


def _tree_from_state(nodes: Iterator[Any], height: int) -> PaddedBranch | PaddedLeaf:
    try:
        node = check_list(next(nodes), 4)
    except StopIteration:
        raise ValueError("a stored tree ends early") from None
    if height == 0:
        l_mass, r_mass = node
        return PaddedLeaf(l_mass=check_int(l_mass, 0), r_mass=check_int(r_mass, 0))
    feature, threshold, l_mass, r_mass = node
    if feature not in _LIMITS:
        raise ValueError(f"a stored tree splits on unknown feature {feature!r:.40}")
    left, right = _tree_from_state(nodes, height - 1), _tree_from_state(nodes, height - 1)
    return PaddedBranch(left, right, feature, check_float(threshold), check_int(l_mass, 0), check_int(r_mass, 0))


class EntityAnomaly:
    """Unsupervised per-entity behaviour score; ``learn_one`` is called for every post."""

    name = "entity_anomaly"

    def __init__(
        self,
        n_trees: int = 25,
        height: int = 8,
        window_size: int = 250,
        max_entities: int = 200_000,
        max_events: int = 256,
        ttl_s: float = 7 * _DAY,
        calibration_window: int = 2000,
        seed: int = 7,
    ) -> None:
        self.model = anomaly.HalfSpaceTrees(
            n_trees=n_trees, height=height, window_size=window_size, limits=dict(_LIMITS), seed=seed
        )
        self._reference = _ReferenceTrees(self.model)
        self.max_entities = max_entities
        self.max_events = max_events
        self.ttl_s = ttl_s
        self._entities: OrderedDict[str, EntityWindow] = OrderedDict()
        self._clock = 0.0
        self.learned = 0
        # score_one → learn_one on the same post (the worker's loop) reuses the description and raw
        # score; any learn_one invalidates it because the entity's window has changed.
        self._last: tuple[dict[str, Any], tuple[str, float, str, int, dict[str, float]], float] | None = None
        self._median = stats.RollingQuantile(0.5, window_size=calibration_window)
        self._high = stats.RollingQuantile(0.99, window_size=calibration_window)
        self._raw_scores: deque[float] = deque(maxlen=calibration_window)  # the quantiles' window, for checkpoints

    def _calibrate(self, raw: float) -> None:
        self._median.update(raw)
        self._high.update(raw)
        self._raw_scores.append(raw)

    def _calibrated(self, raw: float) -> float:
        median, high = self._median.get(), self._high.get()
        if median is None or high is None or high - median < 1e-6:
            return 0.0
        return min(1.0, max(0.0, (raw - median) / (high - median)))

    def __len__(self) -> int:
        return len(self._entities)

    def _describe(self, post: dict[str, Any]) -> tuple[str, float, str, int, dict[str, float]]:
        key = str(post.get("entity_key") or "")
        ts, city, fp = _timestamp(post), _city(post), _fingerprint(post)
        window = self._entities.get(key)
        if window is None:
            raw = {"posts_1h": 1.0, "posts_24h": 1.0, "cities_24h": 1.0 if city else 0.0, "texts_24h": 1.0,
                   "gap_h": -1.0}
        else:
            raw = window.describe(ts, city, fp, _post_key(post))
        return key, ts, city, fp, raw

    # -- checkpoint state -------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What the trees learned and the calibration window, as plain data.

        Per-contact windows are left out on purpose: they are personal data (phones, e-mails) that
        must expire with the posts, and the worker owning a contact's partition rebuilds them from
        new posts.
        """
        hst = self.model
        return {
            "trees": [_tree_state(tree) for tree in hst.trees], "counter": hst.counter,
            "first_window": hst._first_window, "learned": self.learned, "calibration": list(self._raw_scores),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Load :meth:`state` into this freshly constructed detector; ``ValueError`` if malformed."""
        hst = self.model
        trees = check_list(state["trees"], hst.n_trees)
        if trees and len(trees) != hst.n_trees:
            raise ValueError(f"{len(trees)} trees stored, the detector has {hst.n_trees}")
        hst.trees = [_tree_from_state(iter(check_list(nodes, 2 ** (hst.height + 1))), hst.height) for nodes in trees]
        hst._tree_nodes = [list(tree.iter_dfs()) for tree in hst.trees]
        hst.counter = check_int(state["counter"], 0, hst.window_size - 1)
        hst._first_window = check_bool(state["first_window"])
        self.learned = check_int(state["learned"], 0)
        for raw in check_list(state["calibration"], self._raw_scores.maxlen or 0):
            self._calibrate(check_float(raw))
        self._reference = _ReferenceTrees(hst)
        self._last = None

    def _raw(self, post: dict[str, Any]) -> tuple[tuple[str, float, str, int, dict[str, float]], float]:
        last = self._last
        if last is not None and last[0] is post:
            return last[1], last[2]
        described = self._describe(post)
        raw_score = float(self._reference.score(_features(described[4])))
        self._last = (post, described, raw_score)
        return described, raw_score

    def score_one(self, post: dict[str, Any]) -> Detection:
        (key, _, _, _, raw), raw_score = self._raw(post)
        if not self.learned:
            raw_score = 0.0
        score = self._calibrated(raw_score)
        explanation = (
            f"contact seen in {int(raw['cities_24h'])} cities in 24 h, {int(raw['posts_24h'])} posts "
            f"({int(raw['posts_1h'])} in the last hour), {int(raw['texts_24h'])} different texts"
        )
        details = {"entity_key": key, "raw_score": raw_score, **raw}
        return Detection(self.name, score, explanation=explanation, details=details)

    def learn_one(self, post: dict[str, Any], label: str | None = None) -> None:
        """Add the post to its entity's window and teach the trees what this behaviour looks like."""
        (key, ts, city, fp, raw), raw_score = self._raw(post)
        self._last = None
        window = self._entities.get(key)
        post_key = _post_key(post)
        if window is not None and window.holds(post_key):
            return  # a replay (a file ingested twice, a reprocessed batch) teaches nothing new
        self._calibrate(raw_score)
        self.model.learn_one(_features(raw))
        if self.model.counter == 0:  # a window completed: the reference masses changed
            self._reference = _ReferenceTrees(self.model)
        self.learned += 1
        if window is None:
            window = self._entities[key] = EntityWindow()
        else:
            self._entities.move_to_end(key)
        window.add(ts, city, fp, post_key, self.max_events)
        self._clock = max(self._clock, ts)
        self._evict()

    def forget_entities(self) -> None:
        """Drop every entity's window but keep what the trees learned (used after a warm start)."""
        self._entities.clear()
        self._clock = 0.0

    def _evict(self) -> None:
        entities = self._entities
        while len(entities) > self.max_entities:
            entities.popitem(last=False)
        # Least recently seen first: stop at the first entity still inside the ttl.
        while entities:
            key, window = next(iter(entities.items()))
            if self._clock - window.last_seen <= self.ttl_s:
                break
            del entities[key]
