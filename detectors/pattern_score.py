"""How the known-pattern detector turns matched indicators into one score, in one readable rule.

Research on ads with known outcomes shows that a single indicator says little (Giommoni & Ikwu 2021:
58% of ordinary ads show one indicator) while combinations of *different* kinds of evidence matter.
So the rule below lets independent categories add up, while repeated hits inside one category (the
same idea phrased twice) add only a little. Kept apart from the matcher so the rule can be read,
tested and tuned on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from trailhound.detectors.base import Indicator

__all__ = ["CombinedEvidence", "combine_evidence"]

WITHIN_CATEGORY_SHARE = 0.25
"""How much of the extra evidence from further hits in the *same* category counts."""

EXPLAIN_MIN = 0.1
"""Categories weaker than this are listed in details but not named in the explanation."""


@dataclass(frozen=True, slots=True)
class CombinedEvidence:
    score: float
    explanation: str
    categories: tuple[str, ...]  # every category with a hit, strongest first
    category_scores: Mapping[str, float]


def _noisy_or(weights: Iterable[float]) -> float:
    miss = 1.0
    for w in weights:
        miss *= 1.0 - w
    return 1.0 - miss


_NOTHING = CombinedEvidence(score=0.0, explanation="", categories=(), category_scores=MappingProxyType({}))


def combine_evidence(indicators: Sequence[Indicator], labels: Mapping[str, str]) -> CombinedEvidence:
    """Combine indicator weights into a score in [0, 1].

    1. Within one category, hits largely repeat each other: the category's strength is its strongest
       weight plus a quarter of what the other hits would add if they were independent::

           c = w_max + 0.25 * (noisy_or(all weights) - w_max)

    2. Across categories, evidence is treated as independent (noisy-OR), so several *different*
       kinds of evidence raise the score far more than several hits of one kind::

           score = 1 - prod(1 - c_k)

    With the library's weights this means a single weak word (weight ≤ 0.3) never reaches 0.5 on its
    own, movement language and rates (weights near zero, per Lugo-Graulich et al. 2024) stay low,
    and two strong indicators of different kinds (youth + third-party control, coercion + obscured
    contact, passport held + debt) pass 0.5. The explanation names the categories that contributed,
    strongest first, e.g. "youth language + third-party control".
    """
    if not indicators:  # most posts: nothing to combine
        return _NOTHING
    by_category: dict[str, list[float]] = {}
    for ind in indicators:
        by_category.setdefault(ind.category, []).append(min(max(ind.weight, 0.0), 1.0))
    strengths: dict[str, float] = {}
    for category, weights in by_category.items():
        strongest = max(weights)
        strengths[category] = strongest + WITHIN_CATEGORY_SHARE * (_noisy_or(weights) - strongest)
    score = _noisy_or(strengths.values())
    ordered = sorted(strengths, key=lambda c: (-strengths[c], c))
    named = [labels.get(c, c) for c in ordered if strengths[c] >= EXPLAIN_MIN]
    return CombinedEvidence(
        score=round(score, 4),
        explanation=" + ".join(named),
        categories=tuple(ordered),
        category_scores={c: round(strengths[c], 4) for c in ordered},
    )
