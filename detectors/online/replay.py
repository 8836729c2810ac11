"""A bounded, uniformly sampled memory of past labelled examples, replayed beside each new verdict.

Why it exists: an online model that learns only from the newest verdicts drifts toward them — after a
run of "trafficking" verdicts on ads that look like adults' own ads, it starts to forget what those
ads usually are. Rehearsing a few remembered examples with every verdict (experience replay, the
standard remedy against forgetting in continual learning) anchors the old decision boundary while
the new evidence moves it. Reservoir sampling keeps the memory a uniform sample of everything seen in
a fixed number of slots, and each example is stored as a compact array of hashed feature ids, so the
checkpoint stays small.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator, Mapping
from typing import Any

from trailhound.detectors.online.state_checks import check_bool, check_float, check_int, check_list

__all__ = ["ReplayBuffer"]


class ReplayBuffer:
    """Reservoir of ``(feature ids, label)`` pairs; features are binary (present = 1.0)."""

    def __init__(self, size: int = 2000, seed: int = 0) -> None:
        if size < 0:
            raise ValueError("size must not be negative")
        self.size = size
        self.seen = 0
        self._items: list[tuple[array, bool]] = []
        self._rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, features: dict[int, float], label: bool) -> None:
        """Offer one example; it replaces a random slot with the reservoir probability."""
        self.seen += 1
        if self.size == 0:
            return
        item = (array("I", features), label)
        if len(self._items) < self.size:
            self._items.append(item)
            return
        slot = self._rng.randrange(self.seen)
        if slot < self.size:
            self._items[slot] = item

    def state(self) -> dict[str, Any]:
        """The remembered examples and the sampler's position, as plain data for a checkpoint."""
        version, internal, gauss = self._rng.getstate()
        return {"seen": self.seen, "items": [[list(ids), label] for ids, label in self._items],
                "rng": [version, list(internal), gauss]}

    def restore(self, state: Mapping[str, Any], max_feature: int) -> None:
        """Load :meth:`state` (at most ``size`` examples of feature ids up to ``max_feature``)."""
        items = []
        for ids, label in check_list(state["items"], self.size):
            items.append((array("I", (check_int(i, 0, max_feature) for i in check_list(ids, max_feature + 1))),
                          check_bool(label)))
        version, internal, gauss = check_list(state["rng"], 3)
        rng = random.Random()
        rng.setstate((check_int(version), tuple(check_int(i, 0, 2**32) for i in check_list(internal, 625)),
                      None if gauss is None else check_float(gauss)))
        self._items, self._rng, self.seen = items, rng, check_int(state["seen"], len(items))

    def sample(self, k: int) -> Iterator[tuple[dict[int, float], bool]]:
        """``k`` remembered examples drawn with replacement (nothing when empty)."""
        if not self._items:
            return
        for _ in range(k):
            ids, label = self._items[self._rng.randrange(len(self._items))]
            yield dict.fromkeys(ids, 1.0), label
