"""What the worker decides about each post, separate from Kafka and Elasticsearch.

The agents in :mod:`trailhound.streams.app` only move records; every decision — is the raw record a
valid post, what the enriched record holds, whether it becomes an alert, what is indexed — is made here
from the record, the detectors in force and an injected clock. So the whole per-post judgement can be
tested with no broker, and a replay with the same clock gives the same documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trailhound.alerts.document import build_alert, build_model_health_alert
from trailhound.alerts.post_documents import post_document
from trailhound.alerts.scoring import Assessment, assess
from trailhound.clock import Clock, system_clock
from trailhound.config import Settings
from trailhound.detectors.base import Detection
from trailhound.detectors.detector_set import DetectorSet
from trailhound.schemas import parse_post
from trailhound.streams.enrich import enrich_post

__all__ = ["PostOutcome", "PostProcessor"]


@dataclass(frozen=True)
class PostOutcome:
    """Everything one streamed post produces: alerts to raise and the post's search document."""

    alerts: list[dict[str, Any]] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)


class PostProcessor:
    """Validate, enrich, judge and document posts with the detectors currently in force."""

    def __init__(self, settings: Settings, detectors: DetectorSet, clock: Clock = system_clock) -> None:
        self.settings = settings
        self.detectors = detectors
        self.clock = clock

    def enrich(self, raw: bytes, ingested_ts: float) -> dict[str, Any]:
        """The enriched record of a raw post; raises :class:`~trailhound.schemas.InvalidRecord` if invalid."""
        settings = self.settings
        post = parse_post(raw, settings.max_post_bytes, self.clock, settings.max_json_depth)
        return enrich_post(post, ingested_ts, settings.max_contacts, settings.max_text_chars)

    def assess(self, enriched: dict[str, Any]) -> tuple[Assessment, list[Detection]]:
        """Every detector's view of one post and the combined judgement; changes no state."""
        detections = self.detectors.score(enriched)
        judgement = assess(detections, self.settings.alert_threshold, self.detectors.supporting_categories)
        return judgement, detections

    def process(self, enriched: dict[str, Any]) -> PostOutcome:
        """Judge a streamed post and let the models observe it (their per-contact and drift state learn)."""
        assessment, detections = self.assess(enriched)
        versions = self.detectors.versions()
        now = self.clock()
        alerts: list[dict[str, Any]] = []
        if assessment.should_alert:
            alerts.append(build_alert(enriched, assessment, versions, now, self.detectors.category_labels))
        for event in self.detectors.observe(enriched, detections):
            alerts.append(build_model_health_alert(event.model, event.stream, event.detail, versions, now))
        content_alert = alerts[0] if assessment.should_alert else None
        return PostOutcome(alerts, post_document(enriched, assessment, content_alert, self.settings))

    def preview(self, raw: bytes) -> dict[str, Any]:
        """What the detectors would say about a raw post, storing and learning nothing."""
        assessment, _ = self.assess(self.enrich(raw, self.clock()))
        return {
            "score": assessment.score, "severity": assessment.severity, "alert": assessment.should_alert,
            "detectors": assessment.detector_scores, "explanations": assessment.explanations,
            "indicators": [i.to_json() for i in assessment.indicators], "versions": self.detectors.versions(),
        }
