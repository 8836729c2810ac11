"""Entity clusters: links merged into groups of posts, with ids that do not depend on who saw what first.

A cluster's id is derived from its *founder*, the member with the earliest ``(posted time, post key)``.
When two clusters merge, the one with the earlier founder keeps its id and records the other as merged
into it, so the id of a cluster is a function of its members — the same on any worker, after any
restart, whatever the order the links arrived in (while no cluster is at its size limit: which links a
full cluster refused depends on their order). A hub notice removes the links made through the hub
key and splits the cluster into what is still connected; each part takes the id of its own founder.

:class:`ClusterBook` holds clusters in memory; the stream stage loads the clusters a batch of links
touches from Elasticsearch into a book, applies the batch and writes back what changed
(:meth:`Cluster.to_json` / :meth:`Cluster.from_json`). Retention drops members older than the window.

A cluster stops growing at ``max_posts`` members: a link that would join two clusters into a larger one
is not followed, only counted on the larger (``links_refused``: at least that many, since the count is
stored with the cluster's next change, and a split starts the parts at 0). Without a limit, chains of near-copies
(one template reused by many unrelated advertisers) joined a busy feed into one cluster of tens of
thousands of posts, which no analyst can read and whose every change rewrote a document of megabytes:
on the soak feed the cluster stage slowed until the worker fell hours behind. The limit is
``TRAILHOUND_LINKAGE_MAX_CLUSTER_POSTS``; a real ring's network is far smaller.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from trailhound.detectors.linkage.key_index import HubKey, Link
from trailhound.detectors.linkage.keys import PostSummary, key_kind
from trailhound.ids import stable_id

__all__ = ["Cluster", "ClusterBook", "Edge", "Member", "cluster_id_for"]

MAX_EDGES = 2_000  # per cluster; beyond it the links are still counted, just not listed one by one
MAX_CLUSTER_POSTS = 1_000  # the default size limit (see the module docstring)


def cluster_id_for(post_key: str) -> str:
    """The id of the cluster founded by ``post_key``."""
    return "cl-" + stable_id("trailhound.cluster", post_key, length=20)


@dataclass(frozen=True, slots=True)
class Member:
    """What a cluster keeps of one of its posts."""

    post_key: str
    ts: float
    posted_at: str
    city: str
    contact: str
    author: str
    categories: tuple[str, ...]
    harm: tuple[str, ...]
    score: float
    adult: bool = False
    _encoded: orjson.Fragment | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def of(cls, post: PostSummary) -> Member:
        return cls(post.post_key, post.ts, post.posted_at, post.city, post.contact, post.author,
                   post.categories, post.harm, post.score, post.adult)

    def to_json(self) -> dict[str, Any]:
        return {"post_key": self.post_key, "ts": self.ts, "posted_at": self.posted_at, "city": self.city,
                "contact": self.contact, "author": self.author, "categories": list(self.categories),
                "harm": list(self.harm), "score": self.score, "adult": self.adult}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Member:
        return cls(data["post_key"], float(data["ts"]), data.get("posted_at", ""), data.get("city", ""),
                   data.get("contact", ""), data.get("author", ""), tuple(data.get("categories", ())),
                   tuple(data.get("harm", ())), float(data.get("score", 0.0)), bool(data.get("adult")))

    @property
    def order(self) -> tuple[float, str]:
        return (self.ts, self.post_key)

    def encoded(self) -> orjson.Fragment:
        """:meth:`to_json` encoded, once: a member never changes (see :meth:`Cluster.encoded`)."""
        return _kept_encoding(self)


@dataclass(frozen=True, slots=True)
class Edge:
    """One explained link inside a cluster."""

    a: str
    b: str
    key: str
    reason: str
    similarity: float = 1.0
    _encoded: orjson.Fragment | None = field(default=None, init=False, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "key": self.key, "reason": self.reason, "similarity": self.similarity}

    def encoded(self) -> orjson.Fragment:
        """:meth:`to_json` encoded, once (see :meth:`Cluster.encoded`)."""
        return _kept_encoding(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Edge:
        return cls(data["a"], data["b"], data["key"], data["reason"], float(data.get("similarity", 1.0)))


@dataclass(slots=True)
class Cluster:
    """Posts that share keys, the explained links between them, and the hub keys set aside."""

    cluster_id: str
    members: dict[str, Member] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    links_total: int = 0
    hubs: dict[str, str] = field(default_factory=dict)
    merged_from: list[str] = field(default_factory=list)
    links_refused: int = 0
    """Links to further posts not followed because the cluster was at its size limit (at least this many:
    counted in memory, stored with the cluster's next change)."""
    _edge_ids: set[tuple[str, str, str]] = field(default_factory=set, repr=False, compare=False)
    _founder: str = field(default="", repr=False, compare=False)

    @property
    def founder(self) -> Member:
        """The earliest member (cached; members are only added between merges, expiry re-computes)."""
        member = self.members.get(self._founder)
        if member is None:
            member = min(self.members.values(), key=lambda m: m.order)
            self._founder = member.post_key
        return member

    def add_edge(self, edge: Edge) -> None:
        """Keep an explained link once (the same pair may be linked by several keys)."""
        if not self._edge_ids and self.edges:
            self._edge_ids.update((e.a, e.b, e.key) for e in self.edges)
        ident = (edge.a, edge.b, edge.key)
        if ident not in self._edge_ids and len(self.edges) < MAX_EDGES:
            self._edge_ids.add(ident)
            self.edges.append(edge)

    def drop_edges(self, keep: Callable[[Edge], bool]) -> None:
        self.edges = [e for e in self.edges if keep(e)]
        self._edge_ids = {(e.a, e.b, e.key) for e in self.edges}

    def reason_counts(self) -> Counter[str]:
        """How many links each kind of reason made ("same phone", "text similar", "same image")."""
        counts: Counter[str] = Counter()
        for edge in self.edges:
            kind = key_kind(edge.key)
            counts["text similar" if kind == "text" else "same image" if kind == "image" else f"same {kind}"] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return self._state([m.to_json() for m in self.members.values()], [e.to_json() for e in self.edges])

    def encoded(self) -> bytes:
        """:meth:`to_json` as JSON, from each member's and link's own encoding, made once and kept.

        Every batch of the cluster stage writes back the whole state of each cluster it changed (up to 1,000
        posts and 2,000 links): building a dict per member and link for that was a sixth of the stage's time
        in a profile of a worker draining a backlog, though only the newest few of them were new.
        """
        members = [m.encoded() for m in self.members.values()]
        return orjson.dumps(self._state(members, [e.encoded() for e in self.edges]))

    def _state(self, members: list[Any], edges: list[Any]) -> dict[str, Any]:
        return {"cluster_id": self.cluster_id, "members": members, "edges": edges, "links_total": self.links_total,
                "hubs": [{"key": k, "note": v} for k, v in self.hubs.items()], "merged_from": self.merged_from,
                **({"links_refused": self.links_refused} if self.links_refused else {})}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cluster:
        members = (Member.from_json(m) for m in data.get("members", ()))
        return cls(data["cluster_id"], {m.post_key: m for m in members},
                   [Edge.from_json(e) for e in data.get("edges", ())], int(data.get("links_total", 0)),
                   {h["key"]: h["note"] for h in data.get("hubs", ())}, list(data.get("merged_from", ())),
                   int(data.get("links_refused", 0)))


class ClusterBook:
    """Clusters and the post → cluster map; applies links and hub notices, reports what changed."""

    def __init__(self, clusters: Iterable[Cluster] = (), hub_keys: Iterable[str] = (),
                 max_posts: int = MAX_CLUSTER_POSTS) -> None:
        self.max_posts = max_posts
        self.clusters: dict[str, Cluster] = {}
        self.cluster_of: dict[str, str] = {}
        self.hub_keys: set[str] = set(hub_keys)
        self.changed: set[str] = set()
        self.retired: dict[str, str] = {}  # cluster id → the cluster it was merged into ("" = dissolved)
        self.repaired: set[str] = set()  # posts found in two clusters, kept in the first (see add)
        for cluster in clusters:
            self.add(cluster)

    def add(self, cluster: Cluster) -> None:
        """Hold ``cluster``. A post already held in another cluster stays there and leaves this one
        (:attr:`repaired` names it, so its stored membership is written again): stored clusters sharing a
        post would otherwise break every batch that touches them, a stage stalled for good."""
        self.clusters[cluster.cluster_id] = cluster
        repaired = False
        for post_key in list(cluster.members):
            held = self.cluster_of.get(post_key)
            if held is not None and held != cluster.cluster_id and held in self.clusters:
                del cluster.members[post_key]
                self.repaired.add(post_key)
                self.changed.update((cluster.cluster_id, held))  # both written: the keeper with the membership
                repaired = True
            else:
                self.cluster_of[post_key] = cluster.cluster_id
        if repaired and len(cluster.members) < 2:  # what is left is no cluster: dissolved, its document deleted
            for post_key in cluster.members:
                self.cluster_of.pop(post_key, None)
            del self.clusters[cluster.cluster_id]
            self.changed.discard(cluster.cluster_id)
            self.retired[cluster.cluster_id] = ""

    def link(self, link: Link) -> str | None:
        """Apply one link; return the id of the cluster now holding both posts (None if the key is a hub, or
        if following the link would make a cluster larger than ``max_posts``)."""
        if link.key in self.hub_keys or link.a.post_key == link.b.post_key or self._refused(link):
            return None
        first = self._cluster_holding(link.a)
        second = self._cluster_holding(link.b)
        if first.cluster_id != second.cluster_id:
            first = self._merge(first, second)
        first.links_total += 1
        first.add_edge(Edge(link.a.post_key, link.b.post_key, link.key, link.reason, link.similarity))
        self.changed.add(first.cluster_id)
        return first.cluster_id

    def _refused(self, link: Link) -> bool:
        """Whether the link would join two clusters (a post alone counts as one) into one above ``max_posts``;
        if so the larger cluster counts it."""
        ids = dict.fromkeys(self._cluster_id_of(post) for post in (link.a, link.b))  # in order: ties go to a's
        sizes = {cluster_id: len(self.clusters[cluster_id].members) if cluster_id in self.clusters else 0
                 for cluster_id in ids}
        joining = (link.a.post_key not in self.cluster_of) + (link.b.post_key not in self.cluster_of)
        if sum(sizes.values()) + joining <= self.max_posts:
            return False
        larger = max(sizes, key=lambda cluster_id: sizes[cluster_id])
        if larger in self.clusters:
            self.clusters[larger].links_refused += 1
        return True

    def _cluster_id_of(self, post: PostSummary) -> str:
        """The id of the cluster :meth:`_cluster_holding` would put ``post`` in (a post out of every cluster
        goes back to the one it founded, if that still exists)."""
        return self.cluster_of.get(post.post_key) or cluster_id_for(post.post_key)

    def _cluster_holding(self, post: PostSummary) -> Cluster:
        cluster_id = self.cluster_of.get(post.post_key)
        if cluster_id is not None:
            return self.clusters[cluster_id]
        cluster = Cluster(cluster_id_for(post.post_key), {post.post_key: Member.of(post)})
        existing = self.clusters.get(cluster.cluster_id)
        if existing is not None:  # the post founded a cluster that lost it (expiry): take it up again
            existing.members[post.post_key] = Member.of(post)
            cluster = existing
        self.add(cluster)
        self.retired.pop(cluster.cluster_id, None)
        return cluster

    def _merge(self, first: Cluster, second: Cluster) -> Cluster:
        keep, gone = sorted((first, second), key=lambda c: c.founder.order)
        was_cluster = len(gone.members) > 1  # a post on its own is not a cluster anyone has seen
        founder = keep.founder.post_key
        if len(gone.members) > len(keep.members):  # merge the smaller into the larger dict
            gone.members.update(keep.members)
            keep.members = gone.members
        else:
            keep.members.update(gone.members)
        keep._founder = founder
        for post_key in gone.members:
            self.cluster_of[post_key] = keep.cluster_id
        for edge in gone.edges:
            keep.add_edge(edge)
        keep.links_total += gone.links_total
        keep.links_refused += gone.links_refused
        keep.hubs.update(gone.hubs)
        keep.merged_from = sorted(set(keep.merged_from) | set(gone.merged_from)
                                  | ({gone.cluster_id} if was_cluster else set()))
        del self.clusters[gone.cluster_id]
        self.changed.discard(gone.cluster_id)
        if was_cluster:
            self.retired[gone.cluster_id] = keep.cluster_id
        self.changed.add(keep.cluster_id)
        return keep

    def hub(self, notice: HubKey) -> None:
        """Set a hub key aside: drop its links everywhere and split clusters it alone held together."""
        self.hub_keys.add(notice.key)
        for cluster in [c for c in self.clusters.values() if any(e.key == notice.key for e in c.edges)]:
            cluster.drop_edges(lambda e: e.key != notice.key)
            cluster.hubs[notice.key] = notice.note
            self._split(cluster)

    def _split(self, cluster: Cluster) -> None:
        parts = _components(cluster)
        self.changed.add(cluster.cluster_id)
        if len(parts) == 1:
            return
        del self.clusters[cluster.cluster_id]
        for post_key in cluster.members:
            self.cluster_of.pop(post_key, None)
        self.retired[cluster.cluster_id] = ""
        for part in parts:
            members = {k: cluster.members[k] for k in part}
            if len(members) < 2:
                continue
            founder = min(members.values(), key=lambda m: m.order)
            piece = Cluster(cluster_id_for(founder.post_key), members,
                            [e for e in cluster.edges if e.a in part], 0, dict(cluster.hubs))
            piece.links_total = len(piece.edges)
            if piece.cluster_id == cluster.cluster_id:
                piece.merged_from = list(cluster.merged_from)
            self.add(piece)
            self.retired.pop(piece.cluster_id, None)
            self.changed.add(piece.cluster_id)
        self.changed = {c for c in self.changed if c in self.clusters}

    def expire(self, horizon: float) -> None:
        """Forget members posted before ``horizon`` (and their links); a cluster left with < 2 dissolves."""
        for cluster in list(self.clusters.values()):
            old = [k for k, m in cluster.members.items() if m.ts < horizon]
            if not old:
                continue
            for post_key in old:
                del cluster.members[post_key]
                self.cluster_of.pop(post_key, None)
            cluster.drop_edges(_avoiding(set(old)))
            if len(cluster.members) < 2:
                for post_key in cluster.members:
                    self.cluster_of.pop(post_key, None)
                del self.clusters[cluster.cluster_id]
                self.changed.discard(cluster.cluster_id)
                self.retired[cluster.cluster_id] = ""  # its stored document goes too: a search by key found it
            else:
                self.changed.add(cluster.cluster_id)

    def take_changes(self) -> tuple[list[Cluster], dict[str, str]]:
        """The clusters changed since the last call and the ids retired (merged away or split)."""
        changed = [self.clusters[c] for c in sorted(self.changed) if c in self.clusters]
        retired = dict(self.retired)
        self.changed, self.retired = set(), {}
        return changed, retired


def _kept_encoding(item: Member | Edge) -> orjson.Fragment:
    """``item.to_json()`` encoded the first time it is asked for, then kept on the (frozen) item.

    Kept as a right-sized copy: orjson (3.12 on) hands back its output in a buffer of at least 4 KB, which
    ``bytes`` reports by its length but keeps whole. Kept as it came, each of the cached clusters' members and
    links held 4 KB for about 150 bytes of JSON, and the cluster stage's memory grew by hundreds of megabytes
    until its cache was full (``bench/soak.py``).
    """
    if item._encoded is None:  # bytes(memoryview(b)) copies; bytes(b) would hand back b itself, buffer and all
        object.__setattr__(item, "_encoded", orjson.Fragment(bytes(memoryview(orjson.dumps(item.to_json())))))
    return item._encoded  # type: ignore[return-value]  # set just above


def _avoiding(gone: set[str]) -> Callable[[Edge], bool]:
    """A filter keeping the edges between posts that are not ``gone``."""
    return lambda edge: edge.a not in gone and edge.b not in gone


def _components(cluster: Cluster) -> list[set[str]]:
    parent = {k: k for k in cluster.members}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for edge in cluster.edges:
        if edge.a in parent and edge.b in parent:
            parent[find(edge.a)] = find(edge.b)
    parts: dict[str, set[str]] = {}
    for key in cluster.members:
        parts.setdefault(find(key), set()).add(key)
    return list(parts.values())
