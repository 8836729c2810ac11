"""All of linkage in one process: keys → key owner → clusters → network detectors.

The stream runs these steps in separate stages joined by Kafka topics (see
:mod:`trailhound.streams.linkage`); this class chains the same pure functions directly, for the
benchmark and for reasoning about what the stages must produce together.
"""

from __future__ import annotations

from dataclasses import dataclass

from trailhound.detectors.linkage.city_rates import CityRates
from trailhound.detectors.linkage.clusters import Cluster, ClusterBook
from trailhound.detectors.linkage.key_index import HubKey, KeyIndex, KeyIndexParams
from trailhound.detectors.linkage.keys import PostSummary
from trailhound.detectors.linkage.networks import ClusterAssessment, NetworkParams, assess_cluster

__all__ = ["Linker", "Update"]


@dataclass(frozen=True, slots=True)
class Update:
    """A cluster that changed, with the network detectors' view of it."""

    cluster: Cluster
    assessment: ClusterAssessment


class Linker:
    """Keeps the key index and the clusters; returns the clusters each post changed."""

    EXPIRE_EVERY = 5_000

    def __init__(self, index: KeyIndexParams | None = None, networks: NetworkParams | None = None) -> None:
        self.index = KeyIndex(index)
        self.book = ClusterBook()
        self.networks = networks or NetworkParams()
        self.cities = CityRates()
        self.retired: dict[str, str] = {}
        self._seen = 0
        self._now = 0.0

    def add(self, post: PostSummary) -> list[Update]:
        self._now = max(self._now, post.ts)
        self._seen += 1
        self.cities.observe(post.city, post.contact, post.ts, post.post_key)
        if self._seen % self.EXPIRE_EVERY == 0:
            self.book.expire(self._now - self.index.params.retention_s)
        for event in self.index.observe_keys(post, post.link_keys()):
            if isinstance(event, HubKey):
                self.book.hub(event)
            else:
                self.book.link(event)
        changed, retired = self.book.take_changes()
        self.retired.update(retired)
        return [Update(cluster, assess_cluster(cluster, self.networks, self.cities)) for cluster in changed]
