"""The Elasticsearch indices Trailhound writes, designed to work on a minimal and a full node alike.

No data streams, ILM, ingest pipelines or custom analyzers (the local integ-test distribution has none):
- ``trailhound-alerts`` is an alias over ``trailhound-alerts-000001`` so alert status can be updated in
  place later and the index rolled over by hand when it grows;
- ``trailhound-posts`` is an alias over monthly ``trailhound-posts-YYYY.MM`` indices (append-only;
  retention = deleting old months), each created from one composable template;
- ``trailhound-feedback`` keeps every analyst verdict so models can be rebuilt from history;
- ``trailhound-models`` is one plain index holding the online models' checkpoint;
- ``trailhound-escalations`` holds each delivery to a partner and its state (id: the delivery id),
  ``trailhound-audit`` the append-only audit log, ``trailhound-silences`` analysts' silences.
- ``trailhound-clusters`` and ``trailhound-cluster-members`` hold the linkage clusters and which cluster
  each post is in (state of the cluster stage, so it survives restarts), ``trailhound-evidence`` the
  evidence records of alerted posts (create-only).
Keyword fields carry what analysts filter and aggregate on; ``text`` fields what they search in.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import BadRequestError, Elasticsearch

from trailhound.config import Settings
from trailhound.connections import es_options

__all__ = ["ensure_indices", "posts_index_for", "prepare_indices", "templates"]

KEYWORD = {"type": "keyword", "ignore_above": 1024}
TEXT_WITH_KEYWORD = {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 1024}}}
LOCATION = {"properties": {"city": KEYWORD, "region": KEYWORD, "country": KEYWORD}}
ENTITIES = {"properties": {
    "phones": KEYWORD, "emails": KEYWORD, "handles": KEYWORD, "locations": KEYWORD,
    "ages": {"type": "integer"}, "contact_obfuscated": {"type": "boolean"},
    "prices": {"type": "object", "enabled": False},
}}

CLUSTER_FIELDS: dict[str, Any] = {"properties": {
    "id": KEYWORD, "post_count": {"type": "integer"}, "cities": KEYWORD, "city_count": {"type": "integer"},
    "route": {"properties": {"city": KEYWORD, "first_seen": {"type": "date"}, "last_seen": {"type": "date"},
                             "posts": {"type": "integer"}}},
    "contacts": KEYWORD, "contact_count": {"type": "integer"}, "personas": {"type": "integer"},
    "networks": KEYWORD, "findings": {"properties": {"kind": KEYWORD, "evidence": {"type": "text"}}},
    "content": {"type": "text"}, "link_reasons": KEYWORD, "link_counts": {"type": "object", "enabled": False},
    "links": {"type": "object", "enabled": False}, "links_total": {"type": "integer"},
    "links_refused": {"type": "integer"},
    "hub_keys": {"properties": {"key": KEYWORD, "note": {"type": "text"}}},
    "merged_from": KEYWORD, "merged_into": KEYWORD, "first_seen": {"type": "date"}, "last_seen": {"type": "date"},
    "posts_per_day": {"type": "float"},
}}
"""A network alert's cluster: Kibana finds "clusters spanning many cities" with ``city_count >= 5``."""

ALERT_MAPPING: dict[str, Any] = {
    "dynamic": "false",
    "properties": {
        "@timestamp": {"type": "date"},
        "message": {"type": "text"},
        "tags": KEYWORD,
        "url": {"properties": {"full": KEYWORD}},
        "event": {"properties": {
            "kind": KEYWORD, "id": KEYWORD, "severity": {"type": "integer"},
            "risk_score": {"type": "float"}, "created": {"type": "date"}, "ingested": {"type": "date"},
            "category": KEYWORD,
        }},
        "rule": {"properties": {"id": KEYWORD, "name": KEYWORD, "version": KEYWORD, "category": KEYWORD}},
        "trailhound": {"properties": {
            "post_ids": KEYWORD,
            "score": {"type": "float"},
            "severity": KEYWORD,
            "categories": KEYWORD,
            "indicators": {"properties": {
                "pattern_id": KEYWORD, "category": KEYWORD, "evidence": TEXT_WITH_KEYWORD,
                "span": {"type": "integer"}, "weight": {"type": "float"}, "description": {"type": "text"},
            }},
            "detectors": {"type": "object", "dynamic": "true"},
            "explanations": {"type": "object", "dynamic": "true"},
            "entity": {"properties": {
                "key": KEYWORD, "phones": KEYWORD, "emails": KEYWORD, "handles": KEYWORD, "cluster_id": KEYWORD,
            }},
            "location": LOCATION,
            "source": KEYWORD,
            "language": KEYWORD,
            "posted_at": {"type": "date"},
            "lang": KEYWORD,
            "versions": {"type": "object", "dynamic": "true"},
            "status": KEYWORD,
            "cluster_id": KEYWORD,
            "group": {"properties": {"key": KEYWORD, "generation": {"type": "integer"}, "alert_ids": KEYWORD,
                                     "first_seen": {"type": "date"}, "last_seen": {"type": "date"}}},
            "silenced_by": {"properties": {"id": KEYWORD, "kind": KEYWORD, "value": KEYWORD, "by": KEYWORD}},
            "escalated_to": KEYWORD,
            "related_alerts": KEYWORD,
            "network_alert_id": KEYWORD,
            "lifecycle": {"properties": {"action": KEYWORD, "by": KEYWORD, "at": {"type": "date"},
                                         "from": KEYWORD, "to": KEYWORD, "note": {"type": "text"}}},
            "cluster": CLUSTER_FIELDS,
            "watchlist": {"properties": {
                "kind": KEYWORD, "value": KEYWORD, "found": KEYWORD, "case_ref": KEYWORD, "partner": KEYWORD,
                "visible_to": KEYWORD, "distance": {"type": "integer"}, "entry_id": KEYWORD, "note": {"type": "text"},
            }},
            "visible_to": KEYWORD,
        }},
    },
    "dynamic_templates": [
        {"detector_scores": {"path_match": "trailhound.detectors.*", "mapping": {"type": "float"}}},
        {"explanation_texts": {"path_match": "trailhound.explanations.*", "mapping": {"type": "text"}}},
        {"version_names": {"path_match": "trailhound.versions.*", "mapping": KEYWORD}},
    ],
}

POST_MAPPING: dict[str, Any] = {
    "dynamic": "false",
    "properties": {
        "@timestamp": {"type": "date"},
        "post_key": KEYWORD,
        "id": KEYWORD,
        "source": KEYWORD,
        "posted_at": {"type": "date"},
        "ingested_at": {"type": "date"},
        "title": {"type": "text"},
        "body": {"type": "text"},
        "normalized_text": {"type": "text"},
        "url": KEYWORD,
        "author": KEYWORD,
        "lang": KEYWORD,
        "language": KEYWORD,
        "location": LOCATION,
        "contact": {"properties": {"phones": KEYWORD, "emails": KEYWORD, "handles": KEYWORD}},
        "images": {"properties": {"phash": KEYWORD}},
        "entities": ENTITIES,
        "entity_key": KEYWORD,
        "score": {"type": "float"},
        "detectors": {"type": "object", "dynamic": "true"},
        "alert_id": KEYWORD,
        "pattern_ids": KEYWORD,
    },
    "dynamic_templates": [
        {"detector_scores": {"path_match": "detectors.*", "mapping": {"type": "float"}}},
    ],
}

FEEDBACK_MAPPING: dict[str, Any] = {
    "dynamic": "false",
    "properties": {
        "@timestamp": {"type": "date"},
        "verdict_id": KEYWORD, "post_id": KEYWORD, "alert_id": KEYWORD, "label": KEYWORD, "analyst": KEYWORD,
        "at": {"type": "date"}, "note": {"type": "text"}, "learned": {"type": "boolean"},
        "refused_reason": KEYWORD, "offset": {"type": "long"},
    },
}

MODELS_MAPPING: dict[str, Any] = {
    "dynamic": "false",
    "properties": {
        "state": {"type": "binary"}, "signature": {"type": "keyword", "index": False},
        "feedback_offset": {"type": "long"}, "version": {"type": "keyword"},
        "saved_at": {"type": "date", "format": "epoch_second"}, "saved_by": {"type": "keyword"},
    },
}

ESCALATIONS_MAPPING: dict[str, Any] = {
    "dynamic": "false",
    "properties": {
        "delivery_id": KEYWORD, "alert_id": KEYWORD, "partner": KEYWORD, "kind": KEYWORD, "state": KEYWORD,
        "rule": KEYWORD, "tier": {"type": "integer"}, "channel": KEYWORD, "attempts": {"type": "integer"},
        "last_error": {"type": "text"}, "requested_by": KEYWORD, "reason": {"type": "text"},
        "created": {"type": "date", "format": "epoch_second"},
        "delivered_at": {"type": "date", "format": "epoch_second"},
        "ack_deadline": {"type": "date", "format": "epoch_second"},
        "acknowledged_at": {"type": "date", "format": "epoch_second"},
        "lease_until": {"type": "date", "format": "epoch_second"}, "owner": KEYWORD,
        "next_tier_sent": {"type": "boolean"}, "has_next_tier": {"type": "boolean"}, "fields_disclosed": KEYWORD,
        "record": {"type": "object", "enabled": False},
    },
}

AUDIT_MAPPING: dict[str, Any] = {
    "dynamic": "false",
    "properties": {
        "@timestamp": {"type": "date"}, "action": KEYWORD, "actor": KEYWORD, "alert_id": KEYWORD,
        "partner": KEYWORD, "fields_disclosed": KEYWORD, "disclosure": {"type": "object", "enabled": False},
        "detail": {"type": "text"}, "delivery_id": KEYWORD, "from": KEYWORD, "to": KEYWORD,
    },
}

SILENCES_MAPPING: dict[str, Any] = {
    "dynamic": "false",
    "properties": {
        "id": KEYWORD, "kind": KEYWORD, "value": KEYWORD, "by": KEYWORD, "reason": {"type": "text"},
        "until": {"type": "date", "format": "epoch_second"}, "created": {"type": "date", "format": "epoch_second"},
    },
}

CLUSTERS_MAPPING: dict[str, Any] = {
    "dynamic": "false",
    "properties": {
        "cluster_id": KEYWORD, "edge_keys": KEYWORD, "alerted": {"type": "boolean"},
        "updated": {"type": "date", "format": "epoch_second"}, "last_seen": {"type": "date", "format": "epoch_second"},
        "state": {"type": "object", "enabled": False},
    },
}

CLUSTER_MEMBERS_MAPPING: dict[str, Any] = {
    "dynamic": "false",
    "properties": {"post_key": KEYWORD, "cluster_id": KEYWORD, "ts": {"type": "date", "format": "epoch_second"}},
}

EVIDENCE_MAPPING: dict[str, Any] = {
    "dynamic": "false",
    "properties": {
        "@timestamp": {"type": "date"}, "post_key": KEYWORD, "alert_id": KEYWORD, "captured_at": {"type": "date"},
        "sha256": KEYWORD, "original": {"type": "text", "index": False}, "url": KEYWORD, "bytes": {"type": "long"},
    },
}

SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s"}


def templates(settings: Settings) -> dict[str, dict[str, Any]]:
    """Composable index templates by name; the index patterns follow the settings' namespace."""
    def template(name: str, mapping: dict[str, Any], joins_alias: bool = False, single: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {"settings": SETTINGS, "mappings": mapping}
        if joins_alias:
            body["aliases"] = {settings.index(name): {}}
        return {
            "index_patterns": [settings.index(name) if single else f"{settings.index(name)}-*"],
            "priority": 200,
            "template": body,
            "_meta": {"managed_by": "trailhound"},
        }

    return {
        settings.index("alerts"): template("alerts", ALERT_MAPPING),
        settings.index("posts"): template("posts", POST_MAPPING, joins_alias=True),
        settings.index("feedback"): template("feedback", FEEDBACK_MAPPING),
        settings.index("models"): template("models", MODELS_MAPPING, single=True),
        settings.index("escalations"): template("escalations", ESCALATIONS_MAPPING, single=True),
        settings.index("audit"): template("audit", AUDIT_MAPPING, single=True),
        settings.index("silences"): template("silences", SILENCES_MAPPING, single=True),
        settings.index("clusters"): template("clusters", CLUSTERS_MAPPING, single=True),
        settings.index("cluster-members"): template("cluster-members", CLUSTER_MEMBERS_MAPPING, single=True),
        settings.index("evidence"): template("evidence", EVIDENCE_MAPPING, single=True),
    }


def posts_index_for(settings: Settings, posted_at: str) -> str:
    """The monthly posts index a post belongs in, from its own date so replays land in the same place."""
    return f"{settings.index('posts')}-{posted_at[:4]}.{posted_at[5:7]}"


def _first_indices(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        f"{settings.index('alerts')}-000001": {"aliases": {settings.index("alerts"): {"is_write_index": True}}},
        f"{settings.index('feedback')}-000001": {"aliases": {settings.index("feedback"): {"is_write_index": True}}},
    }


def ensure_indices(es: Elasticsearch, settings: Settings) -> None:
    """Install templates and create the alias-backed indices if missing (safe to repeat, and to race)."""
    for name, body in templates(settings).items():
        es.indices.put_index_template(name=name, **body)
    for index, body in _first_indices(settings).items():
        alias = next(iter(body["aliases"]))
        if es.indices.exists_alias(name=alias):
            continue
        try:
            es.indices.create(index=index, **body)
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise


def prepare_indices(settings: Settings) -> None:
    """Index templates and alias-backed indices (an early write without them would make a plain index)."""
    with Elasticsearch(settings.elasticsearch_url, request_timeout=30, **es_options(settings)) as es:
        ensure_indices(es, settings)
