"""Bring the servers up and give them what the pipeline expects: topics and index templates.

A command-level helper (used by ``stack up``, the demo, the tests and the benches): it may start local
servers, which the worker itself never does.
"""

from __future__ import annotations

from trailhound.alerts.indices import prepare_indices
from trailhound.config import Settings
from trailhound.stack.manager import up
from trailhound.topics import ensure_topics

__all__ = ["prepare_servers", "prepare_stack"]


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
