"""The detectors one worker runs, swappable while the worker keeps streaming.

A new pattern library (published on the ``patterns`` topic) or restored model state replaces the old
one between two posts: readers always see one complete, consistent version, and every alert records
the versions that raised it. The pattern detector asks the online models for each pattern's learned
weight, so analysts' verdicts on a noisy pattern lower its weight immediately.
"""

from __future__ import annotations

import logging
from typing import Any

from trailhound.detectors.base import Detection
from trailhound.detectors.library import PatternLibrary
from trailhound.detectors.library_guard import DEFAULT_MATCH_BUDGET_S
from trailhound.detectors.matcher import PatternDetector, PatternMatcher
from trailhound.detectors.online.drift import DriftEvent
from trailhound.detectors.online.ensemble import OnlineModels

__all__ = ["DetectorSet"]

log = logging.getLogger(__name__)


class DetectorSet:
    """Pattern matcher plus the online models, with the versions currently in force."""

    def __init__(self, library: PatternLibrary, models: OnlineModels | None = None,
                 match_budget_s: float = DEFAULT_MATCH_BUDGET_S) -> None:
        self.models = models
        self.library = library
        self.match_budget_s = match_budget_s
        self._patterns = self._detector_for(PatternMatcher(library, match_budget_s))

    def _detector_for(self, matcher: PatternMatcher) -> PatternDetector:
        weight_of = self.models.pattern_precision.weight_of if self.models is not None else None
        return PatternDetector(matcher, weight_of=weight_of)

    def use_matcher(self, matcher: PatternMatcher) -> None:
        """Swap in a compiled pattern library; compiling first means a refused library never half-replaces."""
        self.library, self._patterns = matcher.library, self._detector_for(matcher)
        log.info("pattern library %s in use (%d patterns)", matcher.version, len(matcher.library.patterns))

    def use_models(self, models: OnlineModels) -> None:
        self.models = models
        self._patterns = self._detector_for(self._patterns.matcher)

    @property
    def supporting_categories(self) -> frozenset[str]:
        """Categories that add to a score but never raise an alert alone."""
        return self.library.supporting_categories

    @property
    def category_labels(self) -> dict[str, str]:
        """Readable names of the categories, for alert messages."""
        return {c.id: c.label for c in self.library.categories.values()} | {"learned_text": "learned wording"}

    def pattern_statistics(self) -> list[dict[str, Any]]:
        """Per pattern: its weight as written, what analysts' verdicts made of it, and their precision."""
        precision = self.models.pattern_precision if self.models is not None else None
        learned = precision.stats() if precision is not None else {}
        rows = []
        for pattern in self.library.patterns:
            stats = learned.get(pattern.id, {})
            weight = precision.weight_of(pattern.id, pattern.weight) if precision is not None else pattern.weight
            rows.append({"pattern_id": pattern.id, "category": pattern.category, "weight": pattern.weight,
                         "learned_weight": round(weight, 4), "verdicts": int(stats.get("n", 0)),
                         "precision": round(float(stats["precision"]), 4) if stats else None})
        return rows

    def versions(self) -> dict[str, str]:
        versions = {"patterns": self.library.version}
        if self.models is not None:
            versions["models"] = self.models.version
        return versions

    def score(self, enriched: dict[str, Any]) -> list[Detection]:
        """Every detector's view of one enriched post; changes no state."""
        detections = [self._patterns.score_one(enriched)]
        if self.models is not None:
            detections.extend(self.models.score_all(enriched))
        return detections

    def observe(self, enriched: dict[str, Any], detections: list[Detection]) -> list[DriftEvent]:
        """After scoring a streamed post: let the models learn its entity's behaviour, watch for drift."""
        return self.models.observe(enriched, detections) if self.models is not None else []
