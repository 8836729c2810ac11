"""Build the alert document analysts see in Kibana and the console (schema: trailhound/schemas/alert).

The document follows Elastic Common Schema where ECS has a field, so analysts search alerts the way they
search everything else in Kibana; Trailhound's own fields live under ``trailhound``. The ``event.id`` is
derived from what the alert is about, never from time or randomness, so replaying a post after a crash
or ingesting a file twice finds the same alert instead of raising a second one.
"""

from __future__ import annotations

from typing import Any

from trailhound.alerts.scoring import Assessment
from trailhound.ids import stable_id
from trailhound.timefmt import iso

__all__ = ["CONTENT_RULE", "MODEL_HEALTH_RULE", "alert_id", "build_alert", "build_model_health_alert"]

CONTENT_RULE = {"id": "trailhound.content-risk", "name": "Trafficking risk in post content"}
MODEL_HEALTH_RULE = {"id": "trailhound.model-drift", "name": "Online model needs attention (drift)"}


def alert_id(rule_id: str, *subjects: str) -> str:
    """A stable id for the alert a rule raises about these subjects (post keys, an entity…)."""
    return stable_id(rule_id, *sorted(subjects))


def _describe(assessment: Assessment, labels: dict[str, str], most: int = 4) -> str:
    """The categories of evidence, strongest first, at most ``most`` of them."""
    strength: dict[str, float] = {}
    for indicator in assessment.indicators:
        strength[indicator.category] = max(strength.get(indicator.category, 0.0), indicator.weight)
    ranked = sorted(strength, key=lambda c: (-strength[c], c))
    words = [labels.get(c, c.replace("_", " ")) for c in ranked[:most]]
    if len(ranked) > most:
        words.append(f"{len(ranked) - most} more")
    if not words:
        words = [f"{name.replace('_', ' ')}: {text}" for name, text in assessment.explanations.items()]
    return " + ".join(words) if words else "combined detector score"


def build_alert(enriched: dict[str, Any], assessment: Assessment, versions: dict[str, str],
                now: float, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The alert document for one post worth an analyst's time; ``labels`` name the categories."""
    post = enriched["post"]
    key = enriched["post_key"]
    entities = enriched.get("entities", {})
    location = post.get("location") or {}
    place = location.get("city") or location.get("region") or location.get("country")
    where = f" in {place}" if place else ""
    message = (
        f"{assessment.severity.capitalize()}-risk post {key}{where}: {_describe(assessment, labels or {})} "
        f"(score {assessment.score:.2f})"
    )
    doc: dict[str, Any] = {
        "@timestamp": iso(now),
        "message": message,
        "event": {
            "kind": "alert",
            "id": alert_id(CONTENT_RULE["id"], key),
            "severity": assessment.severity_number,
            "risk_score": assessment.risk_score,
            "created": iso(now),
            "ingested": iso(enriched["ingested_ts"]),
            "category": ["threat"],
        },
        "rule": {**CONTENT_RULE, "version": versions.get("patterns", "none"), "category": "content"},
        "tags": ["trailhound", *assessment.categories],
        "trailhound": {
            "post_ids": [key],
            "score": assessment.score,
            "severity": assessment.severity,
            "categories": list(assessment.categories),
            "indicators": [i.to_json() for i in assessment.indicators],
            "detectors": assessment.detector_scores,
            "explanations": assessment.explanations,
            "entity": {
                "key": enriched.get("entity_key"),
                "phones": list(entities.get("phones", [])),
                "emails": list(entities.get("emails", [])),
                "handles": list(entities.get("handles", [])),
                "cluster_id": None,
            },
            "location": location,
            "source": post["source"],
            "language": enriched.get("language"),
            "posted_at": post["posted_at"],
            "lang": post.get("lang"),
            "versions": versions,
            "status": "new",
        },
    }
    if post.get("url"):
        doc["url"] = {"full": post["url"]}
    return doc


def build_model_health_alert(model: str, stream: str, detail: str, versions: dict[str, str],
                             now: float) -> dict[str, Any]:
    """An operational alert: a model's score or error stream has shifted (at most one per stream per hour)."""
    hour = iso(now)[:13]
    doc_id = alert_id(MODEL_HEALTH_RULE["id"], model, stream, hour)
    return {
        "@timestamp": iso(now),
        "message": f"Model {model} drifted on its {stream} stream: {detail}",
        "event": {"kind": "alert", "id": doc_id, "severity": 2, "risk_score": 50.0, "created": iso(now),
                  "category": ["configuration"]},
        "rule": {**MODEL_HEALTH_RULE, "version": versions.get("models", "none"), "category": "model_health"},
        "tags": ["trailhound", "model_health"],
        "trailhound": {
            "post_ids": [],
            "score": 0.5,
            "severity": "medium",
            "categories": ["model_health"],
            "indicators": [{"pattern_id": f"drift:{model}.{stream}", "category": "model_health", "evidence": detail,
                            "span": [0, 0]}],
            "detectors": {},
            "explanations": {model: detail},
            "entity": {},
            "versions": versions,
            "status": "new",
        },
    }
