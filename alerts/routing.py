"""Which partners an alert goes to, decided by the routing rules (pure; see :mod:`alerts.partners`).

A rule matches when every condition it states holds; the first tier of each matching rule is told,
later tiers only when the tier before did not acknowledge in time. Each decision carries the rule
and a readable reason, stored with the delivery so an operator can see why a partner was told.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from trailhound.alerts.partners import SEVERITIES, Match, Routing, Tier

__all__ = ["Route", "mismatch", "next_tier", "route"]


@dataclass(frozen=True)
class Route:
    """Tell ``partner`` about an alert because of ``rule`` (tier numbers start at 0)."""

    rule: str | None  # None: named by an analyst, not by a rule
    partner: str
    tier: int
    reason: str


def mismatch(match: Match, alert: dict[str, Any]) -> str | None:
    """Why ``alert`` fails ``match`` (None: it matches)."""
    details = alert.get("trailhound") or {}
    categories = details.get("categories") or []
    if match.categories and not any(fnmatchcase(c, want) for c in categories for want in match.categories):
        return f"categories {categories} include none of {list(match.categories)}"
    if match.min_severity is not None:
        severity = int((alert.get("event") or {}).get("severity") or 0)
        if severity < SEVERITIES[match.min_severity]:
            return f"severity {details.get('severity')} is below {match.min_severity}"
    if float(details.get("score") or 0.0) < match.min_score:
        return f"score {details.get('score')} is below {match.min_score}"
    if match.regions:
        location = details.get("location") or {}
        places = {str(location.get(k) or "").casefold() for k in ("region", "country")} - {""}
        if not places & {r.casefold() for r in match.regions}:
            return f"region {sorted(places) or 'unknown'} is not one of {list(match.regions)}"
    return None


def route(alert: dict[str, Any], routing: Routing, automatic_only: bool) -> list[Route]:
    """The first-tier partners of every rule ``alert`` matches (only automatic rules if asked), one each."""
    routes: dict[str, Route] = {}
    for rule in routing.rules:
        if automatic_only and not rule.automatic:
            continue
        if mismatch(rule.match, alert) is not None:
            continue
        for partner in rule.tiers[0].partners:
            how = "automatically" if rule.automatic else "on request"
            routes.setdefault(partner, Route(rule.name, partner, 0, f"rule {rule.name} matched ({how})"))
    return list(routes.values())


def next_tier(routing: Routing, rule_name: str, tier: int) -> Tier | None:
    """The tier after ``tier`` of rule ``rule_name`` (None at the end of the chain or for manual sends)."""
    for rule in routing.rules:
        if rule.name == rule_name and tier + 1 < len(rule.tiers):
            return rule.tiers[tier + 1]
    return None
