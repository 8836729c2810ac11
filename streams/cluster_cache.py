"""The cluster stage's own clusters, kept in memory between batches instead of read back from Elasticsearch.

Why it exists: the cluster stage (``linkage.links``, one partition, so one writer at a time) read every
cluster a batch touched back from Elasticsearch: a realtime ``mget`` of the posts' memberships, another of
the clusters (decoded from JSON each time, however large), and for a hub notice a forced refresh and a
search. At a steady feed it runs about ten small batches a second, and those round trips were most of
each batch's time (issue 13). The stage's worker owns the partition, so what it wrote itself it already
has: this cache keeps the clusters the stage loaded or wrote, and which cluster each of their posts is in.

It is only trusted while the stage's batches follow one another without a gap: every batch names the
offset of its first record, and a batch that does not start where the previous one ended (a restart, a
rebalance that gave the partition to another worker and back, a batch read again after a failure) empties
the cache first, as does any batch that fails half-way. Elasticsearch stays the state that survives: every
batch still writes what it changed before its offsets move, so an emptied or evicted entry is read back
from there. The cache is bounded (members and links counted), least recently used clusters leave first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from trailhound.detectors.linkage.clusters import Cluster

__all__ = ["MAX_CACHED_ITEMS", "ClusterCache", "Stored"]

MAX_CACHED_ITEMS = 150_000  # members plus links of the cached clusters: about 470 bytes each, 70 MB in all
RECENT_WRITE_S = 5.0  # a cluster evicted this soon after its write may not be searchable yet


@dataclass
class Stored:
    """A cluster as stored in Elasticsearch, with what the stage remembers about its alert."""

    cluster: Cluster
    alerted: bool = False
    evidence: set[str] = field(default_factory=set)


def _size(entry: Stored) -> int:
    return 1 + len(entry.cluster.members) + len(entry.cluster.edges)


class ClusterCache:
    """Clusters by id and the cluster of each of their posts, valid while batches follow one another."""

    def __init__(self, max_items: int = MAX_CACHED_ITEMS) -> None:
        self.max_items = max_items
        self.next_offset: int | None = None  # where the next batch must start for the cache to hold
        self.searchable = False  # whether every cluster written before the cache started is searchable
        self._entries: OrderedDict[str, tuple[Stored, float, int]] = OrderedDict()  # id → (entry, kept at, size)
        self._member_of: dict[str, str] = {}
        self._items = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget everything (the next reads come from Elasticsearch, and the first hub search refreshes)."""
        self._entries.clear()
        self._member_of.clear()
        self._items = 0
        self.next_offset = None
        self.searchable = False

    def begin(self, first_offset: int | None) -> None:
        """A batch starts at ``first_offset`` (None: unknown); a gap since the last batch empties the cache."""
        if first_offset is None or first_offset != self.next_offset:
            self.clear()
        self.next_offset = None  # until this batch has finished

    def finish(self, last_offset: int | None) -> None:
        self.next_offset = None if last_offset is None else last_offset + 1

    def cluster_of(self, post_key: str) -> str | None:
        return self._member_of.get(post_key)

    def get(self, cluster_id: str) -> Stored | None:
        held = self._entries.get(cluster_id)
        return held[0] if held else None

    def holding_edge_keys(self, keys: Collection[str]) -> set[str]:
        """The cached clusters with a link made through one of ``keys``."""
        return {cid for cid, (entry, _, _) in self._entries.items() if any(e.key in keys for e in entry.cluster.edges)}

    def keep(self, entries: dict[str, Stored], clusters: dict[str, Cluster], cluster_of: dict[str, str],
             left: Iterable[str]) -> None:
        """After a batch was written: ``entries`` it loaded or made, of which ``clusters`` still exist,
        ``cluster_of`` their posts' clusters, and the posts that ``left`` every cluster."""
        for post_key in left:
            self._member_of.pop(post_key, None)
        now = time.monotonic()
        for cluster_id, entry in entries.items():
            self._drop(cluster_id)
            cluster = clusters.get(cluster_id)
            if cluster is not None:
                entry.cluster = cluster
                size = _size(entry)
                self._entries[cluster_id] = (entry, now, size)
                self._items += size
        for post_key, cluster_id in cluster_of.items():
            if cluster_id in self._entries:
                self._member_of[post_key] = cluster_id
        while self._items > self.max_items and self._entries:
            cluster_id, (_, kept_at, _) = next(iter(self._entries.items()))
            if now - kept_at < RECENT_WRITE_S:
                self.searchable = False  # its last write may not be searchable yet: the hub search refreshes
            self._drop(cluster_id)

    def _drop(self, cluster_id: str) -> None:
        held = self._entries.pop(cluster_id, None)
        if held is None:
            return
        self._items -= held[2]
        for post_key in held[0].cluster.members:
            if self._member_of.get(post_key) == cluster_id:
                del self._member_of[post_key]
