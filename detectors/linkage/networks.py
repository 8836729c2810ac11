"""Network detectors over one cluster, and the decision whether the network is worth an alert.

Each detector looks at the *shape* of a cluster and returns a :class:`Finding` with its evidence in
words an analyst can check:

- **circuit** — the cluster advertised in ≥ ``circuit_min_cities`` distinct cities within the window,
  with the route (cities by first appearance, first and last seen);
- **template** — ≥ ``template_min_posts`` posts with near-identical text under ≥ ``template_min_contacts``
  different contacts or authors;
- **velocity** — the last day's posts far above the cluster's own daily rate, or, in one city, far above
  what one advertiser usually posts there in a day (:mod:`.city_rates`);
- **shared image** — one image under ≥ 2 different contacts.

Shape alone is not exploitation: a moving company or a restaurant chain posts the same text in many
cities. As in :mod:`trailhound.alerts.scoring`, an alert also needs *content*: signs of harm in the
posts (the pattern library's non-supporting categories — youth, coercion, third-party control, labour
exploitation) of at least two kinds, since one indicator repeated by every copy of one ad is still one
indicator (a farm stand's cherry emoji in every branch's ad); or a network of adult-service ads run
for several people (several personas under one contact, or one adult-service template across many
contacts); or one job ad with labour indicators across many contacts. An adult touring alone under her
own number, with no sign of harm, is never raised.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from trailhound.detectors.linkage.city_rates import CityBaseline
from trailhound.detectors.linkage.clusters import Cluster, Edge, Member
from trailhound.detectors.linkage.keys import key_kind

__all__ = ["ADULT_SERVICE_CATEGORIES", "ClusterAssessment", "Finding", "NetworkParams", "RouteStop", "assess_cluster"]

DAY_S = 86_400.0
LABOUR_PREFIX = "labour_"
NO_CONTACT = "post:"  # the entity key of a post that names no phone, e-mail, handle or author

ADULT_SERVICE_CATEGORIES: frozenset[str] = frozenset({"price", "screening", "obfuscation", "trust", "ethnicity"})
"""Categories that mark an ad as an adult-service ad (never a harm sign alone; see library.yaml), besides the
post's own adult-service wording (:data:`trailhound.detectors.linkage.keys.ADULT_SERVICE`)."""


@dataclass(frozen=True, slots=True)
class NetworkParams:
    """Thresholds of the network detectors; defaults are the documented settings."""

    window_s: float = 14 * DAY_S
    circuit_min_cities: int = 3
    template_min_posts: int = 3
    template_min_contacts: int = 3
    velocity_min_posts: int = 6
    velocity_factor: float = 4.0
    harm_min_posts: int = 2
    harm_min_share: float = 0.2
    harm_min_kinds: int = 2
    personas_min: int = 2
    adult_min_share: float = 0.5


@dataclass(frozen=True, slots=True)
class Finding:
    """One network shape found in a cluster, with its evidence in words."""

    kind: str  # circuit | template | velocity | shared_image
    evidence: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "evidence": self.evidence}


@dataclass(frozen=True, slots=True)
class RouteStop:
    """A city on the cluster's route."""

    city: str
    first_seen: float
    last_seen: float
    posts: int


@dataclass(frozen=True, slots=True)
class ClusterAssessment:
    """What the network detectors found in a cluster and whether it should alert."""

    findings: tuple[Finding, ...]
    content: tuple[str, ...]
    should_alert: bool
    score: float
    route: tuple[RouteStop, ...]
    contacts: tuple[str, ...]
    personas: int
    categories: tuple[str, ...]

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(f.kind for f in self.findings)


def route_of(members: Collection[Member]) -> tuple[RouteStop, ...]:
    """Cities in order of first appearance, with first/last seen and post counts."""
    stops: dict[str, list[float]] = {}
    for member in sorted(members, key=lambda m: m.order):
        if not member.city:
            continue
        stop = stops.setdefault(member.city, [member.ts, member.ts, 0])
        stop[1] = max(stop[1], member.ts)
        stop[2] += 1
    return tuple(RouteStop(city, first, last, int(n)) for city, (first, last, n) in stops.items())


def _circuit(cluster: Cluster, recent: list[Member], params: NetworkParams) -> Finding | None:
    route = route_of(recent)
    if len(route) < params.circuit_min_cities:
        return None
    path = " → ".join(stop.city for stop in route)
    return Finding("circuit", f"advertised in {len(route)} cities within {params.window_s / DAY_S:.0f} days: {path}")


def _template(cluster: Cluster, text_edges: list[Edge], params: NetworkParams) -> Finding | None:
    text_posts: set[str] = set()
    for edge in text_edges:
        text_posts.update((edge.a, edge.b))
    members = [cluster.members[k] for k in text_posts if k in cluster.members]
    contacts = _contacts(members)
    owners = contacts | {m.author for m in members if m.author}
    if len(members) < params.template_min_posts or len(contacts) < params.template_min_contacts:
        return None
    best = max((e.similarity for e in text_edges), default=0.0)
    return Finding("template", f"{len(members)} posts with near-identical text (up to {best:.2f} similar) "
                               f"under {len(contacts)} contacts", {"owners": len(owners)})


def _velocity(members: list[Member], params: NetworkParams, cities: CityBaseline | None) -> Finding | None:
    """The last day's posts far above the cluster's own daily rate, or far above one advertiser's usual
    day in a city (``cities``) where the cluster posted that many in that day."""
    if len(members) < params.velocity_min_posts:
        return None
    last = max(m.ts for m in members)
    day = [m for m in members if m.ts > last - DAY_S]
    burst = len(day)
    if burst < params.velocity_min_posts:
        return None
    span_days = max(1.0, (last - min(m.ts for m in members)) / DAY_S)
    baseline = (len(members) - burst) / max(1.0, span_days - 1.0)
    if burst >= params.velocity_factor * max(baseline, 1.0):
        before = f"a usual {baseline:.1f} a day" if baseline else "none on the days before"
        return Finding("velocity", f"{burst} posts in one day against {before}")
    if cities is None:
        return None
    for city, posts in Counter(m.city for m in day if m.city).most_common():
        usual = cities.per_advertiser(city, last - DAY_S)
        if posts >= params.velocity_min_posts and usual is not None and posts >= params.velocity_factor * usual:
            return Finding("velocity", f"{posts} posts in {city} in one day against a usual {usual:.1f} a day "
                                       f"for one advertiser in {city}", {"city": city})
    return None


def _contacts(members: Collection[Member]) -> set[str]:
    """The contacts the posts were written under; a post with no contact at all adds none."""
    return {m.contact for m in members if m.contact and not m.contact.startswith(NO_CONTACT)}


def _shared_image(cluster: Cluster, image_edges: list[Edge]) -> Finding | None:
    posts = {k for e in image_edges for k in (e.a, e.b)}
    contacts = _contacts([cluster.members[k] for k in posts if k in cluster.members])
    if len(contacts) < 2:
        return None
    return Finding("shared_image", f"the same image appears under {len(contacts)} different contacts")


def _of_a_kind(cluster: Cluster, text_edges: list[Edge], marked: set[str]) -> set[str]:
    """The ``marked`` posts and their near copies: a copy of an ad (a text link) is the same kind of ad.

    The pattern library reads each copy alone and may recognise the ad's type (adult service, a job ad
    with labour indicators) in one copy and not in its twin that swapped a sentence; one hop only, so
    the type does not drift along a chain of links.
    """
    copies = set(marked)
    for edge in text_edges:
        if edge.a in marked:
            copies.add(edge.b)
        if edge.b in marked:
            copies.add(edge.a)
    return copies & cluster.members.keys()


def _personas(members: list[Member]) -> int:
    """The most distinct advertised personas (authors) under any one contact."""
    by_contact: dict[str, set[str]] = {}
    for member in members:
        if member.author:
            by_contact.setdefault(member.contact, set()).add(member.author)
    return max((len(a) for a in by_contact.values()), default=0)


def assess_cluster(cluster: Cluster, params: NetworkParams | None = None,
                   cities: CityBaseline | None = None) -> ClusterAssessment:
    """Run the network detectors over ``cluster`` and decide whether shape and content call for an alert.

    ``cities`` gives the velocity detector each city's usual rate besides the cluster's own.
    """
    params = params or NetworkParams()
    members = sorted(cluster.members.values(), key=lambda m: m.order)
    last = members[-1].ts if members else 0.0
    recent = [m for m in members if m.ts >= last - params.window_s]
    edges: dict[str, list[Edge]] = {"text": [], "image": []}
    for edge in cluster.edges:  # the kind of each link once, not once per detector
        edges.get(key_kind(edge.key), []).append(edge)
    found = (_circuit(cluster, recent, params), _template(cluster, edges["text"], params),
             _velocity(members, params, cities), _shared_image(cluster, edges["image"]))
    findings = tuple(f for f in found if f is not None)
    harm_posts = sum(1 for m in members if m.harm)
    harm_kinds = {c for m in members for c in m.harm}
    adult_posts = len(_of_a_kind(cluster, edges["text"], {m.post_key for m in members
                                           if m.adult or ADULT_SERVICE_CATEGORIES & set(m.categories)}))
    personas = _personas(members)
    content: list[str] = []
    n = max(1, len(members))
    if (harm_posts >= params.harm_min_posts and harm_posts / n >= params.harm_min_share
            and len(harm_kinds) >= params.harm_min_kinds):
        content.append(f"{harm_posts} of {len(members)} posts show signs of harm ({', '.join(sorted(harm_kinds))})")
    adult_network = adult_posts / n >= params.adult_min_share
    kinds = {f.kind for f in findings}
    if adult_network and personas >= params.personas_min and kinds & {"circuit", "velocity"}:
        content.append(f"{personas} people advertised under one contact in adult-service ads")
    if adult_network and kinds & {"template", "shared_image"}:
        content.append("one adult-service ad shared across contacts")
    labour_posts = len(_of_a_kind(cluster, edges["text"], {m.post_key for m in members
                                            if any(c.startswith(LABOUR_PREFIX) for c in m.categories)}))
    if labour_posts / n >= params.adult_min_share and kinds & {"template", "shared_image"}:
        content.append("one job ad with labour indicators shared across contacts")
    should_alert = bool(findings) and bool(content)
    category_counts = Counter(c for m in members for c in m.categories)
    score = min(1.0, 0.5 + 0.1 * len(findings) + 0.1 * len(content) + 0.2 * harm_posts / n) if should_alert else 0.0
    return ClusterAssessment(
        findings=findings,
        content=tuple(content),
        should_alert=should_alert,
        score=round(score, 4),
        route=route_of(members),
        contacts=tuple(sorted(_contacts(members))),
        personas=personas,
        categories=tuple(c for c, _ in category_counts.most_common()),
    )
