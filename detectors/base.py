"""The one small contract every detector honours, so the scoring stage can treat them alike.

A detector looks at one enriched post and answers with a :class:`Detection`: a score in [0, 1]
where *high means more likely to involve trafficking*, plus the indicators that justify it. Deciding
whether that is worth an alert is not a detector's job; it happens in :mod:`trailhound.alerts.scoring`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["Detection", "Detector", "Indicator", "LearningDetector"]


@dataclass(frozen=True, slots=True)
class Indicator:
    """One piece of evidence, shown to the analyst exactly as it was written in the post."""

    pattern_id: str
    category: str
    evidence: str
    span: tuple[int, int]
    weight: float
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "pattern_id": self.pattern_id,
            "category": self.category,
            "evidence": self.evidence,
            "span": list(self.span),
            "weight": round(self.weight, 4),
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class Detection:
    """What one detector concluded about one post."""

    detector: str
    score: float
    indicators: tuple[Indicator, ...] = ()
    explanation: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Detector(Protocol):
    """Scores enriched posts; a high score is indicative of trafficking."""

    name: str

    def score_one(self, post: dict[str, Any]) -> Detection: ...


@runtime_checkable
class LearningDetector(Detector, Protocol):
    """A detector that also learns from an analyst's verdict on a post it has scored."""

    def learn_one(self, post: dict[str, Any], label: str) -> None: ...
