"""Turn what the detectors said about one post into one decision: alert or not, how sure, how severe.

Detectors only report evidence; this module owns the judgement so that it can be read, tuned and
tested in one place. The rule is a weighted noisy-OR: each detector contributes ``weight × score`` as an
independent chance that the post is a trafficking case, so two moderate, independent signals add up
while one weak one stays weak. A classifier's probability counts only above its chance level, so the
text model alone alerts only when it is confident (p ≥ 0.82 at the default threshold). An alert also
needs a sign of harm an analyst can check — an indicator of youth, coercion, third-party control or
labour exploitation, or words the text model holds against the post *once analysts' verdicts have
taught it* (at least :data:`LEARNED_WORDS_MIN_VERDICTS`; a model trained only on synthetic warm-start
posts has learned the generator's style, not harm) — so an adult's own ad with only movement
language, rates or an obscured number is never raised, whatever its score. Obscured contact details
and digit words ("five", "oh", "seis") are never a sign of harm on their own: a learned word that is
a number, a digit word (or a word pair with one) or an entity flag does not open the gate.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from trailhound.detectors.base import Detection, Indicator
from trailhound.detectors.matcher import PatternDetector
from trailhound.detectors.online.entity_anomaly import EntityAnomaly
from trailhound.detectors.online.text_model import TextModel

__all__ = ["Assessment", "CHANCE_LEVELS", "DETECTOR_WEIGHTS", "LEARNED_WORDS_MIN_VERDICTS", "SEVERITY_LEVELS",
           "UnweightedDetector", "assess", "severity_for"]

DETECTOR_WEIGHTS: Mapping[str, float] = MappingProxyType({
    PatternDetector.name: 1.0,
    TextModel.name: 0.8,
    EntityAnomaly.name: 0.3,
})
"""How far each detector is trusted on its own, keyed by the name the detector declares."""

CHANCE_LEVELS: Mapping[str, float] = MappingProxyType({TextModel.name: 0.5})
"""Scores at or below which a detector says nothing: a classifier's 0.5 is a coin toss, not evidence."""

LEARNED_WORDS_MIN_VERDICTS = 20
"""Analysts' verdicts a text model must have learned before its words count as a sign of harm."""

LEARNED_CATEGORY = "learned_text"
_DIGIT_WORDS = re.compile(
    r"\d+|zero|oh|o|one|two|three|four|five|six|seven|eight|nine|ten|cero|uno|dos|tres|cuatro|cinco|seis|"
    r"siete|ocho|nueve|um|dois|quatro|sete|oito|nove|un|deux|trois|quatre|cinq|sept|huit|neuf"
)


def _learned_sign(indicator: Indicator, detection: Detection) -> bool:
    """Whether a learned word may count as a sign of harm (see the module docstring)."""
    if int(detection.details.get("verdicts_learned", 0)) < LEARNED_WORDS_MIN_VERDICTS:
        return False
    token = indicator.pattern_id.split(":", 1)[-1]
    return not token.startswith("#") and not any(_DIGIT_WORDS.fullmatch(word) for word in token.split())


SEVERITY_LEVELS: tuple[tuple[float, str, int], ...] = (
    (0.9, "critical", 4),
    (0.75, "high", 3),
    (0.6, "medium", 2),
    (0.0, "low", 1),
)
"""Score floor → severity name and the numeric ECS ``event.severity``."""


def severity_for(score: float) -> tuple[str, int]:
    """The severity band of a combined score."""
    for floor, name, number in SEVERITY_LEVELS:
        if score >= floor:
            return name, number
    return "low", 1


class UnweightedDetector(KeyError):
    """A detector ran that the scoring has no weight for (renamed or new): a bug to fix, never a guess."""


@dataclass(frozen=True)
class Assessment:
    """The combined judgement on one post, with everything needed to explain it."""

    score: float
    severity: str
    severity_number: int
    should_alert: bool
    indicators: tuple[Indicator, ...]
    categories: tuple[str, ...]
    detector_scores: dict[str, float] = field(default_factory=dict)
    explanations: dict[str, str] = field(default_factory=dict)

    @property
    def risk_score(self) -> float:
        return round(self.score * 100, 1)


def assess(detections: Iterable[Detection], threshold: float, supporting: Collection[str] = frozenset(),
           weights: Mapping[str, float] = DETECTOR_WEIGHTS) -> Assessment:
    """Combine detections into one judgement.

    ``should_alert`` needs the score to reach ``threshold`` *and* a sign of harm an analyst can check:
    an indicator outside the ``supporting`` categories (see :class:`trailhound.detectors.library.Category`);
    a text model's learned word counts only as described in the module docstring.
    A detector that says nothing (score at or below its chance level) contributes neither score nor
    evidence, so an alert never shows words a model did not actually hold against the post.
    """
    miss_all = 1.0
    speaking: list[Detection] = []
    for detection in detections:
        chance = CHANCE_LEVELS.get(detection.detector, 0.0)
        evidence = max(0.0, detection.score - chance) / (1.0 - chance)
        if detection.detector not in weights:
            raise UnweightedDetector(detection.detector)
        miss_all *= 1.0 - min(1.0, weights[detection.detector] * evidence)
        if evidence > 0:
            speaking.append(detection)
    score = round(1.0 - miss_all, 4)
    indicators = tuple(i for d in speaking for i in d.indicators if i.weight > 0)  # context-only hits stay out
    categories = tuple(sorted({i.category for i in indicators}))
    explanations = {d.detector: d.explanation for d in speaking if d.explanation}
    signs_harm = any(
        (_learned_sign(i, d) if i.category == LEARNED_CATEGORY else i.category not in supporting)
        for d in speaking for i in d.indicators if i.weight > 0
    )
    severity, number = severity_for(score)
    return Assessment(
        score=score,
        severity=severity,
        severity_number=number,
        should_alert=score >= threshold and signs_harm,
        indicators=indicators,
        categories=categories,
        detector_scores={d.detector: round(d.score, 4) for d in detections},
        explanations=explanations,
    )
