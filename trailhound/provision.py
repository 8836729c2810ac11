"""Bring the servers up and give them what the pipeline expects: topics and index templates."""

from __future__ import annotations

from elasticsearch import Elasticsearch

from trailhound.alerts.indices import ensure_indices
from trailhound.config import Settings
from trailhound.stack.manager import up
from trailhound.streams.topics import ensure_topics

__all__ = ["prepare_indices", "prepare_servers", "prepare_stack"]


def prepare_indices(settings: Settings) -> None:
    """Index templates and alias-backed indices (an early write without them would make a plain index)."""
    with Elasticsearch(settings.elasticsearch_url, request_timeout=30) as es:
        ensure_indices(es, settings)


def prepare_servers(settings: Settings) -> list[str]:
    """Create missing topics and install index templates on running servers; return topics created."""
    created = ensure_topics(settings)
    prepare_indices(settings)
    return created


def prepare_stack(settings: Settings) -> str:
    """Start (or find) Kafka and Elasticsearch, then prepare them; return a readable report."""
    report = up(settings)
    prepare_servers(settings)
    return str(report)
