"""The searchable record of every post, written to the monthly ``trailhound-posts`` indices.

Analysts search all posts in Kibana, not only alerted ones, and verdicts on posts are learned from
the enriched form kept here, so the document holds the original post, its normalised text (with the
map back to the original) and the detectors' scores. The id is derived from the post's key, so a
replayed post overwrites itself instead of appearing twice.
"""

from __future__ import annotations

from typing import Any

from trailhound.alerts.indices import posts_index_for
from trailhound.alerts.scoring import Assessment
from trailhound.config import Settings
from trailhound.ids import stable_id
from trailhound.timefmt import iso, parse_rfc3339

__all__ = ["POST_SOURCE_FIELDS", "enriched_from_document", "original_post", "post_doc_id", "post_document"]

ORIGINAL_FIELDS = ("id", "source", "posted_at", "title", "body", "url", "author", "lang", "location", "contact",
                   "images")


def post_doc_id(post_key: str) -> str:
    """The Elasticsearch id of a post document."""
    return stable_id(post_key)


def post_document(enriched: dict[str, Any], assessment: Assessment, alert: dict[str, Any] | None,
                  settings: Settings) -> dict[str, Any]:
    """A bulk action (``_index``, ``_id``, ``_source``) for the posts index."""
    post = enriched["post"]
    source = {name: post[name] for name in ORIGINAL_FIELDS if name in post}
    extra = {k: v for k, v in post.items() if k not in ORIGINAL_FIELDS}
    source.update({
        "@timestamp": post["posted_at"],
        "post_key": enriched["post_key"],
        "ingested_at": iso(enriched["ingested_ts"]),
        "normalized_text": enriched["normalized"].get("text", ""),
        "normalized": enriched["normalized"],
        "entities": enriched["entities"],
        "entity_key": enriched["entity_key"],
        "language": enriched.get("language"),
        "score": assessment.score,
        "detectors": assessment.detector_scores,
        "pattern_ids": sorted({i.pattern_id for i in assessment.indicators}),
        "alert_id": alert["event"]["id"] if alert else None,
        "extra": extra,
    })
    return {
        "_index": posts_index_for(settings, post["posted_at"]),
        "_id": post_doc_id(enriched["post_key"]),
        "_source": source,
    }


POST_SOURCE_FIELDS = [*ORIGINAL_FIELDS, "extra", "post_key"]
"""What :func:`original_post` needs of a posts-index document (a read may ask for these fields only)."""


def original_post(source: dict[str, Any]) -> dict[str, Any]:
    """The post as it was accepted, from its posts-index document."""
    post = {name: source[name] for name in ORIGINAL_FIELDS if name in source}
    post.update(source.get("extra") or {})
    return post


def enriched_from_document(source: dict[str, Any]) -> dict[str, Any]:
    """Rebuild the enriched record a detector saw from its posts-index document (for learning verdicts)."""
    post = original_post(source)
    ingested = parse_rfc3339(source["ingested_at"]) if source.get("ingested_at") else 0.0
    return {
        "post": post,
        "post_key": source["post_key"],
        "normalized": source["normalized"],
        "entities": source["entities"],
        "entity_key": source["entity_key"],
        "language": source.get("language"),
        "posted_ts": parse_rfc3339(post["posted_at"]),
        "ingested_ts": ingested,
    }
